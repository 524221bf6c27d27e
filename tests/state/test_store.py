"""The state store on real SQLite files and real PostgreSQL databases."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from controller.state import (
    Condition,
    DuplicateOperation,
    ResourceRecord,
    StateError,
    StateLocked,
    StateStore,
)
from controller.state.db import head_revision

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(state_url):
    s = StateStore.open(state_url)
    yield s
    s.close()


def record(address: str = "PhoneNumber/alice-line", **kw) -> ResourceRecord:
    defaults = {"kind": address.split("/")[0], "bird_id": "num-1", "spec_hash": "h1",
                "spec": {"select": {"country": "US"}}, "data": {"number": "+14155550100"}}
    return ResourceRecord(address=address, **{**defaults, **kw})


# --- opening and migrations ---------------------------------------------------------------------


def test_open_creates_the_default_sqlite_directory_and_migrates_to_head(tmp_path):
    url = f"sqlite:///{tmp_path}/.senderctl/state.db"  # the default's directory is made on first use
    with StateStore.open(url) as s:
        tables = set(inspect(s.engine).get_table_names())
    assert (tmp_path / ".senderctl/state.db").exists()
    assert {"resources", "conditions", "operations", "locks", "usage_logs", "assignments", "alembic_version"} <= tables


def test_a_state_in_any_other_missing_directory_is_refused(tmp_path):
    with pytest.raises(StateError, match="does not exist"):
        StateStore.open(f"sqlite:///{tmp_path}/nested/dir/state.db")
    assert not (tmp_path / "nested").exists()


def test_the_head_constant_names_the_newest_migration():
    from controller.state.db import HEAD_REVISION

    assert head_revision() == HEAD_REVISION, "a migration was added: update HEAD_REVISION in controller/state/db.py"


def test_reopening_keeps_data_and_schema_version(state_url):
    with StateStore.open(state_url) as s:
        s.save_record(record())
    with StateStore.open(state_url) as s:
        assert "PhoneNumber/alice-line" in s.records()
        with s.engine.connect() as conn:
            from controller.state.db import current_revision

            assert current_revision(conn) == head_revision()


def test_relative_default_path_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with StateStore.open("sqlite:///.senderctl/state.db"):
        pass
    assert (tmp_path / ".senderctl" / "state.db").exists()


def test_bad_urls_fail_with_a_clear_message():
    with pytest.raises(StateError, match="not a database URL"):
        StateStore.open("not a url")
    with pytest.raises(StateError, match="not supported"):
        StateStore.open("mysql://u@h/db")


def test_unreachable_postgres_names_the_problem_without_the_password():
    with pytest.raises(StateError) as info:
        StateStore.open("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/none?connect_timeout=2")
    assert "s3cret" not in str(info.value)
    assert "cannot open the state database" in str(info.value)


@pytest.mark.slow
def test_concurrent_first_opens_migrate_once(state_url):
    """Four processes opening a fresh state at once all succeed and leave one schema."""
    code = textwrap.dedent(f"""
        from controller.state import StateStore, ResourceRecord
        import sys
        s = StateStore.open({state_url!r})
        s.save_record(ResourceRecord(address="Workspace/w" + sys.argv[1], kind="Workspace"))
        s.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i)], cwd=ROOT, stderr=subprocess.PIPE) for i in range(4)]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with StateStore.open(state_url) as s:
        assert sorted(s.records()) == [f"Workspace/w{i}" for i in range(4)]


# --- records -------------------------------------------------------------------------------------


def test_records_round_trip_and_upsert_keeps_created_at(store):
    store.save_record(record())
    first = store.records()["PhoneNumber/alice-line"]
    assert first.bird_id == "num-1" and first.data == {"number": "+14155550100"}
    assert first.created_at is not None and first.created_at.tzinfo is not None
    store.save_record(record(bird_id="num-2", spec_hash="h2", natural_key="+14155550100"))
    second = store.records()["PhoneNumber/alice-line"]
    assert (second.bird_id, second.spec_hash, second.natural_key) == ("num-2", "h2", "+14155550100")
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at  # type: ignore[operator]


def test_json_columns_keep_money_exact(store):
    from decimal import Decimal

    store.save_record(record(spec={"weeklyPrice": Decimal("2.99"), "at": datetime(2026, 1, 1, tzinfo=UTC)}))
    assert store.records()["PhoneNumber/alice-line"].spec == {"weeklyPrice": "2.99",
                                                               "at": "2026-01-01T00:00:00+00:00"}


def test_forget_removes_the_record_and_its_condition(store):
    store.save_record(record())
    store.save_record(record("Brand/acme", bird_id="b-1"))
    store.set_conditions([Condition("PhoneNumber/alice-line", "Ready")])
    store.forget("PhoneNumber/alice-line")
    assert list(store.records()) == ["Brand/acme"]
    assert store.conditions() == {}
    store.forget("PhoneNumber/never-there")  # forgetting twice is harmless


# --- conditions ----------------------------------------------------------------------------------


def test_set_conditions_keeps_since_while_status_and_reason_are_unchanged(store):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store.set_conditions([Condition("Brand/acme", "Waiting", "brand acme is PENDING", t0),
                          Condition("Workspace/main", "Ready", "", t0)])
    store.set_conditions([Condition("Brand/acme", "Waiting", "brand acme is PENDING", t0 + timedelta(hours=1)),
                          Condition("Workspace/main", "Ready", "", t0 + timedelta(hours=1))])
    assert store.conditions()["Brand/acme"].since == t0
    later = t0 + timedelta(hours=2)
    store.set_conditions([Condition("Brand/acme", "Ready", "", later)])
    got = store.conditions()
    assert (got["Brand/acme"].status, got["Brand/acme"].since) == ("Ready", later)
    assert got["Workspace/main"].since == t0


def test_a_changed_reason_resets_since(store):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store.set_conditions([Condition("Campaign/a", "Waiting", "brand acme is PENDING", t0)])
    store.set_conditions([Condition("Campaign/a", "Waiting", "campaign awaiting carrier approval",
                                    t0 + timedelta(minutes=5))])
    assert store.conditions()["Campaign/a"].since == t0 + timedelta(minutes=5)


def test_set_conditions_refuses_unknown_statuses(store):
    with pytest.raises(ValueError, match="Ready"):
        store.set_conditions([Condition("Brand/acme", "Green", "")])  # type: ignore[arg-type]


def test_many_conditions_in_one_batch(store):
    store.set_conditions(Condition(f"PhoneNumber/n{i}", "Ready") for i in range(500))
    assert len(store.conditions()) == 500


# --- the operation journal -----------------------------------------------------------------------


def test_intent_is_committed_before_the_write_and_visible_to_another_connection(state_url, store):
    op_id = store.begin("PhoneNumber/alice-line", "create", "key-1", {"number": "+14155550100"})
    with StateStore.open(state_url) as other:  # what a process restarted after a crash sees
        [op] = other.open_operations()
    assert (op.id, op.status, op.key, op.request) == (op_id, "intent", "key-1", {"number": "+14155550100"})
    assert op.finished_at is None


def test_finish_records_outcome_and_record_in_one_step(store):
    op_id = store.begin("PhoneNumber/alice-line", "create", "key-1", {"n": 1})
    store.finish(op_id, "succeeded", result={"id": "num-1"}, record=record())
    assert store.open_operations() == []
    [op] = store.operations("PhoneNumber/alice-line")
    assert (op.status, op.result, op.finished_at is not None) == ("succeeded", {"id": "num-1"}, True)
    assert store.records()["PhoneNumber/alice-line"].bird_id == "num-1"


def test_finish_rolls_back_the_outcome_when_the_record_cannot_be_saved(store):
    op_id = store.begin("PhoneNumber/alice-line", "create", "key-1", {})
    with pytest.raises(Exception):  # noqa: B017 - any database error; the point is the rollback
        store.finish(op_id, "succeeded", record=record(kind=None))  # kind is NOT NULL
    assert [op.id for op in store.open_operations()] == [op_id]
    assert store.records() == {}


def test_idempotency_keys_are_unique(store):
    store.begin("Brand/acme", "create", "same", {})
    with pytest.raises(DuplicateOperation, match="same"):
        store.begin("Brand/acme", "create", "same", {})


def test_an_operation_finishes_only_once(store):
    op_id = store.begin("Brand/acme", "create", "k", {})
    store.finish(op_id, "failed", error="Bird said 422: ein is invalid")
    with pytest.raises(StateError, match="already finished as failed"):
        store.finish(op_id, "succeeded")
    with pytest.raises(StateError, match="not in the journal"):
        store.finish(9999, "abandoned")
    with pytest.raises(ValueError):
        store.finish(op_id, "done")  # type: ignore[arg-type]


def test_operations_newest_first_filtered_and_limited(store):
    ids = [store.begin(f"PhoneNumber/n{i % 2}", "create", f"k{i}", {"i": i}) for i in range(6)]
    store.finish(ids[0], "abandoned")
    assert [o.id for o in store.operations()] == ids[::-1]
    assert [o.id for o in store.operations("PhoneNumber/n1")] == [ids[5], ids[3], ids[1]]
    assert len(store.operations(limit=2)) == 2
    assert [o.id for o in store.open_operations()] == ids[1:]


# --- the apply lock --------------------------------------------------------------------------------


def test_a_second_apply_is_refused_naming_the_holder(state_url, store):
    with store.apply_lock("senderctl apply by alice"), StateStore.open(state_url) as other:
        with pytest.raises(StateLocked) as info, other.apply_lock("senderctl apply by bob", timeout=0.2):
            pass
        message = str(info.value)
        assert "senderctl apply by alice" in message and f"pid {os.getpid()}" in message
        assert info.value.holder is not None and info.value.holder.owner == "senderctl apply by alice"
    with StateStore.open(state_url) as other, other.apply_lock("senderctl apply by bob"):
        assert other.lock_holder().owner == "senderctl apply by bob"  # type: ignore[union-attr]
    assert store.lock_holder() is None


def test_the_lock_is_released_when_the_body_raises(store):
    with pytest.raises(RuntimeError), store.apply_lock("a"):
        raise RuntimeError("boom")
    with store.apply_lock("b"):
        pass


def test_a_waiting_apply_gets_the_lock_when_it_is_released(state_url, store):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, sys
        from controller.state import StateStore
        s = StateStore.open({state_url!r})
        with s.apply_lock("short apply"):
            print("held", flush=True)
            time.sleep(1.0)
    """)], cwd=ROOT, stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"held"  # type: ignore[union-attr]
    with store.apply_lock("patient apply", timeout=20):
        assert store.lock_holder().owner == "patient apply"  # type: ignore[union-attr]
    holder.wait(timeout=20)


def test_a_lock_left_by_a_killed_process_is_taken_over(state_url, store):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from controller.state import StateStore
        s = StateStore.open({state_url!r})
        with s.apply_lock("doomed apply"):
            print("held", flush=True)
            time.sleep(60)
    """)], cwd=ROOT, stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"held"  # type: ignore[union-attr]
    holder.kill()
    holder.wait()
    with store.apply_lock("next apply", timeout=5):
        assert store.lock_holder().owner == "next apply"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_postgres_session_of_a_dead_process_is_ended_and_the_lock_taken_over(postgres_url):
    """The holder's pid is gone but its database session lingers (e.g. a connection pooler)."""
    from sqlalchemy import text

    from controller.state import lock

    with StateStore.open(postgres_url) as store:
        lingering = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        assert lingering.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock.APPLY_LOCK_KEY}).scalar_one()
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        lock.write_holder(store.engine, "crashed apply")
        from sqlalchemy import update

        from controller.state.tables import LockRow
        with store.transaction() as session:
            session.execute(update(LockRow).values(pid=dead.pid))
        with store.apply_lock("next apply", timeout=5):
            assert store.lock_holder().owner == "next apply"  # type: ignore[union-attr]
        lingering.invalidate()


def test_force_unlock_clears_the_record(state_url, store):
    from controller.state import lock

    lock.write_holder(store.engine, "stuck apply")
    assert store.force_unlock() is True
    assert store.lock_holder() is None
    assert store.force_unlock() is False


def test_repr_never_shows_the_database_password():
    from controller.state.store import redact

    assert "hunter2" not in redact("postgresql+psycopg://u:hunter2@db/x")


def test_record_rows_with_a_cache_read_what_a_fresh_read_does_after_every_kind_of_change(state_url, store):
    """The daemon keeps the records it read and decodes again only those whose version moved: after saves,
    a changed data field under the same spec hash and Bird id, a removal, a rename (which rewrites other
    records' data) and the signing-key digest upgrade, it must read what a read without the cache reads."""
    from controller.reconcile.secrets import upgrade_signing_key_digests
    from controller.state.store import RecordRowCache

    cache = RecordRowCache()

    def same() -> None:
        cached = sorted(store.record_rows(cache))
        assert cached == sorted(store.record_rows())
        other = StateStore.open(state_url)  # another process's view, and the same cache read through it
        try:
            assert sorted(other.record_rows(cache)) == cached
        finally:
            other.close()

    for i in range(3):
        store.save_record(record(f"PhoneNumber/line-{i}", bird_id=f"num-{i}"))
    store.save_record(record("Channel/line-0", bird_id="ch-0", data={"numberAddress": "PhoneNumber/line-0"}))
    store.save_record(record("WebhookSubscription/hook", bird_id="wh-1",
                             data={"signingKeyDigest": "legacy-digest"}))
    same()
    store.save_record(record("PhoneNumber/line-1", bird_id="num-1", data={"number": "+14155550199"}))
    same()
    store.forget("PhoneNumber/line-2")
    same()
    store.rename({"PhoneNumber/line-0": "PhoneNumber/renamed"})
    assert store.record("Channel/line-0").data["numberAddress"] == "PhoneNumber/renamed"
    same()
    assert upgrade_signing_key_digests(store) == 1
    same()
    assert len(cache.rows) == 4 and dict(cache.rows)["Channel/line-0"][5]["numberAddress"] == "PhoneNumber/renamed"
