"""The specs own what they declare; the API owns what it made — through the daemon's reconciles."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

from tests.api.conftest import ORG, World, make_token, senderctl, settings_for
from tests.support import backdate_holdings


def quoted(number: str) -> str:
    return number.replace("+", "%2B")


def plan_changes(world: World) -> list[str]:
    from controller.reconcile import engine

    computed = asyncio.run(engine.plan([str(world.specs)], settings_for(world.state_url, world.emulator.url)))
    return [f"{c.action} {c.address}" for c in computed.plan.changes]


def test_the_reconciler_leaves_what_the_api_made_and_ends_only_what_the_specs_made(
        world_factory: Callable[..., World]) -> None:
    world = world_factory()
    member_token = make_token(world.state_url, "carol@acme.example", "member")
    admin_token = make_token(world.state_url, "admin@acme.example", "admin")
    member, admin = world.client(member_token), world.client(admin_token)
    bought = admin.post("/v1/sms/phone-numbers/purchase", json={"country": "US"}).json()
    number = bought["number"]
    assert admin.post(f"/v1/sms/phone-numbers/{quoted(number)}/assign",
                      json={"user": "carol@acme.example"}).status_code == 200
    assert plan_changes(world) == []  # plan shows no change for what the API made
    bob_number = next(n["number"] for n in member.get("/v1/sms/phone-numbers").json()["results"]
                      if n["assignee"] == "bob@acme.example")

    # The specs stop assigning bob-line and drop alice-line altogether: the daemon reconciles.
    numbers_yaml = world.specs / "numbers.yaml"
    text = numbers_yaml.read_text()
    bob_doc = text[text.index("kind: PhoneNumber\nmetadata:\n  name: bob-line"):]
    numbers_yaml.write_text("apiVersion: senderctl/v1\n" + bob_doc.replace("  assignee: bob@acme.example\n", ""))
    world.daemon.wait_event("reconcile.done", timeout=60, where=lambda e: bool(e.get("changes")))

    listed = {n["number"]: n for n in member.get("/v1/sms/phone-numbers").json()["results"]}
    assert listed[number]["owner"] == "api" and listed[number]["assignee"] == "carol@acme.example"
    assert listed[bob_number]["owner"] == "specs" and listed[bob_number]["assignee"] is None

    # bob-line is still the specs' number, but no spec assigns it now: the API may.
    answer = admin.post(f"/v1/sms/phone-numbers/{quoted(bob_number)}/assign", json={"user": "dave@acme.example"})
    assert answer.status_code == 200, answer.text
    # A full reconcile of the specs in force (a restarted daemon reconciles all as it starts leading).
    assert world.daemon.terminate()[0] == 0
    world.daemons.clear()
    world.start_daemon().wait_event("reconcile.done", timeout=60)
    member, admin = world.client(member_token), world.client(admin_token)
    assert plan_changes(world) == []
    listed = {n["number"]: n for n in member.get("/v1/sms/phone-numbers").json()["results"]}
    assert listed[number]["assignee"] == "carol@acme.example"
    assert listed[bob_number]["assignee"] == "dave@acme.example"

    # Billing, inbound routing and history cover what the API made.
    week = backdate_holdings(world.state_url)  # billing bills ended weeks only
    senderctl("billing", "run", "--week", week, state_url=world.state_url)
    with world.store() as store:
        from controller import tenant

        rows = {r["number"]: r for r in tenant.usage_logs(store, week=week)}
        routed = tenant.route_inbound(store, to=number, from_="+12025550199", text="hi carol", message_id="m-1",
                                      at=datetime.now(UTC))
    assert rows[number]["assignee"] == "carol@acme.example" and rows[number]["amount"] == "2.99"
    assert routed.routed and routed.user == "carol@acme.example"
    history = json.loads(senderctl("numbers", "history", "--org", ORG, "-o", "json",
                                   state_url=world.state_url).stdout)
    assert ("carol@acme.example", number) in {(h["user"], h["number"]) for h in history}
    assert ("bob@acme.example", bob_number) in {(h["user"], h["number"]) for h in history if h["to"]}
