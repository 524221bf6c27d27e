"""Shared building blocks of the spec models: the base class, field types and the rule hook.

Field-level limits are pydantic constraints (so they also land in the JSON Schema). Rules that span
several fields (PUBLIC needs stockSymbol, ...) live in `rule_violations()`, which reports the exact field
to blame; the model validator enforces them for programmatic construction, while the loader asks for
them separately (context {"defer_rules": True}) so each lands on its own line and column.
"""

from __future__ import annotations

import functools
import re
import types
import uuid
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)

from specs.errors import quoted

FieldPath = tuple[str | int, ...]

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ISO2_PATTERN = r"^[A-Z]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


class Violation(NamedTuple):
    """A broken cross-field rule: the field to blame (relative to the model) and what is wrong."""

    field: FieldPath
    message: str


RuleMethod = TypeVar("RuleMethod", bound=Callable[..., list[Violation]])


def rule(*fields: str) -> Callable[[RuleMethod], RuleMethod]:
    """Marks a method as a cross-field rule reading `fields` (skipped when one of them is invalid)."""

    def mark(method: RuleMethod) -> RuleMethod:
        method.__rule_fields__ = frozenset(fields)  # type: ignore[attr-defined]
        return method

    return mark


class SpecModel(BaseModel):
    """Base of every spec model: unknown fields are errors; Bird's camelCase names are the attributes."""

    # defer_build: a model's validator is built on first use, not at import, so a spec set (or a
    # command) pays only for the kinds it holds; importing the models with all 24 built was ~10 % of
    # `senderctl validate`'s CPU.
    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, defer_build=True)

    # Fields left out of a partially checked model (they have errors of their own); see partial_model.
    _unchecked: frozenset[str] = PrivateAttr(default=frozenset())

    def rule_violations(self) -> list[Violation]:
        """Every @rule of this model that breaks (nested models report their own)."""
        found: list[Violation] = []
        for method in _rules_of(type(self)):
            if method.__rule_fields__ & self._unchecked:  # type: ignore[attr-defined]
                continue
            try:
                found.extend(method(self))
            except AttributeError:
                if not self._unchecked:  # a complete model: a real bug, let it show
                    raise
        return found

    @model_validator(mode="after")
    def _enforce_rules(self, info: ValidationInfo) -> Any:
        if info.context and info.context.get("defer_rules"):
            return self
        violations = self.rule_violations()
        if violations:
            raise ValueError("; ".join(f"{'.'.join(map(str, v.field))}: {v.message}" for v in violations))
        return self


def no_items() -> list[Any]:
    """An empty list, as a default_factory. Not `list` itself: pydantic reads the signature of every
    factory, and for a builtin that compiles Python's tokenizer: a few ms of each start-up."""
    return []


@functools.cache
def _rules_of(cls: type[SpecModel]) -> tuple[Callable[..., list[Violation]], ...]:
    # The functions of the class and its bases (a subclass's name wins), not getattr over dir(cls): that
    # would touch the placeholder validator of a deferred model and build it for nothing.
    members: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        members.update(vars(klass))
    return tuple(member for _, member in sorted(members.items())
                 if isinstance(member, types.FunctionType) and hasattr(member, "__rule_fields__"))


def partial_model(cls: type[SpecModel], data: dict[str, Any], invalid: set[str]) -> SpecModel:
    """`cls` built from the fields of `data` that validate on their own, so that the rules not reading an
    `invalid` field can still be checked (and reported together with the field errors)."""
    values: dict[str, Any] = {}
    unchecked = set()
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if key in invalid or name in invalid:
            unchecked.add(name)
            continue
        if key not in data:
            continue
        try:
            values[name] = _field_adapter(cls, name).validate_python(data[key], context={"defer_rules": True})
        except ValueError:
            unchecked.add(name)
    model = cls.model_construct(**values)
    for name in unchecked:
        model.__dict__.pop(name, None)
    model._unchecked = frozenset(unchecked)
    return model


_ADAPTERS: dict[tuple[type, str], TypeAdapter[Any]] = {}


def _field_adapter(cls: type[SpecModel], name: str) -> TypeAdapter[Any]:
    key = (cls, name)
    if key not in _ADAPTERS:
        info = cls.model_fields[name]
        _ADAPTERS[key] = TypeAdapter(Annotated[info.annotation, info])
    return _ADAPTERS[key]


def collect_violations(model: BaseModel, prefix: FieldPath = ()) -> list[Violation]:
    """Every rule violation in `model` and the models nested in it, with paths from `prefix`."""
    found: list[Violation] = []
    if isinstance(model, SpecModel):
        found.extend(Violation((*prefix, *v.field), v.message) for v in model.rule_violations())
    for name, info in type(model).model_fields.items():
        if name not in model.__dict__:  # left out of a partial model
            continue
        value = getattr(model, name)
        key = info.alias or name
        if isinstance(value, BaseModel):
            found.extend(collect_violations(value, (*prefix, key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found.extend(collect_violations(item, (*prefix, key, index)))
    return found


# --- value checks (each raises ValueError with a message for humans) -----------------------------------
# phonenumbers is imported inside the checks that use it (here and in phone_number.py): its import
# compiles dozens of regular expressions, a cost that specs without a phone number need not pay.


def check_uuid(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{quoted(value)} is not a UUID (expected like 11111111-1111-4111-8111-111111111111)") from None
    if not re.fullmatch(UUID_PATTERN, value):
        raise ValueError(f"{quoted(value)} is not a UUID in the usual 8-4-4-4-12 form")
    return str(parsed)


def check_e164(value: str) -> str:
    if not re.fullmatch(E164_PATTERN, value):
        raise ValueError(f"{quoted(value)} is not an E.164 number (a '+', the country code, then digits, "
                         "no spaces: +14155550100)")
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{quoted(value)} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
        raise ValueError(f"{quoted(value)} is not a valid number for its country ({region}); check the digits")
    return value


def check_email(value: str) -> str:
    if not re.fullmatch(EMAIL_PATTERN, value):
        raise ValueError(f"{quoted(value)} is not an e-mail address")
    return value


def check_region(value: str) -> str:
    import phonenumbers

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{quoted(value)} is not an ISO 3166-1 alpha-2 country code with phone numbers (e.g. US, NL)")
    return value


# --- field types ------------------------------------------------------------------------------------------

Name = Annotated[
    str,
    Field(pattern=NAME_PATTERN, min_length=1, max_length=63,
          description="Name of this document: lowercase letters, digits and '-', at most 63 characters."),
]


def Ref(kind: str) -> Any:  # noqa: N802 - reads as a type in field declarations
    """A reference, by metadata.name, to a document of `kind`."""
    return Annotated[
        str,
        Field(pattern=NAME_PATTERN, min_length=1, max_length=63, description=f"metadata.name of a {kind}.",
              json_schema_extra={"x-senderctl-ref": kind}),
    ]


UUIDStr = Annotated[
    str,
    AfterValidator(check_uuid),
    Field(json_schema_extra={"format": "uuid", "pattern": UUID_PATTERN}),
]
E164 = Annotated[
    str,
    AfterValidator(check_e164),
    Field(max_length=20, json_schema_extra={"pattern": E164_PATTERN},
          description="Phone number in E.164 form, valid for its country, e.g. +14155550100."),
]
Email = Annotated[str, AfterValidator(check_email), Field(max_length=254, json_schema_extra={"format": "email"})]
UserRef = Annotated[
    str,
    AfterValidator(check_email),
    Field(max_length=254, json_schema_extra={"pattern": EMAIL_PATTERN},
          description="The user a number belongs to (their e-mail address)."),
]
Region = Annotated[str, AfterValidator(check_region), Field(pattern=ISO2_PATTERN)]

OrganizationRef = Ref("Organization")
WorkspaceRef = Ref("Workspace")
BrandRef = Ref("Brand")
CampaignRef = Ref("Campaign")
PhoneNumberRef = Ref("PhoneNumber")
