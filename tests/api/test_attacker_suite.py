"""The attacker suite: several hundred hostile requests against a daemon over HTTP, on SQLite and on
PostgreSQL — bodies, headers, ids, tokens and webhook forgeries across organizations (acme from the
quick start specs, globex beside it). Every answer must be a status the daemon documents for that
route (/openapi.json for the API, the webhook receiver's and health endpoints' own), in the JSON error
shape, and never a 5xx. docs/RELIABILITY.md keeps the counts this prints."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from controller.bird.signing import signed_headers
from tests.api.conftest import ORG, WORKSPACE_UUID, World, make_token, senderctl
from tests.api.hostile import MB, send_body
from tests.api.test_hostile_tenants import (
    GLOBEX_NUMBER,
    GLOBEX_WS,
    OTHER_NUMBER,
    OTHER_WS,
    add_neighbours,
    globex_admin,
)
from tests.daemon.conftest import SIGNING_KEY

WS = f"/api/v2/w/{WORKSPACE_UUID}/phone-numbers"
S0 = "/v1/sms/phone-numbers"
WEBHOOK = "/webhooks/bird"
WEBHOOK_STATUSES = {200, 400, 401, 413}  # CONTRACT: never 5xx for bad input
HEALTH_STATUSES = {200, 503}


@dataclass
class Attack:
    category: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    token: str | None = None


def page(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()


BODY_ROUTES = [("POST", f"{S0}/purchase"), ("POST", f"{S0}/%2B14155550100/assign"), ("POST", WS),
               ("PUT", f"{WS}/1"), ("POST", f"{WS}/1/link")]
HOSTILE_BODIES = [b"", b"{", b"{not json", b"\xff\xfe\xfd", b"null", b"[]", b"123", b'"str"', b"[" * 3000,
                  b'{"a":' * 500 + b"1" + b"}" * 500, json_body({"country": "U" * 5000}),
                  json_body({"user": "x" * 10_000}), json_body({"label": "\u0000" * 100}),
                  json_body({"country": "US", "__proto__": {"admin": True}}), json_body({"providerPhoneUuid": 1}),
                  json_body({"number": "+1" + "9" * 40}), json_body({"user": "a@b", "role": "admin"}),
                  b'{"country": "US"}' + b" " * 5000, json_body({"label": "'; DROP TABLE phones; --"}),
                  json_body({"number": GLOBEX_NUMBER}), json_body({"providerPhoneUuid": "globex-n-1"}),
                  json_body({"user": "boss@globex.example"})]
ODD_IDS = ["%C2%B9", "%D9%A3", "2147483647", "2147483648", "9223372036854775808", "99999999999999999999999",
           "-1", "0", "1.5", "1e3", "0x1f", "%20", "%00", "..%2F..%2Fetc", "%2e%2e", "null", "00000000-0000-4000-8000-"
           "ffffffffffff", "00000000-0000-4000-8000-zzzzzzzzzzzz", "9" * 64, "%F0%9F%92%A9"]
ODD_PHONES = ["%2B", "abc", "%2B1", "%2B" + "1" * 40, "%00", "%2B%D9%A3%D9%A3", "%2B999999999999999", "14155550100",
              "%2B14155550100%0A", "%2B1415555010O", "+14155550100"]
ODD_WORKSPACES = [GLOBEX_WS, OTHER_WS, "not-a-uuid", "%00", "x" * 64, "99999999-9999-4999-8999-999999999999",
                  WORKSPACE_UUID.upper()]
ODD_TOKENS = [page("id:" + "9" * 19), page("id:" + "9" * 30), page("id:¹"), page("id:-1"), page("id:2147483648"),
              "%F0%9F%92%A9", "id:1", "!!!!", "a" * 200, page("id:1' OR '1'='1")]
ODD_LIMITS = ["0", "-1", "1001", "99999999999999999999", "abc", "1.5", "%00", ""]


def attacks(tokens: dict[str, str], port: int) -> Iterator[Attack]:
    admin, member, scoped, globex = tokens["admin"], tokens["member"], tokens["scoped"], tokens["globex"]
    json_type = {"Content-Type": "application/json"}
    # --- bodies ---------------------------------------------------------------------------------------
    for method, path in BODY_ROUTES:
        for body in HOSTILE_BODIES:
            yield Attack("bodies", method, path, json_type, body, admin)
        yield Attack("bodies", method, path, {"Content-Type": "text/plain"}, b'{"country": "US"}', admin)
        yield Attack("bodies", method, path, {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1", admin)
        yield Attack("bodies", method, path, json_type, b"x" * 5000, None)  # no token: 401 before the body
    for path in (f"{S0}", f"{WS}/1/archive", "/healthz", "/openapi.json"):
        yield Attack("bodies", "GET" if "archive" not in path else "POST", path, json_type, b'{"a": 1}', admin)
    # --- headers --------------------------------------------------------------------------------------
    for value in ("Bearer", "Basic YWRtaW46YWRtaW4=", "bearer " + admin, "Bearer  " + admin,
                  "Bearer " + admin + "x", "Bearer " + admin[:-1], "Bearer sct_", "Bearer " + "a" * 5000,
                  "Token " + admin, "Bearer " + admin.upper(), "Bearer null", "Bearer \u00e9\u00e8",
                  "Bearer " + admin + ", Bearer " + globex, "Digest x", "Bearer sct_" + "A" * 43):
        for path in (S0, f"{S0}/config", WS):
            yield Attack("headers", "GET", path, {"Authorization": value})
    for key in ("", "k" * 201, "k\u00e9"):
        yield Attack("headers", "POST", f"{S0}/purchase", {**json_type, "Idempotency-Key": key},
                     json_body({"country": "ZZ"}), admin)
    for extra in ({"Host": "evil.example"}, {"X-Forwarded-For": "127.0.0.1"}, {"X-Forwarded-Host": "evil.example"},
                  {"Accept": "text/html"}, {"Content-Type": "application/json; charset=utf-16"},
                  {"X-HTTP-Method-Override": "DELETE"}, {"Origin": "https://evil.example"}):
        yield Attack("headers", "GET", S0, extra, None, member)
        yield Attack("headers", "GET", "/readyz", extra)
    for method in ("PATCH", "TRACE", "OPTIONS", "HEAD", "PUT", "DELETE"):
        yield Attack("headers", method, S0, {}, None, admin)
        yield Attack("headers", method, "/healthz")
    # --- ids ------------------------------------------------------------------------------------------
    for odd in ODD_IDS:
        for method, suffix in (("GET", ""), ("PUT", ""), ("POST", "/archive"), ("GET", "/archive-blockers"),
                               ("POST", "/link")):
            body = json_body({"label": "x"} if method == "PUT" else {"providerPhoneUuid": None}) \
                if method == "PUT" or suffix == "/link" else None
            yield Attack("ids", method, f"{WS}/{odd}{suffix}", json_type, body, admin)
    for phone in ODD_PHONES:
        yield Attack("ids", "POST", f"{S0}/{phone}/assign", json_type, json_body({"user": "x@acme.example"}), admin)
        yield Attack("ids", "DELETE", f"{S0}/{phone}/assign", {}, None, admin)
    for ws in ODD_WORKSPACES:
        for method, suffix, body in (("GET", "", None), ("POST", "", json_body({"number": OTHER_NUMBER})),
                                     ("GET", "/linkable-phones", None), ("GET", "/1", None)):
            yield Attack("ids", method, f"/api/v2/w/{ws}/phone-numbers{suffix}", json_type, body, admin)
            yield Attack("ids", method, f"/api/v2/w/{ws}/phone-numbers{suffix}", json_type, body, scoped)
    for token in ODD_TOKENS:
        for path in (S0, f"{S0}/available", WS):
            yield Attack("ids", "GET", f"{path}?pageToken={token}", {}, None, admin)
    for limit in ODD_LIMITS:
        yield Attack("ids", "GET", f"{S0}?limit={limit}", {}, None, admin)
        yield Attack("ids", "GET", f"{WS}?limit={limit}&is_archived=maybe", {}, None, admin)
    # --- tokens: every route with none, a forged one, a revoked one, another organization's, too weak --
    routes = [("GET", S0, None), ("GET", f"{S0}/available", None), ("GET", f"{S0}/my-number", None),
              ("GET", f"{S0}/config", None), ("POST", f"{S0}/purchase", json_body({"country": "US"})),
              ("POST", f"{S0}/%2B14155550100/assign", json_body({"user": "x@acme.example"})),
              ("DELETE", f"{S0}/%2B14155550100/assign", None), ("GET", WS, None),
              ("POST", WS, json_body({"number": "+14155550100"})), ("GET", f"{WS}/linkable-phones", None),
              ("GET", f"{WS}/1", None), ("PUT", f"{WS}/1", json_body({"label": "x"})), ("POST", f"{WS}/1/archive", None),
              ("GET", f"{WS}/1/archive-blockers", None), ("POST", f"{WS}/1/link", json_body({"providerPhoneUuid": None}))]
    for method, path, body in routes:
        for token in (None, "sct_forged", tokens["revoked"], globex, member, scoped):
            yield Attack("tokens", method, path, json_type, body, token)
    # --- webhook forgeries ---------------------------------------------------------------------------
    yield from webhook_forgeries(f"http://127.0.0.1:{port}{WEBHOOK}")


def inbound(number: str, org_note: str) -> bytes:
    return json_body({"service": "channels", "event": "sms.inbound", "payload": {
        "id": f"msg-{org_note}", "channelId": "aaaa0000-0000-4000-8000-000000000001",
        "sender": {"contact": {"identifierValue": "+15005550006"}}, "receiver": {"contacts": [
            {"identifierValue": number}]}, "body": {"type": "text", "text": {"text": "forged"}}}})


def webhook_forgeries(url: str) -> Iterator[Attack]:
    """Deliveries signed against the daemon's own URL, with keys no subscription of the event's
    organization holds (another organization's, a guess, the demo key), odd timestamps, parts missing."""
    now = str(int(time.time()))
    events = [inbound("+14155550100", "acme"), inbound(GLOBEX_NUMBER, "globex"),
              json_body({"service": "numbers", "event": "10dlc.brand", "payload": {"id": "b", "status": "APPROVED"}})]
    for i, body in enumerate(events):
        for key in ("globex-inbound-key", "acme-guess", SIGNING_KEY, ""):
            for stamp in (now, "0", str(int(now) + 3600), "-1", "abc"):
                headers = signed_headers(key, stamp, url, body, f"forged-{i}-{key}-{stamp}")
                yield Attack("webhooks", "POST", WEBHOOK, headers, body)
        for missing in ("messagebird-signature", "messagebird-request-timestamp"):
            headers = signed_headers(SIGNING_KEY, now, url, body, f"partial-{i}")
            headers.pop(missing)
            yield Attack("webhooks", "POST", WEBHOOK, headers, body)
        yield Attack("webhooks", "POST", WEBHOOK, {"messagebird-signature": "A" * 5000,
                                                   "messagebird-request-timestamp": now}, body)
    for body in (b"", b"{", b"\xff", b"[]", b"null", b"x" * (MB + 1)):
        yield Attack("webhooks", "POST", WEBHOOK, signed_headers(SIGNING_KEY, now, url, body, "junk"), body)


def documented(openapi: dict[str, Any], attack: Attack) -> set[int]:
    """The statuses the daemon documents for the request's route."""
    path = attack.path.split("?")[0]
    if path == WEBHOOK:
        return WEBHOOK_STATUSES | {405}
    if path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        return HEALTH_STATUSES | {405, 413}
    for template, operations in openapi["paths"].items():
        parts, asked = template.split("/"), path.split("/")
        if len(parts) == len(asked) and all(p.startswith("{") or p == a for p, a in zip(parts, asked, strict=True)):
            operation = operations.get(attack.method.lower())
            if operation is None:
                continue
            return {int(code) for code in operation["responses"]}
    # No route has that method and path: 404 or 405 (with Allow), the guard's documented answers.
    return {404, 405}


def run(world: World, tokens: dict[str, str]) -> Counter[tuple[str, int]]:
    seen: Counter[tuple[str, int]] = Counter()
    wrong = []
    port = world.daemon.port
    with httpx.Client(base_url=world.daemon.url, timeout=30) as client:
        openapi = client.get("/openapi.json").json()
        for attack in attacks(tokens, port):
            headers: dict[str, Any] = dict(attack.headers)
            if attack.token:
                headers.setdefault("Authorization", f"Bearer {attack.token}")
            headers = {k: v if v.isascii() else v.encode("latin-1") for k, v in headers.items()}  # raw bytes
            try:
                answer = client.request(attack.method, attack.path, headers=headers, content=attack.body)
            except httpx.RemoteProtocolError as exc:  # the connection was dropped: no answer at all
                wrong.append((attack.category, attack.method, attack.path, "no answer", str(exc)))
                continue
            status = answer.status_code
            seen[(attack.category, status)] += 1
            ok = status < 500 and status in documented(openapi, attack)
            if status >= 400 and attack.method != "HEAD":
                ok = ok and answer.headers.get("content-type", "").startswith("application/json") and (
                    "error" in answer.json() or attack.path == WEBHOOK)
            if not ok:
                wrong.append((attack.category, attack.method, attack.path[:80], status, answer.text[:160]))
    # Streamed floods, raw: no token, and over the cap with one.
    for kind in (dict(token=None), dict(token=tokens["admin"], chunked=True)):
        answer = asyncio.run(send_body(port, "POST", f"{S0}/purchase", total=20 * MB, **kind))  # type: ignore[arg-type]
        seen[("bodies", answer.status)] += 1
        if answer.status not in (401, 413):
            wrong.append(("bodies", "POST", "flood", answer.status, answer.body[:160]))
    assert not wrong, wrong
    return seen


def test_hundreds_of_hostile_requests_get_documented_answers_and_never_a_5xx(
        world_factory: Callable[..., World], state_url: str) -> None:
    world = world_factory(state_url=state_url)
    add_neighbours(world)
    tokens = {"admin": make_token(world.state_url, "admin@acme.example", "admin"),
              "member": make_token(world.state_url, "carol@acme.example", "member"),
              "scoped": make_token(world.state_url, "ops@acme.example", "admin", "--workspace", "acme-main"),
              "revoked": make_token(world.state_url, "gone@acme.example", "admin"),
              "globex": globex_admin(world)}
    listed = json.loads(senderctl("tokens", "list", "--org", ORG, "-o", "json", state_url=world.state_url).stdout)
    senderctl("tokens", "revoke", next(t["id"] for t in listed if t["user"] == "gone@acme.example"),
              state_url=world.state_url)
    seen = run(world, tokens)
    by_category = Counter[str]()
    for (category, _), count in seen.items():
        by_category[category] += count
    print(f"\n{state_url.split(':')[0]}: {sum(seen.values())} hostile requests: {dict(by_category)}; "
          f"statuses {dict(Counter(s for (_, s) in seen.elements()))}")
    assert sum(seen.values()) >= 300
    assert all(status < 500 for _, status in seen)
    assert world.daemon.alive()
    # globex's number stayed globex's: acme's admin does not see it.
    with httpx.Client(base_url=world.daemon.url, timeout=30,
                      headers={"Authorization": f"Bearer {tokens['admin']}"}) as client:
        assert GLOBEX_NUMBER not in client.get(S0).text
