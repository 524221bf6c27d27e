"""Structured logs: one JSON object per line, secrets redacted from every rendered line.

Secrets (the Bird access key, webhook signing keys) are registered with the Redactor when they are
read; whatever a message, an exception or a library's log line contains, they are replaced before
the line is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"
# Credentials that may show up in a library's message even if never registered.
_PATTERNS = (re.compile(r"(AccessKey\s+)\S+", re.IGNORECASE), re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)"))
# Shorter values would redact ordinary words; such keys are refused by Bird anyway.
MIN_SECRET_LENGTH = 6


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED + (m.group(2) if m.lastindex == 2 else ""), text)
        return text


REDACT = Redactor()

# Attributes every LogRecord has; anything else passed in `extra` becomes a JSON field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName",
                                                                        "color_message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor = REDACT) -> None:
        super().__init__()
        self.redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or record.getMessage(),
        }
        if getattr(record, "event", None):
            out["message"] = record.getMessage()
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "event" and not key.startswith("_"):
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
        return self.redact(json.dumps(out, default=str, ensure_ascii=False))


def setup(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """JSON lines on stderr for senderctl and the libraries it runs (uvicorn, httpx)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # alembic reports its dialect each time a reconcile opens the state; httpx each request.
    for noisy in ("httpx", "httpcore", "uvicorn.access", "watchfiles", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


log = logging.getLogger("senderctl.daemon")


def event(name: str, message: str = "", level: int = logging.INFO, **fields: Any) -> None:
    """Log one event: `name` is stable (for queries), `message` is for people, fields are data."""
    log.log(level, message or name, extra={"event": name, **fields})
