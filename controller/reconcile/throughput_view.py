"""Each desired brand's and campaign's expected throughput, from the observed world (pure): the brand's
T-Mobile daily cap by its best ACTIVE vetting score, the campaign's AT&T class and rate by its use case
and its brand's score (controller/resources/throughput.py holds the published tiers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controller.resources.base import Desired, World
from controller.resources.throughput import (
    BrandCap,
    brand_cap,
    brand_score,
    campaign_daily_cap,
    campaign_rate,
)


@dataclass(frozen=True)
class Expected:
    address: str
    text: str
    daily: int  # T-Mobile messages a day
    tpm: int | None  # AT&T messages a minute (campaigns; None for brands and special use cases)
    att_class: str = ""


def _brand_caps(desired: Sequence[Desired], world: World) -> dict[str, BrandCap]:
    caps = {}
    for d in desired:
        if d.kind != "Brand":
            continue
        record = world.records.get(d.address)
        brand_id = record.bird_id if record is not None else None
        vettings: list[dict[str, Any]] = world.vettings.get((d.context.get("workspaceId", ""), brand_id or ""), [])
        caps[d.address] = brand_cap(brand_score(vettings))
    return caps


def expected_throughput(desired: Sequence[Desired], world: World) -> dict[str, Expected]:
    caps = _brand_caps(desired, world)
    out = {address: Expected(address, cap.text(), cap.daily, None) for address, cap in caps.items()}
    for d in desired:
        if d.kind != "Campaign":
            continue
        cap = caps.get(d.context.get("brand", ""), brand_cap(None))
        usecase = str(d.fields.get("usecase") or "")
        rate = campaign_rate(usecase, cap.score)
        daily = campaign_daily_cap(usecase, cap)
        out[d.address] = Expected(d.address, f"{rate.text()}; T-Mobile {daily:,}/day shared with its brand's "
                                             "campaigns", daily, rate.tpm, rate.att_class)
    return out


def plan_lines(plan: Any, desired: Sequence[Desired], world: World) -> list[str]:
    """For each brand, vetting and campaign the plan creates or changes: what it can send."""
    touched = {c.address for c in plan.changes if c.kind in ("Brand", "Vetting", "Campaign")
               and c.action in ("create", "update", "replace")}
    if not touched:
        return []
    expected = expected_throughput(desired, world)
    lines = []
    for address in sorted(touched):
        if address.startswith("Vetting/"):
            brand = f"Brand/{address.split('/', 1)[1]}"
            now = expected.get(brand)
            lines.append(f"  {address}: a score of 75+ lifts the brand to T-Mobile 200,000/day and AT&T 4,500/min, "
                         f"50+ to 40,000/day and 2,400/min" + (f" (now: {now.text})" if now else ""))
        elif address in expected:
            lines.append(f"  {address}: {expected[address].text}")
    return ["Expected throughput (carriers' published tiers):", *lines] if lines else []
