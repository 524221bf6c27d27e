"""Brand: a 10DLC brand registered with the campaign registry (Bird `tcr-brands`), with optional vetting.

Field names, limits and enums are Bird's ("Create a brand at workspace level", TCR enums).
"""

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from specs.errors import quoted
from specs.models.common import E164, ISO2_PATTERN, Email, SpecModel, Violation, WorkspaceRef, rule
from specs.tcr import VERTICAL_NAMES

EntityType = Literal["PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT"]
StockExchange = Literal[
    "NONE", "NASDAQ", "NYSE", "AMEX", "AMX", "ASX", "B3", "BME", "BSE", "FRA", "ICEX", "JPX", "JSE", "KRX",
    "LON", "NSE", "OMX", "SEHK", "SGX", "SSE", "STO", "SWX", "SZSE", "TSX", "TWSE", "VSE", "OTHER",
]
AltBusinessIdType = Literal["NONE", "DUNS", "LEI", "GIIN"]
Iso2 = Annotated[str, Field(pattern=ISO2_PATTERN, min_length=2, max_length=2)]


class Vetting(SpecModel):
    """External vetting of the brand (Bird `tcr-brands/{id}/vettings`): higher throughput."""

    class_: Literal["STANDARD"] = Field(alias="class", description="Vetting classification.")
    vettingProviderId: Literal["AEGIS"] | None = Field(None, description="External vetting provider.")


class BrandSpec(SpecModel):
    """Bird's brand fields (create a brand at workspace level), plus the workspace and optional vetting."""

    # The conditional rules editors can check too (validate checks them all, with better messages).
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"entityType": {"const": "PUBLIC_PROFIT"}}, "required": ["entityType"]},
         "then": {"required": ["stockSymbol", "stockExchange"]}},
        {"if": {"required": ["altBusinessId"]}, "then": {"required": ["altBusinessIdType"]}},
        {"if": {"properties": {"country": {"const": "US"}}, "required": ["country"]},
         "then": {"properties": {"postalCode": {"pattern": "^[0-9]{5}$"}, "state": {"pattern": "^[A-Z]{2}$"}}}},
    ]})

    workspace: WorkspaceRef
    entityType: EntityType = Field(description="Legal entity type; cannot change once the brand is approved.")
    firstName: str | None = Field(None, max_length=100, description="First or given name.")
    lastName: str | None = Field(None, max_length=100, description="Last or surname.")
    displayName: str = Field(min_length=1, max_length=255, description="Display or marketing name of the brand.")
    companyName: str = Field(min_length=1, max_length=255,
                             description="Legal company name, as registered with the EIN / tax id.")
    ein: str = Field(min_length=1, max_length=21, description="Government tax id; 9 digits in the US.")
    einIssuingCountry: Iso2 = Field(description="ISO 3166-1 alpha-2 country that issued the EIN / tax id.")
    phone: E164 = Field(description="Brand phone number, E.164.")
    street: str = Field(min_length=1, max_length=100, description="Street number and name.")
    city: str = Field(min_length=1, max_length=100, description="City name.")
    state: str = Field(min_length=1, max_length=20, description="State; a 2-letter code for US states.")
    postalCode: str = Field(min_length=1, max_length=10, description="Postal code; 5 digits in the US.")
    country: Iso2 = Field(description="ISO 3166-1 alpha-2 country code.")
    email: Email = Field(max_length=100, description="E-mail address of the brand support contact.")
    stockSymbol: str | None = Field(None, max_length=10, description="Stock symbol; required for PUBLIC_PROFIT.")
    stockExchange: StockExchange | None = Field(None, description="Stock exchange; required for PUBLIC_PROFIT.")
    website: str = Field(min_length=1, max_length=100, description="Brand website URL.")
    vertical: str | None = Field(None, max_length=50, json_schema_extra={"enum": [*sorted(VERTICAL_NAMES), None]},
                                 description="Industry segment: one of the campaign registry's verticals "
                                             "(Bird GET /numbers-tcr/verticals; a bundled copy is checked).")
    altBusinessId: str | None = Field(None, max_length=50, description="Alternate business identifier.")
    altBusinessIdType: AltBusinessIdType | None = Field(
        None, description="Type of altBusinessId; required when altBusinessId is set.")
    businessContactEmail: Email | None = Field(None, description="Business contact e-mail.")
    vetting: Vetting | None = Field(None, description="Request external vetting once the brand exists.")

    @rule("altBusinessId", "altBusinessIdType")
    def _alt_id_needs_type(self) -> list[Violation]:
        if self.altBusinessId and self.altBusinessIdType in (None, "NONE"):
            return [Violation(("altBusinessId",), "altBusinessId needs altBusinessIdType (DUNS, LEI or GIIN)")]
        return []

    @rule("country", "postalCode")
    def _us_postal_code(self) -> list[Violation]:
        if self.country == "US" and not re.fullmatch(r"[0-9]{5}", self.postalCode):
            return [Violation(("postalCode",), f"{quoted(self.postalCode)} is not a 5-digit US zip code")]
        return []

    @rule("country", "state")
    def _us_state(self) -> list[Violation]:
        if self.country == "US" and not re.fullmatch(r"[A-Z]{2}", self.state):
            return [Violation(("state",), f"{quoted(self.state)} is not a 2-letter US state code (e.g. NY)")]
        return []

    @rule("einIssuingCountry", "ein")
    def _us_ein(self) -> list[Violation]:
        if self.einIssuingCountry == "US" and not re.fullmatch(r"[0-9]{9}|[0-9]{2}-[0-9]{7}", self.ein):
            return [Violation(("ein",), "a US EIN has 9 digits (123456789 or 12-3456789)")]
        return []

    @rule("vertical")
    def _known_vertical(self) -> list[Violation]:
        if self.vertical is None or self.vertical in VERTICAL_NAMES:
            return []
        close = sorted(n for n in VERTICAL_NAMES if n[:3] == self.vertical.upper()[:3])
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return [Violation(("vertical",), f"{quoted(self.vertical)} is not one of the campaign registry's verticals"
                          f"{hint}: use one of {', '.join(sorted(VERTICAL_NAMES))}")]

    @rule("website")
    def _website_is_a_url(self) -> list[Violation]:
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", self.website):
            return [Violation(("website",), f"{quoted(self.website)} is not a web address (https://example.com)")]
        return []
