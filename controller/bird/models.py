"""Pydantic models of the Bird requests and responses senderctl uses.

Field names are Bird's (camelCase). Responses allow extra fields, because Bird adds fields without
notice and a new field must never break a reconcile; requests forbid them, so a typo in our code fails
here rather than as a 422 from Bird. Money is Bird's ``{currencyCode, amount, exponent}``; ``.decimal``
turns it into a ``Decimal`` without ever passing through a float. Signing keys are ``SecretStr`` so they
never show in a repr, a log line or a plan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr


class BirdResponse(BaseModel):
    """Base of every model read from Bird: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class BirdRequest(BaseModel):
    """Base of every body sent to Bird: unknown fields are a bug in the caller."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # A partial body (PATCH) sends only the fields the caller set; a full body sends every field that
    # has a value, defaults included (e.g. the connector template), and leaves out the ``None`` ones.
    partial: ClassVar[bool] = False

    def to_body(self) -> dict[str, Any]:
        """The JSON body for Bird: Bird's field names, absent optional fields left out, secrets revealed."""
        if self.partial:
            body = self.model_dump(by_alias=True, exclude_unset=True, mode="python")
        else:
            body = self.model_dump(by_alias=True, exclude_none=True, mode="python")
        return _reveal(body)


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _reveal(val) for key, val in value.items()}
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value


# ---------------------------------------------------------------------------------------------- money


class Price(BirdResponse):
    """Bird's Money: ``amount * 10**exponent`` in ``currencyCode`` (e.g. 3500000, -6 = 3.50)."""

    currencyCode: str
    amount: int
    exponent: int

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(self.exponent)

    def __str__(self) -> str:
        return f"{self.decimal} {self.currencyCode}"


# -------------------------------------------------------------------------------------------- numbers


class CapabilityDirection(BirdResponse):
    inbound: bool = False
    outbound: bool = False


class NumberCapabilities(BirdResponse):
    sms: CapabilityDirection | None = None
    mms: CapabilityDirection | None = None
    voice: CapabilityDirection | None = None


def _complete_money(value: Any) -> Any:
    """Bird's docs show prices with only ``currencyCode``; an incomplete price is "unknown" (None),
    never a price of zero that would make a number look free."""
    if isinstance(value, dict) and not {"amount", "exponent"} <= value.keys():
        return None
    return value


OptionalPrice = Annotated[Price | None, BeforeValidator(_complete_money)]


# Bird's numbers APIs spell the same things two ways (``number``/``numberString``,
# ``country``/``countryCode``, ``monthlyRecurringPrice``/``monthlyPrice``); these accept either.
_NUMBER = AliasChoices("number", "numberString")
_COUNTRY = AliasChoices("country", "countryCode")
_MONTHLY = AliasChoices("monthlyRecurringPrice", "monthlyPrice")


class StockItem(BirdResponse):
    """One entry of Bird's number stock (``GET /workspaces/{workspaceId}/numbers-stock-items``, or the
    organization's): ``id`` is what "Buy a Number" takes."""

    id: str
    numberString: str = Field(validation_alias=AliasChoices("numberString", "number"))
    countryCode: str | None = Field(default=None, validation_alias=AliasChoices("countryCode", "country"))
    type: str | None = None
    capabilities: NumberCapabilities | None = None
    monthlyPrice: OptionalPrice = Field(default=None, validation_alias=AliasChoices("monthlyPrice", "monthlyRecurringPrice"))
    backOrderRequired: bool | None = None


class NumberSubscription(BirdResponse):
    status: str | None = None
    subscribedAt: str | None = None
    updatedAt: str | None = None
    cancelledAt: str | None = None


class Number(BirdResponse):
    """A number the workspace owns (``GET /workspaces/{workspaceId}/numbers[/{numberId}]``)."""

    id: str
    number: str = Field(validation_alias=_NUMBER)
    country: str | None = Field(default=None, validation_alias=_COUNTRY)
    type: str | None = None
    status: str | None = None
    capabilities: NumberCapabilities | None = None
    monthlyRecurringPrice: OptionalPrice = Field(default=None, validation_alias=_MONTHLY)
    subscription: NumberSubscription | None = None
    workspaceId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class ComplianceRequirement(BirdResponse):
    """One of an endpoint's compliance requirements (Bird "List Workspace Endpoint Compliance Requirements");
    ``type`` is one of kyc-form, use-case, tfn-verification, ten-dlc, sms-originator."""

    name: str
    type: str | None = None
    status: str | None = None
    message: str | None = None
    issues: list[str] = Field(default_factory=list)

    @property
    def satisfied(self) -> bool:
        return str(self.status or "").lower() == "satisfied"


class BuyStockItemsRequest(BirdRequest):
    """``POST /workspaces/{workspaceId}/numbers-long-code``: up to 25 stock item ids per call."""

    numberStockItemIds: list[str] = Field(max_length=25)


# ------------------------------------------------------------------------------------------------ 10DLC


class Rejection(BirdResponse):
    code: str | None = None
    description: str | None = None

    def __str__(self) -> str:
        return f"{self.code or '?'}: {self.description or ''}".rstrip(": ")


class _BrandFields(BaseModel):
    """Bird's brand fields, shared by the create and update bodies (``PATCH`` sends only those set)."""

    entityType: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    displayName: str | None = None
    companyName: str | None = None
    ein: str | None = None
    einIssuingCountry: str | None = None
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    country: str | None = None
    email: str | None = None
    stockSymbol: str | None = None
    stockExchange: str | None = None
    website: str | None = None
    vertical: str | None = None
    altBusinessId: str | None = None
    altBusinessIdType: str | None = None
    businessContactEmail: str | None = None


class BrandCreate(BirdRequest):
    """``POST /workspaces/{workspaceId}/tcr-brands``. Bird enforces the length limits and answers 422."""

    entityType: str
    displayName: str
    companyName: str
    ein: str
    einIssuingCountry: str
    phone: str
    street: str
    city: str
    state: str
    postalCode: str
    country: str
    email: str
    website: str
    firstName: str | None = None
    lastName: str | None = None
    stockSymbol: str | None = None
    stockExchange: str | None = None
    vertical: str | None = None
    altBusinessId: str | None = None
    altBusinessIdType: str | None = None
    businessContactEmail: str | None = None


class BrandUpdate(BirdRequest, _BrandFields):
    """``PATCH /workspaces/{workspaceId}/tcr-brands/{brandId}``: only the fields set are sent."""

    partial: ClassVar[bool] = True


class Brand(BirdResponse, _BrandFields):
    id: str
    tcrBrandId: str | None = None  # the campaign registry's own id for the brand
    status: str | None = None
    authPlusStatus: str | None = None  # Auth+ (public companies' brand verification)
    rejection: Rejection | None = None
    organizationId: str | None = None
    workspaceIds: list[str] | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Vertical(BirdResponse):
    """One of the campaign registry's verticals (``GET /numbers-tcr/verticals``)."""

    name: str
    industryId: str | None = None
    displayName: str | None = None
    description: str | None = None


class VettingCreate(BirdRequest):
    """``POST /workspaces/{workspaceId}/tcr-brands/{brandId}/vettings``."""

    vetting_class: str = Field(alias="class")
    vettingProviderId: str | None = None


class Vetting(BirdResponse):
    id: str
    brandId: str | None = None
    status: str | None = None
    vetting_class: str | None = Field(default=None, alias="class")
    vettingProviderId: str | None = None
    score: str | int | None = None
    reasons: list[str] | None = None
    rejection: Rejection | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class CampaignCreate(BirdRequest):
    """``POST /workspaces/{workspaceId}/tcr-brands/{brandId}/campaigns`` (only on an approved brand)."""

    name: str
    usecase: str
    description: str
    samples: list[str]
    messageFlow: str
    helpMessage: str
    termsAndConditions: bool
    subUsecases: list[str] | None = None
    embeddedLink: bool | None = None
    embeddedPhone: bool | None = None
    numberPool: bool | None = None
    ageGated: bool | None = None
    directLending: bool | None = None
    subscriberOptin: bool | None = None
    subscriberOptout: bool | None = None
    subscriberHelp: bool | None = None
    attachmentUrls: list[str] | None = None
    helpKeywords: str | None = None
    optoutKeywords: str | None = None
    optinKeywords: str | None = None
    optinMessage: str | None = None
    optoutMessage: str | None = None
    resellerId: str | None = None


class CampaignUpdate(BirdRequest):
    """``PATCH …/tcr-brands/{brandId}/campaigns/{campaignId}`` (Bird "Update a campaign"): only the fields
    set are sent. APPROVED: description, samples, messageFlow, helpMessage and the opt-in/opt-out/help
    keywords and messages; DECLINED or REJECTED: any field (the campaign is resubmitted, for a fee)."""

    partial: ClassVar[bool] = True

    name: str | None = None
    usecase: str | None = None
    subUsecases: list[str] | None = None
    description: str | None = None
    embeddedLink: bool | None = None
    embeddedPhone: bool | None = None
    numberPool: bool | None = None
    ageGated: bool | None = None
    directLending: bool | None = None
    subscriberOptin: bool | None = None
    subscriberOptout: bool | None = None
    subscriberHelp: bool | None = None
    samples: list[str] | None = None
    messageFlow: str | None = None
    helpMessage: str | None = None
    helpKeywords: str | None = None
    optoutKeywords: str | None = None
    optinKeywords: str | None = None
    optinMessage: str | None = None
    optoutMessage: str | None = None
    termsAndConditions: bool | None = None
    resellerId: str | None = None


class Campaign(BirdResponse):
    id: str
    name: str | None = None
    status: str | None = None
    brandId: str | None = None
    usecase: str | None = None
    subUsecases: list[str] | None = None
    description: str | None = None
    messageFlow: str | None = None
    helpMessage: str | None = None
    samples: list[str] | None = None
    resellerId: str | None = None
    rejection: Rejection | None = None
    subscription: NumberSubscription | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Workspace(BirdResponse):
    """An organization's workspace (Accounts API, List workspaces)."""

    id: str
    organizationId: str | None = None
    name: str | None = None
    status: str | None = None


class Reseller(BirdResponse):
    id: str
    status: str | None = None
    organizationId: str | None = None
    companyName: str | None = None
    phone: str | None = None
    email: str | None = None


# --------------------------------------------------------------------------------------------- channels


class StatusAssertion(BirdResponse):
    name: str | None = None
    displayName: str | None = None
    description: str | None = None
    status: str | None = None
    message: str | None = None


class StatusCheck(BirdResponse):
    """A named readiness check, e.g. ``useCaseStatus`` with its brand/campaign/number-link assertions."""

    name: str | None = None
    displayName: str | None = None
    status: str | None = None
    assertions: list[StatusAssertion] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def find_check(checks: Any, name: str) -> StatusCheck | None:
    """The check called ``name`` in a list of checks, a ``{name: check}`` mapping, or a single check."""
    if isinstance(checks, StatusCheck):
        return checks if checks.name == name else None
    if isinstance(checks, dict):
        if checks.get("name") == name:
            return StatusCheck.model_validate(checks)
        if name in checks and isinstance(checks[name], dict):
            return StatusCheck.model_validate({"name": name, **checks[name]})
        for value in checks.values():
            found = find_check(value, name) if isinstance(value, dict | list) else None
            if found:
                return found
    if isinstance(checks, list):
        for item in checks:
            found = find_check(item, name)
            if found:
                return found
    return None


class SmsConnectorArguments(BirdRequest):
    """Arguments of the ``sms-messagebird:1`` connector template (seed 001 "Install a channel connector")."""

    phoneNumberId: str
    useCaseId: str
    channelMessageType: str


class ConnectorCreate(BirdRequest):
    """``POST /workspaces/{workspaceId}/connectors``."""

    name: str
    connectorTemplateRef: str = "sms-messagebird:1"
    arguments: SmsConnectorArguments | dict[str, Any]
    channelConversationalStatusEnabled: bool | None = None


class ConnectorChannel(BirdResponse):
    channelId: str | None = None
    platform: str | None = None
    status: str | None = None


class ConnectorNumber(BirdResponse):
    numberId: str | None = None
    phoneNumber: str | None = None


class Connector(BirdResponse):
    """A channel connector; ``channel.channelId`` is the id of the SMS channel it created."""

    id: str
    name: str | None = None
    workspaceId: str | None = None
    status: str | None = None
    connectorTemplateRef: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    channel: ConnectorChannel | None = None
    number: ConnectorNumber | None = None
    useCaseStatus: StatusCheck | None = None
    createdAt: str | None = None
    updatedAt: str | None = None

    @property
    def channel_id(self) -> str | None:
        return self.channel.channelId if self.channel else None

    @property
    def channel_status(self) -> str | None:
        return self.channel.status if self.channel else None

    @property
    def phone_number_id(self) -> str | None:
        return self.arguments.get("phoneNumberId")

    @property
    def use_case_id(self) -> str | None:
        return self.arguments.get("useCaseId")

    @property
    def channel_message_type(self) -> str | None:
        return self.arguments.get("channelMessageType")

    @property
    def use_case_status(self) -> StatusCheck | None:
        """Bird's ``useCaseStatus`` readiness check (``ok`` once carriers acknowledged the link)."""
        return self.useCaseStatus or find_check(self.model_extra or {}, "useCaseStatus")


class Channel(BirdResponse):
    """An installed channel (``GET /workspaces/{workspaceId}/channels/{channelId}``)."""

    id: str
    status: str | None = None
    platformId: str | None = None
    name: str | None = None
    connectorId: str | None = None
    identifier: str | None = None
    useCaseId: str | None = None
    useCaseType: str | None = None
    capabilities: dict[str, Any] | None = None
    useCaseStatus: StatusCheck | None = None
    createdAt: str | None = None
    updatedAt: str | None = None

    @property
    def use_case_status(self) -> StatusCheck | None:
        return self.useCaseStatus or find_check(self.model_extra or {}, "useCaseStatus")


# --------------------------------------------------------------------------------------------- webhooks


class EventFilter(BirdRequest):
    key: str
    value: str


class WebhookSubscriptionCreate(BirdRequest):
    """``POST /organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions``."""

    service: str
    event: str
    url: str
    signingKey: SecretStr
    eventFilters: list[EventFilter] = Field(default_factory=list)
    template: str | None = None


class WebhookSubscriptionUpdate(BirdRequest):
    """``PATCH .../webhook-subscriptions/{webhookSubscriptionId}``: only the fields set are sent."""

    partial: ClassVar[bool] = True

    url: str | None = None
    signingKey: SecretStr | None = None
    status: str | None = None
    eventFilters: list[EventFilter] | None = None
    template: str | None = None


class WebhookEventFilter(BirdResponse):
    key: str
    value: str | None = None


class WebhookLog(BirdResponse):
    """One delivery in a subscription's logs (docs.bird.com/api/notifications-api/api-reference/
    webhook-subscriptions/webhook-subscription-logs): Bird's request id, how many attempts, the last status."""

    requestId: str
    attemptCount: int = 0
    httpStatusCode: int | None = None
    executionStatus: str | None = None
    subscriptionId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class WebhookSubscription(BirdResponse):
    id: str
    service: str | None = None
    event: str | None = None
    url: str | None = None
    signingKey: SecretStr | None = None
    eventFilters: list[WebhookEventFilter] = Field(default_factory=list)
    status: str | None = None
    template: str | None = None
    organizationId: str | None = None
    workspaceId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Page(BirdResponse):
    """Bird's list envelope: ``results`` and, unless this is the last page, ``nextPageToken``."""

    results: list[dict[str, Any]] = Field(default_factory=list)
    nextPageToken: str | None = None
