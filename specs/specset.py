"""SpecSet: the validated documents, indexed by kind and name."""

from __future__ import annotations

from typing import Any

from specs.models import OrganizationDoc, SpecDocument

# Which reference leads from a document toward its organization.
_PARENT_FIELD: dict[str, tuple[str, str]] = {
    "Workspace": ("organization", "Organization"),
    "Brand": ("workspace", "Workspace"),
    "Campaign": ("brand", "Brand"),
    "PhoneNumber": ("workspace", "Workspace"),
    "NumberPool": ("workspace", "Workspace"),
    "WebhookSubscription": ("workspace", "Workspace"),
}


class SpecSet:
    """Documents by kind and name. With duplicates (an error), the first one written wins here."""

    def __init__(self, documents: list[SpecDocument] | None = None) -> None:
        self._by_address: dict[str, SpecDocument] = {}
        for doc in sorted(documents or [], key=lambda d: d.source):
            self._by_address.setdefault(doc.address, doc)

    @property
    def documents(self) -> list[SpecDocument]:
        """Every document, sorted by kind then name."""
        return sorted(self._by_address.values(), key=lambda d: (d.kind, d.name))

    def get(self, kind: str, name: str) -> SpecDocument | None:
        return self._by_address.get(f"{kind}/{name}")

    def of_kind(self, kind: str) -> list[SpecDocument]:
        return sorted((d for d in self._by_address.values() if d.kind == kind), key=lambda d: d.name)

    def organization_of(self, doc: SpecDocument) -> OrganizationDoc | None:
        """The Organization a document belongs to, following workspace / brand / campaign references."""
        current: SpecDocument | None = doc
        for _ in range(len(_PARENT_FIELD) + 1):
            if current is None or isinstance(current, OrganizationDoc):
                return current
            field, kind = _PARENT_FIELD[current.kind]
            current = self.get(kind, getattr(current.spec, field))
        return None

    def to_json(self) -> dict[str, Any]:
        """Canonical JSON-able form of the whole set (stable order; secrets only as references)."""
        return {"apiVersion": "senderctl/v1", "documents": [doc.to_document() for doc in self.documents]}

    def __len__(self) -> int:
        return len(self._by_address)

    def __repr__(self) -> str:
        return f"SpecSet({len(self)} documents)"
