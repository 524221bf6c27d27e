"""A bounded, mark-keeping YAML reader for spec files.

Built on yaml.SafeLoader: nodes are composed (so every value keeps its line and column), then turned
into plain data by our own walker, which:
  * rejects duplicate keys, non-text keys and every tag beyond plain data (no `!!python/...`);
  * caps file size, nesting depth and alias expansion, so a hostile file costs bounded memory and time;
  * keeps YAML 1.1 surprises out: only true/false are booleans (`country: NO` stays "NO"), unquoted
    decimals become decimal.Decimal (never float), timestamps stay text.
Problems come back as YamlProblem values with 1-based line/column, never as exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 512 * 1024  # spec files are small (the quickstart is 8 KiB); bigger is a mistake or an attack
MAX_DEPTH = 64  # nesting levels per document; specs need fewer than 10
MAX_NODES = 200_000  # values per file (a full 512 KiB file has about 40,000)
MAX_ALIAS_VALUES = 10_000  # values reached again through aliases, per file (stops "billion laughs")
MAX_DOCUMENTS = 10_000

Path_ = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}
# What the YAML reader refuses (same set as yaml.reader.Reader.NON_PRINTABLE), found before parsing so
# the error can name the character and its position.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class YamlProblem:
    line: int
    column: int
    message: str


@dataclass
class YamlDocument:
    """One `---` document as plain data, with the position of every value and every mapping key."""

    data: Any
    line: int
    column: int
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # The written text of scalars that did not become text (numbers, booleans), for error messages.
    scalar_text: dict[Path_, str] = field(default_factory=dict)

    def mark_of(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Position of the value (or key) at `path`, else of its closest located ancestor."""
        if key and path in self.key_marks:
            return self.key_marks[path]
        for end in range(len(path), -1, -1):
            mark = self.value_marks.get(path[:end])
            if mark is not None:
                return mark
        return (self.line, self.column)


@dataclass
class YamlFile:
    documents: list[YamlDocument]
    problems: list[YamlProblem]


class _Abort(Exception):
    """Stops reading a document or file: the problem makes the rest untrustworthy or too costly."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# libyaml when present (about 6x faster); its composer recurses per level, so _check_events bounds the
# nesting with a flat pass over the event stream before anything is composed.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str) -> None:
    """Refuse nesting beyond MAX_DEPTH, walking the events without recursion (raises _Abort)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Abort(YamlProblem(*_pos(event.start_mark),
                                         f"nesting deeper than {MAX_DEPTH} levels; specs never need that"))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def read_spec_file(path: str) -> YamlFile:
    """Read and parse one spec file; never raises for bad content (only problems)."""
    raw = read_spec_bytes(path)
    return raw if isinstance(raw, YamlFile) else parse_spec_bytes(raw)


def read_spec_bytes(path: str) -> bytes | YamlFile:
    """One spec file's bytes, or (a file that cannot be read, or too large) the problem, as a parsed file."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return YamlFile([], [YamlProblem(1, 1, f"cannot read the file: {exc.strerror or exc}")])
    if len(raw) > MAX_FILE_BYTES:
        return YamlFile([], [YamlProblem(1, 1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB; "
                                               "split it into several spec files")])
    return raw


def parse_spec_bytes(raw: bytes) -> YamlFile:
    if len(raw) > MAX_FILE_BYTES:
        return YamlFile([], [YamlProblem(1, 1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB; "
                                               "split it into several spec files")])
    text, problem = _decode(raw)
    if problem is not None:
        return YamlFile([], [problem])
    return _parse_text(text)


def _decode(raw: bytes) -> tuple[str, YamlProblem | None]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        good = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(good, len(good))
        return "", YamlProblem(line, col, f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                                          f"{exc.start}); save it as UTF-8 text")
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, col = _line_col(text, bad.start())
        return "", YamlProblem(line, col, f"binary data or control character U+{ord(bad.group()):04X} "
                                          "is not allowed in a spec file")
    return text, None


def _parse_text(text: str) -> YamlFile:
    documents: list[YamlDocument] = []
    problems: list[YamlProblem] = []
    budget = _Budget()
    loader = _Loader(text)
    try:
        _check_events(text)
        while loader.check_node():
            if len(documents) >= MAX_DOCUMENTS:
                raise _Abort(YamlProblem(*_pos(loader.peek_event().start_mark),
                                         f"more than {MAX_DOCUMENTS} documents in one file"))
            node = loader.get_node()
            if node is None:
                continue
            doc = YamlDocument(None, *_pos(node.start_mark))
            walker = _Walker(loader, doc, problems, budget)
            try:
                doc.data = walker.build(node, (), 0)
            except _Abort as abort:
                problems.append(abort.problem)
                continue
            documents.append(doc)
    except _Abort as abort:
        problems.append(abort.problem)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark is not None else (1, 1)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        problems.append(YamlProblem(line, col, f"YAML syntax error: {what}"))
    except yaml.YAMLError as exc:  # reader errors without marks
        problems.append(YamlProblem(1, 1, f"YAML error: {exc}"))
    finally:
        loader.dispose()
    return YamlFile(documents, problems)


@dataclass
class _Budget:
    nodes: int = 0
    repeated: int = 0


class _Walker:
    """Turns one composed node tree into plain data, recording marks and collecting problems."""

    def __init__(self, loader: yaml.SafeLoader, doc: YamlDocument, problems: list[YamlProblem], budget: _Budget):
        self.loader, self.doc, self.problems, self.budget = loader, doc, problems, budget
        self.seen: set[int] = set()  # ids of this document's nodes (alive while it is walked)

    def build(self, node: Node, path: Path_, depth: int) -> Any:
        budget = self.budget
        budget.nodes += 1
        if id(node) in self.seen:  # reached again through an alias
            budget.repeated += 1
            if budget.repeated > MAX_ALIAS_VALUES:
                raise _Abort(YamlProblem(*_pos(node.start_mark), f"aliases expand to more than {MAX_ALIAS_VALUES} "
                                         "values (an alias bomb?); write the values out or use fewer aliases"))
        self.seen.add(id(node))
        if budget.nodes > MAX_NODES:
            raise _Abort(YamlProblem(*_pos(node.start_mark), f"more than {MAX_NODES} values in one file; "
                                     "split it into several spec files"))
        if depth > MAX_DEPTH:  # aliases can nest a small tree deeply, even cyclically
            raise _Abort(YamlProblem(*_pos(node.start_mark), f"nesting deeper than {MAX_DEPTH} levels "
                                     "(through aliases)"))
        if node.tag not in _PLAIN_TAGS:
            raise _Abort(YamlProblem(*_pos(node.start_mark), f"tag {node.tag.replace(_TAG, '!!')} is not allowed; "
                                     "spec files hold plain data only (text, numbers, true/false, lists, mappings)"))
        self.doc.value_marks[path] = _pos(node.start_mark)
        if isinstance(node, ScalarNode):
            if node.tag != f"{_TAG}str":
                self.doc.scalar_text[path] = node.value
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            return [self.build(child, (*path, index), depth + 1) for index, child in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        return self._mapping(node, path, depth)

    def _mapping(self, node: MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # `<<: *defaults` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_pos = _pos(key_node.start_mark)
            # Keys are names: `on:` or `1:` mean the text, not a boolean or a number.
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                self.problems.append(YamlProblem(*key_pos, "mapping keys must be plain text"))
                continue
            key = key_node.value
            if key in result:
                first = self.doc.key_marks[(*path, key)]
                self.problems.append(YamlProblem(*key_pos, f"duplicate key '{key}' (first defined at line {first[0]})"))
                continue
            self.doc.key_marks[(*path, key)] = key_pos
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == f"{_TAG}null":
            return None
        if tag == f"{_TAG}bool":
            lowered = text.lower()
            return lowered == "true" if lowered in ("true", "false") else text  # yes/no/on/off stay text
        if tag == f"{_TAG}int":
            try:
                return self.loader.construct_yaml_int(node)
            except ValueError:  # e.g. more digits than Python converts
                raise _Abort(YamlProblem(*_pos(node.start_mark), "number is too long; quote it if it is text")) from None
        if tag == f"{_TAG}float":
            try:
                value = Decimal(text.replace("_", ""))
            except InvalidOperation:
                return text  # .inf / .nan: no spec field takes them; the model reports the type
            return value if value.is_finite() else text
        return text  # str, timestamp
