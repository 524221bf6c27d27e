"""plan / apply / status / import through the real `senderctl` process against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.engine.conftest import ACCESS_KEY, Emulator, senderctl

AUTH = {"Authorization": f"AccessKey {ACCESS_KEY}"}


@pytest.fixture
def env(emulator: Emulator, sqlite_url: str) -> dict[str, str]:
    return {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": sqlite_url}


def test_plan_prints_costs_and_exit_codes(quickstart: Path, env: dict[str, str]) -> None:
    text = senderctl("plan", str(quickstart), env=env)
    assert text.returncode == 0, text.stderr
    assert "Brand/acme" in text.stdout and "PhoneNumber/alice-line" in text.stdout
    detailed = senderctl("plan", str(quickstart), "--detailed-exitcode", "-o", "json", env=env)
    assert detailed.returncode == 2
    data = json.loads(detailed.stdout)
    assert data["format_version"] == "1" and data["summary"]["create"] >= 3
    assert all(isinstance(c["cost"]["monthly"], str) for c in data["changes"] if "cost" in c)
    assert "test-signing-key" not in detailed.stdout


def test_apply_without_a_terminal_or_auto_approve_is_refused(quickstart: Path, env: dict[str, str],
                                                             emulator: Emulator) -> None:
    run = senderctl("apply", str(quickstart), env=env)
    assert run.returncode == 3 and "--auto-approve" in run.stderr
    assert emulator.state()["brands"] == []


def test_missing_access_key_and_invalid_specs_fail_clearly(quickstart: Path, env: dict[str, str]) -> None:
    no_key = senderctl("plan", str(quickstart), env={**env, "BIRD_ACCESS_KEY": ""})
    assert no_key.returncode == 1 and "BIRD_ACCESS_KEY is not set" in no_key.stderr
    (quickstart / "broken.yaml").write_text("apiVersion: senderctl/v1\nkind: Campaign\nmetadata: {name: x}\n"
                                            "spec: {brand: nope}\n")
    invalid = senderctl("plan", str(quickstart), env=env)
    assert invalid.returncode == 1
    assert f"{quickstart / 'broken.yaml'}:" in invalid.stderr and "Traceback" not in invalid.stderr


def test_status_lines_and_exit_code(quickstart: Path, env: dict[str, str]) -> None:
    assert senderctl("apply", str(quickstart), "--auto-approve", env=env).returncode == 0
    run = senderctl("status", str(quickstart), env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "Brand/acme: Waiting: brand acme is PENDING" in lines
    assert "Workspace/acme-main: Ready" in lines
    as_json = json.loads(senderctl("status", str(quickstart), "-o", "json", env=env).stdout)
    assert {"address": "Workspace/acme-main", "status": "Ready"}.items() <= as_json[-1].items()


def test_rejected_brand_makes_status_fail_with_birds_reason(quickstart: Path, env: dict[str, str],
                                                            emulator: Emulator) -> None:
    assert senderctl("apply", str(quickstart), "--auto-approve", env=env).returncode == 0
    brand_id = emulator.state()["brands"][0]["id"]
    emulator.http.post("/_emulator/decide", json={"kind": "brand", "id": brand_id, "status": "REJECTED",
                                                   "rejection": {"code": "E123", "description": "EIN mismatch"}
                                                   }).raise_for_status()
    run = senderctl("status", str(quickstart), env=env)
    assert run.returncode == 1
    assert any(line.startswith("Brand/acme: Failed:") and "E123" in line and "EIN mismatch" in line
               for line in run.stdout.splitlines()), run.stdout


def test_import_adopts_what_exists_on_bird_and_creates_nothing(quickstart: Path, env: dict[str, str],
                                                               emulator: Emulator) -> None:
    # Someone registered the brand and subscribed by hand, before senderctl managed anything.
    ws = emulator.workspace
    brand_body = {k: v for k, v in _brand_spec(quickstart).items() if k not in ("workspace", "vetting")}
    with httpx.Client(base_url=emulator.url, headers=AUTH) as bird:
        bird.post(f"/workspaces/{ws}/tcr-brands", json=brand_body).raise_for_status()
        bird.post(f"/organizations/11111111-1111-4111-8111-111111111111/workspaces/{ws}/webhook-subscriptions",
                  json={"service": "numbers", "event": "10dlc.brand", "url": "http://127.0.0.1:8080/webhooks/bird",
                        "signingKey": "test-signing-key", "eventFilters": []}).raise_for_status()
    emulator.reset_requests()
    run = senderctl("import", str(quickstart), env=env)
    assert run.returncode == 0, run.stderr
    assert "= adopted Brand/acme" in run.stdout and "= adopted WebhookSubscription/brand-status" in run.stdout
    writes = [r for r in emulator.requests()["byRoute"] if not r.startswith("GET ")]
    assert writes == []
    plan = json.loads(senderctl("plan", str(quickstart), "-o", "json", env=env).stdout)
    assert not [c for c in plan["changes"] if c["address"] == "Brand/acme"]


def _brand_spec(specs: Path) -> dict[str, object]:
    import yaml

    for doc in yaml.safe_load_all((specs / "brand.yaml").read_text()):
        if doc and doc.get("kind") == "Brand":
            return doc["spec"]
    raise AssertionError("no Brand in the quickstart")


def test_plan_and_status_do_not_create_a_state_that_does_not_exist(quickstart: Path, env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    (tmp_path / "states").mkdir()
    state = tmp_path / "states" / "state.db"
    env = {**env, "SENDERCTL_STATE": f"sqlite:///{state}"}
    plan = senderctl("plan", str(quickstart), "--detailed-exitcode", env=env)
    assert plan.returncode == 2, plan.stderr
    assert "empty" in plan.stdout.splitlines()[0], plan.stdout  # the empty-state banner comes first
    status = senderctl("status", str(quickstart), env=env)
    assert status.returncode == 0, status.stderr
    assert list(state.parent.iterdir()) == [], "a read leaves no file behind"
    # In a directory that does not exist, a read is refused (a mistyped --state), and creates nothing.
    elsewhere = {**env, "SENDERCTL_STATE": f"sqlite:///{tmp_path / 'fresh' / 'state.db'}"}
    refused = senderctl("plan", str(quickstart), env=elsewhere)
    assert refused.returncode == 1 and "does not exist" in refused.stderr, refused.stderr
    assert not (tmp_path / "fresh").exists()
    assert senderctl("apply", str(quickstart), "--auto-approve", env=env).returncode == 0
    assert state.exists()
