"""What a brand and a campaign can send, by the carriers' published tiers: T-Mobile's daily cap per brand by
its best ACTIVE vetting score, AT&T's class and rate per campaign by use case and score; plan and status
show them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.resources.throughput import brand_cap, brand_score, campaign_daily_cap, campaign_rate
from tests.cli.conftest import Senderctl
from tests.gitops.conftest import Bird


@pytest.mark.parametrize(("score", "tier", "daily"), [
    (None, "Low", 2_000), (0, "Low", 2_000), (24, "Low", 2_000), (25, "Low Mid", 10_000), (49, "Low Mid", 10_000),
    (50, "High Mid", 40_000), (74, "High Mid", 40_000), (75, "Top", 200_000), (100, "Top", 200_000)])
def test_tmobile_daily_cap_by_vetting_score(score: int | None, tier: str, daily: int) -> None:
    cap = brand_cap(score)
    assert (cap.tier, cap.daily) == (tier, daily)


@pytest.mark.parametrize(("usecase", "score", "att_class", "tpm"), [
    ("ACCOUNT_NOTIFICATION", 80, "A", 4500), ("MARKETING", 80, "B", 4500), ("MIXED", 75, "B", 4500),
    ("2FA", 60, "C", 2400), ("MIXED", 50, "D", 2400), ("CUSTOMER_CARE", 49, "E", 240), ("MARKETING", None, "F", 240),
    ("LOW_VOLUME", 90, "T", 75), ("POLITICAL", 90, "special", None)])
def test_att_class_by_use_case_and_score(usecase: str, score: int | None, att_class: str, tpm: int | None) -> None:
    rate = campaign_rate(usecase, score)
    assert (rate.att_class, rate.tpm) == (att_class, tpm)


def test_the_brands_best_active_vetting_counts() -> None:
    assert brand_score([{"status": "ACTIVE", "score": "40"}, {"status": "ACTIVE", "score": "80"},
                        {"status": "PENDING", "score": "99"}, {"status": "ACTIVE"}]) == 80
    assert brand_score([{"status": "REJECTED", "score": "90"}]) is None


def test_low_volume_mixed_keeps_its_own_daily_cap() -> None:
    assert campaign_daily_cap("LOW_VOLUME", brand_cap(90)) == 2_000
    assert campaign_daily_cap("MIXED", brand_cap(90)) == 200_000


def test_plan_and_status_show_what_brand_and_campaign_can_send(cli: Senderctl, bird: Bird, specs: Path) -> None:
    first = cli("plan", str(specs))
    assert "  Brand/acme: T-Mobile 2,000/day (Low tier, not vetted; shared by the brand's campaigns)" in first.out, first
    assert cli("apply", str(specs), "--auto-approve").code == 0
    bird.advance(3600 + 60)  # brand approved, vetting ACTIVE with the emulator's score (75)
    second = cli("plan", str(specs))
    assert ("  Campaign/acme-alerts: AT&T class A, 4,500 messages/min; T-Mobile 200,000/day shared with its "
            "brand's campaigns") in second.out, second
    assert cli("apply", str(specs), "--auto-approve").code == 0
    status = cli("status", str(specs), "-o", "json")
    lines = {line["address"]: line for line in json.loads(status.out)}
    assert lines["Brand/acme"]["throughput"].startswith("T-Mobile 200,000/day (Top tier, vetting score 75")
    assert lines["Campaign/acme-alerts"]["throughput"].startswith("AT&T class A, 4,500 messages/min")
    assert "throughput" not in lines["Workspace/acme-main"]
    assert "can send" not in cli("status", str(specs)).out  # one line per resource unless asked
    text = cli("status", str(specs), "--throughput").out
    assert "Brand/acme: Ready\n  can send: T-Mobile 200,000/day" in text
