"""One live assignment per user whatever the case of the address: the state's unique index compares
lower(user), as every lookup does, so a race between ZOE@ and zoe@ has one winner."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from controller.state import StateStore
from controller.state import tenant_repo as repo
from controller.state.db import alembic_config
from controller.state.errors import Conflict

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def test_a_second_live_assignment_under_another_case_is_refused(state_url):
    with StateStore.open(state_url) as store:
        with store.transaction() as tx:
            repo.add_assignment(tx, "acme", "+17205550101", "ZOE@acme.example", T0)
        with pytest.raises(Conflict, match="already has an active assignment"), store.transaction() as tx:
            repo.add_assignment(tx, "acme", "+17205550102", "zoe@acme.example", T0)
        with store.transaction() as tx:  # another organization's zoe is another user
            repo.add_assignment(tx, "globex", "+17205550103", "zoe@acme.example", T0)


@pytest.mark.postgres
def test_two_racing_requests_for_one_user_in_two_cases_have_one_winner(postgres_url):
    """Both requests read "zoe has no number" before either writes, then both insert and hold their
    transaction open: the second insert waits on the first's uncommitted row in the index and fails
    once the first commits. (Case-sensitive, both inserts would go through.)"""
    stores = [StateStore.open(postgres_url), StateStore.open(postgres_url)]
    both_checked = threading.Barrier(2, timeout=60)
    release = threading.Event()
    inserted: list[str] = []
    outcomes: dict[str, str] = {}

    def request(store: StateStore, number: str, user: str) -> None:
        try:
            with store.transaction() as tx:
                assert repo.active_assignment_of_user(tx, "acme", user) is None
                both_checked.wait()
                repo.add_assignment(tx, "acme", number, user, T0)
                inserted.append(user)
                assert release.wait(60)
            outcomes[user] = "assigned"
        except Conflict as exc:
            outcomes[user] = str(exc)

    threads = [threading.Thread(target=request, args=(store, number, user)) for store, number, user in
               zip(stores, ["+17205550101", "+17205550102"], ["ZOE@acme.example", "zoe@acme.example"], strict=True)]
    try:
        for thread in threads:
            thread.start()
        _wait_until_one_insert_waits_on_the_other(stores[0], inserted)
        release.set()
        for thread in threads:
            thread.join(60)
    finally:
        release.set()
        for store in stores:
            store.close()
    assert list(outcomes.values()).count("assigned") == 1, outcomes
    assert any("already has an active assignment" in outcome for outcome in outcomes.values()), outcomes
    winner = next(user for user, outcome in outcomes.items() if outcome == "assigned")
    with StateStore.open(postgres_url) as store, store.transaction() as tx:
        assert [a.user for a in repo.active_assignments(tx, "acme")] == [winner]


def _wait_until_one_insert_waits_on_the_other(store: StateStore, inserted: list[str]) -> None:
    """PostgreSQL shows the blocked insert as a lock wait; without the index both inserts finish."""
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")
    with store.engine.connect() as conn:
        while len(inserted) < 2 and not conn.execute(query).scalar():
            conn.execute(sa.text("SELECT pg_sleep(0.05)"))
            conn.rollback()


def test_the_upgrade_keeps_the_oldest_assignment_of_a_user_held_in_two_cases(state_url):
    """A state written before the index may hold ZOE@ and zoe@ live: the upgrade must not fail on it."""
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "fencing_0005_leases")
        for number, user, at in [("+17205550102", "zoe@acme.example", T0 + timedelta(days=1)),
                                 ("+17205550101", "ZOE@acme.example", T0),
                                 ("+17205550103", "bob@acme.example", T0)]:
            conn.execute(sa.text('INSERT INTO assignments (organization, number, "user", owner, assigned_at) '
                                 "VALUES ('acme', :n, :u, 'api', :at)"), {"n": number, "u": user, "at": at.replace(tzinfo=None)})
    engine.dispose()
    with StateStore.open(state_url) as store, store.transaction() as tx:
        live = {a.number: a.user for a in repo.active_assignments(tx, "acme")}
        history = repo.assignment_history(tx, "acme", "+17205550102")
    assert live == {"+17205550101": "ZOE@acme.example", "+17205550103": "bob@acme.example"}
    assert history[0].unassigned_at is not None  # ended, kept in history
