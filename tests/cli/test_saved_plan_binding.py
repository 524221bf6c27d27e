"""A saved plan is bound to its content: `apply --plan FILE` recomputes the plan and runs it only when it
is exactly the saved one. A plan artifact edited after review (a webhook URL, an emptied `refusals`, a
cost, the fingerprint) is refused with exit 3, naming what differs, and nothing reaches Bird."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.cli.conftest import Senderctl
from tests.gitops.conftest import QUICKSTART, Bird


def edit(plan_file: Path, target: Path, change: Any) -> Path:
    data = json.loads(plan_file.read_text())
    change(data)
    target.write_text(json.dumps(data, indent=2))
    return target


def change_of(data: dict[str, Any], address: str) -> dict[str, Any]:
    return next(c for c in data["changes"] if c["address"] == address)


def test_an_edited_webhook_url_never_reaches_bird(specs: Path, bird: Bird, cli: Senderctl, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert cli("plan", str(specs), "--out", str(saved)).code == 0

    def evil_url(data: dict[str, Any]) -> None:
        hook = change_of(data, "WebhookSubscription/brand-status")
        hook["after"]["url"] = hook["payload"]["body"]["url"] = "https://attacker.example/steal"

    tampered = edit(saved, tmp_path / "tampered.json", evil_url)
    bird.zero_requests()
    run = cli("apply", "--plan", str(tampered))
    assert run.code == 3, run
    assert "WebhookSubscription/brand-status: after.url differs from the saved plan" in run.err, run
    assert "WebhookSubscription/brand-status: payload.body.url differs from the saved plan" in run.err
    assert "nothing was applied" in run.err
    assert bird.writes() == {}
    assert bird.state()["webhookSubscriptions"] == [] and bird.state()["brands"] == []

    # The untouched file still applies, and what ran is what was recomputed: the reviewed URL.
    run = cli("apply", "--plan", str(saved))
    assert run.code == 0, run
    urls = {s["url"] for s in bird.state()["webhookSubscriptions"]}
    assert urls and not any("attacker" in u for u in urls)


def test_an_emptied_refusal_list_does_not_get_past_the_archive_rail(bird: Bird, cli: Senderctl,
                                                                    tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", specs)
    (specs / "spare.yaml").write_text(
        "apiVersion: senderctl/v1\nkind: PhoneNumber\nmetadata: {name: spare}\n"
        "spec: {workspace: acme-main, select: {country: US, type: local}, deletionPolicy: Archive, protected: false}\n")
    assert cli("apply", str(specs), "--auto-approve").code == 0
    (specs / "spare.yaml").unlink()
    saved = tmp_path / "plan.json"
    planned = cli("plan", str(specs), "--out", str(saved))
    assert planned.code == 3, planned
    assert json.loads(saved.read_text())["refusals"]

    tampered = edit(saved, tmp_path / "tampered.json", lambda d: d.update(refusals=[]))
    bird.zero_requests()
    run = cli("apply", "--plan", str(tampered))
    assert run.code == 3, run
    assert "refusal PhoneNumber/spare is missing from the saved plan" in run.err, run
    untouched = cli("apply", "--plan", str(saved))  # the honest file is refused by the rail itself
    assert untouched.code == 3 and "--allow-archive" in untouched.err, untouched
    assert bird.writes() == {}
    assert len(bird.state()["numbers"]) == 1


def test_an_edited_cost_or_fingerprint_is_named(specs: Path, bird: Bird, sqlite_cli: Senderctl,
                                                tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert sqlite_cli("plan", str(specs), "--out", str(saved)).code == 0

    def cheaper(data: dict[str, Any]) -> None:
        change_of(data, "Brand/acme")["cost"]["one_time"] = "0"

    run = sqlite_cli("apply", "--plan", str(edit(saved, tmp_path / "cost.json", cheaper)))
    assert run.code == 3 and "Brand/acme: cost.one_time differs from the saved plan" in run.err, run
    run = sqlite_cli("apply", "--plan", str(edit(saved, tmp_path / "fp.json", lambda d: d.update(fingerprint="0" * 64))))
    assert run.code == 3 and "fingerprint differs from the saved plan" in run.err, run
    dropped = edit(saved, tmp_path / "dropped.json",
                   lambda d: d.update(changes=[c for c in d["changes"] if c["address"] != "Brand/acme"]))
    run = sqlite_cli("apply", "--plan", str(dropped))
    assert run.code == 3 and "Brand/acme: create is planned now but is not in the saved plan" in run.err, run
    assert bird.writes() == {}


def test_show_renders_a_saved_plan_in_every_format(specs: Path, sqlite_cli: Senderctl, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    planned = sqlite_cli("plan", str(specs), "--out", str(saved))
    text = sqlite_cli("show", str(saved))
    assert text.code == 0, text
    # The same renderer as plan itself; plan adds what the carriers let new brands and campaigns send,
    # read from Bird, which show (offline) does not read.
    shown_by_plan = planned.out.split("Expected throughput (carriers' published tiers):\n")[0]
    assert shown_by_plan.endswith(text.out) and "Plan: " in text.out
    markdown = sqlite_cli("show", str(saved), "-o", "markdown")
    assert markdown.code == 0 and markdown.out.startswith("### senderctl plan"), markdown
    as_json = sqlite_cli("show", str(saved), "-o", "json")
    assert as_json.code == 0 and json.loads(as_json.out) == json.loads(saved.read_text())
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    run = sqlite_cli("show", str(broken))
    assert run.code == 1 and "cannot read saved plan" in run.err, run
