"""Shared building blocks of the spec models: the base class, field types and the rule hook.

Field-level limits are pydantic constraints (so they also land in the JSON Schema). Rules that span
several fields (PUBLIC needs stockSymbol, ...) live in `rule_violations()`, which reports the exact field
to blame; the model validator enforces them for programmatic construction, while the loader asks for
them separately (context {"defer_rules": True}) so each lands on its own line and column.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, NamedTuple

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

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


class SpecModel(BaseModel):
    """Base of every spec model: unknown fields are errors; Bird's camelCase names are the attributes."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    def rule_violations(self) -> list[Violation]:
        """Rules spanning several fields of this model (nested models report their own)."""
        return []

    @model_validator(mode="after")
    def _enforce_rules(self, info: ValidationInfo) -> Any:
        if info.context and info.context.get("defer_rules"):
            return self
        violations = self.rule_violations()
        if violations:
            raise ValueError("; ".join(f"{'.'.join(map(str, v.field))}: {v.message}" for v in violations))
        return self


def collect_violations(model: BaseModel, prefix: FieldPath = ()) -> list[Violation]:
    """Every rule violation in `model` and the models nested in it, with paths from `prefix`."""
    found: list[Violation] = []
    if isinstance(model, SpecModel):
        found.extend(Violation((*prefix, *v.field), v.message) for v in model.rule_violations())
    for name, info in type(model).model_fields.items():
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


def check_uuid(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a UUID (expected like 11111111-1111-4111-8111-111111111111)") from None
    if not re.fullmatch(UUID_PATTERN, value):
        raise ValueError(f"'{value}' is not a UUID in the usual 8-4-4-4-12 form")
    return str(parsed)


def check_e164(value: str) -> str:
    if not re.fullmatch(E164_PATTERN, value):
        raise ValueError(f"'{value}' is not an E.164 number (a '+', the country code, then digits, "
                         "no spaces: +14155550100)")
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"'{value}' is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
        raise ValueError(f"'{value}' is not a valid number for its country ({region}); check the digits")
    return value


def check_email(value: str) -> str:
    if not re.fullmatch(EMAIL_PATTERN, value):
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


def check_region(value: str) -> str:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code with phone numbers (e.g. US, NL)")
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
