"""What `costs` reads from the state, on a real SQLite file and a real PostgreSQL database: the channel and
campaign ids come out of the records' JSON by the database (JSON_EXTRACT on SQLite, ->> on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from controller.state import ResourceRecord, StateStore
from controller.state.run_rate import read_cost_rows
from controller.state.tenant_repo import save_org_config
from controller.tenant.numbers import acquire

AT = datetime(2027, 1, 1, tzinfo=UTC)


def test_organizations_workspaces_held_numbers_and_channel_links(state_url):
    with StateStore.open(state_url) as store:
        for r in (ResourceRecord("Organization/acme", "Organization", bird_id="org-1"),
                  ResourceRecord("Workspace/main", "Workspace", bird_id="ws-1", spec={"organization": "acme"}),
                  ResourceRecord("Workspace/idle", "Workspace", bird_id="ws-2", spec={"organization": "acme"}),
                  ResourceRecord("Channel/alice-line", "Channel", bird_id="conn-1",
                                 data={"number": "+14155550100", "channelId": "ch-1", "campaignId": "camp-1"}),
                  ResourceRecord("Channel/half", "Channel", bird_id="conn-2", data={"channelId": "ch-2"}),
                  ResourceRecord("PhoneNumber/alice-line", "PhoneNumber", bird_id="num-1",
                                 data={"number": "+14155550100", "channelId": "not-a-channel-record"})):
            store.save_record(r)
        with store.transaction() as tx:
            save_org_config(tx, {"name": "acme", "bird_organization_id": "org-1", "enabled": True, "number_limit": 5,
                                 "weekly_price": Decimal("2.99"), "currency": "USD", "updated_at": AT})
            acquire(tx, "acme", "main", "+14155550100", "num-1", Decimal("1.15"), AT)
            acquire(tx, "acme", "main", "+14155550101", "num-2", None, AT)
        rows = read_cost_rows(store.engine)
    assert rows.organizations == ["acme"]
    assert rows.terms == {"acme": (Decimal("2.99"), "USD")}
    assert rows.workspaces == {"acme": [("idle", "ws-2"), ("main", "ws-1")]}
    assert rows.held == {"acme": 2}
    assert rows.held_in["main"].count == 2 and sorted(rows.held_in["main"].monthly_prices) == [Decimal(0),
                                                                                               Decimal("1.15")]
    assert "idle" not in rows.held_in
    assert rows.links == [("ch-1", "camp-1")]  # a channel record without its campaign links nothing
