"""Small pure helpers shared by the kind modules."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
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


# Bird list (by identity) -> (the list, its length when indexed, id -> first item with that id). Planning
# looks objects up by id in lists of a workspace's hundreds of objects, once per resource: scanning made
# each workspace quadratic. A list that grew or shrank since is indexed again.
_ID_INDEXES: dict[int, tuple[list[dict[str, Any]], int, dict[Any, dict[str, Any]]]] = {}
_ID_INDEX_FROM = 16  # shorter lists are scanned
_ID_INDEX_CAP = 4096  # lists indexed at once (a long-running daemon plans many worlds)


def _by_id(items: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    entry = _ID_INDEXES.get(id(items))
    if entry is not None and entry[0] is items and entry[1] == len(items):
        return entry[2]
    index: dict[Any, dict[str, Any]] = {}
    for item in items:
        index.setdefault(item.get("id"), item)
    if len(_ID_INDEXES) >= _ID_INDEX_CAP:
        _ID_INDEXES.clear()
    _ID_INDEXES[id(items)] = (items, len(items), index)
    return index


def find(items: Iterable[dict[str, Any]] | None, **match: Any) -> dict[str, Any] | None:
    """The first item whose fields equal `match` (None: no such item)."""
    if isinstance(items, list) and len(items) >= _ID_INDEX_FROM and match.keys() == {"id"}:
        try:
            return _by_id(items).get(match["id"])
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
