"""Small pure helpers shared by the kind modules."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from controller.reconcile.plan import FieldChange
from specs.rules import BIRD_ID_ANNOTATION


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


KEYED_DIGEST_PREFIX = "hmac-sha256:"


def legacy_signing_key_digest(address: str, key: str) -> str:
    """The digest older states hold: SHA-256 with a public salt, so a state dump let anyone test guesses
    of the key offline. Only ever an input to keyed_digest now."""
    return hashlib.sha256(f"senderctl-signing-key\0{address}\0{key}".encode()).hexdigest()


def keyed_digest(secret: bytes, legacy: str) -> str:
    """HMAC-SHA256 under a secret kept outside the state (SENDERCTL_DIGEST_KEY): without the secret a
    stored digest tells nothing about the key. Keyed over the legacy digest, so a state holding legacy
    digests is upgraded in place without knowing any key."""
    return KEYED_DIGEST_PREFIX + hmac.new(secret, legacy.encode(), hashlib.sha256).hexdigest()


def signing_key_digest(address: str, key: str, secret: bytes) -> str:
    """What the state keeps to tell whether a signing key changed, without keeping the key."""
    return keyed_digest(secret, legacy_signing_key_digest(address, key))


SMS_PLATFORM = "sms-messagebird"


def is_sms(channel: dict[str, Any]) -> bool:
    """A channel an SMS connector installed (a WhatsApp channel of the same number is not one)."""
    return channel.get("platformId", SMS_PLATFORM) == SMS_PLATFORM



def pinned_bird_id(doc: Any) -> str | None:
    """The Bird id a document pins with the senderctl.io/bird-id annotation (written by `senderctl dump`), if any:
    `import`, and any plan on a new state, adopts that object by id, never a look-alike by natural key."""
    annotations = getattr(doc.metadata, "annotations", None) or {}
    value = annotations.get(BIRD_ID_ANNOTATION)
    return str(value) if value else None


def ambiguous(address: str, what: str, key: str, matches: list[dict[str, Any]]) -> str:
    """The refusal text for a natural key that more than one Bird object answers."""
    ids = ", ".join(str(m.get("id")) for m in matches[:5])
    return (f"{len(matches)} Bird {what}s match {address}'s {key} ({ids}); senderctl adopts one Bird object per spec "
            f"and does not guess which. Pin the one this spec manages with the annotation "
            f"`metadata.annotations: {{{BIRD_ID_ANNOTATION}: <id>}}` (as `senderctl dump` writes it), or rename "
            "one of them on Bird")


def held_by_another(ctx: Any, bird_id: Any, address: str) -> str | None:
    """The address of another record the state holds `bird_id` under, if any (one record per Bird object)."""
    table = ctx.indexes.get((0, "record-by-bird-id"))
    if table is None:
        table = ctx.indexes[(0, "record-by-bird-id")] = {
            r.bird_id: r.address for r in ctx.world.records.values() if r.bird_id}
    holder = table.get(bird_id)
    return holder if holder is not None and holder != address else None
