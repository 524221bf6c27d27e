"""The API the engine codes against: load_specs over files and directories, SpecSet lookups, located
errors in the contract's format, cross-document rules, secret references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specs import (
    OrganizationDoc,
    PhoneNumberDoc,
    SecretMissing,
    SecretRef,
    SpecError,
    WebhookSubscriptionDoc,
    load_specs,
    load_text,
)

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
MULTI_ORG = ROOT / "examples" / "multi-org"

WORLD = """\
apiVersion: senderctl/v1
kind: Organization
metadata: {name: acme}
spec:
  birdOrganizationId: 11111111-1111-4111-8111-111111111111
  multiSmsNumbers: {enabled: true, limit: 3}
---
apiVersion: senderctl/v1
kind: Workspace
metadata: {name: main}
spec: {organization: acme, birdWorkspaceId: 22222222-2222-4222-8222-222222222222}
"""


def number(name: str, assignee: str | None = None, workspace: str = "main") -> str:
    extra = f"\n  assignee: {assignee}" if assignee else ""
    return (f"---\napiVersion: senderctl/v1\nkind: PhoneNumber\nmetadata: {{name: {name}}}\n"
            f"spec:\n  workspace: {workspace}\n  select: {{country: US, type: local}}{extra}\n")


def messages(text: str) -> list[str]:
    return [f"{e.line}:{e.column} {e.address} {e.field}: {e.message}" for e in load_text(text, "t.yaml").errors]


# --- loading ---------------------------------------------------------------------------------------------


def test_directories_files_and_order_do_not_matter(tmp_path: Path) -> None:
    files = sorted(QUICKSTART.glob("*.yaml"))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    for index, path in enumerate(reversed(files)):
        (nested if index % 2 else tmp_path).joinpath(f"{index}-{path.stem}.yml").write_text(path.read_text())
    from_dir = load_specs([tmp_path])
    from_files = load_specs(files)
    assert from_dir.errors == [] and from_files.errors == []
    assert from_dir.specs.to_json() == from_files.specs.to_json()
    assert len(from_dir.files) == len(files)


def test_hidden_directories_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    (tmp_path / "specs.yaml").write_text(WORLD)
    result = load_specs([tmp_path])
    assert result.errors == [] and result.files == [str(tmp_path / "specs.yaml")]
    explicit = load_specs([tmp_path / ".github" / "workflows" / "ci.yml"])  # named explicitly: checked
    assert explicit.errors and explicit.errors[0].message.startswith("apiVersion is missing")


def test_missing_path_and_empty_directory_are_errors(tmp_path: Path) -> None:
    result = load_specs([tmp_path / "nope.yaml", tmp_path])
    assert [str(e) for e in result.errors] == [
        f"{tmp_path}:1:1: -: -: no *.yaml or *.yml spec files in this directory",
        f"{tmp_path / 'nope.yaml'}:1:1: -: -: no such file or directory",
    ]


def test_specset_lookups_follow_references() -> None:
    result = load_specs([QUICKSTART])
    specs = result.specs
    alice = specs.get("PhoneNumber", "alice-line")
    assert isinstance(alice, PhoneNumberDoc)
    assert alice.address == "PhoneNumber/alice-line" and alice.spec.select is not None
    assert alice.source.path.endswith("numbers.yaml") and alice.source.line == 3
    assert [d.name for d in specs.of_kind("PhoneNumber")] == ["alice-line", "bob-line"]
    assert specs.get("PhoneNumber", "carol-line") is None
    org = specs.organization_of(specs.get("Campaign", "acme-alerts"))  # type: ignore[arg-type]
    assert isinstance(org, OrganizationDoc) and org.name == "acme"
    assert specs.organization_of(org) is org
    brand = specs.get("Brand", "acme")
    assert brand is not None and brand.spec.vetting is not None and brand.spec.vetting.class_ == "STANDARD"


def test_to_json_is_canonical_and_holds_no_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDERCTL_DEMO_SIGNING_KEY", "very-secret-value")
    first = load_specs([QUICKSTART]).specs.to_json()
    second = load_specs(sorted(QUICKSTART.glob("*.yaml"), reverse=True)).specs.to_json()
    text = json.dumps(first, sort_keys=True)
    assert text == json.dumps(second, sort_keys=True)
    assert "very-secret-value" not in text
    assert '"signingKey": {"fromEnv": "SENDERCTL_DEMO_SIGNING_KEY"}' in text
    org = next(d for d in first["documents"] if d["kind"] == "Organization")
    assert org["spec"]["multiSmsNumbers"]["weeklyPrice"] == "2.99"  # money stays a decimal string


def test_errors_are_sorted_and_in_the_contract_format(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("kind: x\n")
    (tmp_path / "a.yaml").write_text(WORLD + number("one", workspace="mian"))
    errors = load_specs([tmp_path]).errors
    assert errors == sorted(errors)
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'a.yaml'}:17:14: PhoneNumber/one: spec.workspace: Workspace 'mian' is not defined "
        "(did you mean 'main'?)",
        f"{tmp_path / 'b.yaml'}:1:1: x/?: -: apiVersion is missing; start the document with "
        "`apiVersion: senderctl/v1`",
    ]
    assert isinstance(errors[0], SpecError) and errors[0].path.endswith("a.yaml")


def test_yaml_1_1_surprises_stay_text() -> None:
    text = WORLD.replace("{name: main}", "{name: main, labels: {country: NO, flag: yes, day: 2024-01-01}}")
    result = load_text(text)
    assert result.errors == []
    labels = result.specs.get("Workspace", "main").metadata.labels  # type: ignore[union-attr]
    assert labels == {"country": "NO", "flag": "yes", "day": "2024-01-01"}


def test_anchors_and_merge_keys_work() -> None:
    text = WORLD + "".join(
        f"---\napiVersion: senderctl/v1\nkind: PhoneNumber\nmetadata: {{name: n{i}}}\n"
        f"spec:\n  <<: {{workspace: main, select: {{country: US, type: local, prefix: '+1415'}}}}\n"
        for i in range(2))
    result = load_text(text)
    assert result.errors == []
    assert result.specs.get("PhoneNumber", "n1").spec.select.prefix == "+1415"  # type: ignore[union-attr]


def test_a_broken_document_is_not_reported_again_as_undefined() -> None:
    text = WORLD.replace("birdWorkspaceId: 2222", "birdWorkspaceId: x2222") + number("one")
    assert messages(text) == [
        "11:45 Workspace/main spec.birdWorkspaceId: 'x22222222-2222-4222-8222-222222222222' is not a UUID "
        "(expected like 11111111-1111-4111-8111-111111111111)",
    ]


# --- cross-document rules ------------------------------------------------------------------------------


def test_limit_counts_numbers_and_pools_together() -> None:
    pool = ("---\napiVersion: senderctl/v1\nkind: NumberPool\nmetadata: {name: pool}\n"
            "spec: {workspace: main, count: 2}\n")
    assert messages(WORLD + number("one") + pool) == []  # 3 numbers fit a limit of 3
    assert messages(WORLD + number("one") + number("two") + pool) == [
        "6:43 Organization/acme spec.multiSmsNumbers.limit: organization acme declares 4 numbers "
        "(PhoneNumber/one, PhoneNumber/two, NumberPool/pool (2)), more than its multiSmsNumbers.limit of 3",
    ]


def test_one_number_without_multi_numbers_is_fine_two_are_not() -> None:
    single = WORLD.replace("enabled: true, limit: 3", "enabled: false")
    assert messages(single + number("one")) == []
    assert messages(single + number("one") + number("two")) == [
        "6:30 Organization/acme spec.multiSmsNumbers.enabled: organization acme declares 2 numbers "
        "(PhoneNumber/one, PhoneNumber/two) but multiSmsNumbers is not enabled; enable it (with a limit) or "
        "declare one number",
    ]
    no_block = WORLD.replace("  multiSmsNumbers: {enabled: true, limit: 3}\n", "")
    assert messages(no_block + number("one") + number("two"))[0].startswith(
        "5:3 Organization/acme spec.multiSmsNumbers.enabled: organization acme declares 2 numbers")


def test_a_user_gets_one_number_per_organization_but_may_have_one_in_each() -> None:
    other = WORLD.replace("name: acme", "name: globex").replace("organization: acme", "organization: globex") \
        .replace("{name: main}", "{name: gmain}").replace("11111111-1111-4111-8111-111111111111",
                                                         "33333333-3333-4333-8333-333333333333") \
        .replace("22222222-2222-4222-8222-222222222222", "44444444-4444-4444-8444-444444444444")
    text = WORLD + number("a1", "ann@x.example") + "---\n" + other + number("g1", "ann@x.example", "gmain")
    assert messages(text) == []
    assert messages(text + number("a2", "Ann@x.example")) == [
        "47:13 PhoneNumber/a2 spec.assignee: Ann@x.example already has a number in organization acme "
        "(PhoneNumber/a1); a user gets one number per organization",
    ]


def test_duplicates_name_the_first_definition() -> None:
    assert messages(WORLD + number("one") + number("one")) == [
        "22:18 PhoneNumber/one metadata.name: PhoneNumber/one is already defined at t.yaml:13:1",
    ]


def test_webhook_filter_must_use_a_number_of_its_workspace() -> None:
    hook = ("---\napiVersion: senderctl/v1\nkind: WebhookSubscription\nmetadata: {name: h}\nspec:\n"
            "  workspace: main\n  service: channels\n  event: sms.inbound\n  url: https://h.example/x\n"
            "  signingKey: {fromFile: key.txt}\n  eventFilters: [{key: channelId, phoneNumber: one}]\n")
    other_ws = ("---\napiVersion: senderctl/v1\nkind: Workspace\nmetadata: {name: side}\n"
                "spec: {organization: acme, birdWorkspaceId: 44444444-4444-4444-8444-444444444444}\n")
    got = messages(WORLD + other_ws + number("one", workspace="side") + hook)
    assert got == ["34:48 WebhookSubscription/h spec.eventFilters[0].phoneNumber: PhoneNumber/one is in workspace "
                   "side, not in this subscription's workspace main"]


# --- secrets ----------------------------------------------------------------------------------------------


def test_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = SecretRef(fromEnv="SENDERCTL_TEST_KEY")
    monkeypatch.delenv("SENDERCTL_TEST_KEY", raising=False)
    with pytest.raises(SecretMissing, match="environment variable SENDERCTL_TEST_KEY is not set"):
        ref.resolve()
    monkeypatch.setenv("SENDERCTL_TEST_KEY", "k-123")
    assert ref.resolve() == "k-123"
    assert "k-123" not in repr(ref) + str(ref.model_dump())


def test_secret_from_file_relative_to_the_spec(tmp_path: Path) -> None:
    ref = SecretRef(fromFile="keys/hook.key")
    with pytest.raises(SecretMissing, match=r"cannot read secret file .*keys/hook.key"):
        ref.resolve(tmp_path)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "hook.key").write_text("")
    with pytest.raises(SecretMissing, match="is empty"):
        ref.resolve(tmp_path)
    (tmp_path / "keys" / "hook.key").write_text("file-secret\n")
    assert ref.resolve(tmp_path) == "file-secret"


def test_validate_does_not_need_the_secret_and_never_echoes_an_inline_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENDERCTL_DEMO_SIGNING_KEY", raising=False)
    assert load_specs([QUICKSTART]).errors == []
    hook = next(d for d in load_specs([QUICKSTART]).specs.of_kind("WebhookSubscription"))
    assert isinstance(hook, WebhookSubscriptionDoc)
    inline = (QUICKSTART / "webhooks.yaml").read_text().replace(
        "{fromEnv: SENDERCTL_DEMO_SIGNING_KEY}", "hunter2-signing-key", 1)
    errors = load_text(inline, "webhooks.yaml").errors
    assert any("fromEnv" in e.message and "fromFile" in e.message for e in errors)
    assert all("hunter2" not in str(e) for e in errors)


def test_multi_org_example_has_three_orgs_with_different_terms() -> None:
    specs = load_specs([MULTI_ORG]).specs
    orgs = specs.of_kind("Organization")
    assert len(orgs) == 3
    terms = {(o.spec.multiSmsNumbers.enabled, o.spec.multiSmsNumbers.limit, o.spec.multiSmsNumbers.weeklyPrice)
             for o in orgs}
    assert len(terms) == 3 and any(not enabled for enabled, _, _ in terms)
    assert specs.of_kind("NumberPool")
