"""What the estate costs: per organization and workspace, the monthly run-rate on Bird (numbers and
campaigns), the platform's weekly price, and the one-time 10DLC fees charged so far. Pure: Bird's
objects (as Bird returns them) and the state's figures in, plain data out.

Fees are Bird's published table (controller/resources/fees.py, docs.bird.com "Additional costs for using
10DLC"): brand registration, vetting, the campaign's compliance review and its three-month minimum are
charged once; a campaign then costs its monthly fee, and a number its monthly price. A campaign with no
outbound traffic for 60 days is a "ghost" (controller/resources/ghost.py): its monthly fee is at risk,
and Bird passes on T-Mobile's fine.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from controller.resources import fees
from controller.resources.ghost import GHOST_FINE, Silence
from controller.resources.lifecycle import parse_time

ZERO = Decimal("0")
# Campaigns that keep costing their monthly fee (Bird's enum; DECLINED/REJECTED/EXPIRED/... do not).
BILLED_CAMPAIGN_STATUSES = frozenset({"PENDING", "APPROVED", "DRAFT", "SUSPENDED"})


def money(price: Any) -> Decimal:
    """Bird's Money ({amount, exponent}) or a decimal string as a Decimal; nothing is zero."""
    if isinstance(price, Mapping) and "amount" in price:
        return Decimal(int(price["amount"])).scaleb(int(price.get("exponent", 0)))
    if isinstance(price, str | int | Decimal) and str(price):
        return Decimal(str(price))
    return ZERO


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class CampaignCost:
    name: str
    bird_id: str
    status: str
    monthly: Decimal
    registered: datetime | None
    minimum_ends: datetime | None
    silence: Silence | None = None  # what the daemon counted on its channels (None: not an SMS campaign of ours)

    @property
    def ghost(self) -> bool:
        return self.silence is not None and self.silence.ghost

    @property
    def at_risk(self) -> Decimal:
        """A ghost's monthly fee buys nothing and draws a fine: deactivating it saves the fee."""
        return self.monthly if self.ghost else ZERO

    def to_json(self) -> dict[str, Any]:
        silence = self.silence
        return {"name": self.name, "id": self.bird_id, "status": self.status, "monthly": str(self.monthly),
                "registeredAt": _iso(self.registered), "minimumCommitmentEnds": _iso(self.minimum_ends),
                "lastOutbound": _iso(silence.last_outbound) if silence else None,
                "outboundCounted": silence.outbound_count if silence else 0,
                "ghost": self.ghost, "silentSince": _iso(silence.silent_since) if self.ghost and silence else None,
                "monthlyAtRisk": str(self.at_risk), "fineAtRisk": str(GHOST_FINE if self.ghost else ZERO)}


@dataclass(frozen=True)
class WorkspaceCost:
    name: str
    bird_id: str
    numbers: int = 0
    numbers_monthly: Decimal = ZERO
    campaigns: tuple[CampaignCost, ...] = ()
    brands: int = 0
    vettings: int = 0
    one_time: Decimal = ZERO  # 10DLC fees charged so far

    @property
    def campaigns_monthly(self) -> Decimal:
        return sum((c.monthly for c in self.campaigns), ZERO)

    @property
    def monthly(self) -> Decimal:
        return self.numbers_monthly + self.campaigns_monthly

    def to_json(self) -> dict[str, Any]:
        return {"workspace": self.name, "birdWorkspaceId": self.bird_id,
                "numbers": {"count": self.numbers, "monthly": str(self.numbers_monthly)},
                "campaigns": [c.to_json() for c in self.campaigns],
                "campaignsMonthly": str(self.campaigns_monthly), "brands": self.brands, "vettings": self.vettings,
                "oneTimeChargedSoFar": str(self.one_time), "monthly": str(self.monthly)}


@dataclass(frozen=True)
class OrganizationCost:
    name: str
    weekly_price: Decimal
    held_numbers: int
    currency: str = "USD"
    workspaces: tuple[WorkspaceCost, ...] = field(default_factory=tuple)

    @property
    def platform_weekly(self) -> Decimal:
        return self.weekly_price * self.held_numbers

    @property
    def monthly(self) -> Decimal:
        return sum((w.monthly for w in self.workspaces), ZERO)

    @property
    def one_time(self) -> Decimal:
        return sum((w.one_time for w in self.workspaces), ZERO)

    @property
    def ghosts(self) -> list[CampaignCost]:
        return [c for w in self.workspaces for c in w.campaigns if c.ghost]

    @property
    def monthly_at_risk(self) -> Decimal:
        return sum((c.at_risk for c in self.ghosts), ZERO)

    def to_json(self) -> dict[str, Any]:
        return {"organization": self.name, "currency": self.currency, "monthly": str(self.monthly),
                "platformWeekly": {"numbers": self.held_numbers, "weeklyPrice": str(self.weekly_price),
                                   "total": str(self.platform_weekly)},
                "oneTimeChargedSoFar": str(self.one_time), "ghostCampaigns": [c.name for c in self.ghosts],
                "monthlyAtRisk": str(self.monthly_at_risk),
                "workspaces": [w.to_json() for w in self.workspaces]}


def campaign_cost(campaign: Mapping[str, Any], silence: Silence | None = None) -> CampaignCost:
    status = str(campaign.get("status") or "PENDING").upper()
    registered = parse_time(campaign.get("createdAt"))
    billed = status in BILLED_CAMPAIGN_STATUSES
    return CampaignCost(
        name=str(campaign.get("name") or campaign.get("id")), bird_id=str(campaign.get("id")), status=status,
        monthly=fees.CAMPAIGN_MONTHLY if billed else ZERO, registered=registered,
        minimum_ends=add_months(registered, fees.CAMPAIGN_MINIMUM_MONTHS) if registered else None,
        silence=silence)


def workspace_cost(name: str, bird_id: str, numbers: Iterable[Mapping[str, Any]],
                   brands: Iterable[Mapping[str, Any]], vettings: Iterable[Mapping[str, Any]],
                   campaigns: Iterable[Mapping[str, Any]], silences: Mapping[str, Silence] | None = None
                   ) -> WorkspaceCost:
    """`silences`: campaign id -> the ghost verdict from its channels' counted traffic."""
    silences = silences or {}
    owned = [n for n in numbers if str((n.get("subscription") or {}).get("status") or "active") != "canceled"]
    brand_list, vetting_list, campaign_list = list(brands), list(vettings), list(campaigns)
    costs = tuple(sorted((campaign_cost(c, silences.get(str(c.get("id")))) for c in campaign_list),
                         key=lambda c: c.name))
    one_time = (fees.BRAND_REGISTRATION * len(brand_list) + fees.BRAND_VETTING * len(vetting_list)
                + fees.campaign_one_time() * len(campaign_list))
    return WorkspaceCost(name=name, bird_id=bird_id, numbers=len(owned),
                         numbers_monthly=sum((money(n.get("monthlyRecurringPrice")) for n in owned), ZERO),
                         campaigns=costs, brands=len(brand_list), vettings=len(vetting_list), one_time=one_time)


def plan_run_rate(changes: Iterable[Any]) -> tuple[Decimal, Decimal]:
    """(numbers, campaigns) change of the monthly run-rate a plan causes: bought numbers' monthly price,
    and each campaign it registers at its monthly fee (the one-time costs are the plan's own line)."""
    numbers = campaigns = ZERO
    for change in changes:
        if change.kind == "Campaign" and change.action == "create":
            campaigns += fees.CAMPAIGN_MONTHLY
        elif change.kind in ("PhoneNumber", "NumberPool") and change.cost is not None:
            numbers += change.cost.monthly if change.action != "archive" else -change.cost.monthly
    return numbers, campaigns


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
