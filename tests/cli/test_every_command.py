"""One rule for every command (README "Exit codes"): 0 ok, 1 error, 2 usage (or changes with
--detailed-exitcode / drift), 3 refused, 130 interrupted; one `error:` line, never a traceback.

Every command is tried with broken inputs — missing, empty, corrupted and read-only-looking states,
bad URLs, ports and flags, tampered plans — and must answer with a documented code and no traceback.
A command added to the CLI without an entry in SAMPLES fails test_every_command_has_a_sample."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from tests.cli.conftest import DOCUMENTED_EXIT_CODES, Senderctl

# A typical invocation of every leaf command; {specs} and {plan} are filled in per test.
SAMPLES: dict[str, list[str]] = {
    "validate": ["{specs}"],
    "schema": [],
    "graph": ["{specs}"],
    "emulator": ["--port", "70000"],
    "plan": ["{specs}"],
    "apply": ["{specs}", "--auto-approve"],
    "status": ["{specs}"],
    "drift": ["{specs}"],
    "costs": [],
    "dump": ["--organization", "11111111-1111-4111-8111-111111111111", "--out", "{tmp}/dumped"],
    "import": ["{specs}"],
    "show": ["{plan}"],
    "force-unlock": ["0123456789ab"],
    "state list": [],
    "state show": ["Brand/acme"],
    "state rm": ["Brand/acme"],
    "state mv": ["Brand/acme", "Brand/other"],
    "demo": ["--keep", "{tmp}/kept"],
    "numbers list": ["--org", "acme"],
    "numbers available": ["--org", "acme"],
    "numbers mine": ["--org", "acme", "--user", "alice@acme.example"],
    "numbers blockers": ["--org", "acme", "+14155550100"],
    "numbers unrouted": [],
    "numbers history": ["--org", "acme"],
    "config": ["--org", "acme"],
    "billing run": ["--week", "2026-W10"],
    "daemon": ["{specs}", "--listen", "127.0.0.1:0"],
    "tokens create": ["--org", "acme", "--user", "alice@acme.example", "--role", "member"],
    "tokens list": ["--org", "acme"],
    "tokens revoke": ["0"],
    "webhooks failed": [],
}
# Long-running commands are only tried with inputs that must stop them at start.
RUNS_UNTIL_STOPPED = {"daemon", "emulator"}


def leaf_commands() -> dict[str, click.Command]:
    from cli import cli

    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix}{name}"
            if isinstance(command, click.Group):
                walk(command, path + " ")
            else:
                found[path] = command
    walk(cli, "")
    return found


def uses_state(command: click.Command) -> bool:
    return any(p.name == "state" for p in command.params)


def fill(args: list[str], specs: Path, plan: Path, tmp: Path) -> list[str]:
    return [a.replace("{specs}", str(specs)).replace("{plan}", str(plan)).replace("{tmp}", str(tmp)) for a in args]


def test_every_command_has_a_sample() -> None:
    missing = sorted(set(leaf_commands()) - set(SAMPLES))
    assert not missing, f"add these commands to SAMPLES in {__file__} (and keep to the exit-code rule): {missing}"


@pytest.fixture
def saved_plan(specs: Path, sqlite_cli: Senderctl, tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    assert sqlite_cli("plan", str(specs), "--out", str(path)).code in (0, 3)
    return path


def state_file(tmp: Path, name: str, content: bytes) -> str:
    (tmp / name).write_bytes(content)
    return f"sqlite:///{tmp / name}"


BROKEN_STATES = {
    "missing-directory": lambda tmp: f"sqlite:///{tmp}/nowhere/state.db",
    "empty-file": lambda tmp: state_file(tmp, "empty.db", b""),
    "corrupted-file": lambda tmp: state_file(tmp, "bad.db", b"\x00garbage" * 512),
    "a-directory": lambda tmp: f"sqlite:///{tmp}",
    "not-a-url": lambda tmp: "state.db",
    "unsupported-database": lambda tmp: "mysql://root@127.0.0.1/senderctl",
    "unreachable-postgres": lambda tmp: "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
}


@pytest.mark.parametrize("broken", sorted(BROKEN_STATES))
def test_every_state_command_reports_a_broken_state_in_one_line(broken: str, specs: Path, saved_plan: Path,
                                                                 sqlite_cli: Senderctl, tmp_path: Path) -> None:
    state = BROKEN_STATES[broken](tmp_path)
    tried = 0
    for path, command in sorted(leaf_commands().items()):
        if not uses_state(command) or path not in SAMPLES:
            continue
        args = fill(SAMPLES[path], specs, saved_plan, tmp_path)
        run = sqlite_cli(*path.split(), *args, env={"SENDERCTL_STATE": state})
        tried += 1
        assert "Traceback" not in run.err, (path, run)
        assert run.code == 1, (path, broken, run)
        assert run.err.startswith("error: ") or "error:" in run.err, (path, broken, run)
    assert tried >= 15


TAMPERED_PLANS = {
    "not-json": "{plan",
    "a-list": "[]",
    "other-format": json.dumps({"format_version": "9", "fingerprint": "x", "changes": []}),
    "changes-not-a-list": json.dumps({"format_version": "1", "fingerprint": "x", "changes": 5, "paths": ["{specs}"]}),
    "change-without-address": json.dumps({"format_version": "1", "fingerprint": "x", "changes": [{"action": "create"}],
                                          "paths": ["{specs}"]}),
    "money-not-a-number": json.dumps({"format_version": "1", "fingerprint": "x", "paths": ["{specs}"], "changes": [
        {"address": "Brand/acme", "action": "create", "cost": {"monthly": "lots", "weekly": "0", "one_time": "0",
                                                              "currency": "USD"}}]}),
    "paths-not-strings": json.dumps({"format_version": "1", "fingerprint": "x", "changes": [], "paths": [1]}),
}


@pytest.mark.parametrize("tampered", sorted(TAMPERED_PLANS))
def test_a_tampered_plan_file_is_refused_or_rejected_never_run(tampered: str, specs: Path, sqlite_cli: Senderctl,
                                                                tmp_path: Path, bird) -> None:  # noqa: ANN001
    plan = tmp_path / "plan.json"
    plan.write_text(TAMPERED_PLANS[tampered].replace("{specs}", str(specs)))
    bird.zero_requests()
    for args in (["apply", "--plan", str(plan)], ["show", str(plan)], ["show", str(plan), "-o", "json"]):
        run = sqlite_cli(*args)
        assert run.code in (1, 3), (args, run)
        assert "Traceback" not in run.err and run.err.strip(), (args, run)
    assert bird.writes() == {}


BAD_INPUTS = [
    (["plan", "{specs}", "--bird-url", "not a url"], {1}),
    (["plan", "{specs}", "--bird-url", "ftp://127.0.0.1/"], {1}),
    (["plan", "{specs}", "--bird-url", "http://127.0.0.1:1"], {1}),
    (["status", "{specs}", "--bird-url", "http://[::1"], {1}),
    (["apply", "{specs}", "--auto-approve", "--lock-timeout", "-1"], {2}),
    (["apply", "{specs}", "--auto-approve", "--parallelism", "0"], {2}),
    (["apply"], {2}),
    (["plan", "{tmp}/no-such-specs"], {2}),
    (["plan", "{specs}", "-o", "yaml"], {2}),
    (["emulator", "--port", "70000"], {2}),
    (["emulator", "--port", "-1"], {2}),
    (["emulator", "--host", "no.such.host.invalid", "--port", "0"], {1}),
    (["daemon", "{specs}", "--listen", "nonsense"], {2}),
    (["daemon", "{specs}", "--resync", "soon"], {2}),
    (["daemon", "{specs}", "--listen", "127.0.0.1:0", "--state", "sqlite:///{tmp}/nowhere/state.db"], {1}),
    (["validate", "{tmp}/garbage.yaml"], {1}),
    (["billing", "run", "--week", "last week"], {1}),
    (["numbers", "mine", "--org", "acme", "--user", "\x00"], {1}),
    (["state", "show", "not-an-address"], {1}),
    (["force-unlock", ""], {1}),
    (["show", "{tmp}"], {2}),
    (["nosuchcommand"], {2}),
]


@pytest.mark.parametrize("args,codes", BAD_INPUTS, ids=[" ".join(a)[:60] for a, _ in BAD_INPUTS])
def test_bad_urls_ports_and_flags_are_one_line_with_a_documented_code(args: list[str], codes: set[int], specs: Path,
                                                                      sqlite_cli: Senderctl, tmp_path: Path) -> None:
    (tmp_path / "garbage.yaml").write_text("kind: [unclosed\n\t- {{{\n")
    run = sqlite_cli(*fill(args, specs, tmp_path / "plan.json", tmp_path))
    assert run.code in codes, run
    assert run.code in DOCUMENTED_EXIT_CODES
    assert "Traceback" not in run.err and run.err.strip(), run
