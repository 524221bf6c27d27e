"""Fenced leases on a real PostgreSQL database: epochs, expiry by the server's clock, fenced intents."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from controller.state import StateStore, lease
from controller.state.lease import ALL, Fence, LeaseLost, WriteFence

pytestmark = pytest.mark.postgres
TTL = 30.0  # long: expiry is forced by moving the row's expiry into the past, never by waiting


@pytest.fixture
def store(postgres_url):
    s = StateStore.open(postgres_url)
    yield s
    s.close()


def expire(store: StateStore, shard: str = ALL) -> None:
    """The lease's expiry passes (as after a SIGSTOP longer than its TTL), by the server's clock."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE leases SET expires_at = expires_at - interval '1 hour' WHERE shard = :s"), {"s": shard})


def fenced(store: StateStore, holder: str) -> Fence:
    fence = Fence(holder, TTL)
    epoch = lease.acquire(store.engine, ALL, holder, TTL)
    assert epoch is not None
    fence.took(ALL, epoch, time.monotonic())
    return fence


def open_intents(store: StateStore) -> list[str]:
    return [op.address for op in store.open_operations()]


def test_a_lease_is_taken_once_until_it_expires_and_each_taker_gets_a_higher_epoch(store):
    assert lease.acquire(store.engine, ALL, "a/1", TTL) == 1
    assert lease.acquire(store.engine, ALL, "b/2", TTL) is None  # held and live
    assert lease.renew(store.engine, {ALL: 1}, "a/1", TTL) == {ALL}
    expire(store)
    assert lease.acquire(store.engine, ALL, "b/2", TTL) == 2
    assert lease.renew(store.engine, {ALL: 1}, "a/1", TTL) == set()  # a's epoch moved on: no renewal
    lease.release(store.engine, {ALL: 2}, "b/2")
    assert lease.acquire(store.engine, ALL, "c/3", TTL) == 3  # released: taken at once, no expiry wait
    with store.engine.connect() as conn:
        history = conn.execute(text("SELECT epoch, holder FROM lease_epochs ORDER BY epoch")).all()
    assert [tuple(r) for r in history] == [(1, "a/1"), (2, "b/2"), (3, "c/3")]


def test_an_intent_is_written_only_under_the_current_epoch(store):
    a = fenced(store, "a/1")
    store.fence = WriteFence(a, lambda _address: ALL)
    store.begin_write("PhoneNumber/one", "create", "k-one", {})
    assert a.headers(ALL) == {lease.HOLDER_HEADER: "a/1 shard=* epoch=1"}

    expire(store)  # a was stopped past its lease, and b took over
    assert lease.acquire(store.engine, ALL, "b/2", TTL) == 2
    with pytest.raises(LeaseLost, match="no longer this replica's"):
        store.begin_write("PhoneNumber/two", "create", "k-two", {})  # a's clock still believes it leads
    assert open_intents(store) == ["PhoneNumber/one"]  # nothing was written under the old epoch


def test_an_expired_lease_refuses_intents_even_before_anyone_takes_over(store):
    a = fenced(store, "a/1")
    store.fence = WriteFence(a, lambda _address: ALL)
    expire(store)
    with pytest.raises(LeaseLost):
        store.begin_write("PhoneNumber/one", "create", "k-one", {})
    assert open_intents(store) == []


def test_a_new_epoch_waits_for_an_intent_being_written_under_the_old_one(store):
    """The lease row is locked FOR SHARE by the intent's transaction: a takeover waits for its commit, so
    the new holder always finds the old holder's intents in the journal."""
    a = fenced(store, "a/1")
    fence = WriteFence(a, lambda _address: ALL)
    taken: list[int | None] = []
    with store.engine.begin() as conn:
        fence.check_in(conn, "PhoneNumber/one")
        expire_in_other = threading.Thread(target=lambda: (expire(store), taken.append(
            lease.acquire(store.engine, ALL, "b/2", TTL))))
        expire_in_other.start()
        expire_in_other.join(timeout=1.0)
        assert expire_in_other.is_alive(), "the takeover must wait for the intent's transaction"
        assert taken == []
    expire_in_other.join(timeout=30)
    assert taken == [2]


def test_an_intent_left_idle_by_a_stopped_holder_does_not_block_the_takeover(store):
    """A holder stopped (SIGSTOP, a frozen VM) inside an intent's transaction keeps the lease row locked:
    the server ends that transaction once it has been idle IDLE_HOLDING_A_LEASE_MS, the takeover goes on,
    and the stopped holder's intent is never committed (so its Bird write never leaves)."""
    from sqlalchemy.exc import DBAPIError

    a = fenced(store, "a/1")
    fence = WriteFence(a, lambda _address: ALL)
    taken: list[int | None] = []
    # When a wakes up, its transaction is gone.
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        fence.check_in(conn, "PhoneNumber/one")
        taker = threading.Thread(target=lambda: (expire(store), taken.append(
            lease.acquire(store.engine, ALL, "b/2", TTL))))
        taker.start()
        taker.join(timeout=60)  # a stays "stopped" until b is through (or the test gives up)
        assert taken == [2], "the takeover waited on a stopped holder's idle transaction"
        conn.execute(text("INSERT INTO leases (shard, epoch, expires_at) VALUES ('late', 0, now())"))
    with store.engine.connect() as check:
        assert check.execute(text("SELECT count(*) FROM leases WHERE shard = 'late'")).scalar() == 0


def test_the_local_deadline_stops_writes_without_asking_the_database():
    now = [100.0]
    fence = Fence("a/1", ttl=6.0, margin=1.0, clock=lambda: now[0])
    fence.took(ALL, 4, sent_at=100.0)
    assert fence.headers(ALL)[lease.HOLDER_HEADER].endswith("epoch=4")
    now[0] = 104.9
    assert fence.epoch(ALL) == 4
    now[0] = 105.0  # the renewal was sent at 100: the server's expiry is no earlier than 106
    with pytest.raises(LeaseLost):
        fence.headers(ALL)
    assert fence.held() == {}


def test_organizations_are_shared_evenly_and_pins_go_to_their_replica():
    from controller.state.lease import Assignment, share

    orgs = [f"org-{i:03d}" for i in range(300)]
    three = Assignment({"a": [], "b": [], "c": []}, {})
    assert share(orgs, "a", three) == (set(orgs), 100)
    assert share(orgs, "d", three)[1] == 75  # a replica joining counts itself before its first heartbeat
    pinned = Assignment({"a": ["org-007"], "b": [], "c": []}, {})
    assert share(orgs, "a", pinned) == ({"org-007"}, 1)  # a pinned replica holds only its pins
    may, quota = share(orgs, "b", pinned)
    assert "org-007" not in may and len(may) == 299 and quota == 150
    # A pin of a replica that is not alive any more is shared like any other organization.
    assert "org-007" in share(orgs, "b", Assignment({"b": [], "c": []}, {}))[0]


def test_a_balancing_round_learns_when_another_replicas_lease_or_heartbeat_lapses(store):
    engine = store.engine
    assert lease.heartbeat(engine, "b", [], TTL).next_expiry is None, "alone: nothing of another to wait for"
    lease.heartbeat(engine, "a", [], 60.0)
    assert lease.acquire(engine, "org-1", "a", 10.0) is not None
    soonest = lease.heartbeat(engine, "b", [], TTL).next_expiry
    assert soonest is not None and 0 < soonest <= 10.0, "a's lease lapses first, within its ttl"
    # Its own lease and heartbeat are never what a replica waits for: for a, it is b's heartbeat (TTL).
    theirs = lease.heartbeat(engine, "a", [], TTL).next_expiry
    assert theirs is not None and 10.0 < theirs <= TTL


def test_the_renewal_thread_keeps_a_replica_alive_whatever_its_event_loop_does(store):
    engine = store.engine
    lease.heartbeat(engine, "a", [], 5.0)  # a's last balancing round: alive for 5 s more
    assert lease.keep_alive(engine, {}, "a", 600.0) == set()
    with engine.connect() as conn:
        left = conn.execute(text("SELECT extract(epoch FROM expires_at - (clock_timestamp() AT TIME ZONE 'UTC')) "
                                 "FROM replicas WHERE name = 'a'")).scalar_one()
    assert float(left) > 60, "the renewal extended a's heartbeat, not only its leases"
    epoch = lease.acquire(engine, "org-1", "a", 5.0)
    assert lease.keep_alive(engine, {"org-1": epoch}, "a", TTL) == {"org-1"}
