"""Markdown for a pull/merge request comment.

Order: summary (counts by action, total cost), the policies' verdicts, a Mermaid picture of the changes
and what waits on what, then waiting, refusals, failures, then the changes: one collapsible `<details>`
block per change, or — above GROUP_FROM changes — one `<details>` block per kind listing its changes a
line each (nobody reads 3,000 diffs; the plan JSON artifact holds them all). The whole comment never
exceeds `LIMIT` characters (a GitHub comment's maximum); what does not fit is counted at the end and
left to the artifact.

Every user string is escaped as HTML entities, which both Markdown and the HTML blocks around
`<details>` honour, so a name or reason cannot open a link, a table cell or a tag. Code blocks use
a fence longer than any backtick run inside them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from controller.reconcile.plan import Change, Cost, Plan
from controller.render.common import (
    DRIFT_NOTE,
    PAUSED_NOTE,
    SYMBOLS,
    clean,
    cost_parts,
    diff_lines,
    money,
    summary_line,
)
from controller.render.graph import plan_graph, plan_states, to_mermaid

LIMIT = 65_536
# Room always kept for the closing "… and N more changes" line.
TAIL_RESERVE = 80
# Lists above the changes are capped so that changes still get room in a huge plan.
MAX_LISTED = {"waiting": 100, "refused": 200, "failed": 200, "forgotten": 100, "paused": 100, "out of scope": 100}
MAX_FIELDS_PER_CHANGE = 50
# Above this many changes they are listed per kind, a line each, instead of a diff block each.
GROUP_FROM = 30
ARTIFACT_NOTE = "the full plan is the JSON artifact (`senderctl plan --out plan.json`; `senderctl show plan.json`)"

# Characters that mean something to Markdown or HTML (inline, since user text never starts a line
# here), written as numeric entities instead; "@" so that a name cannot mention someone.
_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "&<>\"'\\`*_{}[]()#!|~@"}


def escape(text: str) -> str:
    """User text made inert in Markdown and HTML (entities render as the original characters)."""
    return "".join(_ENTITIES.get(ch, ch) for ch in clean(text))


def fence_for(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(plan: Plan, policy: Mapping[str, Any] | None = None) -> str:
    """`policy`: the policies' verdict (controller.policy.Verdict.to_json()), shown under the summary."""
    doc = _Budget(LIMIT - TAIL_RESERVE)
    doc.add_always(_summary(plan))
    if policy is not None:
        doc.add_always(_policy_section(policy))
    doc.add(_picture(plan))
    _add_listing(doc, "Waiting", [_item(w.address, w.reason) for w in plan.waiting], "waiting")
    _add_listing(doc, "Refused", [_item(r.address, r.reason, _lift(r.flag)) for r in plan.refusals], "refused")
    _add_listing(doc, "Failed", [_item(f.address, f.reason) for f in plan.failed], "failed")
    orphan = "removed from the state only; Bird is not touched"
    _add_listing(doc, "Forgotten", [_item(a, plan.keeps.get(a) or orphan) for a in plan.forget], "forgotten")
    _add_listing(doc, "Paused", [_item(a, PAUSED_NOTE) for a in plan.paused], "paused")
    _add_listing(doc, "Out of scope", [_item(o.address, o.reason) for o in plan.out_of_scope], "out of scope")

    if plan.changes:
        doc.add(f"#### Changes ({len(plan.changes)})\n\n")
    shown = _add_by_kind(doc, plan.changes) if len(plan.changes) > GROUP_FROM else _add_each(doc, plan.changes)
    remaining = len(plan.changes) - shown
    if remaining:
        doc.add_always(f"… and {remaining} more changes: {ARTIFACT_NOTE}\n")
    return doc.text()


def _add_each(doc: _Budget, changes: tuple[Change, ...]) -> int:
    shown = 0
    for change in changes:
        if not doc.add(change_details(change)):
            break
        shown += 1
    return shown


def _add_by_kind(doc: _Budget, changes: tuple[Change, ...]) -> int:
    """One `<details>` per kind (in the plan's order of kinds), a line per change inside. A block is
    closed even when its lines run out of room: the comment never holds half an HTML block."""
    kinds = sorted({c.kind for c in changes}, key=[c.kind for c in changes].index)
    closing = "\n</details>\n\n"
    blocks = {kind: [change_line(c) for c in changes if c.kind == kind] for kind in kinds}
    summaries = {kind: _kind_summary(kind, [c for c in changes if c.kind == kind]) for kind in kinds}
    more_line = 80  # "- … and N more Kind changes"
    fixed = sum(len(summaries[k]) + len(closing) + more_line for k in kinds) + TAIL_RESERVE
    room = doc.limit - doc.size - fixed
    if room < 0:
        return 0
    shares = fair_shares({kind: sum(map(len, lines)) for kind, lines in blocks.items()}, room)
    shown = 0
    for kind in kinds:
        doc.add_always(summaries[kind])
        listed, used = 0, 0
        for line in blocks[kind]:
            if used + len(line) > shares[kind]:
                break
            doc.add_always(line)
            used += len(line)
            listed += 1
        if listed < len(blocks[kind]):
            doc.add_always(f"- … and {len(blocks[kind]) - listed} more {escape(kind)} changes\n")
        doc.add_always(closing)
        shown += listed
    return shown


def fair_shares(needs: Mapping[str, int], room: int) -> dict[str, int]:
    """Room per kind: an even share each, and what a small kind leaves unused goes to the larger ones
    (a kind of 3,000 changes never crowds out the one change of another)."""
    shares: dict[str, int] = {}
    left = dict(needs)
    while left:
        even = room // len(left)
        small = {k: n for k, n in left.items() if n <= even}
        if not small:
            shares.update({k: even for k in left})
            break
        for kind, need in small.items():
            shares[kind] = need
            room -= need
            del left[kind]
    return shares


def _kind_summary(kind: str, changes: list[Change]) -> str:
    actions = Counter(c.action for c in changes)
    counts = ", ".join(f"{n} {action}" for action, n in sorted(actions.items(), key=lambda kv: -kv[1]))
    cost = sum((c.cost for c in changes if c.cost is not None), Cost())
    money_part = f" · {escape(', '.join(cost_parts(cost)))}" if not cost.is_zero else ""
    return (f"<details><summary><b>{escape(kind)}</b> — {len(changes)} change{'s' if len(changes) != 1 else ''}"
            f" ({escape(counts)}){money_part}</summary>\n\n")


def _change_tail(change: Change, bold: Callable[[str], str]) -> str:
    """What follows a change's address, in a list line and in a <details> summary alike."""
    tail = f" — {escape(change.reason)}" if change.reason else ""
    if change.drift:
        tail += f" {bold(f'({escape(DRIFT_NOTE)})')}"
    if change.cost is not None and not change.cost.is_zero:
        tail += f" · {escape(', '.join(cost_parts(change.cost)))}"
    return tail


def change_line(change: Change) -> str:
    head = f"- `{SYMBOLS.get(change.action, '?')} {change.action}` **{escape(change.address)}**"
    return head + _change_tail(change, lambda text: f"**{text}**") + "\n"


def _picture(plan: Plan) -> str:
    graph = plan_graph(plan)
    if not graph.nodes:
        return ""
    body = to_mermaid(graph)
    fence = fence_for(body)
    note = f"Drawn by kind ({len(plan_states(plan))} resources); {ARTIFACT_NOTE}.\n\n" if graph.collapsed else ""
    return f"#### What waits on what\n\n{note}{fence}mermaid\n{body}{fence}\n\n"


def _policy_section(policy: Mapping[str, Any]) -> str:
    denied, warned = list(policy.get("deny") or []), list(policy.get("warn") or [])
    files = len(policy.get("policies") or [])
    if not denied and not warned:
        return f"#### Policies\n\nAll {files} polic{'y' if files == 1 else 'ies'} passed.\n\n"
    verdict = "**refused by policy**" if denied else "passed, with warnings"
    lines = [f"#### Policies: {verdict}", ""]
    lines += [f"- ⛔ deny — {escape(f['message'])} (`{escape(f['policy'])}`)" for f in denied[:MAX_LISTED['refused']]]
    lines += [f"- ⚠️ warn — {escape(f['message'])} (`{escape(f['policy'])}`)" for f in warned[:MAX_LISTED['refused']]]
    return "\n".join(lines) + "\n\n"


def _summary(plan: Plan) -> str:
    lines = ["### senderctl plan", "", f"**{summary_line(plan)}**", ""]
    if plan.has_changes:
        lines += ["| Action | Count |", "|:--|--:|"]
        lines += [f"| `{SYMBOLS[action]}` {action} | {count} |" for action, count in plan.summary().items()]
        if plan.forget:
            lines.append(f"| `.` forget | {len(plan.forget)} |")
        lines.append("")
        total = plan.total_cost()
        lines += [f"| Total cost ({total.currency}) | Monthly | Weekly | One-time |", "|:--|--:|--:|--:|",
                  f"| all changes | {money(total.monthly)} | {money(total.weekly)} | {money(total.one_time)} |", ""]
    if plan.fingerprint:
        lines += [f"Plan fingerprint: `{escape(plan.fingerprint[:16])}`", ""]
    return "\n".join(lines) + "\n"


def _item(address: str, reason: str, hint: str = "") -> str:
    return f"- **{escape(address)}** — {escape(reason)}{hint}\n"


def _lift(flag: str | None) -> str:
    return f" (apply with `{escape(flag)}` to lift this)" if flag else " (no flag lifts this: change the specs)"


def _add_listing(doc: _Budget, title: str, items: list[str], noun: str) -> None:
    if not items or not doc.add(f"#### {title} ({len(items)})\n\n"):
        return
    listed = 0
    for item in items[: MAX_LISTED[noun]]:
        if not doc.add(item):
            break
        listed += 1
    more = len(items) - listed
    doc.add(f"- … and {more} more {noun}\n\n" if more else "\n")


def change_details(change: Change) -> str:
    summary = f"<code>{escape(SYMBOLS.get(change.action, '?') + ' ' + change.action)}</code> <b>{escape(change.address)}</b>"
    summary += _change_tail(change, lambda text: f"<b>{text}</b>")
    body = _diff_body(change)
    parts = [f"<details><summary>{summary}</summary>\n\n"]
    if body:
        fence = fence_for(body)
        parts.append(f"{fence}diff\n{body}{fence}\n\n")
    else:
        parts.append("No field-level differences.\n\n")
    parts.append("</details>\n\n")
    return "".join(parts)


def _diff_body(change: Change) -> str:
    lines = list(diff_lines(change))
    shown = [line.render() for line in lines[:MAX_FIELDS_PER_CHANGE]]
    if len(lines) > MAX_FIELDS_PER_CHANGE:
        shown.append(f"# … and {len(lines) - MAX_FIELDS_PER_CHANGE} more fields")
    return "".join(s + "\n" for s in shown)


class _Budget:
    """Appends pieces while they fit in `limit` characters; `add_always` is for what must appear."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    def fits(self, piece: str, reserve: int = 0) -> bool:
        return self.size + len(piece) + reserve <= self.limit

    def add(self, piece: str) -> bool:
        if not self.fits(piece):
            return False
        self.add_always(piece)
        return True

    def add_always(self, piece: str) -> None:
        self.parts.append(piece)
        self.size += len(piece)

    def text(self) -> str:
        return "".join(self.parts)
