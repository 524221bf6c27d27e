"""Page tokens: the last id of a page, as unpadded URL-safe base64 of "id:<1 to 10 ASCII digits>".

PATTERN describes exactly those strings, so /openapi.json tells a client (and a test generator such
as schemathesis) what a well-formed token is: every string it matches decodes to a number. A token
that does not match is one this API never gave: 400 invalid_page_token, whatever it holds.
"""

from __future__ import annotations

import base64
import re

PREFIX = "id:"
# Ids are 32-bit integers on PostgreSQL: a larger one cannot exist, and must not reach a query.
MAX_ID = 2**31 - 1
MAX_DIGITS = len(str(MAX_ID))
DIGITS = "0123456789"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _one_of(chars: set[str]) -> str:
    return "[" + "".join(sorted(chars)) + "]"


def _pattern() -> str:
    """Base64 turns 3 bytes into 4 characters; "id:" is 3 bytes, so the digits start on a group of
    their own. Which characters each position of a group of digits can hold follows from encoding
    the digits themselves."""
    head = "(?:" + "|".join(sorted({b64(d + "00")[:2] for d in DIGITS})) + ")"  # the first digit's 6+2 bits
    third, fourth = _one_of({b64("0" + d + "0")[2] for d in DIGITS}), _one_of({b64("00" + d)[3] for d in DIGITS})
    one_left = "(?:" + "|".join(sorted({b64(d) for d in DIGITS})) + ")"
    full, two_left = head + third + fourth, head + third
    # 1-9 digits: up to two full groups then a full, one-digit or two-digit group; 10: three full + one.
    # Empty: the first page, as if no token were given.
    return f"^(?:{b64(PREFIX)}(?:(?:{full}){{0,2}}(?:{full}|{two_left}|{one_left})|(?:{full}){{3}}{one_left}))?$"


PATTERN = _pattern()
WELL_FORMED = re.compile(PATTERN)
MAX_CHARS = len(b64(PREFIX + "9" * MAX_DIGITS))


class InvalidPageToken(ValueError):
    pass


def encode(last_id: int) -> str:
    return b64(f"{PREFIX}{last_id}")


def decode(token: str | None) -> int:
    """The id after which the page starts (0: the first page). A well-formed token past every id
    gives an empty page; anything else was never given by this API."""
    if not token:
        return 0
    if not WELL_FORMED.fullmatch(token):  # fullmatch: "$" alone would let a trailing newline through
        raise InvalidPageToken(f"pageToken {token[:80]!r} is not a token this API gave: pass nextPageToken as it came")
    digits = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().removeprefix(PREFIX)
    return min(int(digits), MAX_ID)  # nothing comes after the largest id: an empty page
