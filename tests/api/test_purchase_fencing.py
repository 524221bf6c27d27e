"""Platform API purchases are fenced by their organization's lease, whichever replica serves them.

The replica that answers a purchase need not own the organization: the purchase is bound to the lease epoch
in force when it began, its intent commits only while that epoch is live, and its Bird write leaves only
before the lease's expiry. With no live owner (a takeover under way) nothing is bought and the answer is a
retryable 503; the retry with the same Idempotency-Key buys once the organization has an owner again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, text

from controller.state import lease
from tests.api.conftest import ORG, WORKSPACE_UUID, World, make_token
from tests.api.test_purchase import buys, purchase
from tests.daemon.conftest import Daemon, free_port, wait_until

pytestmark = pytest.mark.postgres


def replica(world: World, *extra: str) -> Daemon:
    daemon = Daemon(world.specs, world.state_url, world.emulator.url, world.workdir, port=free_port(), resync="1h",
                    extra=extra)
    world.daemons.append(daemon)
    daemon.wait_healthy()
    return daemon


def holders_of_buys(world: World) -> list[str]:
    return holders_of_writes(world, "/numbers-long-code")


def holders_of_writes(world: World, route_end: str) -> list[str]:
    log = world.emulator.http.get("/_emulator/requests", params={"writes": "1"}).raise_for_status().json()["writes"]
    return [w["holder"] for w in log if w["route"].endswith(route_end)]


def test_a_purchase_waits_for_its_organization_to_have_an_owner_and_is_bought_under_its_epoch(
        world_factory: Callable[..., World], postgres_url: str) -> None:
    world = world_factory(state_url=postgres_url, daemon=False)
    # A replica pinned to another organization serves the API but holds no lease on this one.
    bystander = replica(world, "--shard", "elsewhere")
    token = make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write")
    client = world.client(token, bystander)
    world.emulator.zero_requests()

    refused = purchase(client, "order-1")
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "organization_moving" and refused.headers["Retry-After"]
    assert buys(world) == 0, "no purchase write while nobody holds the organization's lease"

    owner = replica(world)
    wait_until(lambda: ORG in (owner.get("/readyz").json().get("organizations") or []), 60, "an owner of the org")
    bought = purchase(client, "order-1")
    assert bought.status_code == 201, bought.text
    assert buys(world) == 1
    (holder,) = holders_of_buys(world)
    epoch = next(i.epoch for i in lease.leases(create_engine(world.state_url)) if i.shard == ORG)
    assert holder.startswith(lease.API_HOLDER_PREFIX) and holder.endswith(f" shard={ORG} epoch={epoch}"), holder
    # Its SMS channel, and the channel's removal when the number is archived, are fenced the same way.
    (channel,) = holders_of_writes(world, "/connectors")
    assert channel.startswith(lease.API_HOLDER_PREFIX) and channel.endswith(f" shard={ORG} epoch={epoch}"), channel
    admin = world.client(make_token(world.state_url, "admin@acme.example", "admin"), bystander)
    phones = admin.get(f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers").json()["results"]
    phone = next(p for p in phones if p["number"] == bought.json()["number"])
    assert admin.post(f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers/{phone['id']}/archive").status_code == 200
    (removal,) = holders_of_writes(world, "/connectors/{connectorId}")
    assert removal.startswith(lease.API_HOLDER_PREFIX) and removal.endswith(f" shard={ORG} epoch={epoch}"), removal


def test_a_purchase_bound_to_an_epoch_that_moved_on_writes_nothing(postgres_url: str) -> None:
    from controller.state import StateStore

    store = StateStore.open(postgres_url)  # the schema, with its leases table
    engine = store.engine
    try:
        first = lease.acquire(engine, ORG, "replica-a/1", ttl=2.0)
        bound = lease.bind(engine, ORG)
        assert bound is not None and bound.epoch == first
        with engine.begin() as conn:
            bound.check_in(conn, "api:purchase/1")
        assert bound.before_write()[lease.HOLDER_HEADER].endswith(f"shard={ORG} epoch={first}")

        # The lease lapses and another replica takes it: the bound purchase may no longer write.
        taken = wait_until(lambda: lease.acquire(engine, ORG, "replica-b/2", ttl=30.0), 30, "another holder")
        assert taken == first + 1
        with pytest.raises(lease.OrganizationMoving), engine.begin() as conn:
            bound.check_in(conn, "api:purchase/1")
        with pytest.raises(lease.OrganizationMoving):
            bound.before_write()
        # A purchase that begins now is bound to the new epoch.
        again = lease.bind(engine, ORG)
        assert again is not None and again.epoch == taken
        with engine.begin() as conn:
            assert conn.execute(text("SELECT holder FROM leases WHERE shard = :s"), {"s": ORG}).scalar() == "replica-b/2"
    finally:
        store.close()
