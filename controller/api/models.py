"""The platform API's request and response bodies (pydantic). /openapi.json is generated from these
same models by FastAPI, so the document cannot drift from what the handlers accept and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from controller.api.page_tokens import PATTERN as PAGE_TOKEN_PATTERN

Owner = Literal["specs", "api"]
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
# No "@", control character or white space, spelt out: "\s" means different things to Python (which
# checks the body) and to ECMA-262 regexes (which OpenAPI clients generate and validate with).
NOT_IN_ADDRESS = r"[^@\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
EMAIL_PATTERN = f"^{NOT_IN_ADDRESS}{{1,200}}@{NOT_IN_ADDRESS}{{1,200}}$"
MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


NO_NUL_PATTERN = r"^[^\u0000]*$"


def text_without_nul(schema: dict[str, Any]) -> None:
    """The schema says what Body.no_nul enforces: a text field without a pattern of its own gets one."""
    for prop in schema.get("properties", {}).values():
        for branch in prop.get("anyOf", [prop]):
            if branch.get("type") == "string" and not {"pattern", "enum"} & set(branch):
                branch["pattern"] = NO_NUL_PATTERN


class Body(BaseModel):
    """Requests refuse unknown fields: a misspelt field is an error, never silently ignored. No text
    holds a NUL character (PostgreSQL cannot store one: it would be a database error, not the caller's)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=text_without_nul)

    @model_validator(mode="after")
    def no_nul(self) -> Body:
        for name, value in self.__dict__.items():
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"{name} holds a NUL character")
        return self


# --- errors ------------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: unauthorized, forbidden, not_found, conflict, invalid, ...")
    message: str = Field(description="What is wrong and what to do, for a human.")
    blockers: list[str] | None = Field(None, description="archive: what still uses the number.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- seed 000: organization-scoped numbers ----------------------------------------------------------


class PhoneNumberItem(BaseModel):
    number: str = Field(description="E.164", examples=["+14155550100"])
    workspace: str | None = Field(description="The Workspace's metadata.name the number is linked to.")
    workspaceUuid: str | None = Field(description="That workspace's birdWorkspaceId.")
    assignee: str | None = Field(description="The user the number is assigned to.")
    status: Literal["assigned", "available"]
    weeklyPrice: str = Field(pattern=MONEY_PATTERN, description="The organization's weekly price (decimal string).")
    monthlyPrice: str | None = Field(pattern=MONEY_PATTERN, description="Bird's monthly price, when known.")
    currency: str
    owner: Owner = Field(description="Who made the number: the specs, or this API.")
    providerPhoneUuid: str | None = Field(description="Bird's number id.")
    acquiredAt: datetime


class PhoneNumberList(BaseModel):
    results: list[PhoneNumberItem]
    nextPageToken: str | None = Field(pattern=PAGE_TOKEN_PATTERN,
                                      description="Pass as pageToken for the next page; null on the last page.")


class PurchaseRequest(Body):
    country: str = Field("US", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    type: Literal["local", "mobile", "toll-free"] = "local"
    prefix: str | None = Field(None, pattern=r"^\+[0-9]{1,10}$", examples=["+1415"])


class PurchaseResponse(PhoneNumberItem):
    purchaseId: int
    idempotencyKey: str | None
    channelId: str | None = Field(description="The SMS channel installed under the organization's 10DLC campaign.")
    connectorId: str | None
    campaignId: str | None
    channelError: str | None = Field(None, description="Why the channel could not be installed (the number is bought).")


class AssignRequest(Body):
    user: str = Field(pattern=EMAIL_PATTERN, max_length=320, examples=["alice@acme.example"])


class AssignmentResponse(BaseModel):
    number: str
    user: str | None
    previousUser: str | None = None
    assignedAt: datetime | None
    owner: Owner | None


class MyNumberResponse(BaseModel):
    user: str
    number: str
    workspace: str | None
    assignedAt: datetime
    owner: Owner


class ConfigResponse(BaseModel):
    enabled: bool
    limit: int
    used: int
    weeklyPrice: str = Field(pattern=MONEY_PATTERN)
    currency: str
    tenDlcActive: bool


# --- seed 002: workspace phone numbers --------------------------------------------------------------


class PhoneNumberResponse(BaseModel):
    id: int
    uuid: str
    workspaceUuid: str
    workspace: str
    number: str
    label: str | None
    providerPhoneUuid: str | None = Field(description="The linked provider phone (Bird's number id), if linked.")
    isArchived: bool
    owner: Owner
    createdAt: datetime
    archivedAt: datetime | None


class PhoneNumberResponseList(BaseModel):
    results: list[PhoneNumberResponse]
    nextPageToken: str | None = Field(pattern=PAGE_TOKEN_PATTERN)


class CreatePhoneNumberRequest(Body):
    """One of providerPhoneUuid and number names the number (the schema's anyOf says so too)."""

    @staticmethod
    def _schema(schema: dict[str, Any]) -> None:
        text_without_nul(schema)
        schema["anyOf"] = [{"required": ["providerPhoneUuid"], "properties": {"providerPhoneUuid": {"type": "string"}}},
                           {"required": ["number"], "properties": {"number": {"type": "string"}}}]

    model_config = ConfigDict(extra="forbid", json_schema_extra=_schema)

    providerPhoneUuid: str | None = Field(None, min_length=1, max_length=200,
                                          description="A provider phone of the organization.")
    number: str | None = Field(None, pattern=E164_PATTERN, description="Else: the number in the organization's pool.")
    label: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def names_a_number(self) -> CreatePhoneNumberRequest:
        if not self.providerPhoneUuid and not self.number:
            raise ValueError("give providerPhoneUuid, or number (E.164) of a number the organization holds")
        return self


class UpdatePhoneNumberRequest(Body):
    label: str | None = Field(None, max_length=200)


class LinkPhoneRequest(Body):
    providerPhoneUuid: str | None = Field(max_length=200, description="The provider phone to link; null unlinks.")


class LinkablePhone(BaseModel):
    providerPhoneUuid: str | None
    number: str
    workspace: str | None
    workspacePhoneId: int | None
    owner: Owner


class LinkablePhoneList(BaseModel):
    results: list[LinkablePhone]


class ArchiveBlockersResponse(BaseModel):
    phoneNumberId: int
    number: str
    archivable: bool
    blockers: list[str]
