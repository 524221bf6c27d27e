"""Campaign: a 10DLC campaign (use case) of a Brand (Bird `tcr-brands/{brandId}/campaigns`).

Field names and limits are Bird's ("Create campaign"); `reseller` is Bird's resellerId.
"""

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from specs.models.common import BrandRef, SpecModel, UUIDStr, Violation, rule

# The campaign registry's use cases (standard and special).
Usecase = Literal[
    "2FA", "ACCOUNT_NOTIFICATION", "CUSTOMER_CARE", "DELIVERY_NOTIFICATION", "FRAUD_ALERT", "HIGHER_EDUCATION",
    "LOW_VOLUME", "MARKETING", "MIXED", "POLLING_VOTING", "PUBLIC_SERVICE_ANNOUNCEMENT", "SECURITY_ALERT", "M2M",
    "AGENTS_FRANCHISES", "CARRIER_EXEMPT", "CHARITY", "EMERGENCY", "K12_EDUCATION", "POLITICAL", "PROXY",
    "SOCIAL", "SOLE_PROPRIETOR", "SWEEPSTAKE", "UCAAS_LOW", "UCAAS_HIGH", "PLATFORM_FREE_TRIAL",
]
# Bird, "Campaign registration" (sub use case): "only be displayed if you select: Mixed, Low Volume,
# Charity. You can select up to 5 sub uses cases." MIXED and LOW_VOLUME need at least 2 (Bird's campaign
# create refuses fewer); CHARITY may name none. The counts are the doctor's SUB_USECASE_COUNT
# (specs/compliance/campaign.py); the schema below lets editors check them too.
MIXED_USECASES = ("MIXED", "LOW_VOLUME")
SUB_USECASE_USECASES = (*MIXED_USECASES, "CHARITY")
MAX_SUB_USECASES = 5
# Sub use cases are standard use cases.
SubUsecase = Literal[
    "2FA", "ACCOUNT_NOTIFICATION", "CUSTOMER_CARE", "DELIVERY_NOTIFICATION", "FRAUD_ALERT", "HIGHER_EDUCATION",
    "MARKETING", "POLLING_VOTING", "PUBLIC_SERVICE_ANNOUNCEMENT", "SECURITY_ALERT",
]
Sample = Annotated[str, Field(min_length=20, max_length=1024)]
Keywords = Annotated[str, Field(min_length=1, max_length=255, description="Comma-separated keywords.")]
_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(com|org|net|io|co|us|example)\b", re.IGNORECASE)
_PHONE = re.compile(r"\+?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}|\+\d{8,15}")


class CampaignSpec(SpecModel):
    """Bird's campaign fields (create campaign), plus the brand and an optional reseller."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"usecase": {"enum": list(MIXED_USECASES)}}, "required": ["usecase"]},
         "then": {"required": ["subUsecases"], "properties": {"subUsecases": {"minItems": 2}}}},
        {"if": {"properties": {"usecase": {"not": {"enum": list(SUB_USECASE_USECASES)}}}, "required": ["usecase"]},
         "then": {"properties": {"subUsecases": {"maxItems": 0}}}},
    ]})

    brand: BrandRef
    reseller: UUIDStr | None = Field(None, description="Reseller UUID (Bird resellerId); must be ACTIVE.")
    name: str = Field(min_length=1, max_length=255, description="Campaign name.")
    usecase: Usecase = Field(description="The use case that best matches the purpose of the campaign.")
    subUsecases: list[SubUsecase] | None = Field(
        None, max_length=MAX_SUB_USECASES,
        description="For MIXED and LOW_VOLUME campaigns: 2 to 5 use cases; CHARITY: up to 5; others: none.")
    description: str = Field(min_length=40, max_length=4096, description="What the campaign is for.")
    embeddedLink: bool | None = Field(None, description="Messages contain links (give a sample with one).")
    embeddedPhone: bool | None = Field(None, description="Messages contain phone numbers (give a sample with one).")
    numberPool: bool | None = Field(None, description="The campaign will use more than 50 numbers.")
    ageGated: bool | None = Field(None, description="Age-gated content.")
    directLending: bool | None = Field(None, description="Direct lending or loan content.")
    subscriberOptin: bool | None = Field(None, description="Opt-in is collected and processed.")
    subscriberOptout: bool | None = Field(None, description="Opt-out is collected and processed.")
    subscriberHelp: bool | None = Field(None, description="HELP is answered with an info message.")
    samples: list[Sample] = Field(min_length=1, max_length=5, description="1 to 5 sample messages.")
    attachmentUrls: list[Annotated[str, Field(min_length=1, max_length=2048)]] | None = Field(
        None, max_length=5, description="Up to 5 attachments.")
    messageFlow: str = Field(min_length=40, max_length=2048, description="How customers opt in to the campaign.")
    helpMessage: str = Field(min_length=20, max_length=255,
                             description="Reply to HELP: service name, contact, opt-in and opt-out keywords.")
    helpKeywords: Keywords | None = Field(None, description="Comma-separated; must include HELP.")
    optoutKeywords: Keywords | None = Field(None, description="Comma-separated; must include STOP.")
    optinKeywords: Keywords | None = Field(None, description="Comma-separated; must include START.")
    optinMessage: str | None = Field(None, min_length=20, max_length=255, description="Reply after opt-in.")
    optoutMessage: str | None = Field(None, min_length=20, max_length=255, description="Reply after opt-out.")
    termsAndConditions: Literal[True] = Field(
        description="The campaign follows CTIA messaging principles; must be true.")

    @rule("subUsecases")
    def _sub_usecases_once(self) -> list[Violation]:
        subs = self.subUsecases or []
        return [Violation(("subUsecases",), "subUsecases must not repeat")] if len(set(subs)) != len(subs) else []

    @rule("embeddedLink", "embeddedPhone", "samples")
    def _samples_show_links_and_phones(self) -> list[Violation]:
        found: list[Violation] = []
        if self.embeddedLink and not any(_LINK.search(s) for s in self.samples):
            found.append(Violation(("samples",), "embeddedLink is true: give at least one sample with a link"))
        if self.embeddedPhone and not any(_PHONE.search(s) for s in self.samples):
            found.append(Violation(("samples",), "embeddedPhone is true: give at least one sample with a phone number"))
        return found

    @rule("helpKeywords", "optoutKeywords", "optinKeywords")
    def _keywords_include_the_basics(self) -> list[Violation]:
        found: list[Violation] = []
        for field, word in (("helpKeywords", "HELP"), ("optoutKeywords", "STOP"), ("optinKeywords", "START")):
            value = getattr(self, field)
            if value is not None and word not in {k.strip().upper() for k in value.split(",")}:
                found.append(Violation((field,), f"must include {word}"))
        return found
