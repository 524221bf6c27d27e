"""schemathesis, run as its users run it (`schemathesis run --checks all`, every phase including the
stateful one that follows the document's links), against the daemon's own /openapi.json over HTTP on
SQLite state: whatever it generates, the API answers as the schema says, accepts what the schema
allows and refuses what it does not."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.api import page_tokens
from tests.api.conftest import WORKSPACE_UUID, World, build_world, make_token

EXAMPLES = 15  # per operation and phase: the whole run takes seconds; its seed makes it repeatable
SEED = 20261203
PHASES = ("Examples", "Coverage", "Fuzzing", "Stateful")


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    tmp = tmp_path_factory.mktemp("api-schemathesis")
    # A limit the run cannot reach: purchases keep succeeding, so the stateful phase has numbers to follow.
    for world in build_world(tmp, f"sqlite:///{tmp / 'state.db'}", limit=500):
        yield world, make_token(world.state_url, "admin@acme.example", "admin")


def test_the_openapi_document_is_generated_from_the_models(api_world: tuple[World, str]) -> None:
    world, _ = api_world
    document = world.client(None).get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths) >= {"/v1/sms/phone-numbers/purchase", "/v1/sms/phone-numbers/{phone}/assign",
                          "/api/v2/w/{workspace_uuid}/phone-numbers/{phone_number_id}/archive"}
    assert "PurchaseRequest" in document["components"]["schemas"]
    assert paths["/v1/sms/phone-numbers/purchase"]["post"]["responses"]["409"]
    bought = paths["/v1/sms/phone-numbers/purchase"]["post"]["responses"]["201"]["links"]
    assert {link["parameters"].get("phone") for link in bought.values()} >= {"$response.body#/number"}
    created = paths["/api/v2/w/{workspace_uuid}/phone-numbers"]["post"]["responses"]["201"]["links"]
    assert len(created) == 5 and all(link["parameters"]["phone_number_id"] == "$response.body#/id"
                                      for link in created.values())
    listed = paths["/api/v2/w/{workspace_uuid}/phone-numbers"]["get"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in listed.values()} == {link["operationId"] for link in created.values()}


def test_schemathesis_with_every_check_and_the_stateful_phase_finds_nothing(api_world: tuple[World, str]) -> None:
    world, token = api_world
    # The workspace the specs made: without it every generated uuid is simply not found (404), and no
    # request reaches the workspace routes' own logic.
    config = world.workdir / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.workspace_uuid" = "{WORKSPACE_UUID}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
         f"{world.daemon.url}/openapi.json", "--checks", "all",
         "--header", f"Authorization: Bearer {token}", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
         "--workers", "1", "--request-timeout", "60", "--no-color"],
        capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL, cwd=world.workdir)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    assert re.search(r"Tested: 15\b", report), report[-3000:]
    for phase in PHASES:  # each phase ran and passed (a skipped one is not reported with a check mark)
        assert f"✅ {phase}" in report, (phase, report[-3000:])


@settings(max_examples=300, deadline=None, database=None)
@given(st.from_regex(page_tokens.PATTERN, fullmatch=True))
def test_every_page_token_the_schema_allows_is_one_the_api_reads(token: str) -> None:
    assert 0 <= page_tokens.decode(token) <= page_tokens.MAX_ID


@pytest.mark.parametrize("last_id", [0, 1, 9, 10, 99, 100, 12345, 999_999_999, page_tokens.MAX_ID])
def test_every_token_the_api_gives_is_one_the_schema_allows(last_id: int) -> None:
    token = page_tokens.encode(last_id)
    assert re.fullmatch(page_tokens.PATTERN, token) and page_tokens.decode(token) == last_id


@pytest.mark.parametrize("token", ["aWQ6", "aWQ6MQ\n", page_tokens.b64("id:1a"), page_tokens.b64("id:¹"),
                                   page_tokens.b64("id:" + "9" * 11), "!!!!", "id:1"])
def test_a_token_off_the_pattern_is_refused(token: str) -> None:
    with pytest.raises(page_tokens.InvalidPageToken):
        page_tokens.decode(token)
