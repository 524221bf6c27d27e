"""Errors say what happened, on SQLite and PostgreSQL, through the daemon over HTTP: odd but
well-formed ids and page tokens, unknown methods, unparsable bodies, an in-progress purchase and a
state database outage each get their documented status in the JSON error shape, never a 500."""

from __future__ import annotations

import base64
import concurrent.futures
from collections.abc import Callable
from datetime import timedelta

import httpx
import psycopg
import pytest

from controller.api.purchase import request_hash
from controller.state import api_repo
from controller.state.records import utcnow
from controller.state.tables import ApiPurchaseRow
from tests.api.conftest import WORKSPACE_UUID, World, make_token
from tests.conftest import POSTGRES_ADMIN_URL

WS = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"
PURCHASE = "/v1/sms/phone-numbers/purchase"


def page_token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def error_of(answer: httpx.Response) -> str:
    assert answer.headers["content-type"].startswith("application/json"), answer.text
    body = answer.json()
    assert set(body["error"]) >= {"code", "message"}, body
    return str(body["error"]["code"])


def test_odd_ids_methods_and_bodies_get_their_documented_answers(world_factory: Callable[..., World],
                                                                 state_url: str) -> None:
    world = world_factory(state_url=state_url)
    admin = world.client(make_token(world.state_url, "admin@acme.example", "admin"))
    for odd in ("%C2%B9", "%D9%A3", "2147483648", "99999999999", "-1", "1e3", "0x10", "%20",
                "00000000-0000-4000-8000-ffffffffffff", "9" * 64):
        answer = admin.get(f"{WS}/{odd}")
        assert answer.status_code == 404 and error_of(answer) == "not_found", (odd, answer.text)
    for token in (page_token("id:" + "9" * 19), page_token("id:" + "9" * 30), page_token("id:¹"),
                  page_token("id:" + "9" * 11), "%F0%9F%92%A9", "id:1", "!!!!"):
        for path in ("/v1/sms/phone-numbers", WS):
            answer = admin.get(f"{path}?pageToken={token}")
            assert answer.status_code == 400 and error_of(answer) == "invalid_page_token", (token, answer.text)
    for token in (page_token("id:2147483648"), page_token("id:9999999999")):  # well-formed, past every id
        for path in ("/v1/sms/phone-numbers", WS):
            answer = admin.get(f"{path}?pageToken={token}")
            assert answer.status_code == 200 and answer.json() == {"results": [], "nextPageToken": None}, answer.text
    for method, path, allow in (("PATCH", "/v1/sms/phone-numbers", "GET"), ("GET", PURCHASE, "POST"),
                                ("PUT", f"{WS}/1/archive", "POST"), ("DELETE", "/openapi.json", "GET"),
                                ("POST", "/healthz", "GET"), ("PUT", "/readyz", "GET")):
        answer = admin.request(method, path)
        assert answer.status_code == 405 and error_of(answer) == "method_not_allowed", (method, path)
        assert allow in answer.headers["allow"], (method, path, answer.headers)
    for body in (b"{not json", b"\xff\xfe{}", b'{"country": "US"', b"[" * 2000):
        answer = admin.post(PURCHASE, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and error_of(answer) == "malformed_body", (body[:20], answer.text)
    answer = admin.post(PURCHASE, json={"country": "US", "extra": 1})
    assert answer.status_code == 422 and error_of(answer) == "invalid"


def test_an_in_progress_purchase_answers_the_real_wait_as_retry_after(world_factory: Callable[..., World]) -> None:
    world = world_factory()
    writer = world.client(make_token(world.state_url, "svc@acme.example", "member", "--scopes",
                                     "phones:read,phones:write"))
    request = {"country": "US", "type": "local", "prefix": None}
    now = utcnow()
    store = world.store()
    try:
        with store.transaction() as tx:  # a purchase whose worker (another replica) holds it 40 s more
            api_repo.add_purchase(tx, ApiPurchaseRow(
                organization="acme", idempotency_key="k-busy", request_hash=request_hash(request), request=request,
                status="pending", requested_by="svc@acme.example", workspace="acme-main", created_at=now,
                updated_at=now, lease_until=now + timedelta(seconds=40)))
    finally:
        store.close()
    answer = writer.post(PURCHASE, json={"country": "US"}, headers={"Idempotency-Key": "k-busy"})
    assert answer.status_code == 409 and error_of(answer) == "purchase_in_progress"
    assert 30 <= int(answer.headers["retry-after"]) <= 40, answer.headers
    assert f"retry in {answer.headers['retry-after']} s" in answer.json()["error"]["message"]


def test_a_purchase_that_holds_its_number_but_is_not_marked_done_counts_once(
        world_factory: Callable[..., World]) -> None:
    # A purchase records its number, then the holding, then that it succeeded, each in its own transaction.
    # Between the last two, another purchase checking the limit counted it twice (held and in progress) and
    # was refused at the last free slot (seen as a 409 limit_reached among forty concurrent purchases).
    from controller import tenant

    world = world_factory()
    request = {"country": "US", "type": "local", "prefix": None}
    now = utcnow()
    store = world.store()
    try:
        with store.transaction() as tx:
            held_before = api_repo.held_count(tx, "acme")
            api_repo.add_purchase(tx, ApiPurchaseRow(
                organization="acme", idempotency_key="k-holding", request_hash=request_hash(request),
                request=request, status="pending", requested_by="svc@acme.example", workspace="acme-main",
                number="+14155550177", bird_number_id="n-177", created_at=now, updated_at=now,
                lease_until=now + timedelta(seconds=40)))
        with store.transaction() as tx:
            assert api_repo.pending_purchases(tx, "acme") == 1  # its number is not held yet
        tenant.record_number_acquired(store, "acme", "acme-main", "+14155550177", bird_number_id="n-177",
                                      monthly_price=None, at=now, owner="api")
        with store.transaction() as tx:
            assert (api_repo.held_count(tx, "acme"), api_repo.pending_purchases(tx, "acme")) == (held_before + 1, 0)
    finally:
        store.close()


@pytest.mark.postgres
def test_forty_concurrent_purchases_over_two_replicas_with_forty_free_slots_all_succeed(
        world_factory: Callable[..., World], postgres_url: str) -> None:
    world = world_factory(state_url=postgres_url, limit=42)  # the specs hold 2
    second = world.start_daemon()
    token = make_token(world.state_url, "svc@acme.example", "member", "--scopes", "phones:read,phones:write")
    clients = [world.client(token), world.client(token, second)]

    def buy(i: int) -> httpx.Response:
        return clients[i % 2].post(PURCHASE, json={"country": "US"}, headers={"Idempotency-Key": f"race-{i}"},
                                   timeout=120)

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(buy, range(40)))
    assert [a.status_code for a in answers] == [201] * 40, [(a.status_code, a.text[-200:]) for a in answers
                                                              if a.status_code != 201]
    assert len({a.json()["number"] for a in answers}) == 40


@pytest.mark.postgres
def test_a_state_database_outage_answers_503_unavailable_on_every_route(world_factory: Callable[..., World],
                                                                         postgres_url: str) -> None:
    world = world_factory(state_url=postgres_url)
    token = make_token(world.state_url, "admin@acme.example", "admin")
    admin = world.client(token)
    assert admin.get("/v1/sms/phone-numbers").status_code == 200
    name = postgres_url.rsplit("/", 1)[1]
    routes = [("GET", "/v1/sms/phone-numbers", None), ("GET", "/v1/sms/phone-numbers/config", None),
              ("POST", PURCHASE, {"country": "US"}), ("GET", WS, None), ("GET", f"{WS}/1", None),
              ("POST", "/v1/sms/phone-numbers/%2B14155550100/assign", {"user": "x@acme.example"})]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            for method, path, body in routes * 3:
                answer = admin.request(method, path, json=body)
                assert answer.status_code == 503 and error_of(answer) == "unavailable", (method, path, answer.text)
                assert "retry-after" in answer.headers
        finally:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    assert world.daemon.alive()
    assert admin.get("/v1/sms/phone-numbers").status_code == 200  # back once the database is
