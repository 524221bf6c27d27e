"""Turn pydantic validation errors into located SpecErrors with messages for humans."""

from __future__ import annotations

import difflib
import re
import types
import typing
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from specs.errors import SourceLocation, SpecError, format_field_path, quoted
from specs.models.common import CURRENCY_PATTERN, ISO2_PATTERN, NAME_PATTERN
from specs.models.documents import LABEL_KEY_PATTERN
from specs.models.phone_number import CHANNEL_MESSAGE_TYPE_PATTERN, PREFIX_PATTERN
from specs.models.secrets import ENV_NAME_PATTERN
from specs.yamlsafe import YamlDocument

# Friendlier words for the patterns of common field types (pydantic would print the regex).
PATTERN_HINTS: dict[str, str] = {
    NAME_PATTERN: "is not a valid name: use lowercase letters, digits and '-', starting and ending with a "
                  "letter or digit, at most 63 characters",
    ISO2_PATTERN: "is not a 2-letter ISO 3166-1 country code in capitals (e.g. US)",
    CURRENCY_PATTERN: "is not an ISO 4217 currency code (three capitals, e.g. USD)",
    LABEL_KEY_PATTERN: "is not a label key (letters, digits, '-', '_', '.', optionally after a 'prefix/')",
    ENV_NAME_PATTERN: "is not an environment variable name (letters, digits and _, not starting with a digit)",
    PREFIX_PATTERN: "is not an E.164 prefix (a '+' and the first digits, e.g. +1415)",
    CHANNEL_MESSAGE_TYPE_PATTERN: "is not a channel message type (lowercase, e.g. transactional, promotional)",
}


def suggest(word: str, choices: typing.Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class found at `loc` inside `root` (following Optional / list / dict annotations)."""
    current: Any = root
    for part in loc:
        current = _unwrap_model(current)
        if current is None:
            return None
        if isinstance(part, int):
            continue
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        if part not in fields:
            return None
        current = fields[part].annotation
    return _unwrap_model(current)


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found is not None:
                return found
    return None


def field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def translate(exc: ValidationError, root: type[BaseModel], doc: YamlDocument, path: str, address: str,
              prefix: tuple[str | int, ...] = ()) -> list[SpecError]:
    errors = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *(part for part in err["loc"] if isinstance(part, str | int)))
        errors.append(_one(err, loc, root, doc, path, address, len(prefix)))
    return errors


def _one(err: Any, loc: tuple[str | int, ...], root: type[BaseModel], doc: YamlDocument, path: str,
         address: str, skip: int) -> SpecError:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    as_key = bool(loc) and loc[-1] == "[key]"  # pydantic's marker for a bad mapping key
    if as_key:
        loc = loc[:-1]
    message = err["msg"]
    if kind == "extra_forbidden":
        as_key = True
        parent = _model_at(root, loc[skip:-1])
        hint = suggest(str(loc[-1]), field_names(parent)) if parent else ""
        message = f"unknown field {quoted(loc[-1])}{hint}"
    elif kind == "missing":
        message = f"required field '{loc[-1]}' is missing"
    elif kind == "value_error":
        message = str(ctx.get("error", message))
    elif kind == "literal_error":
        expected = re.findall(r"'([^']*)'|(True|False)", str(ctx.get("expected", "")))
        choices = [a or b for a, b in expected]
        shown = str(value).lower() if isinstance(value, bool) else quoted(value) if isinstance(value, str) else repr(value)
        if choices == ["True"]:
            message = f"must be true (got {shown})"
        elif value is not None and not isinstance(value, dict | list):
            message = f"{shown} is not one of {', '.join(choices)}{suggest(str(value), choices)}"
        else:
            message = f"expected one of {', '.join(choices)}"
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_HINTS:
        message = f"{quoted(value)} {PATTERN_HINTS[ctx['pattern']]}"
    elif kind == "string_type" and isinstance(value, int | Decimal) and not isinstance(value, bool):
        written = doc.scalar_text.get(loc, str(value))
        message = f"expected text, got the number {written}; quote it: \"{written}\""
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"expected a mapping (key: value), got {_describe(value)}"
    elif kind == "list_type":
        message = f"expected a list, got {_describe(value)}"
    line, column = doc.mark_of(loc, key=as_key)
    return SpecError(SourceLocation(path, line, column), address, format_field_path(loc), message)


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return f"the {'text' if isinstance(value, str) else 'value'} {value!r}"[:80]
