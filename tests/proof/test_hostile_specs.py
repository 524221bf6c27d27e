"""Hostile specs: a generated corpus (a seeded mutation fuzzer over the examples' YAML, and hypothesis
documents of random shape) of at least 500 documents. Each one validates or gets located errors
(PATH:LINE:COLUMN inside the file), never an exception; a sample goes through `senderctl plan` and
`senderctl apply` against the emulator: exit 1, no traceback, no Bird write, the state file untouched."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specs import load_specs
from specs.loader import load_text
from tests.proof.harness import MULTI_ORG, QUICKSTART, cli_env, forked_cli, record
from tests.support import EmulatorAdmin

SEED = 20261201
MUTANTS = 480
SECONDS_PER_DOCUMENT = 2.0  # CPU seconds: generous, the point is "bounded", not fast
JUNK = ["{", "}", "[", "]", ":", ": ", "- ", "&a ", "*a", "!!python/object:os.system ", "'", '"', "\t", "#", "|",
        ">", "%YAML 1.1\n", "---\n", "...\n", "\x00", "\ufeff", "~", "null", "1e999", "-0", "0x1F", "+1415",
        "\\u0000", "${HOME}", "<<: *a\n", "?", "@", "`", "\u202e", "ǅ"]


def example_files() -> list[Path]:
    return sorted([*QUICKSTART.glob("*.yaml"), *MULTI_ORG.glob("*.yaml")])


def mutate(text: str, rng: random.Random) -> str:
    """One to four edits a careless or hostile hand could make."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.randrange(9)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:  # indentation moved
            lines[i] = (" " * rng.choice([1, 2, 3, 5, 8])) + lines[i].lstrip(" ") if rng.random() < .5 else lines[i].lstrip()
        elif op == 3:  # junk inserted inside a line
            pos = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:pos] + rng.choice(JUNK) + lines[i][pos:]
        elif op == 4:  # a value replaced by another type
            key, sep, _ = lines[i].partition(":")
            if sep:
                lines[i] = key + ": " + rng.choice(["", "[]", "{}", "-1", "99999999999999999999", "true", "'x' * 70",
                                                    "[a, b]", "{a: 1}", "null", "\"\"", "x" * 5000, "2026-13-45"]) + "\n"
        elif op == 5:  # truncated file
            lines = lines[:i] + [lines[i][: rng.randrange(len(lines[i]) + 1)]]
        elif op == 6:  # a key renamed (typo)
            key, sep, rest = lines[i].partition(":")
            if sep and key.strip():
                lines[i] = key[:-1] + rng.choice("xzQ_") + sep + rest
        elif op == 7:  # a reference to something undeclared
            lines[i] = lines[i].replace("acme", rng.choice(["acme2", "ACME", "a" * 70, "acme-", ""]), 1)
        else:  # bytes flipped
            raw = bytearray(lines[i].encode("utf-8", "surrogatepass"))
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            lines[i] = raw.decode("utf-8", "replace")
    return "".join(lines)


def assert_located(result, name: str, text: str) -> None:
    for error in result.errors:
        assert error.line >= 1 and error.column >= 1, f"{name}: unlocated error {error}\n{text[:2000]}"
        assert str(error).startswith(f"{error.path}:{error.line}:{error.column}: "), str(error)


def mutants() -> list[tuple[Path, str]]:
    rng = random.Random(SEED)
    files = example_files()
    return [(source, mutate(source.read_text(), rng)) for source in (rng.choice(files) for _ in range(MUTANTS))]


@pytest.mark.slow
def test_mutated_examples_validate_or_get_located_errors(tmp_path: Path) -> None:
    """Each mutant replaces its file in a copy of its example directory: loaded with its neighbours, as a
    user's repository would be."""
    import shutil

    invalid = 0
    slowest = 0.0
    for n, (source, text) in enumerate(mutants()):
        work = tmp_path / f"m{n}"
        shutil.copytree(source.parent, work)
        target = work / source.name
        target.write_bytes(text.encode("utf-8", "surrogatepass"))
        started = time.process_time()
        result = load_specs([str(work)])
        slowest = max(slowest, time.process_time() - started)
        assert_located(result, f"mutant {n} of {source.name}", text)
        invalid += bool(result.errors)
        shutil.rmtree(work)
    assert slowest < SECONDS_PER_DOCUMENT
    assert invalid > MUTANTS // 2  # the fuzzer does break documents
    record("hostile_specs_mutants", documents_tried=MUTANTS, invalid=invalid, valid=MUTANTS - invalid,
           slowest_cpu_seconds=round(slowest, 3), tracebacks=0)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                    st.sampled_from(["Organization", "PhoneNumber", "senderctl/v1", "+14155550100", "acme", ""]))
KEYS = st.one_of(st.sampled_from(["apiVersion", "kind", "metadata", "name", "spec", "workspace", "select", "count",
                                  "signingKey", "fromEnv", "eventFilters", "assignees", "birdOrganizationId"]),
                 st.text(max_size=12))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)
DOCUMENTS = st.fixed_dictionaries({"apiVersion": st.sampled_from(["senderctl/v1", "v2", ""]),
                                   "kind": st.sampled_from(["Organization", "Workspace", "Brand", "Campaign",
                                                            "PhoneNumber", "NumberPool", "WebhookSubscription",
                                                            "Nope"]),
                                   "metadata": st.one_of(st.fixed_dictionaries({"name": st.text(max_size=70)}), TREES),
                                   "spec": TREES})
HYPOTHESIS_EXAMPLES = 120
CLI_SAMPLE = 5
_generated: list[int] = []


@pytest.mark.slow
@settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(DOCUMENTS, min_size=1, max_size=3))
def test_generated_documents_validate_or_get_located_errors(docs: list[dict]) -> None:
    text = yaml.safe_dump_all(docs, allow_unicode=True)
    result = load_text(text, "generated.yaml")
    assert_located(result, "generated", text)
    _generated.append(len(docs))
    record("hostile_specs_generated", documents_tried=sum(_generated), examples=len(_generated), tracebacks=0)


@pytest.mark.slow
def test_a_sample_through_the_cli_writes_nothing_to_bird_or_the_state(emulator: EmulatorAdmin, tmp_path: Path) -> None:
    import shutil

    state = tmp_path / "state.db"
    env = cli_env(emulator.url, f"sqlite:///{state}")
    # A state that exists and holds the quick start's first apply: its bytes must not move.
    code, output = forked_cli("apply", str(QUICKSTART), "--auto-approve", env=env)
    assert code == 0, output
    before = hashlib.sha256(state.read_bytes()).hexdigest()
    invalid = ((s, t) for s, t in mutants() if load_specs_of(s, t, tmp_path).errors)
    sample = [next(invalid) for _ in range(CLI_SAMPLE)]
    emulator.zero_requests()
    for n, (source, text) in enumerate(sample):
        work = tmp_path / f"cli{n}"
        shutil.copytree(source.parent, work)
        (work / source.name).write_bytes(text.encode("utf-8", "surrogatepass"))
        for args in (("plan", str(work)), ("apply", str(work), "--auto-approve")):
            code, output = forked_cli(*args, env=env)
            assert "Traceback" not in output, f"{args[0]} of mutant {n}:\n{output[-3000:]}"
            assert code == 1, (args, code, output[-1500:])
            assert f"{work}/" in output, output  # the error is located in the mutated file's directory
    assert emulator.write_routes() == {}, emulator.write_routes()
    assert hashlib.sha256(state.read_bytes()).hexdigest() == before
    record("hostile_specs_cli", documents_tried=len(sample), commands_run=2 * len(sample), bird_writes=0,
           state_changed=False)


def load_specs_of(source: Path, text: str, tmp_path: Path):
    import shutil

    work = tmp_path / "probe"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source.parent, work)
    (work / source.name).write_bytes(text.encode("utf-8", "surrogatepass"))
    return load_specs([str(work)])
