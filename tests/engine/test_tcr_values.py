"""TCR values as Bird documents them (docs.bird.com .../10dlc-compliance/tcr-enums, the brand and vetting
pages): verticals from Bird's list, stockExchange OTHER, tcrBrandId and authPlusStatus, a FAILED vetting."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from controller.emulator import policy
from controller.reconcile import engine
from controller.reconcile.engine import Settings
from tests.engine.conftest import ROOT, Emulator
from tests.engine.test_apply_emulator import apply

VERTICALS = "GET /numbers-tcr/verticals"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "validate", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_validate_checks_the_vertical_against_the_bundled_list_and_accepts_stock_exchange_other(
        quickstart: Path) -> None:
    brand = quickstart / "brand.yaml"
    text = brand.read_text()
    brand.write_text(text.replace("vertical: TECHNOLOGY", "vertical: TECHNOLGY"))
    refused = validate(quickstart)
    assert refused.returncode == 1
    assert "brand.yaml" in refused.stderr + refused.stdout
    said = refused.stderr + refused.stdout
    assert "'TECHNOLGY' is not one of the campaign registry's verticals (did you mean TECHNOLOGY?)" in said, said

    public = text.replace("entityType: PRIVATE_PROFIT", "entityType: PUBLIC_PROFIT").replace(
        "  vertical: TECHNOLOGY",
        "  vertical: TECHNOLOGY\n  stockSymbol: ACME\n  stockExchange: OTHER\n  businessContactEmail: jane.doe@acme.example")
    brand.write_text(public)
    ok = validate(quickstart)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_the_emulator_lists_verticals_and_refuses_an_unknown_one(emulator: Emulator) -> None:
    listed = emulator.bird("GET", "/numbers-tcr/verticals").json()["results"]
    assert {"name", "industryId", "displayName", "description"} <= set(listed[0])
    assert "TECHNOLOGY" in {v["name"] for v in listed}
    body = {"entityType": "PRIVATE_PROFIT", "displayName": "Acme", "companyName": "Acme Inc.", "ein": "123456789",
            "einIssuingCountry": "US", "phone": "+12025550143", "street": "1 Main St", "city": "New York",
            "state": "NY", "postalCode": "10001", "country": "US", "email": "c@acme.example",
            "website": "https://acme.example", "vertical": "TECHNOLGY"}
    refused = emulator.http.post(f"/workspaces/{emulator.workspace}/tcr-brands", json=body, headers=emulator.auth)
    assert refused.status_code == 422 and "vertical" in refused.json()["details"]
    made = emulator.bird("POST", f"/workspaces/{emulator.workspace}/tcr-brands",
                         {**body, "vertical": "TECHNOLOGY", "entityType": "PUBLIC_PROFIT", "stockSymbol": "ACME",
                          "stockExchange": "OTHER", "businessContactEmail": "jane.doe@acme.example"}).json()
    assert made["tcrBrandId"].startswith("B") and len(made["tcrBrandId"]) == 7
    assert made["authPlusStatus"] == "PENDING"


def test_plan_checks_the_vertical_against_birds_list_reading_it_only_for_a_brand_it_writes(
        quickstart: Path, settings: Settings, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(quickstart)]
    monkeypatch.setattr(policy, "WITHDRAWN_VERTICALS", {"TECHNOLOGY"})  # Bird no longer lists it
    computed = asyncio.run(engine.plan(paths, settings))
    [refusal] = [r for r in computed.plan.refusals if r.address == "Brand/acme"]
    assert "vertical 'TECHNOLOGY' is not one of the verticals Bird lists" in refusal.reason
    assert emulator.requests()["byRoute"][VERTICALS] == 1
    with pytest.raises(engine.Refused):
        apply(paths, settings)
    assert not emulator.state()["brands"], "nothing was registered"

    monkeypatch.setattr(policy, "WITHDRAWN_VERTICALS", set())
    apply(paths, settings)
    emulator.reset_requests()
    assert asyncio.run(engine.plan(paths, settings)).plan.changes == ()
    assert VERTICALS not in emulator.requests()["byRoute"], "a plan that writes no brand reads no verticals"


def test_brands_carry_their_tcr_id_and_a_failed_vetting_says_why(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    apply(paths, settings)
    computed = asyncio.run(engine.plan(paths, settings))
    [observed] = [b for brands in computed.world.brands.values() for b in brands]
    assert observed["tcrBrandId"].startswith("B") and observed.get("authPlusStatus") is None  # a private company
    from controller.state import StateStore

    with StateStore.open(settings.state_url) as store:
        assert store.records()["Brand/acme"].data["tcrBrandId"] == observed["tcrBrandId"]

    [vetting] = emulator.state()["vettings"]
    emulator.http.post("/_emulator/decide", json={
        "kind": "vetting", "id": vetting["id"], "status": "FAILED",
        "rejection": {"code": "V1", "description": "Score too low"}}).raise_for_status()
    [vetting] = emulator.state()["vettings"]
    assert vetting["status"] == "FAILED" and vetting["reasons"] == ["Score too low"]
    lines = {line.address: line for line in asyncio.run(engine.status(paths, settings))}
    assert lines["Vetting/acme"].status == "Failed" and "FAILED" in lines["Vetting/acme"].reason
    assert "Score too low" in lines["Vetting/acme"].reason
