"""Readiness Bird can report: a number's endpoint compliance requirements, served by the emulator over HTTP
and shown by `senderctl status` for numbers that are not Ready, read for those only."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from tests.engine.conftest import Emulator
from tests.engine.test_apply_emulator import apply

REQUIREMENTS = "GET /workspaces/{workspaceId}/endpoints/{endpointId}/compliance-requirements"


def requirement_reads(emulator: Emulator) -> int:
    return emulator.requests()["byRoute"].get(REQUIREMENTS, 0)


def test_an_unsatisfied_requirement_is_why_a_number_waits_and_a_converged_estate_reads_none(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    for seconds in (0, 3600 + 60, 7 * 24 * 3600):  # registered, brand approved, campaign approved: channels made
        if seconds:
            emulator.advance(seconds)
        apply(paths, settings)
    numbers = {n["number"]: n for n in emulator.state()["numbers"]}
    assert len(numbers) == 2 and len(emulator.state()["connectors"]) == 2

    # Bird's answer for one of them, over HTTP.
    number = next(iter(numbers.values()))
    answer = emulator.bird("GET", f"/workspaces/{number['workspaceId']}/endpoints/{number['id']}"
                                  "/compliance-requirements").json()
    [requirement] = answer["results"]
    assert requirement["type"] == "ten-dlc" and requirement["status"] == "unsatisfied"
    assert "carriers" in requirement["message"]

    emulator.reset_requests()
    lines = {line.address: line for line in asyncio.run(engine.status(paths, settings))}
    for name in ("alice-line", "bob-line"):
        channel = lines[f"Channel/{name}"]
        assert channel.status == "Waiting" and channel.reason.startswith("ten-dlc: The carriers have not"), channel
        assert channel.text().startswith(f"Channel/{name}: Waiting: ten-dlc: ")
    assert requirement_reads(emulator) == 2, "one read per number that is not Ready"

    # The carriers acknowledge: every number is Ready, and neither plan nor status reads a requirement.
    emulator.advance(15 * 60 + 60)
    apply(paths, settings)
    emulator.reset_requests()
    assert asyncio.run(engine.plan(paths, settings)).plan.changes == ()
    lines = asyncio.run(engine.status(paths, settings))
    assert [line.text() for line in lines if line.status != "Ready"] == []
    assert requirement_reads(emulator) == 0
    answer = emulator.bird("GET", f"/workspaces/{number['workspaceId']}/endpoints/{number['id']}"
                                  "/compliance-requirements").json()
    assert [r["status"] for r in answer["results"]] == ["satisfied"]


def test_a_cancelled_number_is_kept_by_activating_its_main_subscription(emulator: Emulator) -> None:
    from tests.support import WORKSPACE

    bought = emulator.bird("GET", f"/workspaces/{WORKSPACE}/numbers-stock-items?countryCode=US&limit=1").json()
    item = bought["results"][0]["id"]
    emulator.bird("POST", f"/workspaces/{WORKSPACE}/numbers-long-code",
                  {"numberStockItemIds": [item]}).raise_for_status()
    [number] = emulator.state()["numbers"]
    emulator.bird("POST", f"/workspaces/{WORKSPACE}/numbers/{number['id']}/cancel-subscription").raise_for_status()
    base = f"/workspaces/{WORKSPACE}/endpoints/{number['id']}/subscriptions/main"
    assert emulator.bird("GET", base).json()["status"] == "inactive"
    refused = emulator.http.post(base + "/activate", json={}, headers=emulator.auth)
    assert refused.status_code == 422 and "quantity" in refused.json()["details"], "quantity is required"
    activated = emulator.bird("POST", base + "/activate", {"quantity": 1})
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    emulator.advance(62 * 24 * 3600)  # past the end of the cancelled period
    assert [n["id"] for n in emulator.state()["numbers"]] == [number["id"]], "the number is kept"
