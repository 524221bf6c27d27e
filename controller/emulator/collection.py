"""Insertion-ordered collections with Bird-style cursor pagination.

Every object gets a sequence number when it is added; a page token is an opaque encoding of the last
sequence number served, so paging stays correct while items are added (they land after the cursor) or
removed (they are skipped). Lookups are by id; a page is a bisect plus a short scan, never a full scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Item = dict[str, Any]


class InvalidPageToken(ValueError):
    """The pageToken was not one this emulator issued."""


def encode_token(after: int, reverse: bool = False) -> str:
    data: dict[str, Any] = {"v": 1, "after": after}
    if reverse:
        data["r"] = 1
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, reverse: bool = False) -> int:
    """The cursor in ``token``; refused if it was issued for the other direction."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after = data["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidPageToken(token) from None
    if (not isinstance(after, int) or isinstance(after, bool) or after < 0 or data.get("v") != 1
            or bool(data.get("r")) != reverse):
        raise InvalidPageToken(token)
    return after


class Collection:
    """Objects by id, in insertion order, pageable by sequence number."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._seq_of: dict[str, int] = {}
        self._seqs: list[int] = []
        self._ids: list[str] = []
        self._next_seq = 1
        self._dead = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[Item]:
        return iter(list(self._items.values()))

    def get(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    def add(self, item_id: str, item: Item) -> Item:
        if item_id in self._items:
            raise KeyError(f"duplicate id {item_id}")
        seq = self._next_seq
        self._next_seq += 1
        self._items[item_id] = item
        self._seq_of[item_id] = seq
        self._seqs.append(seq)
        self._ids.append(item_id)
        return item

    def remove(self, item_id: str) -> Item | None:
        item = self._items.pop(item_id, None)
        if item is not None:
            del self._seq_of[item_id]
            self._dead += 1
            if self._dead > 1000 and self._dead > len(self._items):
                self._compact()
        return item

    def _compact(self) -> None:
        pairs = [(s, i) for s, i in zip(self._seqs, self._ids, strict=True) if i in self._seq_of
                 and self._seq_of[i] == s]
        self._seqs = [s for s, _ in pairs]
        self._ids = [i for _, i in pairs]
        self._dead = 0

    def page(self, limit: int, after: int = 0, keep: Callable[[Item], bool] | None = None,
             reverse: bool = False) -> tuple[list[Item], int | None]:
        """Up to ``limit`` items after sequence ``after`` (newest first and before ``after`` when
        ``reverse``; 0 starts at either end); the cursor for the next page, None if this is the last."""
        found: list[Item] = []
        last_seq = after
        if reverse:
            end = bisect_left(self._seqs, after) if after else len(self._seqs)
            indexes: Iterable[int] = range(end - 1, -1, -1)
        else:
            indexes = range(bisect_right(self._seqs, after), len(self._seqs))
        for index in indexes:
            item_id = self._ids[index]
            seq = self._seqs[index]
            if self._seq_of.get(item_id) != seq:
                continue  # removed (or removed and re-added later under a new sequence)
            item = self._items[item_id]
            if keep is not None and not keep(item):
                continue
            if len(found) == limit:
                return found, last_seq  # one more exists: there is a next page
            found.append(item)
            last_seq = seq
        return found, None
