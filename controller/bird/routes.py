"""Every Bird route senderctl uses: one table shared by the client and the emulator.

Paths are Bird's templates exactly as docs.bird.com writes them, so the client, the emulator's router
and the emulator's request counters (``GET /_emulator/requests`` keys are ``"METHOD template"``) can
never disagree. The module-level constants (``routes.NUMBERS_LIST`` ...) are the path templates; the
``ROUTES`` table adds the method, a short name and the docs.bird.com page each route follows (every
route has one; ``controller.emulator.policy.INVENTED`` lists what the emulator does beyond those pages).
A few routes are served by the emulator for fidelity without the client calling them yet
(``available-webhooks``, ``campaign-delete``, ``endpoint-subscriptions-*``, ``endpoint-subscription-activate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DOCS = "https://docs.bird.com/api"

# ------------------------------------------------------------------------------------ path templates
WORKSPACES_LIST = "/organizations/{organizationId}/workspaces"
NUMBERS_AVAILABLE = "/workspaces/{workspaceId}/numbers-available"
NUMBERS_STOCK_ITEMS = "/organizations/{organizationId}/numbers-stock-items"
WORKSPACE_NUMBERS_STOCK_ITEMS = "/workspaces/{workspaceId}/numbers-stock-items"
NUMBERS_LIST = NUMBERS_BUY = "/workspaces/{workspaceId}/numbers"
NUMBERS_LONG_CODE_LIST = NUMBERS_LONG_CODE_BUY = "/workspaces/{workspaceId}/numbers-long-code"
NUMBER_GET = NUMBER_LONG_CODE_GET = "/workspaces/{workspaceId}/numbers-long-code/{longCodeNumberId}"
ENDPOINT_SUBSCRIPTIONS_LIST = "/workspaces/{workspaceId}/endpoints/{endpointId}/subscriptions"
ENDPOINT_SUBSCRIPTION_GET = ENDPOINT_SUBSCRIPTIONS_LIST + "/{subscriptionName}"
ENDPOINT_SUBSCRIPTION_ACTIVATE = ENDPOINT_SUBSCRIPTION_GET + "/activate"
ENDPOINT_COMPLIANCE_REQUIREMENTS = "/workspaces/{workspaceId}/endpoints/{endpointId}/compliance-requirements"
NUMBER_CANCEL = "/workspaces/{workspaceId}/numbers/{numberId}/cancel-subscription"
BRANDS_LIST = BRAND_CREATE = "/workspaces/{workspaceId}/tcr-brands"
BRAND_GET = BRAND_UPDATE = BRAND_DELETE = "/workspaces/{workspaceId}/tcr-brands/{brandId}"
VETTINGS_LIST = VETTING_CREATE = "/workspaces/{workspaceId}/tcr-brands/{brandId}/vettings"
CAMPAIGNS_LIST = CAMPAIGN_CREATE = "/workspaces/{workspaceId}/tcr-brands/{brandId}/campaigns"
CAMPAIGN_GET = CAMPAIGN_UPDATE = CAMPAIGN_DELETE = "/workspaces/{workspaceId}/tcr-brands/{brandId}/campaigns/{campaignId}"
RESELLERS_LIST = "/workspaces/{workspaceId}/tcr-resellers"
NUMBERS_TCR_VERTICALS = "/numbers-tcr/verticals"
CONNECTORS_LIST = CONNECTOR_CREATE = "/workspaces/{workspaceId}/connectors"
CONNECTOR_GET = CONNECTOR_DELETE = "/workspaces/{workspaceId}/connectors/{connectorId}"
CHANNELS_LIST = "/workspaces/{workspaceId}/channels"
CHANNEL_GET = "/workspaces/{workspaceId}/channels/{channelId}"
WEBHOOK_SUBSCRIPTIONS_LIST = WEBHOOK_SUBSCRIPTION_CREATE = (
    "/organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions")
AVAILABLE_WEBHOOKS = "/workspaces/{workspaceId}/available-webhooks"
WEBHOOK_SUBSCRIPTION_GET = WEBHOOK_SUBSCRIPTION_UPDATE = WEBHOOK_SUBSCRIPTION_DELETE = (
    WEBHOOK_SUBSCRIPTIONS_LIST + "/{webhookSubscriptionId}")
WEBHOOK_SUBSCRIPTION_LOGS = WEBHOOK_SUBSCRIPTION_GET + "/logs"
WEBHOOK_SUBSCRIPTION_LOG_DETAILS = WEBHOOK_SUBSCRIPTION_LOGS + "/details"
# The same subscriptions addressed by their workspace alone (Bird documents both forms).
WORKSPACE_WEBHOOK_SUBSCRIPTIONS = "/workspaces/{workspaceId}/webhook-subscriptions"
WORKSPACE_WEBHOOK_SUBSCRIPTION = WORKSPACE_WEBHOOK_SUBSCRIPTIONS + "/{webhookSubscriptionId}"

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One Bird endpoint: ``method`` + ``path`` template, a short ``name`` and its documentation page."""

    name: str
    method: str
    path: str
    doc: str
    paginated: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Each "{name}" becomes one path segment captured as "name"; everything else matches literally.
        parts = _PARAM.split(self.path)  # literal, name, literal, name, ..., literal
        regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def key(self) -> str:
        """``"GET /workspaces/{workspaceId}/numbers"``: how requests are counted and faults addressed."""
        return f"{self.method} {self.path}"

    def format(self, **params: str) -> str:
        """The concrete path for these path parameters."""
        return self.path.format(**params)


_NUM = f"{DOCS}/numbers-api/api-reference"
_TCR = f"{_NUM}/10dlc-compliance"
_CHN = f"{DOCS}/channels-api/api-reference"
_HOOK = f"{DOCS}/notifications-api/api-reference/webhook-subscriptions"
_SEED = f"{DOCS}/channels-api/supported-channels/programmable-sms/installing-an-sms-channel/us-10dlc-api-installation"

ROUTES: tuple[Route, ...] = (
    Route("workspaces-list", "GET", WORKSPACES_LIST,
          f"{DOCS}/accounts-api/api-reference/organizations/workspaces", paginated=True),
    Route("numbers-available", "GET", NUMBERS_AVAILABLE,
          f"{DOCS}/channels-api/supported-channels/programmable-whatsapp/whatsapp-isv-integration/"
          "setting-up-your-customer-workspaces/buying-a-number-through-bird", paginated=True),
    Route("numbers-stock-items", "GET", NUMBERS_STOCK_ITEMS, f"{_NUM}/search-available-numbers", paginated=True),
    # The same stock, searched from a workspace (the page's own example); what senderctl searches before it buys.
    Route("workspace-numbers-stock-items", "GET", WORKSPACE_NUMBERS_STOCK_ITEMS, f"{_NUM}/search-available-numbers",
          paginated=True),
    Route("numbers-list", "GET", NUMBERS_LIST, f"{_NUM}/list-your-numbers", paginated=True),
    Route("numbers-buy", "POST", NUMBERS_BUY, f"{_SEED} (Purchase a number)"),
    Route("numbers-long-code-buy", "POST", NUMBERS_LONG_CODE_BUY, f"{_NUM}/buy-a-number"),
    Route("numbers-long-code-list", "GET", NUMBERS_LONG_CODE_LIST, f"{_NUM}/long-code-numbers", paginated=True),
    Route("number-long-code-get", "GET", NUMBER_LONG_CODE_GET, f"{_NUM}/get-long-code-number-details"),
    Route("endpoint-subscriptions-list", "GET", ENDPOINT_SUBSCRIPTIONS_LIST, f"{_NUM}/manage-endpoint-subscriptions"),
    Route("endpoint-subscription-get", "GET", ENDPOINT_SUBSCRIPTION_GET, f"{_NUM}/manage-endpoint-subscriptions"),
    Route("endpoint-subscription-activate", "POST", ENDPOINT_SUBSCRIPTION_ACTIVATE,
          f"{_NUM}/manage-endpoint-subscriptions (Activate Workspace Endpoint Subscription)"),
    # Deprecated by Bird in favour of "Manage Endpoint Subscriptions" (numberId as endpointId, subscription
    # "main"); that page documents the GET routes and an activate route of an endpoint's subscriptions, not
    # how to cancel one, so senderctl cancels through this documented, deprecated route ("identical
    # behavior", says Bird) until Bird documents its successor. Archiving a number calls it.
    Route("number-cancel", "POST", NUMBER_CANCEL,
          f"{_NUM}/manage-endpoint-subscriptions/cancel-number-subscription (deprecated)"),
    # What an endpoint (a long code number: its number id) still needs before it may send: kyc-form, use-case,
    # tfn-verification, ten-dlc, sms-originator. Read by `senderctl status` for numbers that are not Ready.
    Route("endpoint-compliance-requirements-list", "GET", ENDPOINT_COMPLIANCE_REQUIREMENTS,
          f"{_NUM}/manage-endpoint-compliance-requirements/list-workspace-compliance-requirements", paginated=True),
    Route("brands-list", "GET", BRANDS_LIST, f"{_TCR}/brands-workspace/list-all-brands", paginated=True),
    Route("brand-create", "POST", BRAND_CREATE, f"{_TCR}/brands-workspace/create-a-brand"),
    Route("brand-get", "GET", BRAND_GET, f"{_TCR}/brands-workspace/get-a-brand"),
    Route("brand-update", "PATCH", BRAND_UPDATE, f"{_TCR}/brands-workspace/update-a-brand"),
    Route("brand-delete", "DELETE", BRAND_DELETE, f"{_TCR}/brands-workspace/delete-a-brand"),
    Route("vettings-list", "GET", VETTINGS_LIST, f"{_TCR}/brands-workspace/list-brand-vettings", paginated=True),
    Route("vetting-create", "POST", VETTING_CREATE, f"{_TCR}/brands-workspace/create-a-brand-vetting"),
    Route("campaigns-list", "GET", CAMPAIGNS_LIST, f"{_TCR}/campaigns/list-all-campaigns", paginated=True),
    Route("campaign-create", "POST", CAMPAIGN_CREATE, f"{_TCR}/campaigns/create-a-campaign"),
    Route("campaign-get", "GET", CAMPAIGN_GET, f"{_TCR}/campaigns/get-a-campaign"),
    Route("campaign-update", "PATCH", CAMPAIGN_UPDATE, f"{_TCR}/campaigns/update-a-campaign"),
    Route("campaign-delete", "DELETE", CAMPAIGN_DELETE, f"{_TCR}/campaigns/delete-a-campaign"),
    # Not paginated, not scoped to a workspace: the campaign registry's verticals a brand may name.
    Route("numbers-tcr-verticals", "GET", NUMBERS_TCR_VERTICALS, f"{_TCR}/tcr-enums"),
    Route("resellers-list", "GET", RESELLERS_LIST, f"{_TCR}/campaigns/optional-acting-as-reseller",
          paginated=True),
    Route("connectors-list", "GET", CONNECTORS_LIST, f"{_CHN}/channel-connectors", paginated=True),
    Route("connector-create", "POST", CONNECTOR_CREATE, f"{_CHN}/channel-connectors"),
    Route("connector-get", "GET", CONNECTOR_GET, f"{_CHN}/channel-connectors"),
    Route("connector-delete", "DELETE", CONNECTOR_DELETE, f"{_CHN}/channel-connectors"),
    Route("channels-list", "GET", CHANNELS_LIST, f"{_CHN}/channels-management", paginated=True),
    Route("channel-get", "GET", CHANNEL_GET, f"{_CHN}/channels-management"),
    Route("webhook-subscriptions-list", "GET", WEBHOOK_SUBSCRIPTIONS_LIST,
          f"{_HOOK}/list-webhook-subscriptions", paginated=True),
    Route("webhook-subscription-create", "POST", WEBHOOK_SUBSCRIPTION_CREATE,
          f"{_HOOK}/create-a-webhook-subscription"),
    Route("webhook-subscription-get", "GET", WEBHOOK_SUBSCRIPTION_GET, f"{_HOOK}/get-a-webhook-subscription"),
    Route("webhook-subscription-update", "PATCH", WEBHOOK_SUBSCRIPTION_UPDATE,
          f"{_HOOK}/update-a-webhook-subscription"),
    Route("webhook-subscription-delete", "DELETE", WEBHOOK_SUBSCRIPTION_DELETE,
          f"{_HOOK}/delete-a-webhook-subscription"),
    Route("available-webhooks", "GET", AVAILABLE_WEBHOOKS, f"{_HOOK}/list-available-webhook-events"),
    Route("webhook-subscription-logs", "GET", WEBHOOK_SUBSCRIPTION_LOGS, f"{_HOOK}/webhook-subscription-logs",
          paginated=True),
    Route("webhook-subscription-log-details", "GET", WEBHOOK_SUBSCRIPTION_LOG_DETAILS,
          f"{_HOOK}/webhook-subscription-logs"),
    Route("workspace-webhook-subscriptions-list", "GET", WORKSPACE_WEBHOOK_SUBSCRIPTIONS,
          f"{_HOOK}/list-webhook-subscriptions", paginated=True),
    Route("workspace-webhook-subscription-create", "POST", WORKSPACE_WEBHOOK_SUBSCRIPTIONS,
          f"{_HOOK}/create-a-webhook-subscription"),
    Route("workspace-webhook-subscription-get", "GET", WORKSPACE_WEBHOOK_SUBSCRIPTION,
          f"{_HOOK}/get-a-webhook-subscription"),
    Route("workspace-webhook-subscription-update", "PATCH", WORKSPACE_WEBHOOK_SUBSCRIPTION,
          f"{_HOOK}/update-a-webhook-subscription"),
    Route("workspace-webhook-subscription-delete", "DELETE", WORKSPACE_WEBHOOK_SUBSCRIPTION,
          f"{_HOOK}/delete-a-webhook-subscription"),
)

BY_NAME: dict[str, Route] = {route.name: route for route in ROUTES}
BY_KEY: dict[str, Route] = {route.key: route for route in ROUTES}


def route(name: str) -> Route:
    """The route called ``name``; KeyError names the known routes if it is not one."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown Bird route {name!r}; known: {', '.join(sorted(BY_NAME))}") from None


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route a concrete request belongs to, with its path parameters; None if senderctl never calls it."""
    method = method.upper()
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        found = candidate.pattern.match(path)
        if found:
            return candidate, found.groupdict()
    return None
