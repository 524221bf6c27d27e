"""Outbound traffic per channel on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.state import StateStore
from controller.state.traffic import Outbound, channel_traffic, count_outbound

T0 = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)


def test_counts_add_up_and_the_last_outbound_time_never_goes_back(state_url):
    with StateStore.open(state_url) as store:
        with store.connection_transaction() as tx:
            count_outbound(tx, [Outbound("ch-a", T0), Outbound("ch-a", T0 + timedelta(minutes=5)),
                                Outbound("ch-b", T0)])
        with store.connection_transaction() as tx:  # a late, older event counts but does not move the time back
            count_outbound(tx, [Outbound("ch-a", T0 - timedelta(days=3))])
        traffic = channel_traffic(store.engine)
    assert traffic["ch-a"].outbound_count == 3
    assert traffic["ch-a"].last_outbound_at == T0 + timedelta(minutes=5)
    assert traffic["ch-b"].outbound_count == 1 and traffic["ch-b"].last_outbound_at == T0
    assert "ch-c" not in traffic


def test_the_counts_survive_reopening_the_state(state_url):
    with StateStore.open(state_url) as store, store.connection_transaction() as tx:
        count_outbound(tx, [Outbound("ch-a", T0)])
    with StateStore.open(state_url) as store:
        assert channel_traffic(store.engine)["ch-a"].outbound_count == 1


def test_nothing_to_count_writes_nothing(state_url):
    with StateStore.open(state_url) as store:
        with store.connection_transaction() as tx:
            assert count_outbound(tx, []) == 0
        assert channel_traffic(store.engine) == {}
