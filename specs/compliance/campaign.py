"""The doctor's campaign rules. Sources: Bird, "Campaign registration" (findings.BIRD_CAMPAIGN: content
attributes, mandatory opt-out and HELP handling, no public URL shorteners) and "Register a 10DLC campaign
via Bird" (findings.BIRD_CAMPAIGN_HOWTO: samples, 'STOP' and 'HELP' mandatory, opt-out message naming the
brand, keywords matching the compliance settings)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from specs.compliance import text
from specs.compliance.findings import Finding
from specs.errors import format_field_path, quoted
from specs.models import BrandDoc, CampaignDoc
from specs.models.campaign import MAX_SUB_USECASES, MIXED_USECASES, SUB_USECASE_USECASES, CampaignSpec

Emit = Callable[[tuple[str | int, ...], str, str, str], Finding]


def campaign_findings(doc: CampaignDoc, brand: BrandDoc | None) -> Iterator[Finding]:
    def emit(path: tuple[str | int, ...], code: str, message: str, fix: str) -> Finding:
        full = ("spec", *path)
        return Finding(doc.locate(*full), doc.address, format_field_path(full), code, message, fix)

    spec = doc.spec
    if brand is not None:
        yield from _samples_name_the_brand(spec, brand, emit)
    yield from _optout_language(spec, emit)
    yield from _embedded_content(spec, emit)
    yield from _shorteners(spec, emit)
    yield from _help_contact(spec, emit)
    yield from _keywords_agree(spec, emit)
    yield from _flags_agree(spec, emit)
    yield from _message_flow(spec, emit)
    yield from _sub_usecase_count(spec, emit)


def _texts(spec: CampaignSpec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every text a reviewer reads as message content, with its field path."""
    for index, sample in enumerate(spec.samples):
        yield ("samples", index), sample
    for field in ("helpMessage", "optinMessage", "optoutMessage"):
        value = getattr(spec, field)
        if value:
            yield (field,), value


def _samples_name_the_brand(spec: CampaignSpec, brand: BrandDoc, emit: Emit) -> Iterator[Finding]:
    names = text.brand_names(brand.spec.displayName, brand.spec.companyName)
    for index, sample in enumerate(spec.samples):
        if not text.names_brand(sample, names):
            yield emit(("samples", index), "SAMPLE_BRAND",
                       f"sample {index + 1} does not name the brand ({' or '.join(map(quoted, names))})",
                       f"start it with the brand, e.g. \"{brand.spec.displayName}: ...\"")


def _optout_language(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    if not spec.subscriberOptout:
        return
    keywords = text.keyword_set(spec.optoutKeywords, "STOP")
    if not any(text.has_optout_language(s, keywords) for s in spec.samples):
        yield emit(("samples",), "SAMPLE_OPTOUT",
                   "subscriberOptout is true but no sample tells the recipient how to opt out",
                   "end at least one sample with \"Reply STOP to opt out\"")


def _embedded_content(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    for index, sample in enumerate(spec.samples):
        found = text.links(sample)
        if found and not spec.embeddedLink:
            yield emit(("samples", index), "EMBEDDED_LINK",
                       f"sample {index + 1} has a link ({quoted(found[0], 40)}) but embeddedLink is "
                       f"{'false' if spec.embeddedLink is False else 'not set'}",
                       "set embeddedLink: true, or take the link out of the sample")
        numbers = text.phones(sample)
        if numbers and not spec.embeddedPhone:
            yield emit(("samples", index), "EMBEDDED_PHONE",
                       f"sample {index + 1} has a phone number ({quoted(numbers[0], 20)}) but embeddedPhone is "
                       f"{'false' if spec.embeddedPhone is False else 'not set'}",
                       "set embeddedPhone: true, or take the number out of the sample")


def _shorteners(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    fields = [*_texts(spec), (("messageFlow",), spec.messageFlow)]
    for path, value in fields:
        for domain in text.shorteners(value)[:1]:
            yield emit(path, "PUBLIC_SHORTENER", f"{domain} is a public URL shortener, which carriers refuse",
                       "use the full link or a short domain of the brand's own")


def _help_contact(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    if not text.has_contact(spec.helpMessage):
        yield emit(("helpMessage",), "HELP_CONTACT",
                   "the HELP reply gives no contact (no e-mail address, web address or phone number)",
                   "add one, e.g. \"... help at support@example.com or +1 202 555 0143\"")


_KEYWORD_FIELDS = {"optout": ("optoutKeywords", "STOP", "opt out"), "optin": ("optinKeywords", "START", "opt in"),
                   "help": ("helpKeywords", "HELP", "get help")}


def _keywords_agree(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    declared = {kind: text.keyword_set(getattr(spec, field), default)
                for kind, (field, default, _) in _KEYWORD_FIELDS.items()}
    for path, value in _texts(spec):
        for keyword, kind in text.keyword_uses(value):
            field, _, does = _KEYWORD_FIELDS[kind]
            if keyword in declared[kind]:
                continue
            where = f"{field} ({', '.join(sorted(declared[kind]))})" if getattr(spec, field) else \
                f"{field} (unset: {next(iter(declared[kind]))} only)"
            yield emit(path, "KEYWORD_MISMATCH",
                       f"{format_field_path(path)} tells users to send {keyword} to {does}, but {where} does not "
                       f"include {keyword}",
                       f"add {keyword} to {field}, or change the message to the declared keyword")


def _flags_agree(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    pairs = (("subscriberOptin", ("optinKeywords", "optinMessage")),
             ("subscriberOptout", ("optoutKeywords", "optoutMessage")),
             ("subscriberHelp", ("helpKeywords",)))
    for flag, fields in pairs:
        if getattr(spec, flag) is not False:
            continue
        for field in fields:
            if getattr(spec, field):
                yield emit((flag,), "FLAG_MISMATCH", f"{flag} is false but {field} is given",
                           f"set {flag}: true (the campaign does handle it), or drop {field}")


def _message_flow(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    if not text.says_how_consent_is_collected(spec.messageFlow):
        yield emit(("messageFlow",), "MESSAGE_FLOW_CONSENT",
                   "messageFlow does not say how consent is collected (what the user does, and where)",
                   "say it, e.g. \"Customers opt in on https://example.com/sms by ticking the SMS box and "
                   "entering their number; the page links the terms and privacy policy\"")


def _sub_usecase_count(spec: CampaignSpec, emit: Emit) -> Iterator[Finding]:
    """Bird, "Campaign registration": the sub use case field is only for Mixed, Low Volume and Charity,
    up to 5; MIXED and LOW_VOLUME need at least 2 (Bird's campaign create refuses fewer)."""
    subs = spec.subUsecases or []
    where = ("subUsecases",) if spec.subUsecases is not None else ("usecase",)
    if spec.usecase in MIXED_USECASES and not 2 <= len(subs) <= MAX_SUB_USECASES:
        yield emit(where, "SUB_USECASE_COUNT",
                   f"a {spec.usecase} campaign needs 2 to {MAX_SUB_USECASES} subUsecases (it has {len(subs)})",
                   "list the standard use cases its messages mix, e.g. subUsecases: [ACCOUNT_NOTIFICATION, "
                   "CUSTOMER_CARE]")
    elif spec.usecase not in SUB_USECASE_USECASES and subs:
        yield emit(where, "SUB_USECASE_COUNT",
                   f"a {spec.usecase} campaign takes no subUsecases (only {', '.join(SUB_USECASE_USECASES)} do)",
                   "remove subUsecases, or register the campaign as MIXED (or LOW_VOLUME) if it mixes use cases")
