"""dump writes brands and campaigns as Bird holds them: the campaign doctor's findings on them are silenced
with senderctl.io/ignore-compliance (and named in a comment), so `validate` of the dump passes."""

from __future__ import annotations

from pathlib import Path

from controller.operations import dump
from specs import load_specs
from specs.compliance import diagnose

WS = "22222222-2222-4222-8222-222222222222"
BRAND = {"id": "b1", "status": "APPROVED", "entityType": "PRIVATE_PROFIT", "displayName": "Acme",
         "companyName": "Acme Inc.", "ein": "123456789", "einIssuingCountry": "US", "phone": "+12025550143",
         "street": "123 6th Ave", "city": "New York", "state": "NY", "postalCode": "10001", "country": "US",
         "email": "acme@gmail.com", "website": "https://acme.example"}
CAMPAIGN = {"id": "c1", "status": "APPROVED", "name": "Alerts", "usecase": "ACCOUNT_NOTIFICATION",
            "description": "Account notifications for customers: sign-in alerts and billing reminders.",
            "subscriberOptout": True, "samples": ["Your invoice is ready, see you soon at the shop."],
            "messageFlow": "Customers opt in on the account settings page by ticking the SMS box.",
            "helpMessage": "Acme: help at support@acme.example. Reply STOP to opt out.", "termsAndConditions": True}


def test_findings_on_what_bird_holds_are_silenced_and_validate_passes(tmp_path: Path) -> None:
    account = dump.Account("11111111-1111-4111-8111-111111111111", [dump.WorkspaceDump(
        WS, "main", brands=[BRAND], campaigns={"b1": [CAMPAIGN]}, vettings={"b1": []})])
    written = dump.write(dump.spec_files(account, "acme"), tmp_path)
    text = "".join(p.read_text() for p in written)
    assert "senderctl.io/ignore-compliance: SAMPLE_BRAND,SAMPLE_OPTOUT" in text
    assert "senderctl.io/ignore-compliance: BRAND_FREE_MAIL" in text
    assert "The campaign doctor finds SAMPLE_BRAND, SAMPLE_OPTOUT here" in text
    loaded = load_specs([tmp_path])
    assert loaded.errors == [] and diagnose(loaded.specs) == []
