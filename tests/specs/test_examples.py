"""The shipped examples validate, through the library and through the `senderctl validate` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specs import OrganizationDoc, load_specs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "examples" / "quickstart", ROOT / "examples" / "multi-org"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(example: Path) -> None:
    result = load_specs([example])
    assert [str(e) for e in result.errors] == []
    assert len(result.specs) > 0


def test_quickstart_uses_the_emulator_default_world() -> None:
    specs = load_specs([ROOT / "examples" / "quickstart"]).specs
    org = specs.get("Organization", "acme")
    assert isinstance(org, OrganizationDoc)
    assert org.spec.birdOrganizationId == "11111111-1111-4111-8111-111111111111"
    assert org.spec.multiSmsNumbers.enabled and org.spec.multiSmsNumbers.limit >= 2
    ws = specs.get("Workspace", "acme-main")
    assert ws is not None and ws.spec.birdWorkspaceId == "22222222-2222-4222-8222-222222222222"
    numbers = specs.of_kind("PhoneNumber")
    assert sorted(n.spec.assignee for n in numbers) == ["alice@acme.example", "bob@acme.example"]
    assert all(specs.organization_of(n) is org for n in numbers)
    events = {w.spec.event for w in specs.of_kind("WebhookSubscription")}
    assert {"sms.inbound", "sms.outbound", "10dlc.brand", "10dlc.campaign", "channel.updated"} <= events


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "cli", "validate", str(ROOT / "examples" / "quickstart")],
                        cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("valid: 13 documents") and ok.stdout.count("\n") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: senderctl/v1\nkind: Workspace\nmetadata: {name: w}\nspec: {organization: nope}\n")
    failed = subprocess.run([sys.executable, "-m", "cli", "validate", str(bad)], cwd=ROOT, capture_output=True,
                            text=True)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"{bad}:4:7: Workspace/w: spec.birdWorkspaceId: required field 'birdWorkspaceId' is missing",
    ]
