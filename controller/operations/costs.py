"""`senderctl costs [--org NAME] [-o text|json]`: what the estate costs, read from Bird and the state;
writes nothing. Organizations, workspaces and the numbers they hold (with the monthly price Bird quoted at
purchase) are the state's: what senderctl manages, in narrow column reads, where listing 10,000 numbers
from Bird would take seconds; each workspace's brands, vettings and campaigns are read from Bird, a few
workspaces at a time. Ghost campaigns are judged on the outbound traffic the daemon counted per channel
(controller/resources/ghost.py), by Bird's clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import click

from controller.reconcile.settings import EngineError, Settings, bird_client, run, state_reader
from controller.resources.costs import OrganizationCost, workspace_cost
from controller.resources.ghost import GHOST_FINE, Silence, campaign_silence, channels_by_campaign


async def _pages(client: Any, what: str, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for page in client.json_pages(what, **params):
        out.extend(page)
    return out


# Workspaces read from Bird at once. Each brings its own requests in flight (brands, then each brand's
# vettings and campaigns); all 100 of the bench world at once made the client open a connection per request
# in flight (over 100), which cost more CPU than the answers: 8 keep 16 connections busy, 0.28 -> 0.23 s
# CPU and less wall time for 300 requests.
WORKSPACES_AT_ONCE = 8
Raw = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]  # brands, vettings, campaigns


async def _workspace(client: Any, ws: str) -> Raw:
    brands = await _pages(client, "brands", workspaceId=ws)
    per_brand = await asyncio.gather(*(asyncio.gather(_pages(client, "vettings", workspaceId=ws, brandId=b["id"]),
                                                      _pages(client, "campaigns", workspaceId=ws, brandId=b["id"]))
                                       for b in brands))
    return brands, [v for pair in per_brand for v in pair[0]], [c for pair in per_brand for c in pair[1]]


Workspaces = list[tuple[str, str, list[dict[str, Any]]]]  # (name, Bird id, numbers held there)


@dataclass(frozen=True)
class Estate:
    """What the state holds for the report: organizations, and the channels' counted outbound traffic."""

    organizations: list[tuple[str, Decimal, int, str, Workspaces]]
    channels: dict[str, list[str]]  # campaign id -> its channels' ids
    traffic: dict[str, Any]  # channel id -> controller.state.traffic.Traffic


def _estate(engine: Any, only: Sequence[str]) -> Estate:
    from controller.state.run_rate import read_cost_rows
    from controller.state.traffic import channel_traffic

    rows = read_cost_rows(engine)
    unknown = sorted(set(only) - set(rows.organizations))
    if unknown:
        raise EngineError(f"--org {', '.join(unknown)}: no such Organization in the state "
                          f"(it holds: {', '.join(rows.organizations) or 'none'}); apply its specs first")
    out = []
    for org in (o for o in rows.organizations if not only or o in only):
        if org not in rows.terms:
            raise EngineError(f"Organization {org} has no configuration in the state: apply its specs first")
        weekly, currency = rows.terms[org]
        workspaces = [(name, bird_id, [{"monthlyRecurringPrice": str(p)} for p in rows.held_in[name].monthly_prices]
                       if name in rows.held_in else [])
                      for name, bird_id in rows.workspaces.get(org, [])]
        out.append((org, weekly, rows.held.get(org, 0), currency, workspaces))
    return Estate(out, channels_by_campaign(rows.links), channel_traffic(engine))


async def estate_costs(settings: Settings, only: Sequence[str] = ()) -> list[OrganizationCost]:
    with state_reader(settings) as engine:
        estate = _estate(engine, only)
    async with bird_client(settings) as client:
        at_once = asyncio.Semaphore(WORKSPACES_AT_ONCE)

        async def read(ws: str) -> Raw:
            async with at_once:
                return await _workspace(client, ws)

        raw = await asyncio.gather(*(asyncio.gather(*(read(ws) for _, ws, _ in wss))
                                     for _, _, _, _, wss in estate.organizations))
        # Bird's clock (its Date header) says how old Bird's dates are; ours only when Bird stated none.
        now = datetime.fromtimestamp(client.bird_now, UTC) if client.bird_now else datetime.now(UTC)

    def silences(campaigns: list[dict[str, Any]]) -> dict[str, Silence]:
        return {str(c.get("id")): campaign_silence(c, estate.channels.get(str(c.get("id")), ()), estate.traffic, now)
                for c in campaigns}

    return [OrganizationCost(name, weekly, held, currency, tuple(
                workspace_cost(ws_name, ws, numbers, brands, vettings, campaigns, silences(campaigns))
                for (ws_name, ws, numbers), (brands, vettings, campaigns) in zip(wss, answers, strict=True)))
            for (name, weekly, held, currency, wss), answers in zip(estate.organizations, raw, strict=True)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def render_text(orgs: list[OrganizationCost]) -> str:
    lines: list[str] = []
    for org in orgs:
        lines.append(f"Organization {org.name}: {_money(org.monthly)} {org.currency}/month on Bird, platform "
                     f"{_money(org.platform_weekly)} {org.currency}/week ({_count(org.held_numbers, 'number')} x "
                     f"{_money(org.weekly_price)}), one-time 10DLC fees so far {_money(org.one_time)} {org.currency}")
        for ws in org.workspaces:
            lines.append(f"  Workspace {ws.name}: {_money(ws.monthly)}/month: {_count(ws.numbers, 'number')} "
                         f"{_money(ws.numbers_monthly)}/month, {_count(len(ws.campaigns), 'campaign')} "
                         f"{_money(ws.campaigns_monthly)}/month; {_count(ws.brands, 'brand')}, "
                         f"{_count(ws.vettings, 'vetting')}; "
                         f"one-time so far {_money(ws.one_time)}")
            for c in ws.campaigns:
                ends = f", 3-month minimum ends {c.minimum_ends:%Y-%m-%d}" if c.minimum_ends else ""
                lines.append(f"    Campaign {c.name} ({c.status}): {_money(c.monthly)}/month{ends}")
                if c.ghost and c.silence:
                    lines.append(f"      GHOST, {_money(c.at_risk)}/month at risk: {c.silence.advice()}")
    if not orgs:
        lines.append("The state holds no Organization: apply specs first (costs reads what senderctl manages).")
    total_monthly = sum((o.monthly for o in orgs), Decimal(0))
    total_weekly = sum((o.platform_weekly for o in orgs), Decimal(0))
    lines.append(f"Total: {_money(total_monthly)}/month on Bird, platform {_money(total_weekly)}/week, one-time "
                 f"so far {_money(sum((o.one_time for o in orgs), Decimal(0)))}")
    ghosts = [c for o in orgs for c in o.ghosts]
    if ghosts:
        lines.append(f"Ghost campaigns: {len(ghosts)}, {_money(sum((c.at_risk for c in ghosts), Decimal(0)))}/month at "
                     f"risk and a ${GHOST_FINE} fine each (Bird's US 10DLC FAQ: 60 days without outbound traffic)")
    return "\n".join(lines)


def run_costs(settings: Settings, orgs: Sequence[str], output: str) -> int:
    from controller.operations.failures import report_failure

    try:
        result = run(estate_costs(settings, orgs))
    except Exception as exc:
        return report_failure(exc, settings.state_url)
    if output == "json":
        click.echo(json.dumps({"organizations": [o.to_json() for o in result]}, indent=2))
    else:
        click.echo(render_text(result))
    return 0
