"""Findings and the catalogue of rules: each code with its severity, the rejection it heads off, and the
source that states the rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from specs.errors import SourceLocation, quoted
from specs.models import SpecDocument
from specs.translate import suggest

Severity = Literal["error", "warning"]
IGNORE_ANNOTATION = "senderctl.io/ignore-compliance"

# Sources, cited where the rules that follow them live.
BIRD_CAMPAIGN = ("https://docs.bird.com/applications/channels/channels/supported-channels/sms/concepts/"
                 "sms-10dlc/campaign-registration")
BIRD_CAMPAIGN_HOWTO = ("https://docs.bird.com/applications/channels/channels/supported-channels/sms/concepts/"
                       "sms-registration/sms-10dlc/how-to-guides/register-a-10dlc-campaign-via-bird")
TCR_AUTH_PLUS = "The Campaign Registry, Authentication+ (brand 2FA for PUBLIC_PROFIT, since October 2024)"
BIRD_BRAND = ("https://docs.bird.com/api/numbers-api/api-reference/10dlc-compliance/brands-workspace/"
              "create-a-brand")
BIRD_THROUGHPUT = ("https://docs.bird.com/applications/channels/channels/supported-channels/sms/concepts/"
                   "sms-registration/sms-10dlc/throughput-and-daily-caps")


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    heads_off: str  # the rejection (or trouble) the rule heads off
    source: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


CATALOGUE: dict[str, Rule] = _rules(
    Rule("SAMPLE_BRAND", "error", "TCR 'sample message must include brand name'", BIRD_CAMPAIGN_HOWTO),
    Rule("SAMPLE_OPTOUT", "error", "TCR 'subscriber opt-out: sample messages lack opt-out language'",
         BIRD_CAMPAIGN),
    Rule("EMBEDDED_LINK", "error", "TCR 'content attributes do not match sample messages' (embedded link)",
         BIRD_CAMPAIGN),
    Rule("EMBEDDED_PHONE", "error", "TCR 'content attributes do not match sample messages' (embedded phone)",
         BIRD_CAMPAIGN),
    Rule("PUBLIC_SHORTENER", "error", "TCR 'public URL shortener in sample message'", BIRD_CAMPAIGN),
    Rule("HELP_CONTACT", "error", "TCR 'subscriber help: HELP message lacks a support contact'", BIRD_CAMPAIGN),
    Rule("KEYWORD_MISMATCH", "error", "TCR 'opt-out / opt-in / help keywords and messages do not match'",
         BIRD_CAMPAIGN_HOWTO),
    Rule("FLAG_MISMATCH", "warning", "TCR 'campaign attributes do not match the content provided'", BIRD_CAMPAIGN),
    Rule("MESSAGE_FLOW_CONSENT", "error", "TCR 'call to action / message flow: how consent is collected is unclear'",
         BIRD_CAMPAIGN),
    Rule("BRAND_FREE_MAIL", "warning", "TCR 'brand e-mail on a public e-mail domain'", BIRD_CAMPAIGN),
    Rule("AUTHPLUS_CONTACT", "error", "a PUBLIC_PROFIT brand falling to UNVERIFIED: Authentication+ has no "
         "business contact to send its e-mail to", TCR_AUTH_PLUS),
    Rule("AUTHPLUS_FREE_MAIL", "error", "Authentication+ refusing a free-mail business contact", TCR_AUTH_PLUS),
    Rule("SHARED_EIN", "warning", "T-Mobile's daily cap shared by every brand under one tax id", BIRD_THROUGHPUT),
    Rule("SUB_USECASE_COUNT", "error", "Bird refusing the campaign: sub use cases outside its rules (MIXED and "
         "LOW_VOLUME 2 to 5, CHARITY up to 5, other use cases none)", BIRD_CAMPAIGN),
    Rule("PUBLIC_STOCK", "error", "Bird refusing the brand: a PUBLIC_PROFIT brand without stockSymbol and "
         "stockExchange", BIRD_BRAND),
)


@dataclass(frozen=True, order=True)
class Finding:
    """One compliance finding, rendered `PATH:LINE:COLUMN: Kind/name: field: severity CODE: message (...)`."""

    location: SourceLocation
    address: str
    field: str
    code: str
    message: str
    fix: str

    @property
    def rule(self) -> Rule:
        return CATALOGUE[self.code]

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def heads_off(self) -> str:
        return self.rule.heads_off

    def short(self) -> str:
        """The finding without its location (a plan's refusal names the address already)."""
        return f"{self.code} at {self.location}: {self.message}; fix: {self.fix}"

    def __str__(self) -> str:
        return (f"{self.location}: {self.address}: {self.field}: {self.severity} {self.code}: {self.message} "
                f"(heads off {self.heads_off}); fix: {self.fix}")

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "severity": self.severity, "path": self.location.path,
                "line": self.location.line, "column": self.location.column, "address": self.address,
                "field": self.field, "message": self.message, "headsOff": self.heads_off, "fix": self.fix,
                "source": self.rule.source}


def ignored_codes(doc: SpecDocument) -> frozenset[str]:
    notes = doc.metadata.annotations or {}
    raw = notes.get(IGNORE_ANNOTATION) or ""
    return frozenset(part.strip().upper() for part in raw.split(",") if part.strip())


def annotation_problems(value: str) -> str | None:
    """Why an ignore-compliance annotation is wrong (unknown codes), or None."""
    parts = [part.strip() for part in value.split(",")]
    if not value.strip() or any(not p for p in parts):
        return f"{quoted(value)} is not a comma-separated list of compliance codes (e.g. \"SAMPLE_BRAND,FLAG_MISMATCH\")"
    unknown = [p for p in parts if p.upper() not in CATALOGUE]
    if unknown:
        hint = suggest(unknown[0].upper(), list(CATALOGUE))
        return f"unknown compliance code {quoted(unknown[0])}{hint}; codes: {', '.join(CATALOGUE)}"
    return None
