"""Cursor pagination properties: every item present for the whole walk is seen once, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.emulator.collection import Collection, InvalidPageToken, decode_token, encode_token

# Operations done between two page requests: add a new item, or remove an existing one (by index).
operations = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(0, 0)),
                                st.tuples(st.just("remove"), st.integers(0, 1000))), max_size=8)


@settings(max_examples=150, deadline=None)
@given(initial=st.integers(0, 40), limit=st.integers(1, 7), between=st.lists(operations, max_size=12),
       reverse=st.booleans())
def test_paging_sees_stable_items_once_in_order_while_others_come_and_go(
        initial: int, limit: int, between: list[list[tuple[str, int]]], reverse: bool) -> None:
    collection = Collection()
    next_id = 0

    def add() -> None:
        nonlocal next_id
        collection.add(str(next_id), {"id": str(next_id)})
        next_id += 1

    for _ in range(initial):
        add()
    present_at_start = [item["id"] for item in collection]
    removed: set[str] = set()
    seen: list[str] = []
    after = 0
    rounds = iter(between)
    while True:
        items, cursor = collection.page(limit, after, reverse=reverse)
        assert len(items) <= limit
        assert not {i["id"] for i in items} & removed
        seen += [i["id"] for i in items]
        if cursor is None:
            break
        after = decode_token(encode_token(cursor, reverse), reverse)
        for op, index in next(rounds, []):
            alive = [item["id"] for item in collection]
            if op == "add":
                add()
            elif alive:
                victim = alive[index % len(alive)]
                collection.remove(victim)
                removed.add(victim)
    stable = [i for i in present_at_start if i not in removed]
    if reverse:
        stable.reverse()
    assert [i for i in seen if i in stable] == stable
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, key=int, reverse=reverse)


def test_removing_many_items_compacts_without_losing_order() -> None:
    collection = Collection()
    for i in range(5000):
        collection.add(str(i), {"id": str(i)})
    for i in range(0, 5000, 2):
        collection.remove(str(i))
    items, cursor = collection.page(99, 0)
    assert [i["id"] for i in items][:3] == ["1", "3", "5"] and cursor is not None
    total = []
    after = 0
    while True:
        items, cursor = collection.page(99, after)
        total += items
        if cursor is None:
            break
        after = cursor
    assert len(total) == 2500


def test_tokens_are_opaque_and_checked() -> None:
    assert decode_token(encode_token(42)) == 42
    for bad in ("", "abc", encode_token(1)[:-2] + "!!", "eyJ2IjoyLCJhZnRlciI6MX0"):
        try:
            decode_token(bad)
        except InvalidPageToken:
            continue
        raise AssertionError(f"{bad!r} was accepted")
