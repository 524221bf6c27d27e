"""The doctor's brand rules: e-mail domains (TCR refuses public e-mail domains for a brand, and
Authentication+ refuses them for the business contact) and the Authentication+ contact of public companies.

Authentication+ (The Campaign Registry, since October 2024): a PUBLIC_PROFIT brand's businessContactEmail
receives a verification e-mail from TCR, valid 7 days; a brand whose contact does not complete it is
UNVERIFIED. The contact must be on the brand's own domain: free / personal domains are refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from specs.compliance.findings import Finding
from specs.errors import format_field_path, quoted
from specs.models import BrandDoc

# Public (free / personal) e-mail domains: TCR's "brand e-mail on a public domain" rejection and
# Authentication+'s refusal of consumer addresses. Bird's own brand example uses one of these.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "protonmail.com", "proton.me",
    "gmx.com", "gmx.net", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "qq.com", "163.com", "comcast.net",
    "verizon.net", "att.net", "sbcglobal.net", "hey.com", "fastmail.com", "tutanota.com",
})


def is_free_mail(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1].strip().lower()
    return domain in FREE_MAIL_DOMAINS or domain.startswith(("yahoo.", "hotmail.", "outlook.", "live."))


def brand_findings(doc: BrandDoc) -> Iterator[Finding]:
    def emit(field: str, code: str, message: str, fix: str) -> Finding:
        path = ("spec", field)
        return Finding(doc.locate(*path), doc.address, format_field_path(path), code, message, fix)

    spec = doc.spec
    if is_free_mail(spec.email):
        yield emit("email", "BRAND_FREE_MAIL", f"{quoted(spec.email)} is on a public e-mail domain",
                   "use an address on the brand's own domain (e.g. compliance@ the website's domain)")
    if spec.entityType != "PUBLIC_PROFIT":
        return
    missing = [name for name, value in (("stockSymbol", spec.stockSymbol), ("stockExchange", spec.stockExchange))
               if value in (None, "", "NONE")]
    if missing:
        yield emit("entityType", "PUBLIC_STOCK", f"a PUBLIC_PROFIT brand needs {' and '.join(missing)}: Bird's brand "
                   "create refuses a public company without its listing",
                   "add stockSymbol (the ticker, e.g. ACME) and stockExchange (e.g. NASDAQ or NYSE), or use "
                   "PRIVATE_PROFIT if the company is not listed")
    contact = spec.businessContactEmail
    if not contact:
        yield emit("entityType", "AUTHPLUS_CONTACT",
                   "a PUBLIC_PROFIT brand needs businessContactEmail: TCR sends it the Authentication+ e-mail, and "
                   "the brand is UNVERIFIED until it is answered (within 7 days)",
                   "add businessContactEmail: a person at the company's own domain (e.g. jane.doe@company.com)")
    elif is_free_mail(contact):
        yield emit("businessContactEmail", "AUTHPLUS_FREE_MAIL",
                   f"{quoted(contact)} is a free-mail address; Authentication+ accepts only an address on the "
                   "company's own domain",
                   "use the contact's company address (the domain of the brand's website)")


def shared_ein_findings(brands: list[BrandDoc]) -> Iterator[Finding]:
    """T-Mobile's daily cap is per tax id: brands sharing an EIN share one cap (Bird, "Throughput and
    daily caps"); TCR also flags many brands per EIN."""
    by_ein: dict[tuple[str, str], list[BrandDoc]] = defaultdict(list)
    for doc in sorted(brands, key=lambda d: d.source):
        by_ein[(doc.spec.einIssuingCountry, doc.spec.ein.replace("-", ""))].append(doc)
    for (_, ein), docs in sorted(by_ein.items()):
        if len(docs) < 2:
            continue
        for doc in docs:
            others = ", ".join(o.address for o in docs if o is not doc)
            path = ("spec", "ein")
            yield Finding(doc.locate(*path), doc.address, format_field_path(path), "SHARED_EIN",
                          f"EIN {ein} is also the tax id of {others}: T-Mobile counts their messages against one "
                          "daily cap", "register one brand per tax id, or plan the brands' volumes under one cap")
