"""The campaign doctor on a labelled corpus of campaign texts (corpus.yaml): each case raises exactly the
codes it is labelled with, at the field it is about; plus the annotation, locations and validate's output."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from specs import load_text
from specs.compliance import CATALOGUE, diagnose

ROOT = Path(__file__).resolve().parents[3]
CASES = yaml.safe_load((Path(__file__).with_name("corpus.yaml")).read_text())

ORG = {"apiVersion": "senderctl/v1", "kind": "Organization", "metadata": {"name": "acme"},
       "spec": {"birdOrganizationId": "11111111-1111-4111-8111-111111111111"}}
WORKSPACE = {"apiVersion": "senderctl/v1", "kind": "Workspace", "metadata": {"name": "main"},
             "spec": {"organization": "acme", "birdWorkspaceId": "22222222-2222-4222-8222-222222222222"}}
BRAND = {"apiVersion": "senderctl/v1", "kind": "Brand", "metadata": {"name": "acme"}, "spec": {
    "workspace": "main", "entityType": "PRIVATE_PROFIT", "displayName": "Acme", "companyName": "Acme Widgets Inc.",
    "ein": "123456789", "einIssuingCountry": "US", "phone": "+12025550143", "street": "123 6th Ave",
    "city": "New York", "state": "NY", "postalCode": "10001", "country": "US", "email": "compliance@acme.example",
    "website": "https://acme.example"}}
CAMPAIGN = {"apiVersion": "senderctl/v1", "kind": "Campaign", "metadata": {"name": "alerts"}, "spec": {
    "brand": "acme", "name": "Acme alerts", "usecase": "ACCOUNT_NOTIFICATION",
    "description": "Acme sends account notifications to its customers: sign-in alerts and billing reminders.",
    "embeddedLink": False, "embeddedPhone": False, "subscriberOptin": True, "subscriberOptout": True,
    "subscriberHelp": True,
    "samples": ["Acme: your invoice for March is ready in your account. Reply STOP to opt out, HELP for help."],
    "messageFlow": "Customers opt in on the notifications page of their Acme account by ticking 'Send me SMS "
                   "alerts' and confirming their mobile number.",
    "helpMessage": "Acme alerts: help at support@acme.example. Reply STOP to opt out, START to opt in.",
    "helpKeywords": "HELP, INFO", "optoutKeywords": "STOP, UNSUBSCRIBE", "optinKeywords": "START, YES",
    "optinMessage": "Acme: you are subscribed to account alerts. Reply STOP to opt out.",
    "optoutMessage": "Acme: you are unsubscribed and will receive no more alerts.",
    "termsAndConditions": True}}


def world(case: dict[str, Any]) -> str:
    brand, campaign = copy.deepcopy(BRAND), copy.deepcopy(CAMPAIGN)
    for doc, changes in ((brand, case.get("brand") or {}), (campaign, case.get("campaign") or {})):
        for key, value in changes.items():
            if value is None:
                doc["spec"].pop(key, None)
            else:
                doc["spec"][key] = value
    if case.get("annotations"):
        campaign["metadata"]["annotations"] = case["annotations"]
    return yaml.safe_dump_all([ORG, WORKSPACE, brand, campaign], sort_keys=False, width=400)


def test_the_corpus_is_large_and_covers_every_campaign_and_brand_code() -> None:
    assert len(CASES) >= 30
    labelled = {code for case in CASES for code in case["expect"]}
    assert labelled == set(CATALOGUE) - {"SHARED_EIN"}  # SHARED_EIN needs two brands: tested below
    assert sum(1 for c in CASES if not c["expect"]) >= 10  # clean texts that must raise nothing


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_case_raises_exactly_its_labels(case: dict[str, Any]) -> None:
    result = load_text(world(case), "specs.yaml")
    assert result.errors == [], [str(e) for e in result.errors]
    findings = diagnose(result.specs)
    assert sorted(f.code for f in findings) == sorted(case["expect"]), "\n".join(map(str, findings))


def test_a_finding_points_at_the_sample_it_is_about() -> None:
    text = world({"campaign": {"samples": ["Acme: your code is 1234. Reply STOP to opt out.",
                                           "Your parcel is on its way today, see you soon."]}})
    [finding] = diagnose(load_text(text, "specs.yaml").specs)
    lines = text.splitlines()
    assert finding.field == "spec.samples[1]"
    assert lines[finding.location.line - 1][finding.location.column - 1:].startswith("- Your parcel") or \
        lines[finding.location.line - 1][finding.location.column - 1:].startswith("Your parcel")
    assert str(finding).startswith(f"specs.yaml:{finding.location.line}:{finding.location.column}: Campaign/alerts: "
                                   "spec.samples[1]: error SAMPLE_BRAND: sample 2 does not name the brand")
    assert "heads off TCR 'sample message must include brand name'" in str(finding)
    assert "fix: start it with the brand" in str(finding)


def test_brands_sharing_an_ein_are_warned_of_one_shared_cap() -> None:
    other = copy.deepcopy(BRAND)
    other["metadata"]["name"] = "acme-two"
    other["spec"]["ein"] = "12-3456789"
    text = yaml.safe_dump_all([ORG, WORKSPACE, BRAND, other], sort_keys=False)
    findings = diagnose(load_text(text, "specs.yaml").specs)
    assert [(f.address, f.code, f.severity) for f in findings] == [
        ("Brand/acme", "SHARED_EIN", "warning"), ("Brand/acme-two", "SHARED_EIN", "warning")]
    assert "also the tax id of Brand/acme-two" in findings[0].message


def test_unknown_code_in_the_annotation_is_a_validation_error() -> None:
    text = world({"annotations": {"senderctl.io/ignore-compliance": "SAMPLE_BRNAD"}})
    [error] = load_text(text, "specs.yaml").errors
    assert error.field == "metadata.annotations.senderctl.io/ignore-compliance"
    assert "unknown compliance code 'SAMPLE_BRNAD' (did you mean 'SAMPLE_BRAND'?)" in error.message


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "validate", str(path)], cwd=ROOT, capture_output=True,
                          text=True)


def test_validate_fails_on_a_compliance_error_and_passes_once_fixed(tmp_path: Path) -> None:
    spec = tmp_path / "specs.yaml"
    spec.write_text(world({"campaign": {"samples": ["Acme: your invoice for March is ready in your account."]}}))
    refused = validate(spec)
    assert refused.returncode == 1
    assert "error SAMPLE_OPTOUT: subscriberOptout is true but no sample tells the recipient how to opt out" in \
        refused.stderr
    assert "1 compliance error(s), 0 warning(s)" in refused.stderr
    spec.write_text(world({}))
    fixed = validate(spec)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stderr == ""


def test_validate_lists_warnings_and_passes(tmp_path: Path) -> None:
    spec = tmp_path / "specs.yaml"
    spec.write_text(world({"brand": {"email": "acme@gmail.com"}}))
    run = validate(spec)
    assert run.returncode == 0, run.stderr
    assert "warning BRAND_FREE_MAIL" in run.stderr
    assert run.stdout.strip().endswith("; 1 compliance warning(s)")


@pytest.mark.parametrize("example", ["quickstart", "multi-org"])
def test_examples_pass_the_doctor_clean(example: str) -> None:
    from specs import load_specs

    result = load_specs([ROOT / "examples" / example])
    assert result.errors == []
    assert [str(f) for f in diagnose(result.specs)] == []


def test_sub_use_case_counts_and_a_public_brands_listing_are_findings_with_their_place_and_fix() -> None:
    text = world({"campaign": {"usecase": "MIXED", "subUsecases": ["MARKETING"]},
                  "brand": {"entityType": "PUBLIC_PROFIT", "businessContactEmail": "jane.doe@acme.example",
                            "stockExchange": "NASDAQ"}})
    findings = {f.code: f for f in diagnose(load_text(text, "specs.yaml").specs)}
    assert set(findings) == {"SUB_USECASE_COUNT", "PUBLIC_STOCK"}
    subs, stock = findings["SUB_USECASE_COUNT"], findings["PUBLIC_STOCK"]
    lines = text.splitlines()
    assert subs.field == "spec.subUsecases"
    assert lines[subs.location.line - 1][subs.location.column - 1:] == "- MARKETING"
    assert "a MIXED campaign needs 2 to 5 subUsecases (it has 1)" in str(subs) and "fix: list the standard" in str(subs)
    assert stock.field == "spec.entityType" and lines[stock.location.line - 1].lstrip().startswith("entityType")
    assert "needs stockSymbol:" in stock.message and "stockExchange (e.g. NASDAQ" in stock.fix
    assert subs.severity == stock.severity == "error"


def test_a_charity_campaign_may_name_up_to_five_sub_use_cases_and_no_more(tmp_path: Path) -> None:
    five = ["ACCOUNT_NOTIFICATION", "CUSTOMER_CARE", "DELIVERY_NOTIFICATION", "MARKETING", "SECURITY_ALERT"]
    assert diagnose(load_text(world({"campaign": {"usecase": "CHARITY", "subUsecases": five}}), "s.yaml").specs) == []
    six = load_text(world({"campaign": {"usecase": "CHARITY", "subUsecases": [*five, "FRAUD_ALERT"]}}), "s.yaml")
    assert [e.field for e in six.errors] == ["spec.subUsecases"]  # Bird: "up to 5 sub uses cases"
    twice = load_text(world({"campaign": {"usecase": "CHARITY", "subUsecases": ["MARKETING", "MARKETING"]}}), "s.yaml")
    assert [e.message for e in twice.errors] == ["subUsecases must not repeat"]
