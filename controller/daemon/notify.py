"""`daemon --notify URL`: a signed JSON event for every condition change, drift found and refused plan.

Events are signed the way Bird signs its webhooks (controller/bird/signing.py: headers
`messagebird-signature`, `messagebird-request-timestamp`, `messagebird-request-id`, the signature
over timestamp, URL and the body's SHA-256) with the key in SENDERCTL_NOTIFY_KEY, so a receiver
verifies them with the same code it uses for Bird. A reconcile only puts events on a bounded
queue; a background task delivers them, retrying with exponential backoff, so a slow or dead
receiver never delays a reconcile (a full queue drops the newest event and counts it). Neither the
key nor a receiver URL's path (Slack webhook URLs are credentials) ever reaches a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from controller.bird.signing import signed_headers
from controller.daemon.logs import event
from controller.resources.authplus import started_waiting

NOTIFY_KEY_ENV = "SENDERCTL_NOTIFY_KEY"
FORMATS = ("json", "slack")
QUEUE_SIZE = 1000
ATTEMPTS = 6
BACKOFF_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
TIMEOUT_SECONDS = 10.0
SYMBOLS = {"Ready": "✅", "Waiting": "⏳", "Failed": "❌", "Paused": "⏸️"}


def receiver(url: str) -> str:
    """What logs may say about a receiver: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class ConditionNow:
    status: str
    reason: str = ""


def conditions_of(plan: Any) -> dict[str, ConditionNow]:
    """Each resource's condition after a reconcile, as `status` reports it."""
    out: dict[str, ConditionNow] = {a: ConditionNow("Ready") for a in plan.ready}
    out.update({w.address: ConditionNow("Waiting", w.reason) for w in plan.waiting})
    out.update({f.address: ConditionNow("Failed", f.reason) for f in plan.failed})
    out.update({a: ConditionNow("Paused") for a in plan.paused})
    return out


def rejection_of(address: str, world: Any) -> dict[str, str] | None:
    """Bird's `rejection {code, description}` of the brand, vetting or campaign at `address`."""
    record = world.records.get(address) if world is not None else None
    if record is None or not record.bird_id:
        return None
    for collection in (world.brands, world.campaigns, world.vettings):
        for items in collection.values():
            for item in items:
                if item.get("id") == record.bird_id and isinstance(item.get("rejection"), dict):
                    rejection = item["rejection"]
                    return {"code": str(rejection.get("code") or ""), "description": str(rejection.get("description") or "")}
    return None


def condition_events(before: Mapping[str, Any], plan: Any, world: Any) -> list[dict[str, Any]]:
    """One event per resource whose status changed (from None: seen for the first time)."""
    out = []
    for address, now in sorted(conditions_of(plan).items()):
        previous = before.get(address)
        was = getattr(previous, "status", None)
        if was == now.status and not started_waiting(str(getattr(previous, "reason", "") or ""), now.reason):
            continue
        item: dict[str, Any] = {"type": "condition.changed", "address": address, "from": was, "to": now.status,
                                "reason": now.reason}
        if now.status == "Failed":
            rejection = rejection_of(address, world)
            if rejection:
                item["rejection"] = rejection
        out.append(item)
    return out


def drift_event(plan: Any) -> dict[str, Any] | None:
    drifted = [{"address": c.address, "action": c.action, "reason": c.reason} for c in plan.changes if c.drift]
    return {"type": "drift.found", "changes": drifted} if drifted else None


def slack_text(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind == "condition.changed":
        text = f"{SYMBOLS.get(item['to'], '')} *{item['address']}*: {item['from'] or 'new'} → {item['to']}"
        if item.get("reason"):
            text += f" — {item['reason']}"
        if item.get("rejection"):
            text += f" (Bird rejection {item['rejection']['code']}: {item['rejection']['description']})"
        return text
    if kind == "drift.found":
        return "🔀 drift: changed on Bird outside senderctl: " + ", ".join(c["address"] for c in item["changes"])
    if kind == "plan.refused":
        return f"🛑 plan refused: {item['reason']}"
    return f"senderctl {kind}"


class Notifier:
    """A bounded queue and the task that delivers it to every URL (see the module docstring)."""

    def __init__(self, urls: Iterable[str], key: str, fmt: str = "json", *, source: str = "",
                 queue_size: int = QUEUE_SIZE, attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS,
                 on_outcome: Callable[[str], None] | None = None) -> None:
        self.urls = tuple(urls)
        self._key = key
        self.format = fmt
        self.source = source
        self.attempts = attempts
        self.backoff = backoff
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self.on_outcome = on_outcome or (lambda _outcome: None)

    def __repr__(self) -> str:  # the key is a secret
        return f"Notifier({[receiver(u) for u in self.urls]}, format={self.format})"

    def publish(self, item: dict[str, Any]) -> None:
        """Never blocks: a full queue drops the event (counted) rather than hold up a reconcile."""
        item = {**item, "time": datetime.now(UTC).isoformat(timespec="seconds"), "source": self.source}
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.on_outcome("dropped")
            event("notify.dropped", f"notification queue full ({self.queue.maxsize}); dropped {item['type']}",
                  logging.WARNING)

    def body(self, item: dict[str, Any]) -> bytes:
        data = {"text": slack_text(item)} if self.format == "slack" else item
        return json.dumps(data, sort_keys=True, ensure_ascii=False).encode()

    async def run(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            while True:
                item = await self.queue.get()
                await asyncio.gather(*(self.deliver(client, url, item) for url in self.urls))

    async def deliver(self, client: Any, url: str, item: dict[str, Any]) -> bool:
        body = self.body(item)
        request_id = str(uuid.uuid4())  # the same id on every retry: receivers can drop duplicates
        problem = ""
        for attempt in range(1, self.attempts + 1):
            timestamp = str(int(time.time()))
            headers = {"content-type": "application/json",
                       **signed_headers(self._key, timestamp, url, body, request_id)}
            try:
                response = await client.post(url, content=body, headers=headers)
                if response.status_code < 300:
                    self.on_outcome("sent")
                    return True
                problem = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    break  # the receiver refuses this event; sending it again will not help
            except Exception as exc:  # connection refused, timeout: retried
                problem = type(exc).__name__
            if attempt < self.attempts:
                self.on_outcome("retried")
                await asyncio.sleep(min(BACKOFF_CAP_SECONDS, self.backoff * 2 ** (attempt - 1)))
        self.on_outcome("failed")
        event("notify.failed", f"notification {item['type']} to {receiver(url)} failed after {attempt} attempt(s): "
              f"{problem}", logging.WARNING, receiver=receiver(url), notification=item["type"])
        return False

    async def drain(self, timeout: float) -> None:
        """At shutdown: give queued events a moment to go out."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty(), timeout)

    async def _empty(self) -> None:
        while not self.queue.empty():
            await asyncio.sleep(0.05)
