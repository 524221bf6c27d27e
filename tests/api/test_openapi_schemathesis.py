"""schemathesis against the running daemon's own /openapi.json: whatever it generates from the
schema, the API never answers 5xx, and every answer matches the schema (status, type, body)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import World, build_world, make_token

EXAMPLES = 12  # per operation: the whole run stays well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    tmp = tmp_path_factory.mktemp("api-schemathesis")
    for world in build_world(tmp, f"sqlite:///{tmp / 'state.db'}", limit=8):
        yield world, make_token(world.state_url, "admin@acme.example", "admin")


def test_the_openapi_document_is_generated_from_the_models(api_world: tuple[World, str]) -> None:
    world, _ = api_world
    document = world.client(None).get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths) >= {"/v1/sms/phone-numbers/purchase", "/v1/sms/phone-numbers/{phone}/assign",
                          "/api/v2/w/{workspace_uuid}/phone-numbers/{phone_number_id}/archive"}
    assert "PurchaseRequest" in document["components"]["schemas"]
    assert paths["/v1/sms/phone-numbers/purchase"]["post"]["responses"]["409"]


def test_no_generated_request_gets_a_5xx_or_an_answer_off_the_schema(api_world: tuple[World, str]) -> None:
    world, token = api_world
    schema = schemathesis.openapi.from_url(f"{world.daemon.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def check(case: Any) -> None:
            case.call_and_validate(base_url=world.daemon.url, headers={"Authorization": f"Bearer {token}"},
                                   checks=CHECKS)

        try:
            check()
        except Exception as exc:  # every operation's failure, then one assertion with all of them
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
