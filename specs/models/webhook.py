"""WebhookSubscription: a Bird webhook subscription (`organizations/{org}/workspaces/{ws}/webhook-subscriptions`)."""

import ipaddress
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from specs.errors import quoted
from specs.models.common import PhoneNumberRef, SpecModel, Violation, WorkspaceRef, no_items, rule
from specs.models.secrets import INLINE_SECRET_MESSAGE, SecretRef

Service = Literal["channels", "numbers"]
Event = Literal[
    "sms.inbound", "sms.outbound", "sms.interaction", "channel.created", "channel.updated",
    "10dlc.brand", "10dlc.campaign", "10dlc.vetting",
]
SERVICE_OF_EVENT: dict[str, str] = {
    "sms.inbound": "channels", "sms.outbound": "channels", "sms.interaction": "channels",
    "channel.created": "channels", "channel.updated": "channels",
    "10dlc.brand": "numbers", "10dlc.campaign": "numbers", "10dlc.vetting": "numbers",
}
LOOPBACK_HOSTS = ("localhost",)
# Bird's create and update pages give the subscription URL this pattern: https://, a DNS host name with a
# top-level domain, no port, no IP literal, no user. Bird refuses any other URL, so the daemon behind it
# would never hear an event: a local receiver (loopback, for tests and the emulator) is the one exception.
BIRD_URL_PATTERN = r"^https://([a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}(/[^\s]*)?$"
BIRD_URL = re.compile(BIRD_URL_PATTERN)
BIRD_URL_RULE = f"Bird accepts only an https:// URL with a DNS host name, no port and no IP address ({BIRD_URL_PATTERN})"


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def url_problem(url: str) -> str | None:
    """Why Bird would refuse `url` as a webhook subscription URL, or None (a loopback receiver is accepted:
    only a local Bird emulator can deliver to it)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        return f"{quoted(url)} is not a URL ({exc})"
    if any(ch.isspace() for ch in url):
        return f"{quoted(url)} contains white space; percent-encode it"
    if parts.scheme in ("http", "https") and host and is_loopback(host):
        return None  # a local receiver
    if BIRD_URL.match(url):
        return None
    if parts.scheme == "http" and host:
        return "Bird delivers webhooks over HTTPS only (http:// is allowed for 127.0.0.1 and localhost)"
    if parts.scheme != "https" or not host:
        return f"{quoted(url)} is not an https:// URL"
    if port is not None:
        return f"{BIRD_URL_RULE}: drop the port :{port} (serve the receiver on 443, e.g. behind a proxy)"
    if is_ip_literal(host):
        return f"{BIRD_URL_RULE}: {host} is an IP address; give the receiver a DNS name"
    return f"{BIRD_URL_RULE}; {quoted(url)} does not match it"


class EventFilter(SpecModel):
    """One filter of the subscription: a literal `value`, or the channel of a PhoneNumber (`phoneNumber`)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["value"]}, {"required": ["phoneNumber"]}]})

    key: str = Field(min_length=1, max_length=100, description="Filter key, e.g. channelId, messageStatus.")
    value: str | None = Field(None, min_length=1, max_length=255, description="Literal filter value.")
    phoneNumber: PhoneNumberRef | None = Field(
        None, description="With key channelId: the SMS channel of this PhoneNumber, once it exists.")

    @rule("key", "value", "phoneNumber")
    def _value_or_number(self) -> list[Violation]:
        if (self.value is None) == (self.phoneNumber is None):
            return [Violation((), "give exactly one of `value` or `phoneNumber`")]
        if self.phoneNumber is not None and self.key != "channelId":
            return [Violation(("phoneNumber",), "`phoneNumber` fills a channelId filter; set key: channelId")]
        return []


class WebhookSubscriptionSpec(SpecModel):
    """What Bird should send where, signed with which key."""

    workspace: WorkspaceRef
    service: Service = Field(description="Bird service emitting the event: channels (sms.*, channel.*) "
                                         "or numbers (10dlc.*).")
    event: Event = Field(description="Bird event: sms.inbound / sms.outbound / sms.interaction / channel.created / "
                                     "channel.updated (service channels), 10dlc.brand / 10dlc.campaign / "
                                     "10dlc.vetting (service numbers).")
    url: str = Field(min_length=1, max_length=2048, description=(
        "Receiver URL as Bird accepts it: https:// and a DNS host name, no port, no IP address; or a local "
        "receiver (http(s)://127.0.0.1 or localhost, any port) for the emulator."))
    signingKey: SecretRef = Field(description="Where the signing key lives: {fromEnv: NAME} or {fromFile: path}.")
    eventFilters: list[EventFilter] = Field(
        default_factory=no_items, max_length=20,
        description="All must match (Bird ANDs them); e.g. [{key: channelId, phoneNumber: alice-line}].")

    @field_validator("signingKey", mode="before")
    @classmethod
    def _no_inline_secret(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict | SecretRef | list):  # any scalar is inline
            raise PydanticCustomError("inline_secret", INLINE_SECRET_MESSAGE)
        return value

    @rule("service", "event")
    def _service_of_event(self) -> list[Violation]:
        expected = SERVICE_OF_EVENT[self.event]
        if self.service != expected:
            return [Violation(("service",), f"event {self.event} comes from service {expected}")]
        return []

    @rule("url")
    def _url_reaches_a_receiver(self) -> list[Violation]:
        problem = url_problem(self.url)
        return [Violation(("url",), problem)] if problem else []

    @rule("service", "eventFilters")
    def _numbers_service_takes_no_filters(self) -> list[Violation]:
        # Bird "Webhook subscriptions": for the Numbers service "No filters are supported".
        if self.service == "numbers" and self.eventFilters:
            return [Violation(("eventFilters",), "Bird's numbers service (10dlc.* events) supports no event filters: "
                                                 "remove eventFilters; the subscription receives the workspace's "
                                                 f"{self.event} events")]
        return []

    @rule("eventFilters")
    def _one_filter_per_key(self) -> list[Violation]:
        found: list[Violation] = []
        seen: set[str] = set()
        for index, flt in enumerate(self.eventFilters):
            if flt.key in seen:
                # Bird ANDs the filters of one subscription: two values of one key never both match.
                found.append(Violation(("eventFilters", index, "key"),
                                       f"a second {flt.key} filter: Bird requires every filter to match, so this "
                                       "subscription would receive nothing; use one subscription per value"))
            seen.add(flt.key)
        return found
