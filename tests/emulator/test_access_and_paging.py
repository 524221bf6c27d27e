"""Auth as Bird (AccessKey, 401, 404 for what the key does not own) and Bird's cursor pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from controller.emulator.world import World
from tests.emulator.conftest import AUTH, ORG, WS, Bird, bird_for

pytestmark = pytest.mark.anyio

OTHER_ORG = "44444444-4444-4444-8444-444444444444"
OTHER_WS = "55555555-5555-4555-8555-555555555555"
WORLD = {
    "organizations": [
        {"id": ORG, "workspaces": [{"id": WS}], "stock": [{"count": 30}]},
        {"id": OTHER_ORG, "workspaces": [{"id": OTHER_WS}], "stock": [{"count": 5}]},
    ],
    "accessKeys": [{"key": "emulator-key", "organizations": [ORG]},
                   {"key": "other-key", "workspaces": [OTHER_WS]}],
}


@pytest.fixture
async def two_orgs() -> AsyncIterator[Bird]:
    async for bird in bird_for(World.from_dict(WORLD)):
        yield bird


@pytest.mark.parametrize("header", [None, "AccessKey wrong-key", "Bearer emulator-key", "emulator-key",
                                    "AccessKey"])
async def test_missing_or_wrong_access_key_is_401(any_bird: Bird, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await any_bird.http.get(f"/workspaces/{WS}/numbers", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"
    assert "emulator-key" not in response.text


async def test_a_workspace_or_organization_the_key_does_not_own_is_404(two_orgs: Bird) -> None:
    for path in (f"/workspaces/{OTHER_WS}/numbers", f"/organizations/{OTHER_ORG}/numbers-stock-items",
                 f"/organizations/{ORG}/workspaces/{OTHER_WS}/webhook-subscriptions",
                 f"/organizations/{OTHER_ORG}/workspaces/{OTHER_WS}/webhook-subscriptions",
                 "/workspaces/99999999-9999-4999-8999-999999999999/tcr-brands"):
        response = await two_orgs.http.get(path, headers=AUTH)
        assert response.status_code == 404, path
        assert response.json()["code"] == "NotFound"
    # A key scoped to one workspace reaches that workspace, not its organization's stock.
    other = {"Authorization": "AccessKey other-key"}
    assert (await two_orgs.http.get(f"/workspaces/{OTHER_WS}/numbers", headers=other)).status_code == 200
    assert (await two_orgs.http.get(f"/organizations/{OTHER_ORG}/numbers-stock-items",
                                    headers=other)).status_code == 404


async def test_unknown_route_is_404_and_not_counted(bird: Bird) -> None:
    response = await bird.http.get(f"/workspaces/{WS}/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert (await bird.admin("GET", "requests"))["total"] == 0


async def test_default_page_is_10_and_the_last_page_has_no_token(any_bird: Bird) -> None:
    page = await any_bird.ok("GET", f"/organizations/{ORG}/numbers-stock-items")
    assert len(page["results"]) == 10 and page["nextPageToken"]
    await any_bird.buy(3)
    owned = await any_bird.ok("GET", f"/workspaces/{WS}/numbers", params={"limit": 3})
    assert len(owned["results"]) == 3 and "nextPageToken" not in owned


@pytest.mark.parametrize("limit", ["0", "100", "-1", "ten", "1.5"])
async def test_limit_outside_1_to_99_is_422_naming_limit(any_bird: Bird, limit: str) -> None:
    error = await any_bird.error("GET", f"/workspaces/{WS}/numbers-available", 422, params={"limit": limit})
    assert "limit" in error["details"]


@pytest.mark.parametrize("limit", ["1", "99"])
async def test_limit_bounds_are_accepted(bird: Bird, limit: str) -> None:
    page = await bird.ok("GET", f"/workspaces/{WS}/numbers-available", params={"limit": limit})
    assert len(page["results"]) == int(limit)


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoxLCJhZnRlciI6LTF9", "x" * 8001])
async def test_a_page_token_the_emulator_did_not_issue_is_422(bird: Bird, token: str) -> None:
    error = await bird.error("GET", f"/organizations/{ORG}/numbers-stock-items", 422, params={"pageToken": token})
    assert "pageToken" in error["details"]


async def subscribe_nth(bird: Bird, i: int) -> dict[str, Any]:
    """A subscription of its own filter combination: Bird allows five per combination."""
    return await bird.subscribe("sms.inbound", f"https://hooks.acme.example/{i}",
                                filters=[{"key": "channelId", "value": f"channel-{i}"}])


async def test_paging_visits_every_item_once_while_items_are_added(two_orgs: Bird) -> None:
    bird = two_orgs
    path = f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions"
    for i in range(7):
        await subscribe_nth(bird, i)
    seen: list[str] = []
    page = await bird.ok("GET", path, params={"limit": 3})
    seen += [s["url"] for s in page["results"]]
    for i in range(7, 10):  # added while a client is half way through the list
        await subscribe_nth(bird, i)
    while "nextPageToken" in page:
        page = await bird.ok("GET", path, params={"limit": 3, "pageToken": page["nextPageToken"]})
        seen += [s["url"] for s in page["results"]]
    assert seen == [f"https://hooks.acme.example/{i}" for i in range(10)]


async def test_paging_skips_items_removed_meanwhile(bird: Bird) -> None:
    path = f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions"
    made = [await subscribe_nth(bird, i) for i in range(6)]
    page = await bird.ok("GET", path, params={"limit": 2})
    await bird.ok("DELETE", f"{path}/{made[3]['id']}", 204)
    rest = await bird.ok("GET", path, params={"limit": 99, "pageToken": page["nextPageToken"]})
    assert [s["id"] for s in rest["results"]] == [made[i]["id"] for i in (2, 4, 5)]


async def test_reverse_lists_newest_first_and_tokens_keep_their_direction(bird: Bird) -> None:
    path = f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions"
    made = [(await bird.subscribe("sms.inbound", f"https://hooks.acme.example/{i}"))["id"] for i in range(5)]
    first = await bird.ok("GET", path, params={"limit": 2, "reverse": "true"})
    rest = await bird.ok("GET", path, params={"limit": 99, "reverse": "true", "pageToken": first["nextPageToken"]})
    assert [s["id"] for s in first["results"] + rest["results"]] == made[::-1]
    assert "nextPageToken" not in rest
    error = await bird.error("GET", path, 422, params={"limit": 2, "pageToken": first["nextPageToken"]})
    assert "pageToken" in error["details"]
    assert "reverse" in (await bird.error("GET", path, 422, params={"reverse": "sideways"}))["details"]
