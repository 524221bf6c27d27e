"""What the daemon's status page reads from the state, in one transaction of plain column reads (no ORM
objects: at 10,000 numbers the page's data is ~30,000 conditions and 10,000 held numbers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from controller.state.store import StateStore
from controller.state.tables import ConditionRow, OrgConfigRow, ProviderPhoneRow, ResourceRow


@dataclass(frozen=True)
class OrgTerms:
    name: str
    enabled: bool
    limit: int
    weekly_price: Decimal
    currency: str
    ten_dlc_active: bool


@dataclass
class EstateRows:
    # address -> (status, reason, since)
    conditions: dict[str, tuple[str, str, datetime | None]] = field(default_factory=dict)
    orgs: dict[str, OrgTerms] = field(default_factory=dict)
    # organization -> numbers held (live), and the sum of Bird's monthly prices of those numbers
    held: dict[str, int] = field(default_factory=dict)
    monthly_prices: dict[str, Decimal] = field(default_factory=dict)
    # workspace (metadata.name) -> numbers held there
    held_by_workspace: dict[str, int] = field(default_factory=dict)
    # address -> Bird id, for the kinds the 10DLC timeline follows
    bird_ids: dict[str, str] = field(default_factory=dict)


TIMELINE_KINDS = ("Brand", "Vetting", "Campaign", "Channel")


def read_estate(store: StateStore) -> EstateRows:
    out = EstateRows()
    with store.engine.connect() as connection:
        for address, status, reason, since in connection.execute(
                select(ConditionRow.address, ConditionRow.status, ConditionRow.reason, ConditionRow.since)):
            out.conditions[address] = (status, reason or "", since)
        for row in connection.execute(select(OrgConfigRow)).mappings():
            out.orgs[row["name"]] = OrgTerms(row["name"], bool(row["enabled"]), int(row["number_limit"]),
                                             Decimal(str(row["weekly_price"])), row["currency"],
                                             bool(row["ten_dlc_active"]))
        live = ProviderPhoneRow.released_at.is_(None)  # type: ignore[union-attr]
        # Money is stored as exact decimal text: summed here, not by the database.
        for org, monthly in connection.execute(
                select(ProviderPhoneRow.organization, ProviderPhoneRow.monthly_price).where(live)):
            out.held[org] = out.held.get(org, 0) + 1
            out.monthly_prices[org] = out.monthly_prices.get(org, Decimal(0)) + (monthly or Decimal(0))
        for workspace, count in connection.execute(
                select(ProviderPhoneRow.workspace, func.count()).where(live).group_by(ProviderPhoneRow.workspace)):
            if workspace:
                out.held_by_workspace[workspace] = int(count)
        for address, bird_id in connection.execute(
                select(ResourceRow.address, ResourceRow.bird_id).where(ResourceRow.kind.in_(TIMELINE_KINDS))):  # type: ignore[attr-defined]
            if bird_id:
                out.bird_ids[address] = bird_id
    return out
