"""Signed webhook delivery, to loopback addresses only.

A delivery to any other host is never attempted (no DNS lookup, no connection): our machines have no
network and tests must never try to reach one. It is recorded as undelivered instead.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from controller.bird.signing import signed_headers
from controller.emulator import policy
from controller.emulator.kernel import Outgoing, rfc3339

if TYPE_CHECKING:
    from controller.emulator.core import Emulator

# Bird's pattern for subscription URLs ("Create a webhook subscription", "Update a webhook subscription"):
# https, a DNS host name, no port, no IP literal.
BIRD_URL_PATTERN = r"^https://([a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}(/[^\s]*)?$"
BIRD_URL = re.compile(BIRD_URL_PATTERN)
# The emulator's one exception (CONTRACT.md): a local receiver, any port, so tests can listen.
LOCAL_URL = re.compile(r"^https?://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:[0-9]+)?(/[^\s]*)?$")


def acceptable_url(url: str) -> bool:
    """Bird's pattern, or a local receiver (the emulator delivers to loopback addresses only)."""
    return bool(BIRD_URL.match(url) or LOCAL_URL.match(url))


def is_loopback(url: str) -> bool:
    """True when the URL's host is a loopback address (127.0.0.0/8, ::1) or ``localhost``; no DNS."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _record(item: Outgoing, request_id: str, delivered: bool, status: int | None, error: str | None
            ) -> dict[str, Any]:
    return {"requestId": request_id, "subscriptionId": item.subscription_id, "workspaceId": item.workspace_id,
            "event": item.event, "url": item.url, "delivered": delivered, "status": status, "error": error,
            "attempt": item.attempt + 1, "at": rfc3339(time.time())}


async def deliver(emulator: Emulator, items: list[Outgoing]) -> list[dict[str, Any]]:
    """Deliver each webhook (in order, one short timeout each) and record the outcome in the emulator and
    in its subscription's logs."""
    records = []
    if items:
        async with httpx.AsyncClient(timeout=policy.WEBHOOK_TIMEOUT_SECONDS, trust_env=False) as client:
            for item in items:
                record = await _deliver_one(client, item)
                records.append(record)
                if not record["delivered"] and is_loopback(item.url):  # attempted and failed: Bird retries
                    record["retryScheduled"] = emulator.retry_later(item)
                emulator.log_delivery(item, record)
    with emulator.lock:
        emulator.deliveries.extend(records)
    return records


async def _deliver_one(client: httpx.AsyncClient, item: Outgoing) -> dict[str, Any]:
    request_id = item.request_id
    if not is_loopback(item.url):
        return _record(item, request_id, False, None, "not a loopback address: never attempted")
    body = json.dumps(item.body, separators=(",", ":")).encode()
    # The first attempt is signed with the real time (receivers check it against their own clock, not the
    # emulator's); every retry carries that same timestamp, as Bird's do, so a receiver that holds to a
    # five-minute window refuses the retries of an outage longer than that.
    item.timestamp = item.timestamp or str(int(time.time()))
    headers = signed_headers(item.signing_key, item.timestamp, item.url, body, request_id)
    headers["content-type"] = "application/json"
    try:
        response = await client.post(item.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return _record(item, request_id, False, None, f"{type(exc).__name__}: {exc}"[:300])
    ok = 200 <= response.status_code < 300
    return _record(item, request_id, ok, response.status_code, None if ok else response.text[:300])
