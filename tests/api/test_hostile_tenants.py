"""Nothing about another organization leaks, on SQLite and PostgreSQL, through the daemon over HTTP.
Two organizations share the daemon (acme from the quick start specs, globex beside it in the state);
acme also has a second workspace. "Not yours" and "does not exist" get the same 404; a token limited
to a workspace reaches nothing of another; health endpoints tell a caller without an admin token
only whether the daemon is ready; refused calls are logged with the token id and counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from controller import tenant
from controller.state import ResourceRecord
from tests.api.conftest import ORG, WORKSPACE_UUID, World, make_token, senderctl

GLOBEX_ORG_ID, GLOBEX_WS = "77777777-7777-4777-8777-777777777777", "88888888-8888-4888-8888-888888888888"
OTHER_WS = "66666666-6666-4666-8666-666666666666"  # acme's second workspace
GLOBEX_NUMBER, OTHER_NUMBER, NOBODYS = "+13125550177", "+14155550188", "+14155550199"


def quoted(number: str) -> str:
    return number.replace("+", "%2B")


def add_neighbours(world: World) -> None:
    """globex (its workspace and a number) and acme's second workspace with a number of its own."""
    now = datetime.now(UTC)
    with world.store() as store:
        acme_id = tenant.org_config(store, ORG).bird_organization_id
        tenant.sync_org_config(store, "globex", bird_organization_id=GLOBEX_ORG_ID, enabled=True, limit=5,
                               weekly_price=Decimal("1.99"))
        for name, uuid, org_id in (("globex-main", GLOBEX_WS, GLOBEX_ORG_ID), ("acme-other", OTHER_WS, acme_id)):
            store.save_record(ResourceRecord(f"Workspace/{name}", "Workspace", bird_id=uuid,
                                             data={"organizationId": org_id}))
        tenant.record_number_acquired(store, "globex", "globex-main", GLOBEX_NUMBER, bird_number_id="globex-n-1",
                                      monthly_price=None, at=now, owner="api")
        tenant.record_number_acquired(store, ORG, "acme-other", OTHER_NUMBER, bird_number_id="acme-n-other",
                                      monthly_price=None, at=now, owner="api")


def globex_admin(world: World) -> str:
    out = senderctl("tokens", "create", "--org", "globex", "--user", "boss@globex.example", "--role", "admin",
                    state_url=world.state_url)
    return out.stdout.splitlines()[0]


def same_404(first: httpx.Response, second: httpx.Response, *differing: tuple[str, str]) -> None:
    """Both 404 in the same words (once what the caller asked for is taken out of them)."""
    assert first.status_code == second.status_code == 404, (first.text, second.text)
    one, two = first.json(), second.json()
    for a, b in differing:
        two = json.loads(json.dumps(two).replace(b, a))
    assert one == two


def test_another_organizations_numbers_and_workspaces_are_simply_not_found(
        world_factory: Callable[..., World], state_url: str) -> None:
    world = world_factory(state_url=state_url)
    add_neighbours(world)
    intruder = world.client(globex_admin(world))
    acme = world.client(make_token(world.state_url, "admin@acme.example", "admin"))
    alice = next(n["number"] for n in acme.get("/v1/sms/phone-numbers").json()["results"]
                 if n["assignee"] == "alice@acme.example")  # assigned by acme's specs
    body = {"user": "spy@globex.example"}
    for method, payload in (("POST", body), ("DELETE", None)):
        mine = intruder.request(method, f"/v1/sms/phone-numbers/{quoted(alice)}/assign", json=payload)
        nobody = intruder.request(method, f"/v1/sms/phone-numbers/{quoted(NOBODYS)}/assign", json=payload)
        same_404(mine, nobody, (alice, NOBODYS))
        assert "numbers.yaml" not in mine.text and "alice" not in mine.text
    ws = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"
    unknown = "/api/v2/w/99999999-9999-4999-8999-999999999999/phone-numbers"
    for method, suffix, payload in (("GET", "", None), ("POST", "", {"number": alice}), ("GET", "/1", None),
                                    ("GET", "/linkable-phones", None), ("PUT", "/1", {"label": "x"}),
                                    ("POST", "/1/archive", None), ("GET", "/1/archive-blockers", None),
                                    ("POST", "/1/link", {"providerPhoneUuid": None})):
        same_404(intruder.request(method, ws + suffix, json=payload),
                 intruder.request(method, unknown + suffix, json=payload),
                 (WORKSPACE_UUID, "99999999-9999-4999-8999-999999999999"))
    # globex's own view holds nothing of acme's.
    listed = intruder.get("/v1/sms/phone-numbers").json()["results"]
    assert [n["number"] for n in listed] == [GLOBEX_NUMBER]
    # ... and acme's admin cannot reach globex's number either.
    same_404(acme.post(f"/v1/sms/phone-numbers/{quoted(GLOBEX_NUMBER)}/assign", json={"user": "x@acme.example"}),
             acme.post(f"/v1/sms/phone-numbers/{quoted(NOBODYS)}/assign", json={"user": "x@acme.example"}),
             (GLOBEX_NUMBER, NOBODYS))


def test_a_workspace_token_reaches_nothing_of_another_workspace(world_factory: Callable[..., World],
                                                                 state_url: str) -> None:
    world = world_factory(state_url=state_url)
    add_neighbours(world)
    scoped = world.client(make_token(world.state_url, "ops@acme.example", "admin", "--workspace", "acme-main"))
    ws = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"
    made = scoped.post(ws, json={"number": OTHER_NUMBER})
    same_404(made, scoped.post(ws, json={"number": NOBODYS}), (OTHER_NUMBER, NOBODYS))
    made = scoped.post(ws, json={"providerPhoneUuid": "acme-n-other"})
    same_404(made, scoped.post(ws, json={"providerPhoneUuid": "no-such-phone"}), ("acme-n-other", "no-such-phone"))
    same_404(scoped.get(f"/api/v2/w/{OTHER_WS}/phone-numbers"),
             scoped.get("/api/v2/w/99999999-9999-4999-8999-999999999999/phone-numbers"),
             (OTHER_WS, "99999999-9999-4999-8999-999999999999"))
    same_404(scoped.post(f"/v1/sms/phone-numbers/{quoted(OTHER_NUMBER)}/assign", json={"user": "x@acme.example"}),
             scoped.post(f"/v1/sms/phone-numbers/{quoted(NOBODYS)}/assign", json={"user": "x@acme.example"}),
             (OTHER_NUMBER, NOBODYS))
    assert OTHER_NUMBER not in scoped.get("/v1/sms/phone-numbers").text
    assert OTHER_NUMBER not in scoped.get(f"{ws}/linkable-phones").text


def test_health_says_ready_or_not_to_strangers_and_refusals_are_logged_by_token_id(
        world_factory: Callable[..., World]) -> None:
    world = world_factory(daemon=False)
    daemon = world.start_daemon(health_details="token")
    admin_token = make_token(world.state_url, "admin@acme.example", "admin")
    member_token = make_token(world.state_url, "carol@acme.example", "member")
    stranger, member, admin = (world.client(t, daemon) for t in (None, member_token, admin_token))
    for client in (stranger, member, world.client("sct_forged", daemon)):
        ready = client.get("/readyz")
        assert ready.json() == {"ready": ready.status_code == 200}, ready.text
        assert client.get("/healthz").json() == {"status": "alive"}
    detailed = admin.get("/readyz").json()
    assert {"role", "leader", "state", "specs"} <= set(detailed)
    assert admin.get("/healthz").json()["role"] in ("leader", "standby")

    ids = {t["user"]: t["id"] for t in json.loads(senderctl("tokens", "list", "--org", ORG, "-o", "json",
                                                            state_url=world.state_url).stdout)}
    assert member.post("/v1/sms/phone-numbers/purchase", json={"country": "US"}).status_code == 403  # no write
    assert member.delete("/v1/sms/phone-numbers/%2B14155550100/assign").status_code == 403  # not an admin
    assert stranger.get("/v1/sms/phone-numbers").status_code == 401
    refused = daemon.wait_event("api.refused", count=3)
    assert [(e["status"], e["reason"], e["token_id"]) for e in refused] == [
        (403, "scope", ids["carol@acme.example"]), (403, "role", ids["carol@acme.example"]), (401, "no_token", None)]
    assert member_token[4:] not in daemon.text() and admin_token[4:] not in daemon.text()
    metrics = stranger.get("/metrics").text
    assert 'senderctl_api_refused_total{reason="scope",status="403"} 1.0' in metrics
    assert 'senderctl_api_refused_total{reason="no_token",status="401"} 1.0' in metrics
