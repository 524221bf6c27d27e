"""Every platform API route, through the real daemon, with the right and the wrong token, role,
scope and workspace. Tokens are made, listed and revoked with the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import ORG, WORKSPACE_UUID, World, build_world, make_token, senderctl

WS = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"
OTHER_WS = "/api/v2/w/99999999-9999-4999-8999-999999999999/phone-numbers"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("api-routes")
    yield from build_world(tmp, f"sqlite:///{tmp / 'state.db'}")


@pytest.fixture(scope="module")
def tokens(world: World) -> dict[str, str]:
    url = world.state_url
    made = {
        "admin": make_token(url, "admin@acme.example", "admin"),
        "member": make_token(url, "carol@acme.example", "member"),
        "writer": make_token(url, "svc@acme.example", "member", "--scopes", "phones:read,phones:write"),
        "ws_admin": make_token(url, "ops@acme.example", "admin", "--workspace", "acme-main"),
        "expiring": make_token(url, "late@acme.example", "admin", "--expires", "1s"),
        "revoked": make_token(url, "gone@acme.example", "admin"),
    }
    listed = json.loads(senderctl("tokens", "list", "--org", ORG, "-o", "json", state_url=url).stdout)
    revoked_id = next(t["id"] for t in listed if t["user"] == "gone@acme.example")
    senderctl("tokens", "revoke", revoked_id, state_url=url)
    time.sleep(1.1)  # the expiring token has expired
    return made


def call(world: World, token: str | None, method: str, path: str, body: Any = None) -> httpx.Response:
    with world.client(token) as client:
        return client.request(method, path, json=body)


def numbers(world: World, token: str) -> list[dict[str, Any]]:
    return call(world, token, "GET", "/v1/sms/phone-numbers").json()["results"]


def quoted(number: str) -> str:
    return number.replace("+", "%2B")


# (method, path, body, the least token that may call it, a token that may not)
def routes(spec_number: str, ws_phone_id: int) -> list[tuple[str, str, Any, str, str | None]]:
    n, i = quoted(spec_number), ws_phone_id
    return [
        ("GET", "/v1/sms/phone-numbers", None, "member", None),
        ("GET", "/v1/sms/phone-numbers/available", None, "member", None),
        ("GET", "/v1/sms/phone-numbers/my-number", None, "member", None),
        ("GET", "/v1/sms/phone-numbers/config", None, "member", None),
        ("POST", "/v1/sms/phone-numbers/purchase", {"country": "US"}, "writer", "member"),
        ("POST", f"/v1/sms/phone-numbers/{n}/assign", {"user": "x@acme.example"}, "admin", "member"),
        ("DELETE", f"/v1/sms/phone-numbers/{n}/assign", None, "admin", "member"),
        ("GET", WS, None, "member", None),
        ("POST", WS, {"number": spec_number}, "writer", "member"),
        ("GET", f"{WS}/linkable-phones", None, "writer", "member"),
        ("GET", f"{WS}/{i}", None, "member", None),
        ("PUT", f"{WS}/{i}", {"label": "x"}, "writer", "member"),
        ("POST", f"{WS}/{i}/archive", None, "admin", "writer"),
        ("GET", f"{WS}/{i}/archive-blockers", None, "admin", "writer"),
        ("POST", f"{WS}/{i}/link", {"providerPhoneUuid": None}, "writer", "member"),
    ]


def test_every_route_refuses_a_missing_unknown_expired_or_revoked_token_and_the_wrong_role_or_scope(
        world: World, tokens: dict[str, str]) -> None:
    spec_number = numbers(world, tokens["member"])[0]["number"]
    listed = call(world, tokens["member"], "GET", WS).json()["results"]
    for method, path, body, least, weaker in routes(spec_number, listed[0]["id"]):
        allowed = call(world, tokens[least], method, path, body)
        assert allowed.status_code < 500 and allowed.status_code not in (401, 403), (method, path, allowed.text)
        for token in (None, "sct_not-a-token", tokens["expiring"], tokens["revoked"]):
            answer = call(world, token, method, path, body)
            assert answer.status_code == 401, (method, path, token and token[:6], answer.text)
            assert set(answer.json()["error"]) >= {"code", "message"}
        if weaker:
            answer = call(world, tokens[weaker], method, path, body)
            assert answer.status_code == 403, (method, path, weaker, answer.text)
            assert answer.json()["error"]["code"] == "forbidden"
        if path.startswith(WS):
            answer = call(world, tokens["admin"], method, path.replace(WS, OTHER_WS), body)
            assert answer.status_code == 404, (method, path, answer.text)


def test_read_routes_answer_the_organizations_numbers(world: World, tokens: dict[str, str]) -> None:
    listed = numbers(world, tokens["member"])
    assert {n["assignee"] for n in listed} >= {"alice@acme.example", "bob@acme.example"}
    assert all(n["weeklyPrice"] == "2.99" and n["currency"] == "USD" for n in listed)
    assert {n["assignee"] for n in listed if n["owner"] == "specs"} == {"alice@acme.example", "bob@acme.example"}
    config = call(world, tokens["member"], "GET", "/v1/sms/phone-numbers/config").json()
    assert config == {"enabled": True, "limit": 5, "used": len(listed), "weeklyPrice": "2.99", "currency": "USD",
                      "tenDlcActive": True}
    mine = call(world, tokens["member"], "GET", "/v1/sms/phone-numbers/my-number")
    assert mine.status_code == 404 and mine.json()["error"]["code"] == "not_found"
    ws_list = call(world, tokens["member"], "GET", WS).json()["results"]
    assert {p["number"] for p in ws_list} == {n["number"] for n in listed}
    one = call(world, tokens["member"], "GET", f"{WS}/{ws_list[0]['uuid']}").json()
    assert one == ws_list[0]  # by id or by uuid
    assert call(world, tokens["ws_admin"], "GET", WS).status_code == 200  # its own workspace


def test_lists_are_paginated_with_limit_and_page_token(world: World, tokens: dict[str, str]) -> None:
    everything = numbers(world, tokens["member"])
    seen, token = [], None
    while True:
        page = call(world, tokens["member"], "GET", "/v1/sms/phone-numbers?limit=1" +
                    (f"&pageToken={token}" if token else "")).json()
        assert len(page["results"]) <= 1
        seen += page["results"]
        token = page["nextPageToken"]
        if not token:
            break
    assert seen == everything
    bad = call(world, tokens["member"], "GET", "/v1/sms/phone-numbers?pageToken=garbage")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_page_token"


def test_assign_and_unassign_refuse_what_the_specs_own_naming_the_spec_line(world: World,
                                                                            tokens: dict[str, str]) -> None:
    alice = next(n for n in numbers(world, tokens["member"]) if n["assignee"] == "alice@acme.example")
    answer = call(world, tokens["admin"], "POST", f"/v1/sms/phone-numbers/{quoted(alice['number'])}/assign",
                  {"user": "dave@acme.example"})
    assert answer.status_code == 409
    message = answer.json()["error"]["message"]
    lines = (world.specs / "numbers.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "assignee: alice@acme.example" in text)
    assert f"numbers.yaml:{line}" in message and "PhoneNumber/alice-line" in message
    answer = call(world, tokens["admin"], "DELETE", f"/v1/sms/phone-numbers/{quoted(alice['number'])}/assign")
    assert answer.status_code == 409 and f"numbers.yaml:{line}" in answer.json()["error"]["message"]


def test_an_admin_assigns_an_api_number_and_the_user_sees_it_and_its_history(world: World,
                                                                             tokens: dict[str, str]) -> None:
    bought = call(world, tokens["writer"], "POST", "/v1/sms/phone-numbers/purchase", {"country": "US"})
    assert bought.status_code == 201, bought.text
    number = bought.json()["number"]
    assert number in {n["number"] for n in call(world, tokens["member"], "GET",
                                                "/v1/sms/phone-numbers/available").json()["results"]}
    path = f"/v1/sms/phone-numbers/{quoted(number)}/assign"
    answer = call(world, tokens["admin"], "POST", path, {"user": "carol@acme.example"})
    assert answer.status_code == 200 and answer.json()["owner"] == "api", answer.text
    mine = call(world, tokens["member"], "GET", "/v1/sms/phone-numbers/my-number").json()
    assert mine["number"] == number and mine["owner"] == "api"
    # A user holds one number; a user the specs give a number to gets none from the API.
    again = call(world, tokens["admin"], "POST", path, {"user": "bob@acme.example"})
    assert again.status_code == 409
    second = call(world, tokens["writer"], "POST", "/v1/sms/phone-numbers/purchase", {"country": "US"}).json()
    busy = call(world, tokens["admin"], "POST", f"/v1/sms/phone-numbers/{quoted(second['number'])}/assign",
                {"user": "carol@acme.example"})
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "assignment_conflict"
    spec_user = call(world, tokens["admin"], "POST", f"/v1/sms/phone-numbers/{quoted(second['number'])}/assign",
                     {"user": "bob@acme.example"})
    assert spec_user.status_code == 409 and "numbers.yaml:" in spec_user.json()["error"]["message"]

    unassigned = call(world, tokens["admin"], "DELETE", path)
    assert unassigned.status_code == 200 and unassigned.json()["previousUser"] == "carol@acme.example"
    assert call(world, tokens["admin"], "DELETE", path).status_code == 404
    history = json.loads(senderctl("numbers", "history", "--org", ORG, number, "-o", "json",
                                   state_url=world.state_url).stdout)
    assert [(h["user"], h["to"] is not None) for h in history] == [("carol@acme.example", True)]


def test_tokens_are_never_logged_or_stored(world: World, tokens: dict[str, str]) -> None:
    for token in tokens.values():
        call(world, token, "GET", "/v1/sms/phone-numbers")
    log = world.daemon.text()
    state = Path(world.state_url.removeprefix("sqlite:///")).read_bytes()
    wal = Path(world.state_url.removeprefix("sqlite:///") + "-wal")
    state += wal.read_bytes() if wal.exists() else b""
    listed = senderctl("tokens", "list", "--org", ORG, state_url=world.state_url).stdout
    for token in tokens.values():
        assert token[4:] not in log and token[4:].encode() not in state and token not in listed
    assert "revoked" in listed and "expired" in listed


def test_a_path_no_route_matches_answers_the_json_error_shape(world: World, tokens: dict[str, str]) -> None:
    """Found by schemathesis: an encoded newline in a path parameter matched no route, and the daemon's
    outer app answered Starlette's plain-text 404, off the API's documented error shape."""
    for method, path in (("POST", f"{WS}/---%0A/archive"), ("GET", "/v1/sms/nothing-here"),
                         ("DELETE", "/v1/sms/phone-numbers/config")):
        answer = call(world, tokens["admin"], method, path)
        assert answer.status_code in (404, 405), (method, path, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json"), (method, path, answer.text)
        assert answer.json()["error"]["code"] in ("not_found", "method_not_allowed")
