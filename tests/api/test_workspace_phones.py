"""Seed 002's workspace phone numbers through the daemon: create, list, get, update, link, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.api.conftest import WORKSPACE_UUID, World, make_token

WS = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"


def ids(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [p["id"] for p in answer.json()["results"]]


def test_workspace_phone_numbers_from_create_to_archive(world_factory: Callable[..., World]) -> None:
    world = world_factory()
    admin = world.client(make_token(world.state_url, "admin@acme.example", "admin"))
    member = world.client(make_token(world.state_url, "carol@acme.example", "member"))
    bought: dict[str, Any] = admin.post("/v1/sms/phone-numbers/purchase", json={"country": "US"}).json()
    number, provider = bought["number"], bought["providerPhoneUuid"]
    existing = {p["number"]: p for p in admin.get(WS).json()["results"]}
    api_phone = existing[number]
    assert api_phone["owner"] == "api" and api_phone["providerPhoneUuid"] == provider

    # linkable: the org's provider phones, unlinked or linked here.
    linkable = admin.get(f"{WS}/linkable-phones").json()["results"]
    assert number in {p["number"] for p in linkable}

    # unlink, then link again by providerPhoneUuid; the PUT updates the label.
    unlinked = admin.post(f"{WS}/{api_phone['id']}/link", json={"providerPhoneUuid": None})
    assert unlinked.status_code == 200 and unlinked.json()["providerPhoneUuid"] is None
    relinked = admin.post(f"{WS}/{api_phone['uuid']}/link", json={"providerPhoneUuid": provider})
    assert relinked.status_code == 200 and relinked.json()["providerPhoneUuid"] == provider
    updated = admin.put(f"{WS}/{api_phone['id']}", json={"label": "front desk"})
    assert updated.status_code == 200 and updated.json()["label"] == "front desk"
    assert admin.get(f"{WS}/{api_phone['id']}").json()["label"] == "front desk"

    # A second workspace phone for the same number cannot exist; an unknown provider phone is 404.
    assert admin.post(WS, json={"providerPhoneUuid": provider}).status_code == 409
    assert admin.post(WS, json={"providerPhoneUuid": "no-such-phone"}).status_code == 404
    assert admin.post(WS, json={"number": "+12025550123"}).status_code == 404  # not in the org's pool
    assert admin.post(WS, json={}).status_code == 422

    # The spec's numbers are the specs': archive and relinking answer 409 naming the spec file.
    spec_phone = next(p for p in existing.values() if p["owner"] == "specs")
    blocked = admin.post(f"{WS}/{spec_phone['id']}/archive")
    assert blocked.status_code == 409 and "numbers.yaml:" in blocked.json()["error"]["message"]
    blockers = admin.get(f"{WS}/{spec_phone['id']}/archive-blockers").json()
    assert not blockers["archivable"] and any("numbers.yaml:" in b for b in blockers["blockers"])
    assert admin.post(f"{WS}/{spec_phone['id']}/link", json={"providerPhoneUuid": None}).status_code == 409

    # An assigned number cannot be archived: 409 with the blockers.
    path = f"/v1/sms/phone-numbers/{number.replace('+', '%2B')}/assign"
    assert admin.post(path, json={"user": "carol@acme.example"}).status_code == 200
    blockers = admin.get(f"{WS}/{api_phone['id']}/archive-blockers").json()
    assert blockers["archivable"] is False and "carol@acme.example" in blockers["blockers"][0]
    refused = admin.post(f"{WS}/{api_phone['id']}/archive")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "archive_blocked"
    assert refused.json()["error"]["blockers"] == blockers["blockers"]

    # Unassigned, it is archived: its API channel removed, history kept, irreversible.
    assert admin.delete(path).status_code == 200
    assert admin.get(f"{WS}/{api_phone['id']}/archive-blockers").json()["archivable"] is True
    archived = admin.post(f"{WS}/{api_phone['id']}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json()["isArchived"] is True and archived.json()["archivedAt"]
    assert api_phone["id"] not in ids(admin.get(WS))
    assert api_phone["id"] in ids(admin.get(f"{WS}?is_archived=true"))
    assert admin.post(f"{WS}/{api_phone['id']}/archive").json()["isArchived"] is True  # again: unchanged
    assert admin.post(f"{WS}/{api_phone['id']}/link", json={"providerPhoneUuid": provider}).status_code in (404, 409)
    connectors = [c for c in world.emulator.state()["connectors"]
                  if (c.get("arguments") or {}).get("phoneNumberId") == provider]
    assert connectors == []
    assert number not in {n["number"] for n in member.get("/v1/sms/phone-numbers").json()["results"]}
    history = admin.get(f"{WS}/{api_phone['id']}").json()
    assert history["number"] == number and history["isArchived"]
