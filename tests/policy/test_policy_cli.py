"""`plan --policy`, `apply --policy` and a saved plan's apply under policies, through the CLI against the
emulator over real HTTP; policy files that are broken are one clear error line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from controller.reconcile.plan_schema import plan_schema
from tests.cli.conftest import Senderctl
from tests.gitops.conftest import Bird

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "policies"

NO_BRAND = """package main
import rego.v1

deny contains msg if {
\tsome change in input.changes
\tstartswith(change.address, "Brand/")
\tmsg := sprintf("%s: brands are registered by the compliance team", [change.address])
}

warn contains "reviewed by a policy" if { true }
"""


def policy_dir(tmp_path: Path, source: str, name: str = "no_brand.rego") -> Path:
    directory = tmp_path / "policies"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(source)
    return directory


def test_plan_lists_each_deny_with_its_file_and_exits_3(sqlite_cli: Senderctl, specs: Path, tmp_path: Path) -> None:
    policies = policy_dir(tmp_path, NO_BRAND)
    run = sqlite_cli("plan", str(specs), "--policy", str(policies), "-o", "json")
    assert run.code == 3, run
    assert f"policy deny: {policies / 'no_brand.rego'}: Brand/acme: brands are registered by the compliance team" \
        in run.err
    assert f"policy warn: {policies / 'no_brand.rego'}: reviewed by a policy" in run.err
    assert "refused by policy: 1 deny message(s)" in run.err
    json.loads(run.out)  # stdout stays the plan JSON alone

    markdown = sqlite_cli("plan", str(specs), "--policy", str(policies), "-o", "markdown")
    assert markdown.code == 3
    assert "#### Policies: **refused by policy**" in markdown.out
    assert "- ⛔ deny — Brand/acme: brands are registered by the compliance team" in markdown.out


def test_the_shipped_examples_pass_the_quickstart(sqlite_cli: Senderctl, specs: Path) -> None:
    run = sqlite_cli("plan", str(specs), "--policy", str(EXAMPLES), "--detailed-exitcode")
    assert run.code == 2, run  # changes, none denied
    assert "policy warn: " in run.err and "one-time fees" in run.err


def test_apply_is_refused_before_any_bird_write(sqlite_cli: Senderctl, specs: Path, tmp_path: Path, bird: Bird) -> None:
    policies = policy_dir(tmp_path, NO_BRAND)
    bird.zero_requests()
    run = sqlite_cli("apply", str(specs), "--auto-approve", "--policy", str(policies))
    assert run.code == 3, run
    assert "apply refused by policy" in run.err and "no_brand.rego" in run.err
    assert bird.writes() == {}


def test_a_saved_plan_is_checked_by_the_policies_at_apply(sqlite_cli: Senderctl, specs: Path, tmp_path: Path,
                                                          bird: Bird) -> None:
    saved = tmp_path / "plan.json"
    assert sqlite_cli("plan", str(specs), "--out", str(saved)).code == 0
    bird.zero_requests()
    run = sqlite_cli("apply", "--plan", str(saved), "--policy", str(policy_dir(tmp_path, NO_BRAND)))
    assert run.code == 3, run
    assert "Brand/acme: brands are registered by the compliance team" in run.err
    assert bird.writes() == {}
    # Without the policy the same reviewed file applies.
    assert sqlite_cli("apply", "--plan", str(saved)).code == 0


def test_a_marketing_campaign_is_refused_until_its_document_is_labelled(sqlite_cli: Senderctl, specs: Path,
                                                                       bird: Bird) -> None:
    """The labels reach the plan JSON (resources[address].labels) from the spec document itself."""
    campaign = specs / "brand.yaml"
    campaign.write_text(campaign.read_text().replace("usecase: ACCOUNT_NOTIFICATION", "usecase: MARKETING"))
    assert sqlite_cli("apply", str(specs), "--auto-approve").code == 0
    bird.advance(3600 + 60)  # the brand is approved: the campaign can be registered now
    run = sqlite_cli("plan", str(specs), "--policy", str(EXAMPLES / "marketing_needs_approval.rego"))
    assert run.code == 3, run
    assert "Campaign/acme-alerts is a MARKETING campaign without the senderctl.io/approved-by label" in run.err

    campaign.write_text(campaign.read_text().replace(
        "  name: acme-alerts\n", "  name: acme-alerts\n  labels: {senderctl.io/approved-by: legal-jane}\n"))
    run = sqlite_cli("plan", str(specs), "--policy", str(EXAMPLES / "marketing_needs_approval.rego"), "-o", "json")
    assert run.code == 0, run
    assert json.loads(run.out)["resources"]["Campaign/acme-alerts"]["labels"] == {
        "senderctl.io/approved-by": "legal-jane"}


@pytest.mark.parametrize(("source", "expected"), [
    ("package main\nimport rego.v1\n\ndeny contains msg if {\n\tsome c in input.changes\n\tc.action ==\n}\n",
     "bad.rego:6:11: Invalid boolean operator"),
    ("package main\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := \"x\"\n", "bad.rego:4:22: this is unclosed"),
    ("package main\nimport rego.v1\n\ndeny contains msg if { msg := no_such_function(1) }\n",
     "evaluating the policy failed: Function not found: no_such_function"),
    ("import rego.v1\ndeny contains \"x\" if { true }\n", "bad.rego:1:1: no `package` declaration"),
    ("package main\nimport rego.v1\n\nallow := true\n", "defines no `deny`, `violation` or `warn` rule"),
    ("package other\nimport rego.v1\n\ndeny contains \"x\" if { true }\n", "no file declares `package main`"),
])
def test_a_broken_policy_is_one_clear_error_before_bird_is_read(sqlite_cli: Senderctl, specs: Path, tmp_path: Path,
                                                               bird: Bird, source: str, expected: str) -> None:
    policies = policy_dir(tmp_path, source, "bad.rego")
    bird.zero_requests()
    run = sqlite_cli("plan", str(specs), "--policy", str(policies))
    assert run.code == 1, run
    (line,) = run.err.strip().splitlines()
    assert line.startswith("error: policy: ") and expected in line, line
    assert "Traceback" not in run.err and run.out == ""
    assert bird.requests() == {}


def test_a_directory_without_policies_is_an_error(sqlite_cli: Senderctl, specs: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = sqlite_cli("plan", str(specs), "--policy", str(tmp_path / "empty"))
    assert run.code == 1 and "no .rego files in this directory" in run.err


def test_plan_json_follows_the_published_schema(sqlite_cli: Senderctl, specs: Path) -> None:
    published = sqlite_cli("schema", "--plan")
    assert published.code == 0
    schema = json.loads(published.out)
    assert schema == json.loads(json.dumps(plan_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    run = sqlite_cli("plan", str(specs), "-o", "json")
    jsonschema.validate(json.loads(run.out), schema)
    assert schema["properties"]["format_version"] == {"const": json.loads(run.out)["format_version"]}
