"""Checking one Bird webhook delivery: signature, timestamp window, shape, and whether the subscription
whose key signed it could have sent it (no I/O).

The answer is a Verdict the HTTP layer turns into a status code: 401 for a missing or bad
signature, 415 for a body declared as something other than JSON, 400 for a body that is not a Bird
event or names an event nobody subscribed to, 413 above 1 MiB — never a 5xx for bad input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.bird.signing import REQUEST_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_of
from controller.daemon.routing import EVENT_KINDS, INBOUND_EVENTS, event_of, payload_ids
from controller.daemon.specview import Subscription

MAX_BODY_BYTES = 1024 * 1024
# Bird's event names: 10dlc.brand, channel.updated, sms.inbound, ...
EVENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


# Bird retries an undelivered event "at increasing intervals over a period of 8 hours", each attempt with
# the event's original timestamp (docs.bird.com/api/notifications-api/retries): a correctly signed delivery
# is taken until then, plus an hour for the last attempt's own delays. Replays inside that window are
# recognised by what the signature covers (Verdict.digest), kept in the state for longer (INBOX_RETENTION).
RETRY_HORIZON = 9 * 3600


class SigningIndex:
    """The specs' subscriptions by what Bird computes a signature from (signing key, URL), then by workspace.

    A delivery costs one HMAC per distinct (key, URL) pair however many subscriptions share it (one key for
    a workspace's subscriptions, or for all, is common), and the signers that could speak for the event's
    workspace are found without walking every subscription: at 100 workspaces that walk was a fifth of the
    receiver's CPU."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        pairs: dict[tuple[str, str], dict[str, list[Subscription]]] = {}
        for sub in subscriptions:
            pairs.setdefault((sub.key, sub.url), {}).setdefault(sub.workspace_id, []).append(sub)
        self.pairs = {pair: {ws: tuple(subs) for ws, subs in by_workspace.items()}
                      for pair, by_workspace in pairs.items()}
        within: dict[str, dict[tuple[str, str], Mapping[str, tuple[Subscription, ...]]]] = {}
        for pair, by_workspace in self.pairs.items():
            for ws in by_workspace:
                within.setdefault(ws, {})[pair] = {ws: by_workspace[ws]}
        self.within = within
        self.count = len(subscriptions)

    def candidates(self, workspace_id: str | None) -> Mapping[tuple[str, str], Mapping[str, tuple[Subscription, ...]]]:
        """The pairs whose signature can be accepted for an event of `workspace_id` (None: unknown, every
        pair). Only that workspace's subscriptions pass scope(), so with a key per tenant a delivery costs
        its own workspace's HMACs, not one per tenant."""
        return self.pairs if workspace_id is None else self.within.get(workspace_id, {})


# The signers of one delivery: for each (key, URL) pair that verified, its subscriptions by workspace.
Signers = tuple[Mapping[str, tuple[Subscription, ...]], ...]


@dataclass(frozen=True)
class Verdict:
    status: int
    outcome: str  # accepted | replay | bad_signature | malformed | too_large | unavailable (metrics label)
    message: str
    event: str = "unknown"
    document: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""
    # SHA-256 of what the signature covers but the URL (timestamp and body): a delivery captured and sent
    # again, with any request id or none, has the same digest.
    digest: str = ""
    # The subscriptions whose key (and URL) verify the signature, by workspace.
    signed_by: Signers = ()

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def signers(self) -> tuple[Subscription, ...]:
        return self.signers_in(None)

    def signers_in(self, workspace_id: str | None) -> tuple[Subscription, ...]:
        """The signers that could speak for `workspace_id` (None: the workspace is unknown, so every one)."""
        if workspace_id:
            return tuple(sub for by_workspace in self.signed_by for sub in by_workspace.get(workspace_id, ()))
        return tuple(sub for by_workspace in self.signed_by for subs in by_workspace.values() for sub in subs)


def authenticate(headers: Mapping[str, str], body: bytes, *, subscriptions: Sequence[Subscription] | SigningIndex,
                 public_url: str, now: float, tolerance: int, max_age: int = RETRY_HORIZON,
                 within: str | None = None) -> tuple[Signers, str] | str:
    """(the subscriptions whose key signed the delivery, the digest of what it signed), or why it is refused.

    Bird signs each delivery with its subscription's URL; the daemon's configured public URL is also taken
    (a subscription whose URL a proxy rewrites). Never the URL the request arrived at: its Host header is
    the sender's to choose. `within`: the workspace the event's ids place it in, when known; only its
    subscriptions are tried."""
    index = subscriptions if isinstance(subscriptions, SigningIndex) else SigningIndex(subscriptions)
    if not index.count:
        return ("no signing key is configured (no WebhookSubscription in the specs has a readable signingKey), "
                "so no webhook can be trusted")
    signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not signature:
        return f"missing {SIGNATURE_HEADER} header"
    if not timestamp:
        return f"missing {TIMESTAMP_HEADER} header"
    try:
        sent_at = float(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} is not a Unix timestamp"
    if not math.isfinite(sent_at):  # "nan" passes every comparison, "1e999" overflows int()
        return f"{TIMESTAMP_HEADER} is not a finite Unix timestamp"
    if sent_at - now > tolerance:
        return f"{TIMESTAMP_HEADER} is {int(sent_at - now)} s ahead of our clock; more than {tolerance} s (a clock is wrong)"
    if now - sent_at > max_age:
        return (f"{TIMESTAMP_HEADER} is {int(now - sent_at)} s old; Bird retries for 8 hours, so a delivery older than "
                f"{max_age} s is a replay (or a clock is wrong)")
    try:
        received = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return f"{SIGNATURE_HEADER} is not base64"
    body_digest = hashlib.sha256(body).digest()
    verified: dict[tuple[str, str], bool] = {}

    def verifies(key: str, url: str) -> bool:
        if (key, url) not in verified:
            verified[key, url] = hmac.compare_digest(received, signature_of(key, timestamp, url, body_digest))
        return verified[key, url]

    signers = tuple(by_workspace for (key, url), by_workspace in index.candidates(within).items()
                    if verifies(key, url) or verifies(key, public_url))
    if not signers:
        return "bad signature: the body, the URL or the signing key does not match"
    digest = hashlib.sha256(timestamp.encode() + b"\n" + body_digest).hexdigest()
    return signers, digest


# Bird's events are a few KB. A body up to this size is parsed before its signature is checked, to know
# which workspace's keys can have signed it; a larger one is verified against every key first, so that
# an unsigned megabyte costs a hash, not a parse.
PLACE_BEFORE_VERIFYING_BYTES = 64 * 1024


def check(headers: Mapping[str, str], body: bytes, *, subscriptions: Sequence[Subscription] | SigningIndex,
          public_url: str, now: float, tolerance: int, max_age: int = RETRY_HORIZON,
          subscribed: Collection[str] | None = None, place: Callable[[list[str]], str | None] | None = None) -> Verdict:
    """`subscribed`: the events the specs' subscriptions ask for (None: any event name is taken). `place`:
    the workspace that Bird ids belong to, or None (no I/O: what the daemon's directory holds). A verdict
    that is ok still has to be scoped (see scope()): which of its signers could have sent this event."""
    if len(body) > MAX_BODY_BYTES:
        return Verdict(413, "too_large", f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    parsed = parse_body(body) if place is not None and len(body) <= PLACE_BEFORE_VERIFYING_BYTES else None
    within = None
    if place is not None and parsed is not None and not isinstance(parsed, Unparsable) \
            and (found := event_of(parsed)) is not None:
        within = place(ids_in(found[0], parsed))
    signed = authenticate(headers, body, subscriptions=subscriptions, public_url=public_url, now=now,
                          tolerance=tolerance, max_age=max_age, within=within)
    if isinstance(signed, str):
        return Verdict(401, "bad_signature", f"webhook rejected: {signed}")
    signers, digest = signed
    content_type = headers.get("content-type", "")
    if content_type and not is_json_media_type(content_type):
        return Verdict(415, "malformed", f"the body is declared as {content_type[:60]!r}; Bird sends "
                       "application/json")
    document = parse_body(body) if parsed is None else parsed
    if isinstance(document, Unparsable):
        return Verdict(400, "malformed", document.reason)
    found = event_of(document)
    if found is None:
        return Verdict(400, "malformed", 'the body is not a Bird event: expected {"event": "...", "payload": {...}}')
    event, _ = found
    if not EVENT_NAME.fullmatch(event):
        return Verdict(400, "malformed", f"{event[:40]!r} is not a Bird event name")
    if subscribed is not None and event not in {*subscribed, *EVENT_KINDS, *INBOUND_EVENTS}:
        return Verdict(400, "malformed", f"{event[:40]!r} is not an event any WebhookSubscription in the specs "
                       "asks for, nor one senderctl acts on", event=event)
    if event in INBOUND_EVENTS:
        problem = inbound_problem(document)
        if problem:
            return Verdict(400, "malformed", problem, event=event)
    request_id = headers.get(REQUEST_ID_HEADER) or f"sig-{digest[:40]}"
    return Verdict(200, "accepted", "accepted", event=event, document=document, request_id=request_id[:200],
                   digest=digest, signed_by=signers)


@dataclass(frozen=True)
class Unparsable:
    reason: str


def parse_body(body: bytes) -> Any:
    """The body's JSON, or Unparsable saying why it is not JSON a database can store."""
    try:
        return json.loads(body, parse_float=finite_float, parse_constant=no_constant)
    except ValueError as exc:  # not UTF-8, not JSON, or a number no database can store
        return Unparsable(f"the body is not JSON: {exc}")
    except RecursionError:
        return Unparsable("the body nests JSON too deeply to be a Bird event")


def ids_named(verdict: Verdict) -> list[str]:
    return ids_in(verdict.event, verdict.document)


def ids_in(event: str, document: Mapping[str, Any]) -> list[str]:
    """The Bird ids an event names that tell where it comes from: an inbound message's channel and
    connector (the receiving number only in shapes older than Bird's), another event's object ids."""
    payload = document.get("payload") if isinstance(document.get("payload"), dict) else {}
    if event in INBOUND_EVENTS:
        receiver = payload.get("receiver") if isinstance(payload.get("receiver"), dict) else {}
        connector = receiver.get("connector") if isinstance(receiver.get("connector"), dict) else {}
        named = [payload.get("channelId"), connector.get("id"), connector.get("identifierValue")]
        return [str(i) for i in named if isinstance(i, str | int) and i]
    return sorted(payload_ids(payload))


def attributes(event: str, payload: Mapping[str, Any]) -> dict[str, str]:
    """What Bird's event filters compare (channelId, platformId, channelStatus, messageStatus, brandId,
    campaignId), as this event's payload holds them."""
    found: dict[str, Any] = {"channelId": payload.get("channelId"), "brandId": payload.get("brandId"),
                             "campaignId": payload.get("campaignId"), "platformId": payload.get("platformId")}
    if event.startswith("channel."):
        found.update(channelId=payload.get("id"), channelStatus=payload.get("status"))
    elif event.startswith("sms."):
        found["messageStatus"] = payload.get("status")
    elif event == "10dlc.brand":
        found["brandId"] = payload.get("id") or found["brandId"]
    elif event == "10dlc.campaign":
        found["campaignId"] = payload.get("id") or found["campaignId"]
    return {k: str(v) for k, v in found.items() if isinstance(v, str | int) and v != ""}


def could_have_sent(sub: Subscription, event: str, service: str | None, workspace_id: str | None,
                    attrs: Mapping[str, str], channel_ids: Mapping[str, str]) -> bool:
    """Whether Bird could have sent this event through this subscription: same event and service, the
    workspace the event is about (when the state knows it), every filter met."""
    if sub.event != event or (service and sub.service != service):
        return False
    if workspace_id and sub.workspace_id != workspace_id:
        return False
    for key, value, phone_number in sub.filters:
        wanted = value or channel_ids.get(f"Channel/{phone_number}", "")
        if not wanted or attrs.get(key) != wanted:
            return False
    return True


def scope(verdict: Verdict, workspace_id: str | None, channel_ids: Mapping[str, str]) -> Verdict:
    """The verdict, kept only when one of its signers could have sent the event (workspace_id: where the
    state places the event's object; None when it does not know it)."""
    payload = verdict.document.get("payload") if isinstance(verdict.document.get("payload"), dict) else {}
    service = verdict.document.get("service") if isinstance(verdict.document.get("service"), str) else None
    attrs = attributes(verdict.event, payload)
    if any(could_have_sent(s, verdict.event, service, workspace_id, attrs, channel_ids)
           for s in verdict.signers_in(workspace_id)):
        return verdict
    return Verdict(401, "bad_signature", "webhook rejected: signed with the key of no subscription that could have "
                   f"sent this {verdict.event[:40]} (its workspace, service, event and filters)", event=verdict.event,
                   request_id=verdict.request_id)


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


def inbound_problem(document: Mapping[str, Any]) -> str | None:
    from controller.tenant import MalformedWebhook
    from controller.tenant.rules import inbound_message

    try:
        inbound_message(document)
    except MalformedWebhook as exc:
        return str(exc)
    return None


def event_label(event: str) -> str:
    """Bound the metric's label values: Bird's event names are short dotted words."""
    ok = len(event) <= 40 and all(c.isalnum() or c in "._-" for c in event)
    return event if ok else "other"
