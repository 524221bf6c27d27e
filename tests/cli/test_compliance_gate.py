"""The campaign doctor in plan and apply, as a new user meets it: a campaign whose samples lack opt-out
language is refused before any fee (exit 3, nothing written to Bird), and goes through once fixed."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Senderctl
from tests.gitops.conftest import Bird

BAD_SAMPLE = '    - "Acme: your invoice for March is ready. Reply STOP to opt out, HELP for help."\n'
NO_OPTOUT = '    - "Acme: your invoice for March is ready in your account."\n'


def break_campaign(specs: Path) -> Path:
    brand = specs / "brand.yaml"
    text = brand.read_text()
    assert BAD_SAMPLE in text
    brand.write_text(text.replace(BAD_SAMPLE, NO_OPTOUT))
    return brand


def test_non_compliant_campaign_is_refused_before_any_fee_and_passes_once_fixed(
        cli: Senderctl, bird: Bird, specs: Path) -> None:
    brand = break_campaign(specs)
    planned = cli("plan", str(specs))
    assert planned.code == 3, planned
    assert "Campaign/acme-alerts" in planned.out and "SAMPLE_OPTOUT" in planned.out, planned
    assert f"{brand}:" in planned.out  # the finding names the file, line and column

    applied = cli("apply", str(specs), "--auto-approve")
    assert applied.code == 3, applied
    assert "SAMPLE_OPTOUT" in applied.err, applied
    state = bird.state()
    assert state["brands"] == [] and state["campaigns"] == [] and state["charges"] == []
    assert bird.writes() == {}

    brand.write_text(brand.read_text().replace(NO_OPTOUT, BAD_SAMPLE))
    fixed = cli("apply", str(specs), "--auto-approve")
    assert fixed.code == 0, fixed
    assert len(bird.state()["brands"]) == 1


def test_a_silenced_finding_does_not_refuse(cli: Senderctl, bird: Bird, specs: Path) -> None:
    brand = break_campaign(specs)
    brand.write_text(brand.read_text().replace(
        "  name: acme-alerts\n", "  name: acme-alerts\n  annotations: {senderctl.io/ignore-compliance: SAMPLE_OPTOUT}\n"))
    planned = cli("plan", str(specs))
    assert planned.code == 0, planned
    assert "SAMPLE_OPTOUT" not in planned.out + planned.err


def test_warnings_are_listed_by_plan_and_do_not_refuse(cli: Senderctl, bird: Bird, specs: Path) -> None:
    brand = specs / "brand.yaml"
    brand.write_text(brand.read_text().replace("email: compliance@acme.example", "email: acme.compliance@gmail.com"))
    planned = cli("plan", str(specs))
    assert planned.code == 0, planned
    assert "compliance warning: Brand/acme: BRAND_FREE_MAIL at " in planned.err
