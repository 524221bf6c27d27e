"""Generated US phone numbers: valid E.164 (checked with phonenumbers), unique, reproducible by seed."""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers

from controller.emulator import policy


def is_valid_e164(number: str, region: str | None = None) -> bool:
    """True for a valid E.164 number (of ``region`` when given)."""
    if not isinstance(number, str) or not number.startswith("+") or not number[1:].isdigit():
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(parsed):
        return False
    return region is None or phonenumbers.region_code_for_number(parsed) == region.upper()


def generate_us_numbers(rng: random.Random, count: int, *, prefix: str | None = None,
                        taken: set[str]) -> Iterator[str]:
    """``count`` new valid US numbers (starting with ``prefix`` if given) not in ``taken``; adds them to it.

    Validity in the North American plan is decided by area code and exchange, so the check is cached per
    ``+1NPANXX`` and each new exchange is tested once.
    """
    exchange_ok: dict[str, bool] = {}
    made = 0
    attempts = 0
    while made < count:
        attempts += 1
        if attempts > count * 50 + 1000:
            raise ValueError(f"cannot generate {count} valid US numbers with prefix {prefix!r}")
        digits = prefix[2:] if prefix else rng.choice(policy.US_AREA_CODES)
        while len(digits) < 10:
            # Exchange and line digits: an exchange never starts with 0 or 1 in the NANP.
            digits += str(rng.randint(2, 9)) if len(digits) == 3 else str(rng.randint(0, 9))
        number = "+1" + digits
        if number in taken:
            continue
        exchange = number[:8]
        if exchange not in exchange_ok:
            exchange_ok[exchange] = is_valid_e164(number, "US") and digits[3:6] != "555"
        if not exchange_ok[exchange]:
            continue
        taken.add(number)
        made += 1
        yield number
