"""Load Rego policy files and evaluate them over a plan's JSON with regopy (Microsoft's rego-cpp).

Each file of `package main` is evaluated on its own, with every file of another package loaded beside
it as a library, so a message is always reported with the file that produced it. Rules are read the
way conftest reads them: `deny`, `violation` and `deny_<name>` refuse; `warn` and `warn_<name>` warn;
a message is a string, or an object whose `msg` is one.

rego-cpp prints parse errors on the process's stdout unless its log level is NONE (which would mix
them into `plan -o json`), and reports them as an S-expression naming the file, a byte offset and a
length: both are turned here into `FILE:LINE:COLUMN: message`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAIN_PACKAGE = "main"
DENY_RULE = re.compile(r"^(deny|violation)(_\w+)?$")
WARN_RULE = re.compile(r"^warn(_\w+)?$")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.MULTILINE)
_RULE_HEAD = re.compile(r"^\s*(deny|violation|warn)(_\w+)?\b", re.MULTILINE)
# (error 10:dir/p.rego|49|1 (errormsg 16:this is unclosed) ...): a length-prefixed file name, offset, length.
_ERROR_AT = re.compile(r"\(error \d+:(?P<file>[^|\n]*)\|(?P<offset>\d+)\|(?P<length>\d+)")
_ERROR_MESSAGE = re.compile(r"\(errormsg \d+:(?P<message>[^\n]*?)\)\s*$", re.MULTILINE)


class PolicyError(Exception):
    """A policy cannot be read or evaluated; the message names the file (and line) and what to fix."""


@dataclass(frozen=True)
class Policy:
    path: str  # as the user will recognise it: relative to the directory given, prefixed with it
    source: str
    package: str

    @property
    def is_main(self) -> bool:
        return self.package == MAIN_PACKAGE


@dataclass(frozen=True)
class Finding:
    policy: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"policy": self.policy, "message": self.message}


@dataclass(frozen=True)
class Verdict:
    denied: tuple[Finding, ...] = ()
    warned: tuple[Finding, ...] = ()
    policies: tuple[str, ...] = field(default=())  # the files evaluated (package main)

    def to_json(self) -> dict[str, Any]:
        return {"policies": list(self.policies), "deny": [f.to_json() for f in self.denied],
                "warn": [f.to_json() for f in self.warned]}


def load_policies(locations: Iterable[str]) -> list[Policy]:
    """Every `*.rego` file under the given directories (or files), parsed once to catch syntax errors.
    `*_test.rego` files are OPA's unit tests of the policies, not policies: they are left out."""
    policies: list[Policy] = []
    for location in locations:
        root = Path(location)
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = sorted(p for p in root.rglob("*.rego") if not p.name.endswith("_test.rego"))
            if not files:
                raise PolicyError(f"--policy {location}: no .rego files in this directory")
        else:
            raise PolicyError(f"--policy {location}: no such file or directory")
        for file in files:
            policies.append(_read(file))
    mains = [p for p in policies if p.is_main]
    if not mains:
        raise PolicyError(f"--policy {', '.join(locations)}: no file declares `package {MAIN_PACKAGE}` "
                          "(the package senderctl and conftest evaluate)")
    for policy in policies:
        _check_syntax(policy)
        if policy.is_main and not _RULE_HEAD.search(policy.source):
            raise PolicyError(f"{policy.path}: package {MAIN_PACKAGE} defines no `deny`, `violation` or `warn` "
                              "rule, so it can never refuse or warn about a plan")
    libraries = [p for p in policies if not p.is_main]
    for policy in mains:  # an unknown function or a conflict shows only when evaluated: before Bird is read
        _evaluate(policy, libraries, "{}")
    return policies


def _read(file: Path) -> Policy:
    try:
        source = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{file}: not UTF-8 text; a Rego policy is a text file") from None
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read it: {exc.strerror or exc}") from None
    match = _PACKAGE.search(_without_comments(source))
    if match is None:
        raise PolicyError(f"{file}:1:1: no `package` declaration; start the file with `package {MAIN_PACKAGE}`")
    return Policy(str(file), source, match.group(1))


def _without_comments(source: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def evaluate_policies(policies: list[Policy], document: Mapping[str, Any]) -> Verdict:
    """Every main policy's deny and warn messages over `document` (the plan JSON), sorted per file."""
    libraries = [p for p in policies if not p.is_main]
    denied: list[Finding] = []
    warned: list[Finding] = []
    text = json.dumps(document, sort_keys=True, default=str)
    for policy in (p for p in policies if p.is_main):
        rules = _evaluate(policy, libraries, text)
        for name, value in sorted(rules.items()):
            if DENY_RULE.match(name):
                denied += [Finding(policy.path, m) for m in _messages(policy, name, value)]
            elif WARN_RULE.match(name):
                warned += [Finding(policy.path, m) for m in _messages(policy, name, value)]
    return Verdict(tuple(denied), tuple(warned), tuple(p.path for p in policies if p.is_main))


def _interpreter() -> Any:
    from regopy import Interpreter, LogLevel

    interpreter = Interpreter()
    interpreter.log_level = LogLevel.NONE  # errors come back as exceptions, never printed on stdout
    return interpreter


def _add(interpreter: Any, policy: Policy) -> None:
    from regopy import RegoError

    try:
        interpreter.add_module(policy.path, policy.source)
    except RegoError as exc:
        raise PolicyError(describe_error(str(exc), {policy.path: policy.source})) from None


def _check_syntax(policy: Policy) -> None:
    _add(_interpreter(), policy)  # each file alone, so an error is reported in the file that has it


def _evaluate(policy: Policy, libraries: list[Policy], input_json: str) -> dict[str, Any]:
    from regopy.rego_shared import rego_free_output, rego_output_string, rego_query

    interpreter = _interpreter()
    for module in (*libraries, policy):
        _add(interpreter, module)
    interpreter.set_input_term(input_json)
    # The low-level query: regopy's Output raises a bare JSONDecodeError when the answer is an error
    # (an unknown function, a conflict), losing rego-cpp's message.
    output = rego_query(interpreter._impl, f"x := data.{MAIN_PACKAGE}")
    try:
        answer = rego_output_string(output)
    finally:
        rego_free_output(output)
    if answer.strip() == "undefined":
        return {}
    try:
        result = json.loads(answer)
    except json.JSONDecodeError:
        raise PolicyError(f"{policy.path}: evaluating the policy failed: "
                          f"{describe_error(answer, {p.path: p.source for p in (*libraries, policy)})}") from None
    results = result if isinstance(result, list) else [result]
    bindings = results[0].get("bindings", {}) if results else {}
    rules = bindings.get("x")
    return rules if isinstance(rules, dict) else {}


def _messages(policy: Policy, rule: str, value: Any) -> list[str]:
    """conftest's message shapes: a set of strings, or of objects with `msg`; a boolean rule (`deny if
    ...`) has no message of its own."""
    if isinstance(value, bool):
        return [f"{rule} is true"] if value else []
    items = list(value) if isinstance(value, list | dict) else [value]
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("msg"), str):
            out.append(item["msg"])
        elif isinstance(item, str):
            out.append(item)
        else:
            raise PolicyError(f"{policy.path}: rule {rule} yielded {json.dumps(item, default=str)[:200]}; "
                              "yield a message string (or an object with a `msg` string)")
    return sorted(out)


def describe_error(error: str, sources: Mapping[str, str]) -> str:
    """rego-cpp's error S-expression as `FILE:LINE:COLUMN: message` lines."""
    locations = list(_ERROR_AT.finditer(error))
    messages = [m.group("message").strip() for m in _ERROR_MESSAGE.finditer(error)]
    if not messages:
        return error.strip().splitlines()[0] if error.strip() else "unknown error"
    # The first error is the one to fix: rego-cpp follows an unclosed brace with a second error at the
    # `package` line that only repeats it.
    where = locations[0] if locations else None
    if where is None or where.group("file") not in sources:
        return messages[0]
    line, column = line_and_column(sources[where.group("file")], int(where.group("offset")))
    return f"{where.group('file')}:{line}:{column}: {messages[0]}"


def line_and_column(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset into the UTF-8 source."""
    before = source.encode("utf-8")[:offset].decode("utf-8", errors="ignore")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return line, column
