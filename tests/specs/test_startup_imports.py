"""What `senderctl validate` (and `plan`) import: only what they use, checked on sys.modules, not timed.

Start-up is mostly imports (issue 13: validate and --help within 0.3 s), so a module that sneaks into
validate's import graph shows here long before it shows in a benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run senderctl's entry point in a fresh interpreter, then list every module it imported.
PROBE = """
import json, sys
sys.argv = ["senderctl", *sys.argv[1:]]
import cli
try:
    cli.main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

# Nothing of the engine, Bird, the state or the servers; no JSON Schema generation.
NOT_FOR_VALIDATE = ("controller", "sqlalchemy", "alembic", "httpx", "uvicorn", "starlette", "fastapi",
                    "prometheus_client", "watchfiles", "rich", "specs.schema")
NOT_FOR_PLAN = ("alembic", "uvicorn", "starlette", "prometheus_client", "watchfiles", "controller.emulator",
                "controller.daemon")


def imported(*args: str) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], result["modules"]


def offending(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f"{f}.") for f in forbidden)]


def test_validate_imports_only_the_spec_language() -> None:
    code, modules = imported("validate", str(ROOT / "examples" / "quickstart"))
    assert code == 0
    assert offending(modules, NOT_FOR_VALIDATE) == []
    assert "pydantic" in modules and "phonenumbers" in modules  # the quick start has phone numbers


def test_validate_without_phone_numbers_does_not_import_phonenumbers(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        "apiVersion: senderctl/v1\nkind: Organization\nmetadata: {name: acme}\n"
        "spec: {birdOrganizationId: 11111111-1111-4111-8111-111111111111}\n"
        "---\napiVersion: senderctl/v1\nkind: Workspace\nmetadata: {name: main}\n"
        "spec: {organization: acme, birdWorkspaceId: 22222222-2222-4222-8222-222222222222}\n")
    code, modules = imported("validate", str(tmp_path))
    assert code == 0
    assert offending(modules, ("phonenumbers", *NOT_FOR_VALIDATE)) == []


def test_validate_errors_are_still_located_without_plugin_discovery(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: senderctl/v1\nkind: Brand\nmetadata: {name: acme}\nspec:\n  workspace: main\n"
        "  phone: '+1555'\n")
    done = subprocess.run([sys.executable, "-m", "cli", "validate", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"{tmp_path / 'bad.yaml'}:6:10: Brand/acme: spec.phone: " in done.stderr


def test_help_imports_neither_pydantic_nor_the_specs() -> None:
    code, modules = imported("--help")
    assert code == 0
    assert offending(modules, ("pydantic", "specs", "phonenumbers", "yaml", *NOT_FOR_VALIDATE)) == []


def test_plan_modules_leave_out_the_daemon_the_emulator_and_migrations() -> None:
    probe = "import json, sys, cli, controller.operations.commands; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert offending(json.loads(done.stdout), NOT_FOR_PLAN) == []
