"""Scopes mean what they say: every route against every combination of role and scopes, through the
daemon over HTTP. The matrix is written out here, by hand, as the README states it; /openapi.json
states the same for each operation."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import httpx
import pytest

from tests.api.conftest import WORKSPACE_UUID, World, build_world, make_token

WS = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"
R, W, A = "phones:read", "phones:write", "phones:admin"
# (method, path, body, role needed or None, scopes needed)
MATRIX = [
    ("GET", "/v1/sms/phone-numbers", None, None, {R}),
    ("GET", "/v1/sms/phone-numbers/available", None, None, {R}),
    ("GET", "/v1/sms/phone-numbers/my-number", None, None, {R}),
    ("GET", "/v1/sms/phone-numbers/config", None, None, {R}),
    ("POST", "/v1/sms/phone-numbers/purchase", {"country": "ZZ"}, None, {W}),  # paid: a write
    ("POST", "/v1/sms/phone-numbers/%2B14155550199/assign", {"user": "x@acme.example"}, "admin", {W}),
    ("DELETE", "/v1/sms/phone-numbers/%2B14155550199/assign", None, "admin", {W}),
    ("GET", WS, None, None, {R}),
    ("POST", WS, {"number": "+14155550199"}, None, {W}),
    ("GET", f"{WS}/linkable-phones", None, None, {W}),
    ("GET", f"{WS}/999999", None, None, {R}),
    ("PUT", f"{WS}/999999", {"label": "x"}, None, {W}),
    ("POST", f"{WS}/999999/archive", None, None, {A}),
    ("GET", f"{WS}/999999/archive-blockers", None, None, {A}),
    ("POST", f"{WS}/999999/link", {"providerPhoneUuid": None}, None, {W}),
]
SCOPE_SETS = [set(c) for n in range(1, 4) for c in combinations((R, W, A), n)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("api-scopes")
    yield from build_world(tmp, f"sqlite:///{tmp / 'state.db'}")


@pytest.fixture(scope="module")
def tokens(world: World) -> dict[tuple[str, frozenset[str]], str]:
    return {(role, frozenset(scopes)): make_token(world.state_url, f"{role}{i}@acme.example", role, "--scopes",
                                                  ",".join(sorted(scopes)))
            for role in ("admin", "member") for i, scopes in enumerate(SCOPE_SETS)}


def test_every_route_takes_exactly_the_role_and_scopes_of_the_matrix(world: World, tokens: dict) -> None:
    wrong = []
    with httpx.Client(base_url=world.daemon.url, timeout=30) as client:
        for method, path, body, role, needed in MATRIX:
            for (token_role, scopes), token in tokens.items():
                allowed = (role is None or token_role == role) and needed <= scopes
                answer = client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                refused = answer.status_code == 403
                if allowed == refused or answer.status_code >= 500 or answer.status_code == 401:
                    wrong.append((method, path, token_role, sorted(scopes), answer.status_code, answer.text[:120]))
    assert not wrong, wrong
    assert len(MATRIX) * len(tokens) == 15 * 14


def test_openapi_states_each_routes_role_scopes_and_body_cap(world: World) -> None:
    document = httpx.get(f"{world.daemon.url}/openapi.json").json()
    for method, path, _, role, needed in MATRIX:
        template = path.replace("%2B14155550199", "{phone}").replace(WORKSPACE_UUID, "{workspace_uuid}").replace(
            "999999", "{phone_number_id}")
        operation = document["paths"][template][method.lower()]
        stated = operation["x-senderctl-access"]
        assert (stated["role"], set(stated["scopes"])) == (role, needed), (method, template)
        assert stated["maxBodyBytes"] == (4096 if method in ("POST", "PUT") and "archive" not in path else 0)
        assert "scope" in operation["description"] and "body" in operation["description"]
        assert operation["security"] == [{"HTTPBearer": []}]
