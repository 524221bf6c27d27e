"""Small pure helpers shared by the kind modules."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from controller.plan import FieldChange


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def spec_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields).encode()).hexdigest()[:16]


def idempotency_key(address: str, action: str, request: Mapping[str, Any]) -> str:
    """Deterministic per (address, action, request): a retried run reuses the same key."""
    return hashlib.sha256(canonical([address, action, request]).encode()).hexdigest()[:32]


def field_diff(
    desired: Mapping[str, Any], observed: Mapping[str, Any] | None, immutable: Iterable[str] = ()
) -> tuple[FieldChange, ...]:
    """Fields whose desired value differs from what Bird holds. Only desired keys are compared:
    Bird adds fields of its own (ids, statuses, timestamps) that the specs do not manage."""
    observed = observed or {}
    frozen = set(immutable)
    out = []
    for key in sorted(desired):
        want, have = desired[key], observed.get(key)
        if normalise(want) != normalise(have):
            out.append(FieldChange(key, have, want, key in frozen))
    return tuple(out)


def with_cleared(fields: Mapping[str, Any], applied: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec's fields, plus None for each one the last applied spec set and this spec leaves out:
    removing an optional field from the spec unsets it on Bird instead of leaving Bird's value
    silently in place (field_diff compares only the keys it is given)."""
    return {**{key: None for key in applied or {} if key not in fields}, **fields}


def normalise(value: Any) -> Any:
    """Compare as Bird would store: None and empty collections mean "not set"."""
    if value in (None, "", [], {}):
        return None
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if normalise(v) is not None}
    return value


# While planning (indexed_lookups): Bird list (by identity) -> (the list, its length when indexed, id ->
# first item with that id). Planning looks objects up by id in a workspace's lists of hundreds, once per
# resource: scanning made each workspace quadratic. A list that grew or shrank since is indexed again.
# Scoped to one plan, so a long-running daemon keeps no earlier world alive through it.
_ID_INDEXES: ContextVar[dict[int, tuple[list[dict[str, Any]], int, dict[Any, dict[str, Any]]]] | None] = \
    ContextVar("senderctl_id_indexes", default=None)
_ID_INDEX_FROM = 16  # shorter lists are scanned


@contextmanager
def indexed_lookups() -> Iterator[None]:
    """find() by id answers from an index per list inside this block (one plan's worth)."""
    token = _ID_INDEXES.set({})
    try:
        yield
    finally:
        _ID_INDEXES.reset(token)


def _by_id(indexes: dict[int, Any], items: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    entry = indexes.get(id(items))
    if entry is not None and entry[0] is items and entry[1] == len(items):
        return entry[2]  # type: ignore[no-any-return]
    index: dict[Any, dict[str, Any]] = {}
    for item in items:
        index.setdefault(item.get("id"), item)
    indexes[id(items)] = (items, len(items), index)
    return index


def find(items: Iterable[dict[str, Any]] | None, **match: Any) -> dict[str, Any] | None:
    """The first item whose fields equal `match` (None: no such item)."""
    indexes = _ID_INDEXES.get()
    if indexes is not None and isinstance(items, list) and len(items) >= _ID_INDEX_FROM and match.keys() == {"id"}:
        try:
            return _by_id(indexes, items).get(match["id"])
        except TypeError:  # an unhashable id: scan
            pass
    for item in items or ():
        if all(item.get(k) == v for k, v in match.items()):
            return item
    return None


def without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def signing_key_digest(address: str, key: str) -> str:
    """A salted digest that tells whether a signing key changed, without keeping the key."""
    return hashlib.sha256(f"senderctl-signing-key\0{address}\0{key}".encode()).hexdigest()
