"""What the specs own. A number or an assignment that the spec files in force declare belongs to the
specs: the API refuses to change it and names the spec file and line. Everything the API made is the
API's (owner "api" on the tenant records), and the reconciler leaves it alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from controller.state import StateStore
from controller.state import api_repo as repo

NUMBER_KINDS = ("PhoneNumber", "NumberPool")


@dataclass(frozen=True)
class SpecClaim:
    address: str
    where: str  # PATH:LINE

    def text(self) -> str:
        return f"{self.where} ({self.address})"


def _where(doc: Any, *path: str | int) -> str:
    loc = doc.locate(*path)
    return f"{loc.path}:{loc.line}"


def _document(specs: Any, address: str) -> tuple[Any, int | None]:
    """The spec document behind a number address (NumberPool members are `pool[3]`)."""
    kind, _, name = address.partition("/")
    index = None
    if "[" in name and name.endswith("]"):
        name, _, rest = name.partition("[")
        index = int(rest[:-1]) if rest[:-1].isdigit() else None
    return specs.get(kind, name), index


def number_claim(store: StateStore, specs: Any, number: str) -> tuple[SpecClaim | None, Any, int | None]:
    """The spec that declares the number: (claim, its document, the NumberPool member index)."""
    if specs is None:
        return None, None, None
    for doc in specs.of_kind("PhoneNumber"):
        if getattr(doc.spec, "number", None) and str(doc.spec.number) == number:
            return SpecClaim(doc.address, _where(doc, "spec", "number")), doc, None
    with store.transaction() as tx:
        records = [r for r in repo.number_records_holding(tx, number) if r.kind in NUMBER_KINDS]
    for record in records:
        doc, index = _document(specs, record.address)
        if doc is not None and (index is None or index < doc.spec.count):
            return SpecClaim(record.address, _where(doc, "metadata", "name")), doc, index
    return None, None, None


def assignment_claim(store: StateStore, specs: Any, number: str) -> SpecClaim | None:
    """The spec that assigns the number to a user, if one does."""
    claim, doc, index = number_claim(store, specs, number)
    if claim is None or doc is None:
        return None
    if doc.kind == "PhoneNumber" and doc.spec.assignee:
        return SpecClaim(claim.address, _where(doc, "spec", "assignee"))
    assignees = list(getattr(doc.spec, "assignees", None) or [])
    if doc.kind == "NumberPool" and index is not None and index < len(assignees):
        return SpecClaim(claim.address, _where(doc, "spec", "assignees", index))
    return None


def user_claim(specs: Any, org: str, user: str) -> SpecClaim | None:
    """The spec that gives the user a number (a user holds one number)."""
    if specs is None:
        return None
    for doc, path in _assignees(specs, org):
        value = doc.spec.assignee if doc.kind == "PhoneNumber" else doc.spec.assignees[path[-1]]
        if str(value).lower() == user.lower():
            return SpecClaim(doc.address, _where(doc, *path))
    return None


def _assignees(specs: Any, org: str) -> Iterator[tuple[Any, tuple[str | int, ...]]]:
    for kind in NUMBER_KINDS:
        for doc in specs.of_kind(kind):
            owner = specs.organization_of(doc)
            if owner is None or owner.metadata.name != org:
                continue
            if kind == "PhoneNumber" and doc.spec.assignee:
                yield doc, ("spec", "assignee")
            for i, _ in enumerate(getattr(doc.spec, "assignees", None) or []):
                yield doc, ("spec", "assignees", i)
