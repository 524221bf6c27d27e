"""Pictures: a plan's changes and what waits on what, and the specs' dependency graph, as Mermaid
(GitHub and GitLab draw it in a comment) or Graphviz dot.

An edge points from what comes first to what waits on it (Brand --> Campaign: the campaign waits for
its brand), the order apply follows. A plan with more than MAX_NODES resources is drawn by kind
instead (one node per kind and state, with counts): a picture of 3,000 numbers is no picture, and
GitHub refuses to draw Mermaid beyond a few hundred edges.

Node ids are generated (n0, n1, ...); labels are quoted and every character outside a small safe set
is written as a Mermaid entity (#35;), so no user text can end a label, start a directive or inject
markup into the diagram.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from controller.reconcile.plan import Plan

MAX_NODES = 40

# Node states and how each is drawn: (Mermaid classDef style, dot fill colour).
STYLES: dict[str, tuple[str, str]] = {
    "create": ("fill:#dcfce7,stroke:#16a34a,color:#14532d", "#dcfce7"),
    "adopt": ("fill:#dbeafe,stroke:#2563eb,color:#1e3a8a", "#dbeafe"),
    "update": ("fill:#fef9c3,stroke:#ca8a04,color:#713f12", "#fef9c3"),
    "replace": ("fill:#fee2e2,stroke:#dc2626,color:#7f1d1d", "#fee2e2"),
    "archive": ("fill:#fee2e2,stroke:#dc2626,color:#7f1d1d", "#fee2e2"),
    "delete": ("fill:#fee2e2,stroke:#dc2626,color:#7f1d1d", "#fee2e2"),
    "assign": ("fill:#cffafe,stroke:#0891b2,color:#164e63", "#cffafe"),
    "unassign": ("fill:#fae8ff,stroke:#c026d3,color:#701a75", "#fae8ff"),
    "waiting": ("fill:#fff7ed,stroke:#ea580c,stroke-dasharray:4 3,color:#7c2d12", "#fff7ed"),
    "refused": ("fill:#fecaca,stroke:#b91c1c,stroke-width:2px,color:#7f1d1d", "#fecaca"),
    "failed": ("fill:#fecaca,stroke:#b91c1c,stroke-width:2px,color:#7f1d1d", "#fecaca"),
    "ready": ("fill:#f3f4f6,stroke:#9ca3af,color:#374151", "#f3f4f6"),
    "document": ("fill:#f8fafc,stroke:#475569,color:#0f172a", "#f8fafc"),
}

_SAFE = re.compile(r"[A-Za-z0-9 /._,:+=()\-\[\]]")


@dataclass(frozen=True)
class Node:
    key: str  # the address (or "Kind:state" for a node standing for many)
    label: str
    state: str  # a key of STYLES


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]  # (first, then): node keys
    collapsed: bool = False  # drawn by kind (see the module docstring)


def plan_graph(plan: Plan, max_nodes: int = MAX_NODES) -> Graph:
    """The plan's changes, waiting, refused and failed resources, and the resources they wait on."""
    states = plan_states(plan)
    if not states:
        return Graph((), ())
    edges = set()
    for address in states:
        resource = plan.resources.get(address)
        for parent in resource.depends_on if resource else ():
            edges.add((parent, address))
    keys = set(states) | {parent for parent, _ in edges}
    if len(keys) > max_nodes:
        return by_kind(states, edges)
    nodes = tuple(Node(a, node_label(a, states.get(a, "ready")), states.get(a, "ready")) for a in sorted(keys))
    return Graph(nodes, tuple(sorted(edges)))


def plan_states(plan: Plan) -> dict[str, str]:
    """address -> how the plan leaves it (its action, waiting, refused or failed)."""
    states = {w.address: "waiting" for w in plan.waiting}
    states.update({c.address: c.action for c in plan.changes})
    states.update({f.address: "failed" for f in plan.failed})
    states.update({r.address: "refused" for r in plan.refusals})
    return states


def node_label(address: str, state: str) -> str:
    return address if state in ("ready", "document") else f"{address} ({state})"


def kind_of(address: str) -> str:
    return address.split("/", 1)[0]


def by_kind(states: dict[str, str], edges: Iterable[tuple[str, str]]) -> Graph:
    """One node per (kind, state) with its count; an edge wherever one of its resources waits on one of
    the other's."""
    def group(address: str) -> str:
        return f"{kind_of(address)}:{states.get(address, 'ready')}"

    edges = list(edges)
    ready_parents = {parent for parent, _ in edges if parent not in states}
    counts = Counter(group(a) for a in [*states, *ready_parents])
    grouped = {(group(parent), group(child)) for parent, child in edges if group(parent) != group(child)}
    nodes = tuple(Node(key, f"{key.split(':')[0]} × {count} ({key.split(':')[1]})", key.split(":")[1])
                  for key, count in sorted(counts.items()))
    return Graph(nodes, tuple(sorted(grouped)), collapsed=True)


def specs_graph(documents: Sequence[str], edges: Iterable[tuple[str, str]]) -> Graph:
    """The documents and their references (edge: the referenced document first)."""
    nodes = tuple(Node(address, address, "document") for address in sorted(documents))
    return Graph(nodes, tuple(sorted((target, source) for source, target in edges)))


def mermaid_text(text: str) -> str:
    """A label's text with every character outside a safe set as a Mermaid entity code."""
    return "".join(ch if _SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def to_mermaid(graph: Graph) -> str:
    ids = {node.key: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    lines += [f'  {ids[node.key]}["{mermaid_text(node.label)}"]:::{node.state}' for node in graph.nodes]
    lines += [f"  {ids[first]} --> {ids[then]}" for first, then in graph.edges if first in ids and then in ids]
    used = sorted({node.state for node in graph.nodes})
    lines += [f"  classDef {state} {STYLES[state][0]}" for state in used]
    return "\n".join(lines) + "\n"


def dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph: Graph) -> str:
    lines = ["digraph senderctl {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    lines += [f'  "{dot_text(node.key)}" [label="{dot_text(node.label)}", fillcolor="{STYLES[node.state][1]}"];'
              for node in graph.nodes]
    lines += [f'  "{dot_text(first)}" -> "{dot_text(then)}";' for first, then in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
