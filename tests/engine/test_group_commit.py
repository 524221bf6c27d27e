"""Apply's state writer commits the journal writes waiting together in one transaction (group commit,
controller.reconcile.apply.StateWriter and controller.state.store.StateStore.grouped): fewer commits,
the same rows, the same order, and a refused write fails only itself."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from controller.reconcile.apply import StateWriter
from controller.state import ResourceRecord, StateStore
from controller.state.errors import DuplicateOperation

WRITES = 20


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def count_commits(store: StateStore) -> list[int]:
    commits = [0]

    def committed(_conn: Any) -> None:
        commits[0] += 1

    event.listen(store.engine, "commit", committed)
    return commits


def held_writer() -> tuple[StateWriter, threading.Event]:
    """A writer whose thread is busy until the event is set: what is submitted meanwhile queues."""
    writer, release = StateWriter(), threading.Event()
    writer.submit(release.wait)
    return writer, release


def record(address: str, bird_id: str) -> ResourceRecord:
    return ResourceRecord(address=address, kind="Brand", bird_id=bird_id, spec_hash="h", spec={}, data={})


def test_journal_writes_waiting_together_commit_once(store: StateStore) -> None:
    commits = count_commits(store)
    writer, release = held_writer()
    intents = [writer.submit(store.begin_write, f"Brand/b{i}", "create", f"key-{i}", {"i": i}, joins=store)
               for i in range(WRITES)]
    release.set()
    ids = [f.result(timeout=30) for f in intents]
    settled = [writer.submit(store.settle, f"Brand/b{i}", [op], record(f"Brand/b{i}", f"bird-{i}"), joins=store)
               for i, op in enumerate(ids)]
    concurrent.futures.wait(settled, timeout=30)
    writer.close()
    assert [f.result() for f in settled] == [None] * WRITES
    assert len(set(ids)) == WRITES and store.open_operations() == []
    assert sorted(store.records()) == sorted(f"Brand/b{i}" for i in range(WRITES))
    # 20 intents in one commit (they waited together); the settles in as few as arrived together.
    assert commits[0] <= 1 + WRITES, commits[0]
    assert commits[0] < 2 * WRITES


def test_a_refused_write_fails_only_itself(store: StateStore) -> None:
    store.begin_write("Brand/taken", "create", "taken-key", {})
    writer, release = held_writer()
    futures = [writer.submit(store.begin_write, f"Brand/b{i}", "create", "taken-key" if i == 3 else f"key-{i}", {},
                             joins=store) for i in range(6)]
    release.set()
    done, _ = concurrent.futures.wait(futures, timeout=30)
    writer.close()
    assert len(done) == 6
    failed = [i for i, f in enumerate(futures) if f.exception() is not None]
    assert failed == [3]
    assert isinstance(futures[3].exception(), DuplicateOperation)
    assert sorted(op.address for op in store.open_operations()) == sorted(
        ["Brand/taken", *(f"Brand/b{i}" for i in range(6) if i != 3)])


def test_a_write_outside_the_journal_sees_every_write_queued_before_it(store: StateStore) -> None:
    """A plain write (a tenant rule's read, a forget) is a barrier: the group before it is committed first,
    and the journal writes after it wait for it (the order of submission is kept)."""
    writer, release = held_writer()
    before = [writer.submit(store.begin_write, f"Brand/a{i}", "create", f"a-{i}", {}, joins=store) for i in range(5)]
    seen = writer.submit(lambda: len(store.open_operations()))
    after = [writer.submit(store.begin_write, f"Brand/c{i}", "create", f"c-{i}", {}, joins=store) for i in range(5)]
    release.set()
    concurrent.futures.wait([*before, seen, *after], timeout=30)
    writer.close()
    assert seen.result() == 5
    assert len(store.open_operations()) == 10


def test_a_write_cancelled_before_it_started_is_not_run(store: StateStore) -> None:
    writer, release = held_writer()
    kept = writer.submit(store.begin_write, "Brand/kept", "create", "kept", {}, joins=store)
    dropped = writer.submit(store.begin_write, "Brand/dropped", "create", "dropped", {}, joins=store)
    assert dropped.cancel()
    release.set()
    kept.result(timeout=30)
    writer.close()
    assert [op.address for op in store.open_operations()] == ["Brand/kept"]
