"""What the doctor looks for in a campaign's texts: links, phone numbers, contacts, keywords, consent.

Pure string functions; the patterns are deliberately plain so a finding can be explained in one line.
"""

from __future__ import annotations

import re

# A link: a scheme, www., or a bare domain that is not the end of an e-mail address.
_URL = re.compile(r"https?://[^\s]+|\bwww\.[^\s]+|(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:com|org|net|io|co|us|info|biz|"
                  r"app|ly|gl|me|at|cc|gd|gy|example)\b(?:/[^\s]*)?", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
# A North American number (10 digits, separators allowed) or any E.164 number.
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)|\+\d{8,15}\b")

# Public URL shorteners carriers refuse (Bird, "Campaign registration": "public URL shorteners (bitly,
# tinyurl, ...)" are not accepted); a branded short domain is fine.
PUBLIC_SHORTENERS = (
    "bit.ly", "bitly.com", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
    "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "bl.ink", "shorte.st", "v.gd", "s.id", "lnkd.in", "adf.ly",
)
_SHORTENER = re.compile(r"(?<![\w.-])(?:https?://)?(?:www\.)?(" + "|".join(re.escape(d) for d in PUBLIC_SHORTENERS)
                        + r")(?:/|\b)", re.IGNORECASE)

_OPTOUT_WORDS = re.compile(r"\b(?:stop|opt[- ]?out|unsubscribe)\b", re.IGNORECASE)

# "Reply STOP to opt out", "HELP for help", "Text START to rejoin": an upper-case keyword, then what it does.
_KEYWORD_USE = re.compile(
    r"\b([A-Z][A-Z0-9]{1,19})\b[\"'”’]?\s+(?i:(?:to\s+)?(?P<optout>opt[- ]?out|unsubscribe|cancel|stop|end|quit|leave)"
    r"|(?:to\s+)?(?P<optin>opt[- ]?(?:back[- ]?)?in|subscribe|resubscribe|re-?join|join|start|opt back in)"
    r"|(?:for\s+|to\s+get\s+)(?P<help>help|info|information|assistance|support|more\s+info))\b")

# How consent is collected (the verb) and where (the means): messageFlow needs both.
_CONSENT = re.compile(r"\b(?:opt(?:s|ed)?[- ]?in|consent|agree|check(?:s|ed)?\s+(?:a|the)\s+box|tick|sign(?:s|ed)?\s*up|"
                      r"subscribe|enrol+|register|request|provide(?:s|d)?\s+(?:their|a|the)\s+(?:mobile\s+)?"
                      r"(?:phone\s+)?number|text(?:s|ed)?\s+(?:the\s+)?(?:keyword|[A-Z]{2,}))", re.IGNORECASE)
_MEANS = re.compile(r"https?://|www\.|\b(?:web\s*site|web\s*page|page|form|app|portal|checkout|account|settings|"
                    r"store|in[- ]person|point of sale|paper|verbal(?:ly)?|phone call|call|keyword|text|sms|"
                    r"e-?mail|agent|signup|sign-up|kiosk|qr)\b", re.IGNORECASE)

_LEGAL_SUFFIX = re.compile(r"[,.]?\s+(?:inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|company|plc|"
                           r"gmbh|bv|b\.v|sa|ag|lp|llp)\.?$", re.IGNORECASE)


def links(text: str) -> list[str]:
    without_emails = _EMAIL.sub(" ", text)
    return [m.group(0) for m in _URL.finditer(without_emails)]


def phones(text: str) -> list[str]:
    return [m.group(0) for m in _PHONE.finditer(text)]


def shorteners(text: str) -> list[str]:
    return [m.group(1).lower() for m in _SHORTENER.finditer(text)]


def has_contact(text: str) -> bool:
    """An e-mail address, a web address or a phone number: what a HELP reply must give."""
    return bool(_EMAIL.search(text) or links(text) or phones(text))


def has_optout_language(text: str, keywords: frozenset[str]) -> bool:
    if _OPTOUT_WORDS.search(text):
        return True
    upper = set(re.findall(r"\b[A-Z0-9]{2,}\b", text))
    return bool(upper & keywords)


def keyword_uses(text: str) -> list[tuple[str, str]]:
    """(keyword, "optout" | "optin" | "help") for each keyword a text tells users to send."""
    found = []
    for match in _KEYWORD_USE.finditer(text):
        kind = next(k for k in ("optout", "optin", "help") if match.group(k))
        found.append((match.group(1), kind))
    return found


def says_how_consent_is_collected(text: str) -> bool:
    return bool(_CONSENT.search(text) and _MEANS.search(text))


def brand_names(display_name: str, company_name: str) -> list[str]:
    """The names a sample may call the brand by: its display name and its legal name without Inc./LLC."""
    names = {display_name.strip(), company_name.strip(), _LEGAL_SUFFIX.sub("", company_name.strip())}
    return sorted((n for n in names if n), key=len)


def names_brand(text: str, names: list[str]) -> bool:
    """The brand named in the words of the text (a name inside a link or an e-mail address does not count:
    the recipient reads the sender's name, not a URL path)."""
    lowered = _URL.sub(" ", _EMAIL.sub(" ", text)).lower()
    return any(re.search(r"(?<!\w)" + re.escape(name.lower()) + r"(?!\w)", lowered) for name in names)


def keyword_set(value: str | None, default: str) -> frozenset[str]:
    """The comma-separated keywords of a field, upper case; Bird's mandatory one when the field is unset."""
    if not value:
        return frozenset({default})
    return frozenset(k.strip().upper() for k in value.split(",") if k.strip())
