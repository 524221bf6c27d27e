"""The bad-document corpus: each file produces exactly its expected errors, at the expected line and column,
quickly and without a traceback.

Every tests/specs/corpus/NNN-*.yaml is loaded together with the valid world in corpus/0-base (a file
without load errors: its campaign doctor errors, `CODE: message`) and ends
with `# expect: [!OTHER_PATH]LINE:COLUMN: Kind/name: field.path: message-start` lines (a leading
`!path` means the error is reported in that other file). Where the YAML library itself reports the
problem (and its wording or column moves between releases, as PyYAML 6.0.4's flow-depth limit did),
the expectation says `*` for the column and `~word` for "the message mentions word": the test then
holds the behaviour (one located error, quickly, no traceback), not one release's wording.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specs import load_specs
from specs.compliance import blocking, diagnose
from specs.yamlsafe import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "specs" / "corpus"
BASE = CORPUS / "0-base"
CASES = sorted(CORPUS.glob("[0-9][0-9][0-9]-*.yaml"))
EXPECT = re.compile(r"^# expect: (?:!(?P<path>\S+?))?(?P<line>\d+):(?P<col>\d+|\*): (?P<address>\S+): "
                    r"(?P<field>[^:]+): (?P<message>.*)$")
# CPU seconds of this process: the machine is shared, so wall-clock time would measure the neighbours.
SECONDS_PER_FILE = 1.0


def expectations(case: Path) -> list[tuple[str, int, int, str, str, str]]:
    found = []
    for line in case.read_bytes().decode("utf-8", errors="replace").splitlines():
        match = EXPECT.match(line)
        if match:
            path = match["path"] or str(case.relative_to(ROOT))
            column = 0 if match["col"] == "*" else int(match["col"])  # 0: any column
            found.append((path, int(match["line"]), column, match["address"], match["field"], match["message"]))
    return found


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_bad_document_reports_expected_errors(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = expectations(case)
    assert expected, f"{case.name} has no `# expect:` line"
    monkeypatch.chdir(ROOT)  # paths in errors are as given: relative here, as a user would type them
    started = time.process_time()
    result = load_specs([str(BASE.relative_to(ROOT)), str(case.relative_to(ROOT))])
    elapsed = time.process_time() - started
    actual = [(e.path, e.line, e.column, e.address, e.field, e.message) for e in result.errors]
    if not result.errors:  # rules with a doctor code (sub use case counts, a public brand's listing) follow
        actual = [(f.location.path, f.location.line, f.location.column, f.address, f.field, f"{f.code}: {f.message}")
                  for f in blocking(diagnose(result.specs))]
    assert len(actual) == len(expected), "\n".join(str(e) for e in result.errors)
    for got, want in zip(actual, expected, strict=True):
        assert matches(got, want), f"got {got}, expected {want}"
    assert elapsed < SECONDS_PER_FILE


def matches(got: tuple[str, int, int, str, str, str], want: tuple[str, int, int, str, str, str]) -> bool:
    """Path, line, address and field exactly; the column exactly unless `*` (then any real column); the
    message's start, or with `~word` only that it mentions the word."""
    path, line, column, address, field, message = want
    if (got[0], got[1], got[3], got[4]) != (path, line, address, field):
        return False
    if column and got[2] != column or got[2] < 1:
        return False
    if message.startswith("~"):
        return message[1:].lower() in got[5].lower()
    return got[5].startswith(message)


def _run_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "validate", *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_validate_prints_every_corpus_error_without_traceback() -> None:
    """One run over the whole corpus: every error line in the contract's format, no traceback, exit 1."""
    run = _run_validate(CORPUS)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.splitlines()
    assert len(lines) >= len(CASES)
    line_format = re.compile(r"^[^:]+:\d+:\d+: \S+: [^:]+: .+$")  # field paths may hold user keys with spaces
    assert [line for line in lines if not line_format.match(line)] == []


# --- hostile inputs that are generated rather than committed ---------------------------------------------

HOSTILE: dict[str, tuple[bytes, int, int, str]] = {
    "invalid-utf8": (b"apiVersion: senderctl/v1\nkind: Workspace\nmetadata: {name: \xff\xfe}\n", 3, 18,
                     "the file is not valid UTF-8"),
    "binary-nul": (b"apiVersion: senderctl/v1\nkind: \x00\x01\x02\x03\n", 2, 7,
                   "binary data or control character U+0000"),
    "random-bytes": (bytes(range(256)) * 4, 2, 118, "the file is not valid UTF-8 (byte 0x80"),
    "nul-only": (b"\x00" * 4096, 1, 1, "binary data or control character U+0000"),
    "utf16-file": ("apiVersion: senderctl/v1\n".encode("utf-16"), 1, 1, "the file is not valid UTF-8"),
    "latin1-text": ("metadata: {name: caf\u00e9}\n".encode("latin-1"), 1, 21, "the file is not valid UTF-8"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bytes_get_a_located_error(tmp_path: Path, name: str) -> None:
    content, line, column, message = HOSTILE[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    started = time.process_time()
    result = load_specs([path])
    assert time.process_time() - started < SECONDS_PER_FILE
    assert [(e.line, e.column) for e in result.errors] == [(line, column)]
    assert result.errors[0].message.startswith(message)


def test_a_50_mb_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"apiVersion: senderctl/v1\nkind: Workspace\n")
        handle.write(b"# padding\n" * (5 * 1024 * 1024))
    assert path.stat().st_size > 50 * 1024 * 1024
    started = time.process_time()
    result = load_specs([path])
    assert time.process_time() - started < SECONDS_PER_FILE
    assert [str(e) for e in result.errors] == [
        f"{path}:1:1: -: -: file is larger than {MAX_FILE_BYTES // 1024} KiB; split it into several spec files"
    ]


def test_a_file_just_under_the_size_cap_parses_quickly(tmp_path: Path) -> None:
    """The cap keeps the worst case for a legitimate-looking file bounded too."""
    doc = (BASE / "world.yaml").read_text() + "\n---\n"
    path = tmp_path / "big.yaml"
    path.write_text((doc * (MAX_FILE_BYTES // len(doc)))[: MAX_FILE_BYTES - 1].rsplit("\n---\n", 1)[0] + "\n")
    started = time.process_time()
    result = load_specs([path])
    elapsed = time.process_time() - started
    assert result.errors  # duplicates, of course
    assert elapsed < 3 * SECONDS_PER_FILE, elapsed  # ~0.45 s on an idle machine for ~1,900 documents


def test_hostile_generated_files_through_the_cli(tmp_path: Path) -> None:
    for name, (content, *_rest) in HOSTILE.items():
        (tmp_path / f"{name}.yaml").write_bytes(content)
    run = _run_validate(tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert len(run.stderr.splitlines()) == len(HOSTILE)
