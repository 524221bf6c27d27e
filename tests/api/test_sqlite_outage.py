"""A SQLite state that does not answer is an outage like PostgreSQL's: every API route answers 503
unavailable with Retry-After in the JSON error shape, and 200 again once the state answers.

The outage is the one an operator meets on SQLite: another process holds the database's write lock
longer than the daemon's busy timeout (a `sqlite3` shell left inside BEGIN EXCLUSIVE, a long manual
repair). The daemon runs with SENDERCTL_SQLITE_BUSY_TIMEOUT shortened to 1 s so that the test does
not wait out the default 60 s on every request."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from controller.api import access
from controller.state.db import BUSY_TIMEOUT_VARIABLE, sqlite_path
from tests.api.conftest import WORKSPACE_UUID, World, make_token

VALUES = {"{phone}": "%2B14155550100", "{workspace_uuid}": WORKSPACE_UUID, "{phone_number_id}": "1"}
BODIES = {"/purchase": {"country": "US"}, "/assign": {"user": "x@acme.example"}, "/link": {"providerPhoneUuid": None}}


def every_api_route() -> list[tuple[str, str, object]]:
    routes = []
    for method, template in sorted(access.RULES):
        path = template
        for name, value in VALUES.items():
            path = path.replace(name, value)
        body = next((b for end, b in BODIES.items() if template.endswith(end)), {}) if method != "GET" else None
        routes.append((method, path, body))
    return routes


@contextmanager
def write_lock_held(database: str) -> Iterator[None]:
    """Another process's connection inside an EXCLUSIVE transaction."""
    holder = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_sqlite_state_locked_by_another_writer_answers_503_on_every_route_and_recovers(
        world_factory: Callable[..., World]) -> None:
    world = world_factory(daemon=False)
    daemon = world.start_daemon(extra_env={BUSY_TIMEOUT_VARIABLE: "1"})
    admin = world.client(make_token(world.state_url, "admin@acme.example", "admin"), daemon)
    routes = every_api_route()
    assert len(routes) == len(access.RULES) >= 15
    assert admin.get("/v1/sms/phone-numbers").status_code == 200
    with write_lock_held(str(sqlite_path(world.state_url))):
        for method, path, body in routes:
            answer = admin.request(method, path, json=body)
            assert answer.status_code == 503, (method, path, answer.status_code, answer.text)
            assert answer.headers["content-type"].startswith("application/json"), (method, path)
            assert answer.json()["error"]["code"] == "unavailable", (method, path, answer.text)
            assert int(answer.headers["retry-after"]) > 0, (method, path, answer.headers)
    assert daemon.alive()
    for method, path, body in routes:  # the same routes answer as they do normally, nothing is 5xx
        answer = admin.request(method, path, json=body)
        assert answer.status_code < 500, (method, path, answer.status_code, answer.text)
    assert admin.get("/v1/sms/phone-numbers").status_code == 200
