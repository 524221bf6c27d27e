"""The tenant records as plain values, and the errors the tenant rules raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

DEFAULT_WEEKLY_PRICE = Decimal("2.99")
DEFAULT_CURRENCY = "USD"
WEEKLY_EVENT = "phone_number_weekly"


class TenantError(Exception):
    """A tenant rule refused the request; the message says why and what to do."""


class InvalidNumber(TenantError):
    pass


class UnknownOrganization(TenantError):
    pass


class NumberNotHeld(TenantError):
    pass


class AssignmentConflict(TenantError):
    pass


class WorkspacePhoneError(TenantError):
    pass


class InvalidWeek(TenantError):
    pass


class InvalidWebhook(TenantError):
    """The webhook is not from Bird (bad or missing signature, stale timestamp): answer 401."""


class MalformedWebhook(TenantError):
    """The webhook is signed but its body is not an inbound message we can read: answer 400."""


class ArchiveBlocked(TenantError):
    def __init__(self, number: str, blockers: list[str]) -> None:
        self.number = number
        self.blockers = list(blockers)
        super().__init__(f"{number} cannot be archived while something still uses it: " + "; ".join(self.blockers))


@dataclass(frozen=True)
class OrgConfig:
    name: str
    bird_organization_id: str
    enabled: bool
    limit: int
    weekly_price: Decimal
    currency: str
    ten_dlc_active: bool


@dataclass(frozen=True)
class ProviderPhone:
    id: int
    organization: str
    number: str
    bird_number_id: str | None
    monthly_price: Decimal | None
    workspace: str | None
    workspace_phone_id: int | None
    acquired_at: datetime
    released_at: datetime | None
    owner: str = "specs"
    # Archived, but Bird bills it until then (the end of the month already paid).
    billed_until: datetime | None = None
    # The record that forgot it (still held and billed, managed by no spec), and when.
    forgotten_by: str | None = None
    forgotten_at: datetime | None = None


@dataclass(frozen=True)
class WorkspacePhone:
    id: int
    workspace: str
    organization: str
    number: str
    provider_phone_id: int | None
    is_archived: bool
    created_at: datetime
    archived_at: datetime | None
    label: str | None = None
    owner: str = "specs"


@dataclass(frozen=True)
class Assignment:
    organization: str
    number: str
    user: str
    assigned_at: datetime
    unassigned_at: datetime | None
    owner: str = "specs"


@dataclass(frozen=True)
class TenantSnapshot:
    """What plan needs from the tenant records, read in a handful of queries."""

    orgs: dict[str, OrgConfig] = field(default_factory=dict)
    # number -> the live holding
    provider_phones: dict[str, ProviderPhone] = field(default_factory=dict)
    # number -> user, active assignments only
    assignments: dict[str, str] = field(default_factory=dict)
    # number -> organization, numbers held now
    held_numbers: dict[str, str] = field(default_factory=dict)
    archived_numbers: frozenset[str] = frozenset()
    workspace_phones: tuple[WorkspacePhone, ...] = ()
    # number -> what keeps it from being archived (only numbers with blockers)
    blockers: dict[str, list[str]] = field(default_factory=dict)
    # Numbers held, and active assignments (by number), that the platform API made: the API owns
    # them, so the reconciler never forgets, unassigns or archives them for being absent from the specs.
    api_numbers: frozenset[str] = frozenset()
    api_assignments: frozenset[str] = frozenset()
    # organization -> platform API purchases in progress (each holds a slot of the number limit)
    api_purchases_pending: dict[str, int] = field(default_factory=dict)
    # number -> (the record that forgot it, when): held, and managed by no record any more
    forgotten: dict[str, tuple[str, datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class Sender:
    organization: str
    user: str
    number: str | None
    source: Literal["user", "organization-default"] | None
    reason: str


RouteOutcome = Literal["routed", "unrouted", "duplicate", "ignored"]


@dataclass(frozen=True)
class RouteResult:
    outcome: RouteOutcome
    message_id: str
    to: str
    organization: str | None = None
    user: str | None = None
    reason: str = ""

    @property
    def routed(self) -> bool:
        return self.outcome == "routed"


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    to: str | None
    from_: str
    text: str
    channel_id: str | None = None
    connector_id: str | None = None


@dataclass(frozen=True)
class UsageRow:
    organization: str
    number: str
    assignee: str | None
    amount: Decimal
    currency: str
    week: str
    event_type: str = WEEKLY_EVENT


@dataclass(frozen=True)
class BillingResult:
    week: str
    billable: int
    written: int
    already_billed: int
    # currency -> total of the rows this run wrote
    written_amount: dict[str, Decimal] = field(default_factory=dict)
