"""Configurable rails: spec.safety.maxChangeShare on an Organization (one share, or per kind with a
default) sets how much of its existing resources one plan may change without --force — through the
real CLI against the emulator; bad values are located validation errors; the schema describes it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ops.conftest import ROOT, Senderctl

WEBHOOK = """---
apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {{name: hook-{i:02d}}}
spec:
  workspace: acme-main
  service: channels
  event: sms.inbound
  url: http://127.0.0.1:{port}/hook
  signingKey: {{fromEnv: SENDERCTL_DEMO_SIGNING_KEY}}
  eventFilters: [{{key: channelId, value: channel-{i:02d}}}]  # Bird: five per filter combination
"""
ORGANIZATION = (ROOT / "examples" / "quickstart" / "organization.yaml").read_text()


def write_specs(specs: Path, moved: set[int], safety: str = "") -> None:
    specs.mkdir(exist_ok=True)
    org = ORGANIZATION.replace("    currency: USD\n", "    currency: USD\n" + (f"  safety: {safety}\n" if safety else ""))
    (specs / "organization.yaml").write_text(org)
    (specs / "hooks.yaml").write_text("".join(WEBHOOK.format(i=i, port=9000 if i in moved else 8080)
                                              for i in range(12)))


def refusals(senderctl: Senderctl, specs: Path) -> tuple[int, list[dict]]:
    run = senderctl("plan", specs, "-o", "json")
    return run.exit_code, json.loads(run.stdout)["refusals"]


def test_max_change_share_per_kind_and_organization(tmp_path: Path, senderctl: Senderctl) -> None:
    specs = tmp_path / "specs"
    write_specs(specs, set())
    assert senderctl("apply", specs, "--auto-approve").exit_code == 0

    write_specs(specs, {0, 1})  # 2 of 12: above the default 10 %
    code, refused = refusals(senderctl, specs)
    assert code == 3 and [r["address"] for r in refused] == ["WebhookSubscription/*"]
    assert "of Organization acme (more than 10 %" in refused[0]["reason"]

    write_specs(specs, {0, 1}, "{maxChangeShare: {default: 0.1, WebhookSubscription: 0.2}}")
    assert refusals(senderctl, specs) == (0, [])
    write_specs(specs, {0, 1}, "{maxChangeShare: 0.25}")  # one share for every kind
    assert refusals(senderctl, specs) == (0, [])
    write_specs(specs, {0, 1, 2}, "{maxChangeShare: {default: 0.5, WebhookSubscription: 0.2}}")  # the kind wins
    code, refused = refusals(senderctl, specs)
    assert code == 3 and "3 of 12" in refused[0]["reason"] and "more than 20 %" in refused[0]["reason"]

    write_specs(specs, {0, 1}, "{maxChangeShare: {default: 0.1, WebhookSubscription: 0.2}}")
    assert senderctl("apply", specs, "--auto-approve").exit_code == 0


def test_bad_shares_are_located_errors_and_the_schema_has_them(tmp_path: Path, senderctl: Senderctl) -> None:
    specs = tmp_path / "specs"
    write_specs(specs, set(), "{maxChangeShare: {default: 1.5, PhoneNumbr: 0.2}}")
    run = senderctl("validate", specs)
    assert run.exit_code == 1
    org = specs / "organization.yaml"
    assert f"{org}:14:" in run.stderr and "spec.safety.maxChangeShare.default" in run.stderr
    assert "spec.safety.maxChangeShare.PhoneNumbr: unknown field 'PhoneNumbr' (did you mean 'PhoneNumber'?)" in run.stderr

    schema = json.loads(senderctl("schema").stdout)
    share = schema["$defs"]["Safety"]["properties"]["maxChangeShare"]["oneOf"][1]
    assert share["additionalProperties"] is False and "PhoneNumber" in share["properties"]
    committed = json.loads((ROOT / "specs" / "senderctl-v1.schema.json").read_text())
    assert committed == schema, "regenerate specs/senderctl-v1.schema.json with `senderctl schema`"
