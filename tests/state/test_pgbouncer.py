"""The state and its fenced leases through PgBouncer in transaction pooling mode."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from controller.state import ResourceRecord, StateError, StateStore, lease
from controller.state.lease import ALL, Fence, LeaseLost, WriteFence
from tests.pgbouncer import running_pgbouncer, through

pytestmark = pytest.mark.postgres
TTL = 30.0


@pytest.fixture
def pooled_url(postgres_url):
    with running_pgbouncer() as port:
        yield through(postgres_url, port)


def test_the_state_migrates_and_journals_fenced_intents_through_pgbouncer(pooled_url):
    store = StateStore.open(pooled_url)
    try:
        holder = "pod-a/1"
        fence = Fence(holder, TTL)
        sent = time.monotonic()
        epoch = lease.acquire(store.engine, ALL, holder, TTL)
        assert epoch == 1
        fence.took(ALL, epoch, sent)
        store.fence = WriteFence(fence, lambda _address: ALL)
        # Many transactions of the same statements from several threads at once, so that PgBouncer hands
        # each one whichever server session is free: a statement prepared on one would be missing on another.
        def journal(thread: int) -> None:
            for n in range(20):
                address = f"PhoneNumber/t{thread}-{n}"
                op = store.begin_write(address, "create", f"key-{thread}-{n}", {})
                store.settle(address, [op], ResourceRecord(address=address, kind="PhoneNumber", bird_id=address,
                                                           spec_hash="h", spec={}, data={}))
                assert lease.renew(store.engine, {ALL: epoch}, holder, TTL) == {ALL}

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(journal, range(4)))
        assert len(store.records()) == 80
        # Another replica takes over once the lease is released: the first one's intents are refused.
        lease.release(store.engine, {ALL: epoch}, holder)
        assert lease.acquire(store.engine, ALL, "pod-b/2", TTL) == 2
        with pytest.raises(LeaseLost):
            store.begin_write("PhoneNumber/late", "create", "key-late", {})
        assert store.open_operations() == []
    finally:
        store.close()


def test_a_command_apply_through_pgbouncer_is_refused_with_the_way_out(pooled_url):
    store = StateStore.open(pooled_url)
    try:
        with pytest.raises(StateError, match="drop \\?pooler=pgbouncer"), store.apply_lock("senderctl apply"):
            pass
    finally:
        store.close()


def test_an_unknown_pooler_is_named():
    with pytest.raises(StateError, match="pooler='odyssey' is not known"):
        StateStore.open("postgresql+psycopg://postgres@127.0.0.1:1/x?pooler=odyssey")
