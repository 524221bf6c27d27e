"""Which part of the estate a plan may touch, and which resources are hands-off — pure data.

Scoping (`--target`, `--org`, a subset of the spec files) and pausing (`senderctl.io/paused`) are
inputs of the pure plan function, not I/O: the shell builds a `Controls` from the flags and the
specs' annotations, and `controller.reconcile.planner.compute_plan` honours it.

  * targets / orgs: only those resources and what they depend on are planned; nothing else is
    changed, forgotten or archived.
  * declared orgs: a record of an Organization the specs do not declare is never removed (the specs
    are a subset of the estate); it is listed as out of scope.
  * paused: compared (so status and dependents know where it stands) but never changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.resources.base import Desired, RecordView

PAUSED_ANNOTATION = "senderctl.io/paused"
IGNORE_DRIFT_ANNOTATION = "senderctl.io/ignore-drift"

_MEMBER = re.compile(r"\[\d+\]$")


@dataclass(frozen=True)
class Controls:
    """What the plan may touch. The default (no targets, no orgs) is the whole of the specs."""

    targets: frozenset[str] = frozenset()
    orgs: frozenset[str] = frozenset()
    # Organizations the specs declare; None: not known (every record is in scope, as before).
    declared_orgs: frozenset[str] | None = None
    paused: frozenset[str] = frozenset()  # desired addresses
    paused_orgs: frozenset[str] = frozenset()

    @property
    def narrowed(self) -> bool:
        return bool(self.targets or self.orgs)

    def to_json(self) -> dict[str, Any]:
        """What a saved plan records, so `apply --plan` recomputes the same scope."""
        return {"targets": sorted(self.targets), "orgs": sorted(self.orgs)}


def document_address(d: Desired) -> str:
    """The spec document a desired resource comes from (a Channel from its PhoneNumber, ...)."""
    if d.kind == "Vetting":
        return f"Brand/{d.name}"
    if d.kind in ("Channel", "Assignment"):
        return _MEMBER.sub("", str(d.context.get("number") or d.address))
    return _MEMBER.sub("", d.address)


def annotations_by_document(documents: Iterable[Any]) -> dict[str, dict[str, str]]:
    return {doc.address: dict(doc.metadata.annotations or {}) for doc in documents}


def is_true(value: str | None) -> bool:
    return str(value or "").strip().lower() == "true"


def paused_addresses(desired: Iterable[Desired], annotations: Mapping[str, Mapping[str, str]]) -> frozenset[str]:
    """Desired addresses paused by their own document or by their Organization's."""
    if not annotations:
        return frozenset()
    paused_orgs = paused_organizations(annotations)
    out = set()
    for d in desired:
        own = annotations.get(document_address(d), {})
        if is_true(own.get(PAUSED_ANNOTATION)) or d.organization in paused_orgs:
            out.add(d.address)
    return frozenset(out)


def paused_organizations(annotations: Mapping[str, Mapping[str, str]]) -> frozenset[str]:
    return frozenset(address.split("/", 1)[1] for address, notes in annotations.items()
                     if address.startswith("Organization/") and is_true(notes.get(PAUSED_ANNOTATION)))


def ignored_drift(d: Desired, annotations: Mapping[str, Mapping[str, str]]) -> frozenset[str]:
    raw = annotations.get(document_address(d), {}).get(IGNORE_DRIFT_ANNOTATION, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _closure(roots: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    """Every address reachable from the roots through neighbours (the roots included)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        address = stack.pop()
        if address not in seen:
            seen.add(address)
            stack.extend(neighbours(address))
    return seen


def with_dependencies(roots: Iterable[str], desired_by_address: Mapping[str, Desired]) -> set[str]:
    """The roots and everything they depend on, transitively (an Organization for its Workspace...)."""

    def dependencies(address: str) -> list[str]:
        d = desired_by_address.get(address)
        if d is None:
            return []
        found = list(d.depends_on)
        if d.organization:
            found.append(f"Organization/{d.organization}")
        workspace = d.context.get("workspace")
        if workspace:
            found.append(f"Workspace/{workspace}")
        return found

    return _closure(roots, dependencies)


def derived_readers() -> dict[str, tuple[str, ...]]:
    """Kind -> the kinds whose facts are derived from its Bird objects within one organization (each kind
    module's DERIVED_FROM: an Organization's 10DLC flag from its Brands and Campaigns)."""
    from controller.resources import KINDS

    readers: dict[str, list[str]] = {}
    for kind, module in KINDS.items():
        for source in getattr(module, "DERIVED_FROM", ()):
            readers.setdefault(source, []).append(kind)
    return {source: tuple(kinds) for source, kinds in readers.items()}


def affected(desired: Iterable[Desired], seeds: Iterable[str]) -> set[str]:
    """The seeds and, transitively, every desired resource whose plan reads what a seed changes.

    A reconcile of only `depends_on` dependents misses facts derived the other way: a campaign's approval
    turns its Organization's 10DLC flag on (which the platform API's purchases and the extra numbers wait
    for), so a Brand or Campaign brings its Organization, and an Organization everything it holds (its
    workspaces, numbers, channels, assignments and subscriptions all depend on it)."""
    desired = list(desired)
    children: dict[str, set[str]] = {}
    by_kind_org: dict[tuple[str, str], set[str]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for d in desired:
        kinds[d.address] = (d.kind, d.organization)
        by_kind_org.setdefault((d.kind, d.organization), set()).add(d.address)
        for parent in d.depends_on:
            children.setdefault(parent, set()).add(d.address)
    readers = derived_readers()

    def readers_of(address: str) -> list[str]:
        kind, org = kinds.get(address, (address.split("/", 1)[0], ""))
        found = list(children.get(address, ()))
        for reader in readers.get(kind, ()):
            found.extend(by_kind_org.get((reader, org), ()))
        return found

    return _closure(seeds, readers_of)


def brand_workspaces(records: Mapping[str, RecordView]) -> dict[str, str]:
    """Bird brand id -> its workspace id, from the state (a campaign's or vetting's record names its brand)."""
    return {r.bird_id: str(r.data["workspaceId"]) for r in records.values()
            if r.kind == "Brand" and r.bird_id and r.data.get("workspaceId")}


def record_workspace(record: RecordView, brand_workspace: Mapping[str, str]) -> str | None:
    """The Bird workspace a remembered resource lives in; None when the record does not say (an Organization)."""
    data = record.data
    workspace = data.get("workspaceId") or (record.bird_id if record.kind == "Workspace" else None)
    if not workspace and data.get("brandId"):
        workspace = brand_workspace.get(str(data["brandId"]))
    return str(workspace) if workspace else None


def workspaces_to_read(desired: Iterable[Desired], records: Mapping[str, RecordView],
                       addresses: Iterable[str]) -> frozenset[str] | None:
    """The Bird workspaces a reconcile of `addresses` must observe afresh: those the addresses and their
    dependencies live in. None: the answer is not known (a remembered resource whose workspace the state
    does not say), so every workspace must be read.

    An Organization that is only a dependency adds none of its workspaces (its 10DLC facts come from the
    last observation of the others); an Organization that is itself reconciled adds all of them."""
    by_address = {d.address: d for d in desired}
    roots = set(addresses)
    brands = brand_workspaces(records)
    out: set[str] = set()
    for address in sorted(with_dependencies(roots, by_address)):
        d = by_address.get(address)
        if d is not None:
            found = desired_workspaces(d) if (d.kind != "Organization" or address in roots) else frozenset()
            if found is None:
                return None
            out |= found
            continue
        record = records.get(address)
        if record is None:
            continue  # neither wanted nor remembered: nothing on Bird to read for it
        workspace = record_workspace(record, brands)
        if workspace is None:
            return None
        out.add(workspace)
    return frozenset(out)


def organization_workspaces(desired: Sequence[Desired], records: Mapping[str, RecordView],
                            orgs: Iterable[str]) -> frozenset[str] | None:
    """The Bird workspaces a reconcile of whole organizations (--org, a daemon's shard) must observe:
    theirs only, so one tenant's slow Bird never holds up another's. None: not known, read every one."""
    wanted = set(orgs)
    index = OrgIndex.build(desired, records)
    addresses = {d.address for d in desired if d.organization in wanted}
    addresses |= {a for a, r in records.items() if index.organization_of(r) in wanted}
    return workspaces_to_read(desired, records, addresses)


def desired_workspaces(d: Desired) -> frozenset[str] | None:
    """The Bird workspaces a desired resource is compared against (an Organization: all of its own)."""
    if d.context.get("workspaceId"):
        return frozenset({str(d.context["workspaceId"])})
    if "workspaceIds" in d.context:
        return frozenset(str(w) for w in d.context["workspaceIds"])
    return None


@dataclass
class OrgIndex:
    """Which Organization (metadata.name) a remembered record belongs to, from the specs and the state."""

    workspace_org: dict[str, str] = field(default_factory=dict)  # Bird workspace id -> org name
    bird_org: dict[str, str] = field(default_factory=dict)  # Bird organization id -> org name
    brand_workspace: dict[str, str] = field(default_factory=dict)  # Bird brand id -> workspace id

    @classmethod
    def build(cls, desired: Iterable[Desired], records: Mapping[str, RecordView],
              tenant_orgs: Mapping[str, Any] | None = None) -> OrgIndex:
        index = cls()
        for name, config in (tenant_orgs or {}).items():
            index.bird_org[str(getattr(config, "bird_organization_id", ""))] = name
        for r in records.values():
            if r.kind == "Organization" and r.bird_id:
                index.bird_org[r.bird_id] = r.address.split("/", 1)[1]
        for d in desired:
            if d.kind == "Organization":
                index.bird_org[str(d.fields.get("birdOrganizationId"))] = d.organization
            ws = d.context.get("workspaceId")
            if ws and d.organization:
                index.workspace_org.setdefault(ws, d.organization)
        for r in records.values():
            if r.kind == "Workspace" and r.bird_id:
                org = index.bird_org.get(str(r.data.get("organizationId")))
                if org:
                    index.workspace_org.setdefault(r.bird_id, org)
        index.brand_workspace = brand_workspaces(records)
        return index

    def organization_of(self, record: RecordView) -> str | None:
        data = record.data
        if record.kind == "Organization":
            return record.address.split("/", 1)[1]
        if data.get("organization"):
            return str(data["organization"])
        workspace = self.workspace_of(record)
        if workspace and workspace in self.workspace_org:
            return self.workspace_org[workspace]
        if data.get("organizationId"):
            return self.bird_org.get(str(data["organizationId"]))
        return None

    def workspace_of(self, record: RecordView) -> str | None:
        return record_workspace(record, self.brand_workspace)
