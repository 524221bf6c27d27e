"""Generated US phone numbers: valid E.164 (checked with phonenumbers), unique, reproducible by seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import cache

import phonenumbers

from controller.emulator import policy

# Exchanges drawn per area code. 50 exchanges x 10,000 lines is far more than any world needs, and a
# small pool keeps the phonenumbers validation (the slow part) to a few hundred calls per process.
EXCHANGES_PER_AREA_CODE = 50


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


def _usable_exchange(exchange: str) -> bool:
    # NANP exchanges start with 2-9; N11 codes are service codes and 555 is reserved for fiction.
    return exchange[0] not in "01" and exchange[1:] != "11" and exchange != "555"


@cache
def _exchange_pool(area_code: str, exchange_start: str) -> tuple[str, ...]:
    """A fixed, seed-independent set of exchanges of ``area_code`` starting with ``exchange_start``."""
    candidates = [e for e in (f"{n:03d}" for n in range(200, 1000))
                  if e.startswith(exchange_start) and _usable_exchange(e)]
    random.Random(f"{area_code}{exchange_start}").shuffle(candidates)
    return tuple(candidates[:EXCHANGES_PER_AREA_CODE])


@cache
def _valid_exchange(number: str) -> bool:
    """Validity is decided by area code and exchange in the NANP: one check per ``+1NPANXX``."""
    return is_valid_e164(number, "US")


def generate_us_numbers(rng: random.Random, count: int, *, prefix: str | None = None,
                        taken: set[str]) -> Iterator[str]:
    """``count`` new valid US numbers (starting with ``prefix`` if given) not in ``taken``; adds them to it."""
    fixed = prefix[2:] if prefix else ""
    made = attempts = 0
    while made < count:
        attempts += 1
        if attempts > count * 50 + 1000:
            raise ValueError(f"cannot generate {count} valid US numbers with prefix {prefix!r}")
        area_code = fixed[:3] if len(fixed) >= 3 else fixed + "".join(
            str(rng.randrange(10)) for _ in range(3 - len(fixed)))
        if not fixed:
            area_code = rng.choice(policy.US_AREA_CODES)
        pool = _exchange_pool(area_code, fixed[3:6])
        exchange = rng.choice(pool) if pool else fixed[3:6]
        line = fixed[6:] + f"{rng.randrange(10 ** (4 - len(fixed[6:]))):0{4 - len(fixed[6:])}d}"
        number = f"+1{area_code}{exchange}{line}"
        if number in taken or not _valid_exchange(number[:8] + "4821"):
            continue
        taken.add(number)
        made += 1
        yield number
