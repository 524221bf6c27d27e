"""The state database's tables (SQLModel). Every schema change gets an alembic migration.

Bookkeeping (resources, conditions, operations, locks) serves the engine; the tenant tables hold
the platform's own records: organization configs, provider phones, workspace phones,
assignments (with history), inbound messages and usage logs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from controller.state.columns import Money, UTCDateTime


def _partial_unique(name: str, *columns: Any, where: str) -> Index:
    """A unique index over the live rows only (SQLite and PostgreSQL both support partial indexes)."""
    return Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))


# --- engine bookkeeping ---------------------------------------------------------------------------


class ResourceRow(SQLModel, table=True):
    __tablename__ = "resources"
    # One record per Bird object: two specs never hold (and flip) one Bird id.
    __table_args__ = (_partial_unique("uq_resources_bird_id", "bird_id", where="bird_id IS NOT NULL"),)

    address: str = Field(primary_key=True, max_length=300)
    kind: str = Field(max_length=64, index=True)
    bird_id: str | None = Field(default=None, max_length=200)
    natural_key: str | None = Field(default=None, max_length=300)
    spec_hash: str = Field(default="", max_length=128)
    spec: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ConditionRow(SQLModel, table=True):
    __tablename__ = "conditions"

    address: str = Field(primary_key=True, max_length=300)
    status: str = Field(max_length=16)
    reason: str = Field(default="")
    since: datetime = Field(sa_type=UTCDateTime)


class OperationRow(SQLModel, table=True):
    __tablename__ = "operations"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=300, index=True)
    action: str = Field(max_length=64)
    key: str = Field(max_length=200, unique=True)
    request: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(max_length=16, index=True)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = None
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LockRow(SQLModel, table=True):
    """Who holds a lock (the lock itself is a file lock or a PostgreSQL advisory lock)."""

    __tablename__ = "locks"

    name: str = Field(primary_key=True, max_length=64)
    owner: str
    pid: int | None = None
    host: str | None = Field(default=None, max_length=255)
    backend_pid: int | None = None  # PostgreSQL: the session holding the advisory lock
    since: datetime = Field(sa_type=UTCDateTime)


# --- tenant records -------------------------------------------------------------------------------


class OrgConfigRow(SQLModel, table=True):
    __tablename__ = "org_configs"

    name: str = Field(primary_key=True, max_length=63)
    bird_organization_id: str = Field(max_length=64)
    enabled: bool = False
    number_limit: int = 1
    weekly_price: Decimal = Field(sa_type=Money)
    currency: str = Field(default="USD", max_length=3)
    ten_dlc_active: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProviderPhoneRow(SQLModel, table=True):
    """A Bird number an organization holds (or held: released_at set when archived)."""

    __tablename__ = "provider_phones"
    __table_args__ = (_partial_unique("uq_provider_phones_live_number", "number", where="released_at IS NULL"),)

    id: int | None = Field(default=None, primary_key=True)
    organization: str = Field(max_length=63, index=True)
    number: str = Field(max_length=20, index=True)
    bird_number_id: str | None = Field(default=None, max_length=200)
    monthly_price: Decimal | None = Field(default=None, sa_type=Money)
    workspace: str | None = Field(default=None, max_length=63)
    workspace_phone_id: int | None = None
    # Who made the holding: "specs" (the reconciler) or "api" (the platform API, which the reconciler
    # never forgets or archives for being absent from the specs).
    owner: str = Field(default="specs", max_length=8, sa_column_kwargs={"server_default": "specs"})
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Archived here, the number stays on Bird and billed until the end of the month already paid (Bird's
    # endpointSubscription.endAt): the views show it and weekly billing counts its weeks up to then.
    billed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The record that last managed the number and was forgotten (an Orphan removal, `state rm`), and when:
    # the number is still held and billed, and the next spec that selects it adopts it before buying.
    forgotten_by: str | None = Field(default=None, max_length=300)
    forgotten_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WorkspacePhoneRow(SQLModel, table=True):
    """A workspace-scoped phone number, linked to a provider phone; archiving is irreversible."""

    __tablename__ = "workspace_phones"
    __table_args__ = (
        _partial_unique("uq_workspace_phones_live_number", "workspace", "number", where="archived_at IS NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str = Field(max_length=63, index=True)
    organization: str = Field(max_length=63)
    number: str = Field(max_length=20)
    provider_phone_id: int | None = None
    label: str | None = Field(default=None, max_length=200)
    owner: str = Field(default="specs", max_length=8, sa_column_kwargs={"server_default": "specs"})
    is_archived: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AssignmentRow(SQLModel, table=True):
    """number -> user, with history: an active row has no unassigned_at."""

    __tablename__ = "assignments"
    __table_args__ = (
        _partial_unique("uq_assignments_live_number", "number", where="unassigned_at IS NULL"),
        # One user whatever the case of the address: lookups compare lower(user), so must the index.
        _partial_unique("uq_assignments_live_user", "organization", text('lower("user")'), where="unassigned_at IS NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization: str = Field(max_length=63, index=True)
    number: str = Field(max_length=20)
    user: str = Field(max_length=320)
    # "specs" or "api": the reconciler ends only the assignments the specs made.
    owner: str = Field(default="specs", max_length=8, sa_column_kwargs={"server_default": "specs"})
    assigned_at: datetime = Field(sa_type=UTCDateTime)
    unassigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InboxMessageRow(SQLModel, table=True):
    __tablename__ = "inbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=200, unique=True)
    organization: str = Field(max_length=63)
    number: str = Field(max_length=20)
    user: str = Field(max_length=320, index=True)
    sender: str = Field(max_length=20)
    text: str
    received_at: datetime = Field(sa_type=UTCDateTime)


class UnroutedMessageRow(SQLModel, table=True):
    __tablename__ = "unrouted_messages"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=200, unique=True)
    organization: str | None = Field(default=None, max_length=63)
    number: str = Field(max_length=20)
    sender: str = Field(max_length=20)
    text: str
    reason: str
    received_at: datetime = Field(sa_type=UTCDateTime)


class UsageLogRow(SQLModel, table=True):
    __tablename__ = "usage_logs"
    __table_args__ = (UniqueConstraint("event_type", "number", "week", name="uq_usage_logs_event_number_week"),)

    id: int | None = Field(default=None, primary_key=True)
    event_type: str = Field(max_length=64)
    organization: str = Field(max_length=63, index=True)
    number: str = Field(max_length=20)
    assignee: str | None = Field(default=None, max_length=320)
    amount: Decimal = Field(sa_type=Money)
    currency: str = Field(max_length=3)
    week: str = Field(max_length=8, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- the platform API -------------------------------------------------------------------------------


class ApiTokenRow(SQLModel, table=True):
    """A platform API token. Only its SHA-256 is stored: the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=32)
    organization: str = Field(max_length=63, index=True)
    user: str = Field(max_length=320)
    role: str = Field(max_length=16)
    scopes: str = Field(max_length=200)  # comma-separated
    workspace: str | None = Field(default=None, max_length=63)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the token's first characters, to recognise it in a list
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiPurchaseRow(SQLModel, table=True):
    """One purchase asked of the platform API: its Idempotency-Key, and a pending row holds a slot of
    the organization's number limit until the purchase succeeds or definitely fails."""

    __tablename__ = "api_purchases"
    # A key is the sending user's: another user's request with the same key is another purchase.
    __table_args__ = (UniqueConstraint("organization", "requested_by", "idempotency_key",
                                       name="uq_api_purchases_org_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    organization: str = Field(max_length=63, index=True)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    request: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(max_length=16, index=True)  # pending | succeeded | failed
    requested_by: str = Field(max_length=320)
    workspace: str | None = Field(default=None, max_length=63)
    number: str | None = Field(default=None, max_length=20)
    bird_number_id: str | None = Field(default=None, max_length=200)
    connector_id: str | None = Field(default=None, max_length=200)
    channel_id: str | None = Field(default=None, max_length=200)
    error: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # A pending purchase is being worked on until then; after it, a retry with the key may resume it.
    lease_until: datetime = Field(sa_type=UTCDateTime)


# --- leadership: fenced leases ---------------------------------------------------------------------


class LeaseRow(SQLModel, table=True):
    """Who may write to Bird for one shard (the whole state, or one organization), and until when.

    `epoch` grows by one with every new holder: it is the fencing token that every journal intent is
    checked against, in the intent's own transaction. `expires_at` is the database server's time, so no
    replica's clock decides who leads."""

    __tablename__ = "leases"

    shard: str = Field(primary_key=True, max_length=200)
    epoch: int = Field(default=0)
    holder: str | None = Field(default=None, max_length=255)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    acquired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeaseEpochRow(SQLModel, table=True):
    """Every epoch a shard's lease went through, and who held it from when (an audit of leadership)."""

    __tablename__ = "lease_epochs"

    shard: str = Field(primary_key=True, max_length=200)
    epoch: int = Field(primary_key=True)
    holder: str = Field(max_length=255)
    acquired_at: datetime = Field(sa_type=UTCDateTime)


class ReplicaRow(SQLModel, table=True):
    """A daemon replica that is alive (it renews `expires_at`), and the shards an operator pinned to it."""

    __tablename__ = "replicas"

    name: str = Field(primary_key=True, max_length=255)
    pinned: list[str] = Field(default_factory=list, sa_type=JSON)
    started_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


# --- traffic: what the daemon counted of Bird's sms.outbound events --------------------------------


class ChannelTrafficRow(SQLModel, table=True):
    """Per SMS channel: how many `sms.outbound` events the daemon counted and the newest message's time
    (Bird's clock). A campaign whose channels all stay silent for 60 days is a "ghost" Bird fines."""

    __tablename__ = "channel_traffic"

    channel_id: str = Field(primary_key=True, max_length=100)
    outbound_count: int = Field(default=0, sa_type=BigInteger)
    last_outbound_at: datetime = Field(sa_type=UTCDateTime)
