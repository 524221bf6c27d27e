"""Test-only crash points: SIGKILL this process at a named boundary of the journal or the state store.

The reliability tests (tests/proof/) kill `senderctl apply` and the daemon at every moment where
dying could leave Bird and the state disagreeing: right after Bird accepted a write and before its
outcome is committed, and right after each state transaction commits. A point is named
``bird-write:<action>:<Kind>`` or ``commit:<store function>:<Kind>`` (``<Kind>`` is the kind of the
change being applied, empty outside a change).

    SENDERCTL_CRASH_AT=commit:finish:Brand       # die the first time that point is reached
    SENDERCTL_CRASH_AT=bird-write:create:PhoneNumber:2   # ... the second time
    SENDERCTL_CRASH_LIST=/tmp/points.txt         # append every point reached, one per line (no crash)

Both variables are read once, at import. When neither is set, ``ARMED`` is False and every point is a
single attribute test: normal runs are unaffected.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CRASH_ENV = "SENDERCTL_CRASH_AT"
LIST_ENV = "SENDERCTL_CRASH_LIST"


def _parse(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, last = value.rpartition(":")
    if name and last.isdigit():
        return name, max(1, int(last))
    return value, 1


TARGET = _parse(os.environ.get(CRASH_ENV))
LISTING = os.environ.get(LIST_ENV) or None
ARMED = TARGET is not None or LISTING is not None

_reached: Counter[str] = Counter()
# The kind of the change being applied, so "commit:finish" of a Brand and of a PhoneNumber differ.
_kind: ContextVar[str] = ContextVar("senderctl_crash_kind", default="")


@contextmanager
def applying(kind: str) -> Iterator[None]:
    """Name the points reached inside this block after `kind` (a no-op when not armed)."""
    if not ARMED:
        yield
        return
    token = _kind.set(kind)
    try:
        yield
    finally:
        _kind.reset(token)


def point(*parts: str) -> None:
    """A crash point; its name is the parts and the current kind, joined by ':'."""
    if not ARMED:
        return
    name = ":".join((*parts, _kind.get()))
    _reached[name] += 1
    if LISTING:
        with open(LISTING, "a", encoding="utf-8") as out:
            out.write(name + "\n")
    if TARGET is not None and (name, _reached[name]) == TARGET:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def caller_name(depth: int) -> str:
    """The name of the function `depth` frames up (only called when armed)."""
    return sys._getframe(depth + 1).f_code.co_name
