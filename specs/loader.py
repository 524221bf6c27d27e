"""load_specs: files and directories in, validated SpecSet and every located error out.

Imperative shell around pure parts: reads files (bounded), then parses (yamlsafe), validates each
document (pydantic models) and checks cross-document rules (rules).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from specs import rules
from specs.errors import SourceLocation, SpecError, format_field_path, quoted
from specs.models import API_VERSION, DOCUMENT_CLASSES, KINDS, SpecDocument, collect_violations
from specs.models.common import partial_model
from specs.specset import SpecSet
from specs.translate import suggest, translate
from specs.yamlsafe import YamlDocument, YamlFile, parse_spec_bytes, read_spec_bytes, read_spec_file

SPEC_SUFFIXES = (".yaml", ".yml")
ENVELOPE_FIELDS = ("apiVersion", "kind", "metadata", "spec")


@dataclass
class LoadResult:
    specs: SpecSet
    errors: list[SpecError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def spec_files(paths: Sequence[str | Path]) -> tuple[list[str], list[SpecError]]:
    """Spec files named by `paths` (directories searched recursively), in a stable order."""
    files: list[str] = []
    errors: list[SpecError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, unreadable = _walk(path)
            errors += unreadable
            if not found and not unreadable:
                errors.append(SpecError(SourceLocation(str(path), 1, 1), "-", "-",
                                        "no *.yaml or *.yml spec files in this directory"))
            files.extend(found)
        elif path.is_file():
            files.append(str(path))
        else:
            problem = "not a regular file or directory" if path.exists() else "no such file or directory"
            errors.append(SpecError(SourceLocation(str(path), 1, 1), "-", "-", problem))
    return list(dict.fromkeys(files)), errors


def _walk(root: Path) -> tuple[list[str], list[SpecError]]:
    """The spec files under `root`, and an error for every entry that cannot be read (a dangling or
    looping symbolic link, a directory or file without permission): skipping one silently would read
    as "that file's resources are no longer wanted". Hidden files and directories (.github/,
    .senderctl/, ...) hold other tools' YAML: they are skipped."""
    found: list[str] = []
    errors: list[SpecError] = []
    seen: set[str] = set()

    def problem(where: Path, what: str) -> None:
        if where.suffix not in (*SPEC_SUFFIXES, ""):  # e.g. a broken link to a README: not a spec entry
            return
        errors.append(SpecError(SourceLocation(str(where), 1, 1), "-", "-",
                                f"cannot read this entry of the specs: {what}; fix or remove it (the daemon keeps "
                                "the last good specs until then)"))

    def walk(directory: Path) -> None:
        real = os.path.realpath(directory)
        if real in seen:  # a symbolic link back into the tree: read once
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            problem(directory, exc.strerror or str(exc))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            p = Path(entry.path)
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
            except OSError as exc:
                problem(p, exc.strerror or str(exc))
                continue
            if entry.is_symlink() and not (is_dir or is_file):
                try:
                    os.stat(p)
                    target_problem = "not a regular file or directory"
                except OSError as exc:
                    target_problem = exc.strerror or str(exc)
                problem(p, f"symbolic link to {os.readlink(p)!r}: {target_problem}")
            elif is_dir:
                walk(p)
            elif is_file and p.suffix in SPEC_SUFFIXES:
                if not os.access(p, os.R_OK):
                    problem(p, "permission denied")
                else:
                    found.append(str(p))

    walk(root)
    return found, errors


def load_specs(paths: Sequence[str | Path], cache: ParseCache | None = None) -> LoadResult:
    """Every spec file under `paths`, validated together. Never raises for bad content. `cache`: a
    long-running reader's (the daemon's) parsed files, so that only the files that changed are parsed."""
    files, errors = spec_files(paths)
    if cache is None:
        return _load({path: read_spec_file(path) for path in files}, errors)
    return _load(cache.read(files), errors)


class ParseCache:
    """The spec files' parsed YAML by their bytes: a file whose bytes did not change is not parsed again
    (a daemon rereads 10,000 numbers' specs for an edit of one file). Each read keeps only the files it
    read, so it holds one tree's parse. The parse is plain data that loading never changes; the typed
    documents are built afresh from it every time."""

    def __init__(self) -> None:
        self._parsed: dict[bytes, YamlFile] = {}
        self._lock = threading.Lock()

    def read(self, files: Sequence[str]) -> dict[str, YamlFile]:
        with self._lock:  # (two reads at once: the second waits, and finds what the first parsed)
            out: dict[str, YamlFile] = {}
            kept: dict[bytes, YamlFile] = {}
            for path in files:
                raw = read_spec_bytes(path)
                if isinstance(raw, YamlFile):
                    out[path] = raw
                    continue
                parsed = kept.get(raw) or self._parsed.get(raw) or parse_spec_bytes(raw)
                out[path] = kept[raw] = parsed
            self._parsed = kept
            return out


def load_text(text: str | bytes, name: str = "<text>") -> LoadResult:
    """Specs given as text (tests, stdin, tools); `name` stands for the path in errors."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _load({name: parse_spec_bytes(raw)}, [])


def _load(parsed_files: dict[str, YamlFile], errors: list[SpecError]) -> LoadResult:
    documents: list[SpecDocument] = []
    broken: set[str] = set()  # addresses of documents that failed to validate: not "undefined" elsewhere
    for path, parsed in parsed_files.items():
        errors += [SpecError(SourceLocation(path, p.line, p.column), "-", "-", p.message) for p in parsed.problems]
        for ydoc in parsed.documents:
            doc, doc_errors = build_document(ydoc, path)
            errors += doc_errors
            if doc is not None:
                documents.append(doc)
            elif isinstance(ydoc.data, dict):
                broken.add(_address(ydoc.data))
    errors += rules.duplicate_errors(documents)
    specs = SpecSet(documents)
    errors += rules.check(specs, broken)
    return LoadResult(specs, sorted(set(errors)), list(parsed_files))


def _rules_despite(exc: ValidationError, cls: type[SpecDocument], data: dict[str, Any], ydoc: YamlDocument,
                   path: str, address: str) -> list[SpecError]:
    """The cross-field rules of the spec that do not read a broken field: reported now, not after a fix."""
    spec_data = data.get("spec")
    locs = [err["loc"] for err in exc.errors()]
    if not isinstance(spec_data, dict) or ("spec",) in locs:
        return []
    invalid = {str(loc[1]) for loc in locs if len(loc) > 1 and loc[0] == "spec"}
    spec_cls = cls.model_fields["spec"].annotation
    partial = partial_model(spec_cls, spec_data, invalid)  # type: ignore[arg-type]
    errors = []
    for violation in collect_violations(partial):
        field_path = ("spec", *violation.field)
        line, column = ydoc.mark_of(field_path)
        errors.append(SpecError(SourceLocation(path, line, column), address, format_field_path(field_path),
                                violation.message))
    return errors


def _address(data: dict[str, Any]) -> str:
    kind = data.get("kind") if isinstance(data.get("kind"), str) else "?"
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) and name else "?"
    return f"{quoted(kind, 63)[1:-1]}/{quoted(name, 63)[1:-1]}"  # cut short like any echoed value


def build_document(ydoc: YamlDocument, path: str) -> tuple[SpecDocument | None, list[SpecError]]:
    """One YAML document -> a typed document, or the errors that prevent it."""
    data = ydoc.data

    def at(field_path: tuple[str | int, ...], message: str, address: str = "-", key: bool = False) -> SpecError:
        line, column = ydoc.mark_of(field_path, key=key)
        return SpecError(SourceLocation(path, line, column), address, format_field_path(field_path), message)

    if data is None:
        return None, []  # an empty document (e.g. a trailing `---`) is harmless
    if not isinstance(data, dict):
        shape = "a list" if isinstance(data, list) else f"a single value ({str(data)[:40]!r})"
        return None, [at((), f"a spec document must be a mapping with {', '.join(ENVELOPE_FIELDS)}; got {shape}")]
    address = _address(data)
    if "apiVersion" not in data:
        return None, [at((), f"apiVersion is missing; start the document with `apiVersion: {API_VERSION}`", address)]
    if data["apiVersion"] != API_VERSION:
        return None, [at(("apiVersion",), f"unsupported apiVersion {quoted(data['apiVersion'])}; use {API_VERSION}",
                         address)]
    kind = data.get("kind")
    if "kind" not in data:
        return None, [at((), f"kind is missing; one of {', '.join(KINDS)}", address)]
    if not isinstance(kind, str):
        return None, [at(("kind",), f"kind must be one of {', '.join(KINDS)}", address)]
    if kind not in DOCUMENT_CLASSES:
        return None, [at(("kind",), f"unknown kind {quoted(kind)}{suggest(kind, KINDS)}; one of {', '.join(KINDS)}",
                         address)]
    cls = DOCUMENT_CLASSES[kind]
    try:
        doc = cls.model_validate(data, context={"defer_rules": True})
    except ValidationError as exc:
        return None, translate(exc, cls, ydoc, path, address) + _rules_despite(exc, cls, data, ydoc, path, address)
    doc._source = SourceLocation(path, ydoc.line, ydoc.column)
    doc._value_marks = ydoc.value_marks
    doc._key_marks = ydoc.key_marks
    # Documents breaking a cross-field rule stay in the set: they are well-typed, and others refer to them.
    errors = [SpecError(doc.locate(*v.field), doc.address, format_field_path(v.field), v.message)
              for v in collect_violations(doc)]
    return doc, errors
