"""Pure tenant rules: numbers, ISO weeks, billing rows, archive blockers, sender choice, webhook parsing.

No I/O here: the functions in controller.tenant gather the facts from the state and apply these.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers

from controller.tenant.models import (
    DEFAULT_CURRENCY,
    DEFAULT_WEEKLY_PRICE,
    Assignment,
    InboundMessage,
    InvalidNumber,
    InvalidWeek,
    MalformedWebhook,
    OrgConfig,
    ProviderPhone,
    UsageRow,
)

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


# --- numbers -------------------------------------------------------------------------------------


def e164(number: str) -> str:
    """The number in E.164 form; raises InvalidNumber with what is wrong."""
    text = (number or "").strip()
    if not text.startswith("+"):
        raise InvalidNumber(f"{number!r} is not an E.164 number: write it with + and the country code, "
                            "e.g. +14155550100")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{number!r} is not an E.164 number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{number!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def aware(at: datetime, what: str = "at") -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{what}={at!r} has no time zone; pass an aware UTC datetime")
    return at.astimezone(UTC)


# --- ISO weeks -----------------------------------------------------------------------------------


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """[Monday 00:00 UTC, next Monday 00:00 UTC) of an ISO week written YYYY-Www."""
    match = WEEK_PATTERN.match(week or "")
    if not match:
        raise InvalidWeek(f"week {week!r}: write the ISO week as YYYY-Www, e.g. 2026-W07")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise InvalidWeek(f"week {week!r}: {year} has no ISO week {number}") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    try:
        return start, start + timedelta(days=7)
    except OverflowError:  # 9999-W52 ends in the year 10000, which no date can hold
        raise InvalidWeek(f"week {week!r}: that week ends after the last date senderctl can handle") from None


def iso_week(at: datetime) -> str:
    year, week, _ = aware(at).isocalendar()
    return f"{year}-W{week:02d}"


def previous_week(now: datetime) -> str:
    """The ISO week that ended most recently (what the daemon bills)."""
    return iso_week(aware(now) - timedelta(days=7))


def require_ended(week: str, now: datetime) -> None:
    """A week is billed once it has ended: until then nobody knows which numbers it held (one archived
    on its Friday must not be billed for the week after)."""
    _, end = week_bounds(week)
    if end > aware(now):
        raise InvalidWeek(f"week {week} has not ended yet (it ends {stamp(end)}); the last week that can be "
                          f"billed now is {previous_week(now)}")


# --- billing ---------------------------------------------------------------------------------------


def billing_rows(week: str, holdings: Iterable[ProviderPhone], assignments: Iterable[Assignment],
                 orgs: Mapping[str, OrgConfig]) -> list[UsageRow]:
    """One row per number an organization held at any moment of the week, at the org's weekly price,
    naming the user it was assigned to (the latest assignment that overlapped the week)."""
    start, end = week_bounds(week)
    latest_holding: dict[str, ProviderPhone] = {}
    for h in holdings:
        stops = billed_end(h)
        held_in_week = h.acquired_at < end and (stops is None or stops > start)
        if held_in_week and (h.number not in latest_holding or h.acquired_at >= latest_holding[h.number].acquired_at):
            latest_holding[h.number] = h
    rows = []
    for number, holding in sorted(latest_holding.items()):
        config = orgs.get(holding.organization)
        rows.append(UsageRow(
            organization=holding.organization,
            number=number,
            assignee=assignee_during(number, holding, assignments, start, end),
            amount=config.weekly_price if config else DEFAULT_WEEKLY_PRICE,
            currency=config.currency if config else DEFAULT_CURRENCY,
            week=week,
        ))
    return rows


def billed_end(holding: ProviderPhone) -> datetime | None:
    """When the organization stops paying for a number (None: still held). Bird bills an archived number until
    the end of the month already paid (billed_until), so billing counts its weeks up to then, not to the archive."""
    if holding.released_at is None:
        return None
    return max(holding.released_at, holding.billed_until or holding.released_at)


def assignee_during(number: str, holding: ProviderPhone, assignments: Iterable[Assignment],
                    start: datetime, end: datetime) -> str | None:
    # The part of the week the organization held the number.
    window_start = max(start, holding.acquired_at)
    window_end = min(end, billed_end(holding) or end)
    overlapping = [
        a for a in assignments
        if a.number == number and a.organization == holding.organization
        and a.assigned_at < window_end and (a.unassigned_at is None or a.unassigned_at > window_start)
    ]
    return max(overlapping, key=lambda a: a.assigned_at).user if overlapping else None


# --- archive blockers --------------------------------------------------------------------------------


def archive_blockers(number: str, *, assignment: Assignment | None, channels: Sequence[Mapping[str, Any]],
                     open_operations: Sequence[Mapping[str, Any]], number_addresses: Iterable[str]) -> list[str]:
    """What still uses the number. channels: {"address", "data"}; open_operations: {"id", "address",
    "action", "request", "started_at"}; number_addresses: the spec addresses that hold this number."""
    blockers = []
    if assignment is not None:
        blockers.append(f"assigned to {assignment.user} since {stamp(assignment.assigned_at)}: unassign it first")
    for channel in channels:
        data = channel.get("data") or {}
        if data.get("number") == number:
            campaign = f", campaign {data['campaignId']}" if data.get("campaignId") else ""
            blockers.append(f"{channel['address']} (channel {data.get('channelId') or '?'}{campaign}) still sends "
                            f"from {number}: remove the channel or the number's campaign from the specs first")
    addresses = set(number_addresses)
    for op in open_operations:
        if op["address"] in addresses or number in json.dumps(op.get("request") or {}, default=str):
            blockers.append(f"pending operation #{op['id']} ({op['address']} {op['action']}, started "
                            f"{stamp(op['started_at'])}): run senderctl apply to finish it first")
    return blockers


def same_user(a: str | None, b: str | None) -> bool:
    """One user, whatever the case of the e-mail address (the specs' one-number-per-user rule reads
    ZOE@acme.example and zoe@acme.example as one person; so do assignments)."""
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def stamp(at: datetime) -> str:
    return aware(at).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- sender ------------------------------------------------------------------------------------------


def default_number(org_phones: Sequence[ProviderPhone], assigned: Iterable[str]) -> str | None:
    """The organization's default number: the earliest held number no user owns."""
    taken = set(assigned)
    for phone in sorted(org_phones, key=lambda p: (p.acquired_at, p.id)):
        if phone.number not in taken:
            return phone.number
    return None


# --- inbound webhooks -------------------------------------------------------------------------------


def parse_inbound(body: bytes) -> tuple[str, InboundMessage | None]:
    """(event, message) from a Bird channels webhook body. message is None for other events."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook(f"the webhook body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedWebhook("the webhook body is not a JSON object")
    event = document.get("event")
    if not isinstance(event, str):
        raise MalformedWebhook("the webhook body has no \"event\"")
    return event, inbound_message(document) if event == "sms.inbound" else None


def inbound_message(document: dict[str, Any]) -> InboundMessage:
    """The message of a decoded `sms.inbound` webhook.

    Bird's shape (docs.bird.com/api/channels-api/supported-channels/programmable-sms/receiving-messages):
    {"service": "channels", "event": "sms.inbound", "payload": <message>}, the message with its id,
    channelId, sender.contact.identifierValue, receiver.connector.id and body.text.text. Bird does not send
    the receiving number: it is the number of the channel (or connector). A receiver number in the
    message (older shapes) is used only when it names neither."""
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise MalformedWebhook("the sms.inbound webhook has no \"payload\" object")
    message_id = payload.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedWebhook("the inbound message has no \"id\"")
    sender = _dig(payload, "sender", "contact", "identifierValue") or payload.get("from")
    if not isinstance(sender, str) or not sender:
        raise MalformedWebhook("the inbound message has no sender.contact.identifierValue")
    text = _dig(payload, "body", "text", "text")
    if text is None:
        text = payload.get("text", "")
    if not isinstance(text, str):
        raise MalformedWebhook("the inbound message's body.text.text is not a string")
    to = (_dig(payload, "receiver", "connector", "identifierValue")
          or _first_contact(payload.get("receiver")) or payload.get("to"))
    channel_id = payload.get("channelId")
    connector_id = _dig(payload, "receiver", "connector", "id")
    if not to and not channel_id and not connector_id:
        raise MalformedWebhook("the inbound message names neither its receiver (receiver.connector.id) nor its channelId")
    return InboundMessage(message_id=message_id, to=to if isinstance(to, str) else None, from_=sender, text=text,
                          channel_id=channel_id if isinstance(channel_id, str) else None,
                          connector_id=connector_id if isinstance(connector_id, str) else None)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _first_contact(receiver: Any) -> str | None:
    contacts = receiver.get("contacts") if isinstance(receiver, dict) else None
    if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict):
        value = contacts[0].get("identifierValue")
        return value if isinstance(value, str) else None
    return None


@functools.lru_cache(maxsize=65536)
def normalise_or_raw(number: str) -> str:
    """E.164 when it parses, else the text as given (senders can be short codes). Cached: parsing a number
    is the dearest step of routing an inbound message, and senders and receivers repeat."""
    try:
        return e164(number)
    except InvalidNumber:
        return number.strip()


def money_text(value: Decimal) -> str:
    """Exact, with at least cents and no padding: 1.150000 -> "1.15", 3 -> "3.00", 0.0125 -> "0.0125"."""
    exact = value.normalize()
    if exact.as_tuple().exponent > -2:  # type: ignore[operator]
        exact = exact.quantize(Decimal("0.01"))
    return format(exact, "f")
