"""Admin API: faults, request counts, state, reset, determinism by seed, world files."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from controller.emulator.app import create_app
from controller.emulator.world import World, WorldError
from tests.emulator.conftest import AUTH, ORG, WS, Bird, asgi_client, brand_body

pytestmark = pytest.mark.anyio

NUMBERS = "/workspaces/{workspaceId}/numbers"
BRANDS = "/workspaces/{workspaceId}/tcr-brands"


async def test_status_fault_applies_the_given_number_of_times_then_clears(any_bird: Bird) -> None:
    bird = any_bird
    await bird.admin("POST", "faults", json={"method": "GET", "route": NUMBERS, "effect": "status",
                                             "status": 503, "times": 2})
    for _ in range(2):
        response = await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)
        assert response.status_code == 503
    assert (await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code == 200
    # Other routes and methods were never affected.
    assert (await bird.http.get(f"/workspaces/{WS}/tcr-brands", headers=AUTH)).status_code == 200


async def test_rate_limit_fault_answers_429_with_retry_after(bird: Bird) -> None:
    await bird.admin("POST", "faults", json={"route": BRANDS, "effect": "rate-limit", "retryAfter": 3, "times": 1})
    response = await bird.http.get(f"/workspaces/{WS}/tcr-brands", headers=AUTH)
    assert response.status_code == 429 and response.headers["retry-after"] == "3"


async def test_commit_then_fail_applies_the_change_and_answers_502(any_bird: Bird) -> None:
    bird = any_bird
    await bird.admin("POST", "faults", json={"method": "POST", "route": BRANDS, "effect": "commit-then-fail",
                                             "times": 1})
    response = await bird.http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body())
    assert response.status_code == 502
    state = await bird.state()
    assert len(state["brands"]) == 1 and [c["kind"] for c in state["charges"]] == ["brand-registration"]
    listed = await bird.ok("GET", f"/workspaces/{WS}/tcr-brands")
    assert [b["id"] for b in listed["results"]] == [state["brands"][0]["id"]]


async def test_timeout_fault_holds_the_request_past_the_clients_timeout(any_bird: Bird) -> None:
    bird = any_bird
    await bird.admin("POST", "faults", json={"route": NUMBERS, "effect": "timeout", "seconds": 0.5, "times": 1})
    if isinstance(bird.http._transport, httpx.ASGITransport):  # in process there is no client timeout
        started = time.monotonic()
        response = await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)
        assert response.status_code == 504 and time.monotonic() - started >= 0.5
    else:
        with pytest.raises(httpx.TimeoutException):
            await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH, timeout=0.1)
        await asyncio.sleep(0.5)
    assert (await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code == 200


async def test_probability_zero_never_fires_and_delete_removes_all_faults(bird: Bird) -> None:
    await bird.admin("POST", "faults", json={"route": NUMBERS, "effect": "status", "probability": 0})
    for _ in range(20):
        assert (await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code == 200
    await bird.admin("POST", "faults", json={"effect": "status", "status": 500})
    assert (await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code == 500
    await bird.admin("DELETE", "faults")
    assert (await bird.admin("GET", "faults")) == {"faults": []}
    assert (await bird.http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code == 200


@pytest.mark.parametrize(("fault", "field"), [
    ({"effect": "explode"}, "effect"),
    ({"effect": "status", "route": "/workspaces/{workspaceId}/nothing"}, "route"),
    ({"effect": "status", "status": 200}, "status"),
    ({"effect": "status", "times": 0}, "times"),
    ({"effect": "status", "probability": 2}, "probability"),
])
async def test_invalid_faults_are_refused(bird: Bird, fault: dict, field: str) -> None:
    response = await bird.http.post("/_emulator/faults", json=fault)
    assert response.status_code == 422 and field in response.json()["details"]


async def test_requests_are_counted_by_route_template_and_can_be_zeroed(any_bird: Bird) -> None:
    bird = any_bird
    await bird.buy(2)
    await bird.http.get(f"/workspaces/{WS}/numbers", headers={})  # 401s count too: Bird saw them
    counts = await bird.admin("GET", "requests")
    routes = {"GET /workspaces/{workspaceId}/numbers-stock-items": 1,
              "POST /workspaces/{workspaceId}/numbers-long-code": 1, "GET /workspaces/{workspaceId}/numbers": 2}
    assert counts == {"total": 4, "byRoute": routes, "byWorkspace": {WS: routes}, "byHolder": {}}
    await bird.admin("DELETE", "requests")
    assert await bird.admin("GET", "requests") == {"total": 0, "byRoute": {}, "byWorkspace": {}, "byHolder": {}}


async def test_writes_are_logged_in_order_with_the_daemon_replica_and_epoch_that_sent_them(any_bird: Bird) -> None:
    bird = any_bird
    await bird.http.post(f"/workspaces/{WS}/numbers-long-code", json={"numbers": []},
                         headers={"Senderctl-Holder": "pod-a/7 shard=* epoch=3"})
    await bird.http.post(f"/workspaces/{WS}/numbers-long-code", json={"numbers": []})
    counts = await bird.admin("GET", "requests")
    assert counts["byHolder"] == {"pod-a/7 shard=* epoch=3": 1} and "writes" not in counts
    writes = (await bird.http.get("/_emulator/requests", params={"writes": "1"})).json()["writes"]
    assert [(w["seq"], w["holder"], w["route"]) for w in writes] == [
        (1, "pod-a/7 shard=* epoch=3", "POST /workspaces/{workspaceId}/numbers-long-code"),
        (2, None, "POST /workspaces/{workspaceId}/numbers-long-code")]


async def test_reset_returns_to_the_starting_world(any_bird: Bird) -> None:
    bird = any_bird
    before = await bird.state()
    await bird.buy(2)
    await bird.brand()
    await bird.admin("POST", "faults", json={"route": BRANDS, "effect": "status"})
    await bird.admin("POST", "reset")
    after = await bird.state()
    for key in ("numbers", "brands", "charges", "wallets", "stock", "webhookSubscriptions", "deliveries"):
        assert after[key] == before[key], key
    assert (await bird.http.get(f"/workspaces/{WS}/tcr-brands", headers=AUTH)).status_code == 200


async def test_the_same_seed_gives_the_same_world_and_ids_and_another_seed_does_not() -> None:
    async def run(seed: int) -> tuple[list[str], str]:
        app = create_app(seed=seed)
        async with asgi_client(app) as http:
            bird = Bird(http, app.state.emulator)
            stock = await bird.ok("GET", f"/organizations/{ORG}/numbers-stock-items", params={"limit": 20})
            brand = await bird.brand(approved=False)
            return [s["numberString"] for s in stock["results"]], brand["id"]

    assert await run(3) == await run(3)
    assert (await run(3))[0] != (await run(4))[0]


async def test_clock_cannot_go_back_and_advance_needs_seconds(bird: Bird) -> None:
    assert (await bird.http.post("/_emulator/clock/advance", json={"seconds": -1})).status_code == 422
    assert (await bird.http.post("/_emulator/clock/advance", json={})).status_code == 422
    assert (await bird.http.post("/_emulator/clock/advance", content=b"{")).status_code == 400


@pytest.mark.parametrize("seconds", [10**30, 1e308, 400 * 365 * 24 * 3600])
async def test_a_huge_advance_is_refused_and_the_emulator_stays_usable(any_bird: Bird, seconds: float) -> None:
    before = (await any_bird.http.get("/_emulator/state")).status_code
    refused = await any_bird.http.post("/_emulator/clock/advance", json={"seconds": seconds})
    assert refused.status_code == 422 and "at most" in refused.text, refused.text
    assert before == (await any_bird.http.get("/_emulator/state")).status_code == 200
    assert (await any_bird.http.get(NUMBERS.format(workspaceId=WS), headers=AUTH)).status_code == 200
    moved = await any_bird.http.post("/_emulator/clock/advance", json={"seconds": 3600})
    assert moved.status_code == 200, moved.text


def test_world_file_declares_organizations_keys_wallets_resellers_stock(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(f"""
organizations:
  - id: {ORG}
    resellers: [{{id: 77777777-7777-4777-8777-777777777777, status: ACTIVE, companyName: Resale}}]
    stock: [{{country: US, type: local, count: 3, prefix: "+1646"}}]
    workspaces:
      - {{id: {WS}, wallet: "12.50", ownedNumbers: 2}}
accessKeys:
  - {{key: team-key, workspaces: [{WS}]}}
""")
    world = World.from_file(path)
    assert world.workspaces()[0].wallet == Decimal("12.50")
    assert world.organizations[0].stock[0].prefix == "+1646"
    assert world.access_keys[0].key == "team-key"
    assert "team-key" not in repr(world)
    app = create_app(world)
    emulator = app.state.emulator
    assert len(emulator.orgs[ORG].stock) == 3 and len(emulator.workspaces[WS].numbers) == 2
    assert all(i["numberString"].startswith("+1646") for i in emulator.orgs[ORG].stock)


@pytest.mark.parametrize(("text", "message"), [
    ("organizations: 3", "organizations: expected a list"),
    ("organizations: [{id: nope}]", "is not a UUID"),
    (f"organizations: [{{id: {ORG}, stock: [{{count: -1}}]}}]", "count"),
    (f"organizations: [{{id: {ORG}, stock: [{{prefix: '+44'}}]}}]", "prefix"),
    (f"organizations: [{{id: {ORG}, workspaces: [{{id: {WS}, wallet: lots}}]}}]", "wallet"),
    ("accessKeys: []", "at least one organization"),
    ("[unclosed", "not valid YAML"),
])
def test_world_file_errors_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(text)
    with pytest.raises(WorldError, match=message) as caught:
        World.from_file(path)
    assert str(path) in str(caught.value)


async def test_every_id_is_a_uuid_and_every_timestamp_rfc3339(bird: Bird) -> None:
    import re
    import uuid
    from datetime import datetime

    number = (await bird.buy(1))[0]
    campaign = await bird.campaign((await bird.brand())["id"])
    await bird.connector(number["id"], campaign["id"])
    await bird.subscribe("sms.inbound", "https://hooks.acme.example/x")
    state = await bird.state()
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
    for kind in ("numbers", "brands", "campaigns", "connectors", "channels", "webhookSubscriptions", "charges"):
        assert state[kind], kind
        for item in state[kind]:
            assert str(uuid.UUID(item["id"])) == item["id"], (kind, item["id"])
            for key in ("createdAt", "updatedAt"):
                if key in item:
                    assert stamp.match(item[key]), (kind, key, item[key])
                    datetime.fromisoformat(item[key].replace("Z", "+00:00"))


def test_commit_then_fail_can_drop_the_connection_after_applying_the_change() -> None:
    from controller.emulator.server import running_emulator

    with running_emulator() as running, httpx.Client(base_url=running.url, timeout=5) as http:
        fault = {"method": "POST", "route": BRANDS, "effect": "commit-then-fail", "drop": True, "times": 1}
        assert http.post("/_emulator/faults", json=fault).status_code == 201
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body())
        assert len(http.get("/_emulator/state").json()["brands"]) == 1
        assert http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body()).status_code == 201


async def test_world_rate_limits_answer_429_with_retry_after_per_method() -> None:
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS}], "stock": [{"count": 5}]}],
                             "rateLimits": {"GET": 5}})
    app = create_app(world)
    async with asgi_client(app) as http:
        statuses = [(await http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code for _ in range(7)]
        assert statuses == [200] * 5 + [429] * 2
        limited = await http.get(f"/workspaces/{WS}/numbers", headers=AUTH)
        assert limited.headers["retry-after"] == "1" and limited.json()["code"] == "TooManyRequests"
        # POST has no limit in this world.
        assert (await http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body())).status_code == 201
    emulator = app.state.emulator
    emulator.rate_windows.clear()
    for i in range(5):
        emulator.check_rate(WS, "GET", now=100.0 + i * 0.1)
    emulator.check_rate(WS, "GET", now=101.01)  # the first request left the one-second window


async def test_writes_the_world_does_not_name_count_against_the_post_limit() -> None:
    # Bird names GET and POST only; a PATCH is a write like a POST, in the same window.
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS}], "stock": [{"count": 5}]}],
                             "rateLimits": {"POST": 2}})
    async with asgi_client(create_app(world)) as http:
        brand = (await http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body())).json()
        assert (await http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body())).status_code == 201
        patched = await http.patch(f"/workspaces/{WS}/tcr-brands/{brand['id']}", headers=AUTH,
                                   json={"website": "https://acme.example/2"})
        assert patched.status_code == 429 and patched.json()["code"] == "TooManyRequests"
        assert (await http.get(f"/workspaces/{WS}/numbers", headers=AUTH)).status_code == 200, "GET is not limited"


def test_rate_limit_world_errors() -> None:
    for limits, message in (({"FETCH": 5}, "not an HTTP method"), ({"GET": 0}, "> 0"), ([50], "mapping")):
        with pytest.raises(WorldError, match=message):
            World.from_dict({"organizations": [{"id": ORG}], "rateLimits": limits})


def test_snapshot_and_restore_return_to_one_moment() -> None:
    from controller.emulator.server import running_emulator
    from tests.support import EmulatorAdmin

    with running_emulator() as running:
        admin = EmulatorAdmin(running.url)
        before = admin.state()
        admin.snapshot("start")
        found = admin.bird("GET", f"/workspaces/{admin.workspace}/numbers-available?country=US&type=local&limit=1")
        number = found.json()["results"][0]["number"]
        admin.bird("POST", f"/workspaces/{admin.workspace}/numbers", {"numbers": [{"number": number, "country": "US"}]})
        admin.advance(3600)
        assert len(admin.state()["numbers"]) == len(before["numbers"]) + 1
        admin.snapshot("bought")
        admin.restore("start")
        restored = admin.state()
        assert restored["numbers"] == before["numbers"] and restored["clock"] == before["clock"]
        admin.restore("bought")
        assert len(admin.state()["numbers"]) == len(before["numbers"]) + 1
        assert admin.http.post("/_emulator/restore", json={"name": "nope"}).status_code == 404
        assert admin.http.post("/_emulator/snapshot", json={}).status_code == 422  # invalid_field, as every admin call
        admin.close()
