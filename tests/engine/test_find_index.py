"""find() by id answers the same from its per-plan index as from a scan: the first match, a list that
changed since it was indexed, ids that are missing or repeated."""

from __future__ import annotations

from controller.resources.common import _ID_INDEXES, find, indexed_lookups


def test_the_index_answers_as_a_scan_does_and_lives_only_for_the_plan() -> None:
    items = [{"id": f"n{i}", "n": i} for i in range(40)] + [{"id": "n3", "n": "second"}, {"n": "no id"}]
    scanned = [find(items, id=f"n{i}") for i in range(45)] + [find(items, id=None)]
    with indexed_lookups():
        indexed = [find(items, id=f"n{i}") for i in range(45)] + [find(items, id=None)]
        assert indexed == scanned and indexed[3] == {"id": "n3", "n": 3}  # the first of a repeated id
        items.append({"id": "late", "n": "appended"})  # indexed again: the list is longer now
        assert find(items, id="late") == {"id": "late", "n": "appended"}
        assert find(items, id="n5", n=5) == {"id": "n5", "n": 5}  # other fields: scanned
        assert len(_ID_INDEXES.get() or {}) == 1
    assert _ID_INDEXES.get() is None  # no list (no earlier world) is kept once the plan is done
    assert find(items, id="late") == {"id": "late", "n": "appended"}
