"""What `senderctl costs` reads from the state, in one connection of narrow column reads: at 10,000
numbers, loading every record (20,000 JSON documents) and every held number as an object took more CPU
than the whole report needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select

from controller.state.db import reading
from controller.state.narrow import ORG_CONFIGS, PROVIDER_PHONES, RESOURCES


@dataclass(frozen=True)
class HeldNumbers:
    count: int = 0
    monthly_prices: tuple[Decimal, ...] = ()  # Bird's monthly price of each, as quoted at purchase


@dataclass
class CostRows:
    organizations: list[str] = field(default_factory=list)  # Organization records' names
    # organization -> (weekly price, currency), from its configuration
    terms: dict[str, tuple[Decimal, str]] = field(default_factory=dict)
    # organization -> [(workspace name, Bird workspace id)]
    workspaces: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)  # organization -> live numbers it holds
    held_in: dict[str, HeldNumbers] = field(default_factory=dict)  # workspace name -> its live numbers
    links: list[tuple[str, str]] = field(default_factory=list)  # (channel id, campaign id) of each SMS channel


_RECORDS = RESOURCES.c
_PHONES = PROVIDER_PHONES.c
_ORGS = ORG_CONFIGS.c


def read_cost_rows(engine: Engine) -> CostRows:
    out = CostRows()
    prices: dict[str, list[Decimal]] = {}
    with reading(engine) as connection:
        for address, kind, bird_id, spec in connection.execute(
                select(_RECORDS.address, _RECORDS.kind, _RECORDS.bird_id, _RECORDS.spec)
                .where(_RECORDS.kind.in_(("Organization", "Workspace")))):
            name = address.split("/", 1)[1]
            if kind == "Organization":
                out.organizations.append(name)
            elif bird_id:
                out.workspaces.setdefault(str((spec or {}).get("organization") or ""), []).append((name, bird_id))
        for name, weekly, currency in connection.execute(select(_ORGS.name, _ORGS.weekly_price, _ORGS.currency)):
            out.terms[name] = (weekly if weekly is not None else Decimal(0), currency)
        for org, workspace, monthly in connection.execute(
                select(_PHONES.organization, _PHONES.workspace, _PHONES.monthly_price)
                .where(_PHONES.released_at.is_(None))):
            out.held[org] = out.held.get(org, 0) + 1
            if workspace:
                prices.setdefault(workspace, []).append(monthly or Decimal(0))
        # The channel and campaign ids, read out of each channel record's JSON by the database.
        channel, campaign = _RECORDS.data["channelId"].as_string(), _RECORDS.data["campaignId"].as_string()
        out.links = [(c, k) for c, k in connection.execute(select(channel, campaign).where(_RECORDS.kind == "Channel"))
                     if c and k]
    out.held_in = {ws: HeldNumbers(len(p), tuple(p)) for ws, p in prices.items()}
    for workspaces in out.workspaces.values():
        workspaces.sort()
    out.organizations.sort()
    return out
