"""SQLite allows one writer. A read must never take the write lock (it would wait for every writer, and
for its own thread's write transaction until the 60 s busy timeout), and a thread that begins a second
write transaction inside its own first one is told at once instead of waiting for itself."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from controller.state import StateStore
from controller.state.db import NestedWrite
from controller.state.webhook_inbox import pending_webhooks

# Far below the 60 s busy timeout a lock wait would take, far above what the statements cost.
NO_WAIT = 20.0


@pytest.fixture
def store(sqlite_url: str):
    with StateStore.open(sqlite_url) as s:
        yield s


def test_a_read_inside_the_threads_own_write_transaction_does_not_wait_for_it(store: StateStore) -> None:
    started = time.monotonic()
    with store.transaction() as tx:
        tx.execute(text("DELETE FROM conditions WHERE address = 'x'"))  # holds SQLite's write lock now
        assert store.records() == {}
        assert pending_webhooks(store) == []
        assert store.conditions() == {}
    assert time.monotonic() - started < NO_WAIT


def test_reads_of_other_threads_go_on_while_a_write_transaction_is_open(store: StateStore) -> None:
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as tx:
            tx.execute(text("DELETE FROM conditions WHERE address = 'x'"))
            holding.set()
            release.wait(NO_WAIT * 3)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(NO_WAIT)
        started = time.monotonic()
        assert store.records() == {} and store.condition_addresses() == frozenset()
        assert time.monotonic() - started < NO_WAIT
    finally:
        release.set()
        thread.join()


def test_a_write_begun_inside_the_same_threads_write_fails_at_once(store: StateStore) -> None:
    started = time.monotonic()
    with pytest.raises(NestedWrite, match="would wait for itself"), store.transaction() as tx:
        tx.execute(text("DELETE FROM conditions WHERE address = 'x'"))
        with store.connection_transaction() as inner:
            inner.execute(text("DELETE FROM conditions WHERE address = 'y'"))
    assert time.monotonic() - started < NO_WAIT
    # Nothing is left marked as writing: the next transactions of this thread go through.
    with store.transaction() as tx:
        tx.execute(text("DELETE FROM conditions WHERE address = 'x'"))
    with store.connection_transaction() as again:
        again.execute(text("DELETE FROM conditions WHERE address = 'x'"))
