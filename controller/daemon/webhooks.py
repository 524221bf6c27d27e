"""Checking one Bird webhook delivery: signature, timestamp window, shape (no I/O).

The answer is a Verdict the HTTP layer turns into a status code: 401 for a missing or bad
signature, 415 for a body declared as something other than JSON, 400 for a body that is not a Bird
event or names an event nobody subscribed to, 413 above 1 MiB — never a 5xx for bad input.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.bird.signing import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    verify,
)
from controller.daemon.routing import EVENT_KINDS, INBOUND_EVENTS, event_of

MAX_BODY_BYTES = 1024 * 1024
# Bird's event names: 10dlc.brand, channel.updated, sms.inbound, ...
EVENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Verdict:
    status: int
    outcome: str  # accepted | bad_signature | malformed | too_large (metrics label)
    message: str
    event: str = "unknown"
    document: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


def verify_any(headers: Mapping[str, str], body: bytes, *, keys: Sequence[str], urls: Iterable[str], now: float,
               tolerance: int) -> str | None:
    """None when some (key, URL) pair verifies; else why not."""
    if not keys:
        return ("no signing key is configured (no WebhookSubscription in the specs has a readable signingKey), "
                "so no webhook can be trusted")
    reason = "bad signature"
    for url in dict.fromkeys(urls):
        for key in keys:
            try:
                verify(key, headers, url, body, now=now, tolerance=tolerance)
                return None
            except InvalidSignature as exc:
                reason = exc.reason
            except (ArithmeticError, ValueError) as exc:  # absurd timestamps (1e999) must not become 500s
                reason = f"unusable {TIMESTAMP_HEADER}: {type(exc).__name__}"
            if not reason.startswith("bad signature"):
                return reason  # a missing header or a stale timestamp fails every key alike
    return reason


def check(headers: Mapping[str, str], body: bytes, *, keys: Sequence[str], urls: Iterable[str], now: float,
          tolerance: int, subscribed: Collection[str] | None = None) -> Verdict:
    """`subscribed`: the events the specs' subscriptions ask for (None: any event name is taken)."""
    if len(body) > MAX_BODY_BYTES:
        return Verdict(413, "too_large", f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    problem = verify_any(headers, body, keys=keys, urls=urls, now=now, tolerance=tolerance)
    if problem is not None:
        return Verdict(401, "bad_signature", f"webhook rejected: {problem}")
    content_type = headers.get("content-type", "")
    if content_type and not is_json_media_type(content_type):
        return Verdict(415, "malformed", f"the body is declared as {content_type[:60]!r}; Bird sends "
                       "application/json")
    try:
        document = json.loads(body, parse_float=finite_float, parse_constant=no_constant)
    except ValueError as exc:  # not UTF-8, not JSON, or a number no database can store
        return Verdict(400, "malformed", f"the body is not JSON: {exc}")
    except RecursionError:
        return Verdict(400, "malformed", "the body nests JSON too deeply to be a Bird event")
    parsed = event_of(document)
    if parsed is None:
        return Verdict(400, "malformed", 'the body is not a Bird event: expected {"event": "...", "payload": {...}}')
    event, _ = parsed
    if not EVENT_NAME.fullmatch(event):
        return Verdict(400, "malformed", f"{event[:40]!r} is not a Bird event name")
    if subscribed is not None and event not in {*subscribed, *EVENT_KINDS, *INBOUND_EVENTS}:
        return Verdict(400, "malformed", f"{event[:40]!r} is not an event any WebhookSubscription in the specs "
                       "asks for, nor one senderctl acts on", event=event)
    if event in INBOUND_EVENTS:
        problem = inbound_problem(body)
        if problem:
            return Verdict(400, "malformed", problem, event=event)
    request_id = headers.get(REQUEST_ID_HEADER) or derived_request_id(headers)
    return Verdict(200, "accepted", "accepted", event=event, document=document, request_id=request_id)


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def inbound_problem(body: bytes) -> str | None:
    from controller.tenant import MalformedWebhook
    from controller.tenant.rules import parse_inbound

    try:
        parse_inbound(body)
    except MalformedWebhook as exc:
        return str(exc)
    return None


def derived_request_id(headers: Mapping[str, str]) -> str:
    """Without Bird's request id, the same signed delivery still deduplicates by its signature."""
    material = f"{headers.get(SIGNATURE_HEADER, '')}|{headers.get(TIMESTAMP_HEADER, '')}"
    return "sig-" + hashlib.sha256(material.encode()).hexdigest()[:40]


def event_label(event: str) -> str:
    """Bound the metric's label values: Bird's event names are short dotted words."""
    ok = len(event) <= 40 and all(c.isalnum() or c in "._-" for c in event)
    return event if ok else "other"
