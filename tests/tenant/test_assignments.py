"""Assignments: at most one each way per organization, history kept, moves atomic; the sender choice."""

from __future__ import annotations

import re
import threading

import pytest

from controller import tenant
from controller.tenant import AssignmentConflict, NumberNotHeld
from tests.tenant.conftest import buy, later, make_org, number, senderctl_json


def test_assign_unassign_and_history(state_url, store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    tenant.assign(store, "acme", a, "alice", at=later(2))  # idempotent: no second history row
    assert tenant.unassign(store, "acme", a, at=later(3)) == "alice"
    assert tenant.unassign(store, "acme", a, at=later(4)) is None
    tenant.assign(store, "acme", a, "bob", at=later(5))
    history = senderctl_json(state_url, "numbers", "history", "--org", "acme")
    assert history == [
        {"number": a, "user": "alice", "from": "2026-11-16T09:01:00Z", "to": "2026-11-16T09:03:00Z"},
        {"number": a, "user": "bob", "from": "2026-11-16T09:05:00Z", "to": None},
    ]


def test_a_number_has_one_owner(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    with pytest.raises(AssignmentConflict, match="assigned to alice; unassign it first, or move it to bob"):
        tenant.assign(store, "acme", a, "bob", at=later(2))
    assert tenant.active_assignments(store, "acme") == {a: "alice"}


def test_a_user_has_one_number_per_organization(store):
    make_org(store)
    make_org(store, "other")
    a, b = buy(store, "acme", 1, 2)
    [c] = buy(store, "other", 3)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    with pytest.raises(AssignmentConflict, match=re.escape(f"alice already has {a}")):
        tenant.assign(store, "acme", b, "alice", at=later(2))
    tenant.assign(store, "other", c, "alice", at=later(2))  # another organization: allowed
    assert tenant.active_assignments(store, "acme") == {a: "alice"}


def test_only_held_numbers_can_be_assigned(store):
    make_org(store)
    make_org(store, "other")
    buy(store, "other", 1)
    with pytest.raises(NumberNotHeld, match="held by other"):
        tenant.assign(store, "acme", number(1), "alice", at=later(1))
    with pytest.raises(NumberNotHeld, match="does not hold"):
        tenant.assign(store, "acme", number(9), "alice", at=later(1))


def test_move_is_unassign_plus_assign_at_the_same_instant(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    tenant.move(store, "acme", a, "bob", at=later(10))
    history = tenant.assignment_history(store, "acme", a)
    assert [(h.user, h.assigned_at, h.unassigned_at) for h in history] == [
        ("alice", later(1), later(10)), ("bob", later(10), None)]


def test_a_failed_move_changes_nothing(store):
    make_org(store)
    a, b = buy(store, "acme", 1, 2)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    tenant.assign(store, "acme", b, "bob", at=later(1))
    with pytest.raises(AssignmentConflict, match="bob already has"):
        tenant.move(store, "acme", a, "bob", at=later(5))
    assert tenant.active_assignments(store, "acme") == {a: "alice", b: "bob"}
    assert [h.unassigned_at for h in tenant.assignment_history(store, "acme", a)] == [None]


def test_moves_never_show_two_owners_or_a_gap(state_url, store):
    """A reader polling while the number moves back and forth always sees exactly one owner."""
    from controller.state import StateStore

    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "u0", at=later(0))
    seen: list[dict[str, str]] = []
    done, watching = threading.Event(), threading.Event()

    def watch() -> None:
        with StateStore.open(state_url) as reader:
            while not done.is_set():
                seen.append(tenant.active_assignments(reader, "acme"))
                watching.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    # The moves start once the reader is polling (opening its store can take a while under load).
    assert watching.wait(timeout=60), "the reader never took a first reading"
    try:
        for i in range(1, 30):
            tenant.move(store, "acme", a, f"u{i % 3}", at=later(i))
    finally:
        done.set()
        watcher.join()
    assert seen and all(len(s) == 1 for s in seen)


def test_concurrent_assigns_of_one_number_leave_one_owner(state_url, store):
    from controller.state import StateStore

    make_org(store)
    [a] = buy(store, "acme", 1)
    errors: list[Exception] = []

    def grab(user: str) -> None:
        with StateStore.open(state_url) as s:
            try:
                tenant.assign(s, "acme", a, user, at=later(1))
            except AssignmentConflict as exc:
                errors.append(exc)

    threads = [threading.Thread(target=grab, args=(f"user{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tenant.active_assignments(store, "acme")) == 1
    assert len(errors) == 3


def test_sender_is_the_users_number_else_the_org_default_else_a_reason(store):
    make_org(store)
    assert "holds no number yet" in tenant.sender_for(store, "acme", "alice").reason
    a, b = buy(store, "acme", 1, 2)
    tenant.assign(store, "acme", b, "bob", at=later(1))
    own = tenant.sender_for(store, "acme", "bob")
    assert (own.number, own.source) == (b, "user")
    fallback = tenant.sender_for(store, "acme", "alice")
    assert (fallback.number, fallback.source) == (a, "organization-default")
    tenant.assign(store, "acme", a, "carol", at=later(2))
    none = tenant.sender_for(store, "acme", "alice")
    assert none.number is None and none.source is None
    assert "no sender for alice" in none.reason and "assigned to another user" in none.reason
    unknown = tenant.sender_for(store, "nope", "alice")
    assert unknown.number is None and "not in the state" in unknown.reason
