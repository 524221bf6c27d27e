"""Apply's state writes run on a thread of their own: while a transaction waits for the database, the
event loop keeps reading Bird (controller.reconcile.apply.StateWriter)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from controller.bird import BirdClient
from controller.reconcile.apply import JournaledIO, StateWriter
from controller.state import StateStore
from tests.engine.conftest import Emulator
from tests.support import ACCESS_KEY, WORKSPACE

READS = 20


def test_bird_reads_go_on_while_a_record_waits_for_the_sqlite_writer(tmp_path: Path, emulator: Emulator) -> None:
    path = tmp_path / "state.db"
    store = StateStore.open(f"sqlite:///{path}")
    # Another process's transaction holds SQLite's one write lock until this test lets it go.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def scenario() -> tuple[int, bool]:
        async with BirdClient(emulator.url, ACCESS_KEY) as client:
            io = JournaledIO(client, store)
            io.writer = StateWriter()
            try:
                writes = io.track_change_writes()
                io.save("Workspace/held", "Workspace", bird_id=None, spec={"name": "held"}, data={})
                for _ in range(READS):
                    async for _page in client.json_pages("numbers", workspaceId=WORKSPACE):
                        pass
                # Every read came back while the record still waits: the loop was never held by the write.
                still_waiting = not any(w.done() for w in writes)
                holder.execute("COMMIT")
                await io.writes_done(writes)
                return client.request_count, still_waiting
            finally:
                io.writer.close()

    try:
        reads, still_waiting = asyncio.run(scenario())
    finally:
        holder.close()
    assert reads == READS
    assert still_waiting, "the record was saved while another connection held the write lock?"
    saved = store.record("Workspace/held")
    assert saved is not None and saved.spec == {"name": "held"}
    store.close()


def test_a_record_that_cannot_be_saved_fails_its_change(tmp_path: Path) -> None:
    """A queued save that fails (one record per Bird object) is the change's failure, not lost on a thread."""
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    io = JournaledIO(None, store)
    io.save("Brand/a", "Brand", bird_id="same-id", spec={}, data={})  # no writer: saved at once

    async def scenario() -> str:
        io.writer = StateWriter()
        try:
            writes = io.track_change_writes()
            io.save("Brand/b", "Brand", bird_id="same-id", spec={}, data={})
            try:
                await io.writes_done(writes)
            except Exception as exc:  # noqa: BLE001 - the error apply reports for the change
                return str(exc)
            return ""
        finally:
            io.writer.close()

    error = asyncio.run(scenario())
    assert "Brand/a already holds Bird object same-id" in error
    assert store.record("Brand/b") is None
    store.close()


def test_a_tenant_rule_is_awaited_not_waited_for_on_the_loop(tmp_path: Path) -> None:
    """A purchase's bookkeeping (a tenant rule) runs after the writes queued before it; while it waits, the
    event loop goes on (it once blocked the loop, and the requests held meanwhile left in a burst)."""
    import threading

    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    io = JournaledIO(None, store)
    release = threading.Event()
    released_by_the_loop: list[bool] = []

    def busy_writer() -> None:  # the writer is busy with earlier writes until the loop lets it go
        released_by_the_loop.append(release.wait(30))

    async def scenario() -> str:
        io.writer = StateWriter()
        try:
            io.writer.submit(busy_writer)
            rule = asyncio.create_task(io.tenant_call(lambda _store, value: value, "kept"))
            await asyncio.sleep(0)  # the rule is waiting for the writer now
            assert not rule.done()
            release.set()  # only reached if the loop runs while the rule waits
            return await rule
        finally:
            io.writer.close()

    assert asyncio.run(scenario()) == "kept"
    assert released_by_the_loop == [True]
    store.close()
