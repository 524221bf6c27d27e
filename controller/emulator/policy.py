"""Every choice the emulator makes where Bird's public docs are silent, in one place.

Bird documents paths, bodies, limits and the first status of each object; it does not document the
statuses that follow, the fees it charges, the exact error bodies, or how long reviews take. The values
below are our reading of Bird's product pages and TCR's published fees. Change them here only; the rest
of the emulator (and its tests) read them from this module.
"""

from __future__ import annotations

from decimal import Decimal

from controller.resources import fees

# --------------------------------------------------------------------------------------------- clock
# Review and acknowledgement delays on the emulator's clock (CONTRACT.md "The Bird emulator").
BRAND_REVIEW_SECONDS = 3600            # brand PENDING -> APPROVED
VETTING_REVIEW_SECONDS = 3600          # vetting PENDING -> ACTIVE
CAMPAIGN_REVIEW_SECONDS = 7 * 24 * 3600  # campaign PENDING -> APPROVED ("1-2 weeks" on Bird)
CARRIER_ACK_SECONDS = 15 * 60          # number<->campaign link acknowledged by the carriers
# The admin clock/advance takes at most this many seconds per call (ours, not Bird's: Bird has no
# clock to move). Ten years covers every lifecycle and retry schedule many times over, and keeps the
# clock inside what RFC 3339 timestamps (year <= 9999) can say, so the emulator stays usable.
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600

# -------------------------------------------------------------------------------------------- statuses
# Brand: Bird documents PENDING as the create answer; APPROVED/REJECTED follow TCR's vocabulary.
BRAND_PENDING = "PENDING"
BRAND_APPROVED = "APPROVED"
BRAND_REJECTED = "REJECTED"
BRAND_NOT_UPDATABLE_STATUSES = ("FAILED",)  # Bird "Update a brand": "cannot be updated if the status is failed"
# Vetting: PENDING -> ACTIVE (TCR's "vetting active"); a refused vetting is REJECTED.
VETTING_PENDING = "PENDING"
VETTING_ACTIVE = "ACTIVE"
VETTING_REJECTED = "FAILED"  # Bird: "reasons: a list of reasons for FAILED vetting"
VETTING_SCORE = "75"                  # the score an accepted STANDARD vetting reports
# Campaign: Bird's enum is DRAFT, FAILED, PENDING, REJECTED, APPROVED, DECLINED, SUSPENDED, DELETED,
# EXPIRED. A campaign created through the API is submitted at once, so it starts PENDING.
CAMPAIGN_PENDING = "PENDING"
CAMPAIGN_APPROVED = "APPROVED"
CAMPAIGN_REJECTED = "REJECTED"
CAMPAIGN_DECLINED = "DECLINED"
# Bird "Update a campaign": "A campaign can only be updated when the status is APPROVED, DECLINED or
# REJECTED". (Bird's Events page says only DECLINED campaigns may be resubmitted; the API reference's
# update page, which we follow, allows DECLINED and REJECTED.)
CAMPAIGN_UPDATABLE_STATUSES = (CAMPAIGN_APPROVED, CAMPAIGN_DECLINED, CAMPAIGN_REJECTED)
# Which campaigns count as "active" for Bird's "a brand can be deleted if it doesn't have any active
# campaigns": Bird does not define the word; we count every campaign under review or approved.
CAMPAIGN_ACTIVE_STATUSES = (CAMPAIGN_PENDING, CAMPAIGN_APPROVED)
# The decide admin call accepts APPROVED/REJECTED for every kind; for a vetting APPROVED means ACTIVE.
DECISIONS = {
    "brand": {"APPROVED": BRAND_APPROVED, "REJECTED": BRAND_REJECTED},
    "vetting": {"APPROVED": VETTING_ACTIVE, "ACTIVE": VETTING_ACTIVE, "REJECTED": VETTING_REJECTED,
                "FAILED": VETTING_REJECTED},
    "campaign": {"APPROVED": CAMPAIGN_APPROVED, "REJECTED": CAMPAIGN_REJECTED},
}
# A rejection with no code given by the decide call gets this one (TCR style code + description).
DEFAULT_REJECTION = {"code": "REJECTED", "description": "Rejected by the campaign registry"}

# Authentication+ (TCR, for PUBLIC_PROFIT brands; controller/emulator/domains/authplus.py). Bird documents
# the brand's businessContactEmail and businessContactEmailVerifiedDate; the status and the date the e-mail
# went out are TCR's, under names of ours. The link is valid 7 days (TCR), then the identity is UNVERIFIED.
AUTH_PLUS_STATUS_FIELD = "authPlusStatus"
AUTH_PLUS_SENT_FIELD = "authPlusEmailSentDate"
AUTH_PLUS_PENDING = "PENDING"
AUTH_PLUS_VERIFIED = "VERIFIED"
AUTH_PLUS_EXPIRED = "EXPIRED"
AUTH_PLUS_LINK_SECONDS = 7 * 24 * 3600
AUTH_PLUS_EXPIRED_CODE = "AUTH_PLUS_EXPIRED"
AUTH_PLUS_EXPIRED_DESCRIPTION = ("Authentication+ verification was not completed: the e-mail link to the business "
                                 "contact expired after 7 days; the brand identity is UNVERIFIED. Update the brand "
                                 "(or its businessContactEmail) to send a new e-mail")

# Owned numbers: Bird's Number.status; a cancelled subscription keeps the number until the end of the
# month already paid, then the number leaves the workspace.
NUMBER_ACTIVE = "active"
NUMBER_INACTIVE = "inactive"
SUBSCRIPTION_ACTIVE = "active"
SUBSCRIPTION_CANCELED = "canceled"
NUMBER_BILLING_PERIOD_SECONDS = 30 * 24 * 3600
# Bird "Manage Endpoint Subscriptions": a long code number's subscription is named "main". We report a
# cancelled one (still paid until its end) as "inactive", Bird's only other documented status.
LONG_CODE_SUBSCRIPTION = "main"
# Endpoint compliance requirements (see INVENTED): the types Bird's pages list, the status values used.
COMPLIANCE_TYPES = ("kyc-form", "use-case", "tfn-verification", "ten-dlc", "sms-originator")
COMPLIANCE_SATISFIED = "satisfied"
COMPLIANCE_UNSATISFIED = "unsatisfied"

# Channels: "pending" until the carriers acknowledge the number<->campaign link, then "active" (the
# seed's ready channel). The connector carries no status of its own (Bird's connector examples show
# none; an earlier emulator invented "active").
CHANNEL_PENDING = "pending"
CHANNEL_ACTIVE = "active"
SMS_TEMPLATE_REF = "sms-messagebird:1"
SMS_PLATFORM = "sms-messagebird"
# Where readiness is reported: on the channel, as seed 001 documents it ("A channel ready to send SMS
# will have "status": "active"") with the "useCaseStatus" check object (name, displayName, assertions,
# status). The connector names its channel ("channel": {"channelId", "platform"}) and carries neither
# a status nor the check (both were inventions of an earlier emulator).
USE_CASE_STATUS_FIELD = "useCaseStatus"

# Webhook subscriptions: Bird's two statuses.
SUBSCRIPTION_STATUSES = ("active", "inactive")
# Which Bird service emits each event the emulator can send.
EVENT_SERVICES = {
    "10dlc.brand": "numbers",
    "10dlc.campaign": "numbers",
    "10dlc.vetting": "numbers",
    "channel.updated": "channels",
    "channel.created": "channels",
    "sms.inbound": "channels",
    "sms.outbound": "channels",
}
# Bird "Create a webhook subscription": the service enum (Notifications_WebhookService).
WEBHOOK_SERVICES = ("channels", "numbers", "payments", "conversations", "templates")
# Bird "Webhook subscriptions": the numbers service supports no filters (a subscription with any is a 422);
# "up to five subscriptions for the same filter combination" (the sixth is a 422). A combination is read as
# one workspace's service, event and set of filters: Bird's example varies only the URL.
UNFILTERED_SERVICES = ("numbers",)
MAX_MATCHING_SUBSCRIPTIONS = 5
# A subscription's statusReason ("a human-readable explanation for the current status"): Bird gives no
# wording; these are the emulator's.
STATUS_REASONS = {"active": "The webhook subscription is active.",
                  "inactive": "The webhook subscription was deactivated by an update."}
# Filter keys listed by "List available webhook events".
EVENT_FILTER_KEYS = {
    "channel.updated": ("channelId", "platformId", "channelStatus"),
    "channel.created": ("channelId", "platformId", "channelStatus"),
    "sms.inbound": ("channelId",),
    "sms.outbound": ("channelId", "messageStatus"),
}
# Bird retries a delivery without a 2xx "at increasing intervals over a period of 8 hours" and names no
# intervals: ours (emulator clock, seconds) double from one minute and add up to 8 hours.
# Each retry keeps the event's request id (Bird does not say; a receiver can only dedupe if it does).
WEBHOOK_RETRY_INTERVALS = (60, 120, 240, 480, 960, 1920, 3840, 7680, 13500)
# Bird "Webhook subscription logs": 10 a page by default, at most 100; the page names the executionStatus
# filter without listing its values: "succeeded" is in its example, "failed" in the guide's.
WEBHOOK_LOGS_DEFAULT_PAGE = 10
WEBHOOK_LOGS_MAX_PAGE = 100
WEBHOOK_EXECUTION_STATUSES = ("succeeded", "retrying", "failed")
WEBHOOK_TIMEOUT_SECONDS = 2.0         # per delivery; deliveries happen before the admin call answers
WEBHOOK_MAX_BODY_LOG = 2000

# ---------------------------------------------------------------------------------------------- money
CURRENCY = "USD"
MONEY_EXPONENT = -6                   # Bird's Money examples use micro-units (3500000, -6 = 3.50)
NUMBER_MONTHLY_PRICE = Decimal("1.15")  # US local number, per month, charged at purchase
# 10DLC fees: one source of truth, Bird's published table in controller/resources/fees.py (docs.bird.com
# "Additional costs for using 10DLC"), so the plan's costs are what the emulator charges.
BRAND_REGISTRATION_FEE = fees.BRAND_REGISTRATION   # brand registration, charged on submission
BRAND_RESUBMISSION_FEE = fees.BRAND_RESUBMISSION   # updating a rejected brand resubmits it
# Bird's update page warns of "a campaign resubmission fee" without an amount: we charge the compliance
# review again, only when a DECLINED/REJECTED campaign is resubmitted (editing an APPROVED one is free).
CAMPAIGN_RESUBMISSION_FEE = fees.CAMPAIGN_RESUBMISSION
VETTING_FEE = fees.BRAND_VETTING                   # optional secondary vetting ($40)
CAMPAIGN_VETTING_FEE = fees.CAMPAIGN_REGISTRATION  # Bird's compliance review of a use case ($15)
CAMPAIGN_MONTHLY_FEE = fees.CAMPAIGN_MONTHLY       # standard use case, per month
CAMPAIGN_MINIMUM_MONTHS = fees.CAMPAIGN_MINIMUM_MONTHS  # Bird: "a three month minimum commitment fee"
DEFAULT_WALLET = Decimal("1000.00")

# ----------------------------------------------------------------------------------------- validation
# Bird's BrandEntityType enum (docs "Update a brand").
BRAND_ENTITY_TYPES = ("PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT")
def tcr_verticals() -> list[dict[str, str]]:
    """Bird's ``GET /numbers-tcr/verticals`` (name, industryId, displayName, description): the campaign
    registry's verticals, the same list `senderctl validate` bundles (specs/tcr.py)."""
    from specs.tcr import VERTICALS

    return [{"name": name, "industryId": name.lower(), "displayName": display, "description": display}
            for name, display in VERTICALS if name not in WITHDRAWN_VERTICALS]


def tcr_vertical_names() -> frozenset[str]:
    return frozenset(v["name"] for v in tcr_verticals())


# Verticals Bird no longer lists (empty: a test withdraws one to show `plan` follows Bird's list).
WITHDRAWN_VERTICALS: set[str] = set()
STOCK_EXCHANGES = ("NONE", "NASDAQ", "NYSE", "AMEX", "AMX", "ASX", "B3", "BME", "BSE", "FRA", "ICEX", "JPX",
                   "JSE", "KRX", "LON", "NSE", "OMX", "SEHK", "SGX", "SSE", "STO", "SWX", "SZSE", "TSX",
                   "TWSE", "VSE", "OTHER")
ALT_BUSINESS_ID_TYPES = ("NONE", "DUNS", "GIIN", "LEI")
VETTING_CLASSES = ("STANDARD", "POLITICAL", "ENHANCED")
MIXED_USECASES = ("MIXED", "LOW_VOLUME")
# Bird, "Campaign registration": the sub use case field is "only displayed if you select: Mixed, Low Volume,
# Charity. You can select up to 5 sub uses cases."
SUB_USECASE_USECASES = (*MIXED_USECASES, "CHARITY")
MAX_SUB_USECASES = 5
MAX_NUMBERS_PER_PURCHASE = 25         # Bird documents 25 for numbers-long-code; we apply it to both buys
# "Search Available Numbers": the features filter names a number's capabilities ("sms-outbound" in Bird's
# example); the emulator's numbers have these three, each inbound and outbound.
NUMBER_FEATURES = ("sms", "mms", "voice")

# ----------------------------------------------------------------------------------------- pagination
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 99                        # Bird's numbers and 10DLC lists ("maximum is 99")
MAX_WEBHOOK_SUBSCRIPTIONS_PAGE_SIZE = 100  # "List webhook subscriptions": maximum 100
MAX_CHANNELS_PAGE_SIZE = 1000             # "Get workspace channels": maximum 1000
MAX_PAGE_TOKEN = 8000

# ---------------------------------------------------------------------------------------------- errors
# Bird's api.bird.com error bodies: {"code", "message"} plus, for a 422, "details" mapping each field
# to its problems. The codes are ours; clients must branch on the status and the named fields.
CODE_UNAUTHORIZED = "Unauthorized"
CODE_NOT_FOUND = "NotFound"
CODE_INVALID = "InvalidPayload"
CODE_CONFLICT = "Conflict"
CODE_INSUFFICIENT_BALANCE = "InsufficientBalance"   # 422: Bird reports "not enough balance" as a 4xx
CODE_NOT_IN_STOCK = "NumberNotAvailable"            # 422: the number left the stock
CODE_RATE_LIMITED = "TooManyRequests"
CODE_FAULT = "InjectedFault"
CODE_INVALID_JSON = "InvalidJSON"                   # 400: the body is not JSON at all
# Deleting a brand with active campaigns, or a campaign with active channels, is refused (Bird documents
# the rule, not the status): 409. Bird answers a delete with the deleted object (200); the inactive
# campaigns and the vettings of a deleted brand leave with it.
BRAND_DELETE_WITH_CAMPAIGNS_STATUS = 409
CAMPAIGN_DELETE_WITH_CHANNELS_STATUS = 409
# Bird "10DLC Events": vetting outcomes are "10dlc.vetting" events (service numbers).
VETTING_EVENT = "10dlc.vetting"
# Bird documents per-workspace limits of 50 GET and 500 POST requests per second (Channels API "Rate
# Limit"). The emulator enforces limits only when a world file sets ``rateLimits`` (tests stay fast and
# the client has its own limiter); a request over the limit gets 429 with Retry-After, unprocessed.
BIRD_DOCUMENTED_RATE_LIMITS = {"GET": 50.0, "POST": 500.0}
RATE_LIMIT_RETRY_AFTER = 1            # seconds, the Retry-After of an injected rate limit by default
# What Bird's rate-limit page leaves open (RequestLimits.check_rate in controller/emulator/faults.py):
# - "N per second" is a sliding window: a request is refused when the same scope and method already had N
#   in the last second, counted when each arrived (after the forward half of the emulated latency);
# - PATCH, PUT and DELETE count in POST's window unless the world file names them (Bird names only GET and
#   POST), as senderctl's client counts them;
RATE_LIMIT_WRITES_COUNT_AS = "POST"
# - routes without a workspace (/organizations/{id}/numbers-stock-items) are limited per organization;
# - Retry-After is RATE_LIMIT_RETRY_AFTER.
# Bird's distance (world file ``latency``, controller/emulator/latency.py). Bird documents no latency; the
# world file chooses it. What the emulator decides: a delay is uniform in mean +- jitter (clipped at 0),
# drawn from an RNG seeded with the emulator's seed; half of it passes before the request is handled and
# half before the answer leaves, so a rate limit counts a request when it arrives and a write is applied
# before its client hears of it, as with a real distant server.
LATENCY_SHARE_BEFORE_HANDLING = 0.5
TIMEOUT_FAULT_SECONDS = 30.0          # an injected timeout holds the request this long, then 504

# ------------------------------------------------------------------------------------ generated numbers
# Real US area codes, so generated numbers pass phonenumbers' validation.
US_AREA_CODES = ("212", "213", "202", "206", "303", "305", "312", "404", "415", "503", "512", "602",
                 "617", "646", "702", "713", "718", "720", "646", "801", "858", "917", "925", "949")

# List workspaces (accounts API): a world file may give a workspace `name`; without one the emulator
# answers "Workspace <first 8 characters of the id>" (Bird requires a name; the docs give no default).
WORKSPACE_DEFAULT_NAME = "Workspace {short_id}"

# ------------------------------------------------------------------------------ invented, and why
# Every behaviour the emulator still has that Bird's pages do not document, with the reason it stays.
# (What Bird documents is cited next to its route in controller/bird/routes.py; the values above are the
# choices Bird's pages leave open.)
INVENTED: tuple[tuple[str, str], ...] = (
    ("review delays and outcomes (BRAND_REVIEW_SECONDS ...; approve unless /_emulator/decide says otherwise)",
     "Bird documents the reviews as asynchronous without durations; tests need a clock they control"),
    ("useCaseStatus placed on the channel object",
     "seed 001 shows the useCaseStatus check and says to query it until ok without naming its parent object; "
     "the channel's status 'active' is Bird's documented readiness signal and is what the reconciler reads"),
    ("error codes (CODE_*) and 409 for deletes Bird refuses",
     "Bird documents the refusal rules, not the error bodies; clients branch on the status and named fields"),
    ("fees charged to a workspace wallet (charges in /_emulator/state)",
     "Bird publishes the fees on its pricing pages; the API quotes none"),
    ("campaign resubmission fee = the $15 registration review; the emulator charges nothing for editing an "
     "APPROVED campaign and keeps it APPROVED (senderctl's plan still counts the fee and says the campaign may "
     "re-enter review); a DECLINED or REJECTED campaign is resubmitted in place unless a fault says otherwise",
     "Bird's update page is headed 'you may be charged a campaign resubmission fee' without an amount or when "
     "it applies, and lets DECLINED or REJECTED campaigns be resubmitted; the registration guide says rejected "
     "campaigns need a new registration"),
    ("PATCH accepts a frozen field whose value is unchanged (a full body re-sent by a client)",
     "Bird's pages say which fields cannot change, not whether restating them is an error"),
    ("'active' campaigns for brand delete = PENDING or APPROVED; a deleted brand takes its inactive "
     "campaigns and vettings with it", "Bird says 'no active campaigns' without defining active"),
    ("no 10dlc event for a transition the API call itself makes (create -> PENDING, resubmission -> PENDING)",
     "Bird's Events page describes review outcomes; the caller already holds the answer"),
    ("a filter combination (at most five subscriptions) is one workspace's service, event and set of filters; "
     "statusReason wording (STATUS_REASONS); both limits answered 422",
     "Bird states the limit and the field without defining the combination, the wording or the error"),
    ("retry intervals (WEBHOOK_RETRY_INTERVALS) and one request id and timestamp across retries",
     "Bird documents 'increasing intervals over a period of 8 hours' only; public integrations observe the "
     "original messagebird-request-timestamp on retries"),
    ("webhook log executionStatus 'retrying' beside 'succeeded' and 'failed'",
     "the logs page names the filter without its values; an operator must tell a delivery Bird still "
     "retries from one it gave up on"),
    ("channel.created sent right after the connector call answers, with the channel as its payload",
     "seed 001 shows the event's body; Bird documents connector creation as asynchronous without a delay"),
    ("sms.inbound sender.contact.id: one contact id per sender number",
     "Bird's contacts are its own; the receiving-messages page shows one id per sender"),
    ("POST /numbers-buy by number and /numbers-available",
     "taken from seed 001 and the WhatsApp ISV page rather than the Numbers API reference"),
    ("cancel-subscription still served (archiving a number calls it)",
     "Bird deprecates it for Manage Endpoint Subscriptions but documents only that API's GET and activate "
     "routes, so there is no documented cancel to move to; archive must end what Bird charges, so senderctl "
     "calls the documented, deprecated route"),
    ("tcrBrandId 'B' + six characters (authPlusStatus: see Authentication+ below); a vetting decided against is FAILED with reasons (REJECTED and FAILED "
     "both decide it so)", "the brand pages list tcrBrandId without its format; "
     "the vetting page names FAILED and reasons"),
    ("verticals served from the list validate bundles (specs/tcr.py): name, industryId (the name in lower "
     "case), displayName, description", "the TCR enums page documents the route and the fields, not the list"),
    ("endpoint compliance requirements: a US local number has one, 'ten-dlc', satisfied once its SMS channel is "
     "active (carriers acknowledged its campaign link); a toll-free number has 'tfn-verification', never "
     "satisfied (no verification flow is emulated); the status of one not satisfied is 'unsatisfied' with an "
     "issue and a message (COMPLIANCE_*)",
     "the pages list the requirement types and show 'satisfied', 'issues' and 'message' without the other "
     "status values or which requirements a number gets"),
    ("rate limits only when a world file sets rateLimits", "tests stay fast; the client limits itself"),
    ("Authentication+: authPlusStatus (PENDING, VERIFIED, EXPIRED) and authPlusEmailSentDate on PUBLIC_PROFIT "
     "brands with a businessContactEmail; expiry as a rejection with code AUTH_PLUS_EXPIRED; a new e-mail when the "
     "contact or entity type changes; POST /_emulator/authplus/verify for the person who clicks",
     "Bird documents businessContactEmail and businessContactEmailVerifiedDate only; TCR documents the 7-day link "
     "and the UNVERIFIED outcome, not the fields Bird passes them through"),
    ("an organization's stock generated from the world file (real US area codes)",
     "Bird's inventory is Bird's; tests need reproducible numbers"),
)


# The admin request log (GET /_emulator/requests) counts writes by the `Senderctl-Holder` header a fenced
# senderctl daemon sends with each Bird write (its replica and lease epoch), and lists every write in
# arrival order with ?writes=1. Bird ignores the header; the log is how tests count the writes a replica
# made after its lease epoch moved on.
HOLDER_HEADER = "Senderctl-Holder"
