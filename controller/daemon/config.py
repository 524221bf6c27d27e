"""The daemon's options, and the parsing of its flag values (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_RESYNC = "10m"
WEBHOOK_PATH = "/webhooks/bird"
DEFAULT_WEBHOOK_WORKERS = 2

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `30s`, `10m`, `1h` or `1h30m` (a bare number means seconds)."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    else:
        parts = _DURATION_PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 10m, 1h or 1h30m")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r}: the duration must be more than zero")
    return seconds


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 hosts in brackets: [::1]:8080)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT; write e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class DaemonOptions:
    paths: tuple[str, ...]
    state_url: str
    bird_url: str
    listen: str = DEFAULT_LISTEN
    resync: float = 600.0
    public_url: str | None = None
    allow_archive: bool = False
    # Seconds a webhook's timestamp may be ahead of our clock (clocks differ).
    webhook_tolerance: int = 300
    # Seconds a webhook's timestamp may be behind it: Bird retries an undelivered event with its original
    # timestamp for 8 hours (controller.daemon.webhooks.RETRY_HORIZON).
    webhook_max_age: int = 9 * 3600
    # How long SIGTERM waits for an in-flight reconcile before cancelling it (its journal entry stays
    # open and the next reconcile resolves it by re-reading Bird).
    shutdown_grace: float = 4.0
    # Spec file events closer together than this are one change (editors write in several steps).
    debounce_ms: int = 400
    # A changed spec tree is acted on only once it has not changed for this long (seconds): a file saved in
    # two writes (an editor, `cat >`, scp) is never read half-written. Removals that come from a file
    # changed within it wait one more window.
    settle: float = 2.0
    # A changed tree whose spec files are exactly a git commit's (a pull, a checkout) is whole: it is acted
    # on without the settle window (controller/daemon/settle.py).
    act_on_commit: bool = True
    # Standbys try to take leadership this often (seconds); the leader checks its lock as often.
    leader_poll: float = 2.0
    # PostgreSQL: seconds a replica's lease lasts unless renewed (controller.state.lease).
    lease_ttl: float = 6.0
    # --shard ORG...: organizations pinned to this replica (it reconciles only those).
    shards: tuple[str, ...] = ()
    extra_environ: dict[str, str] = field(default_factory=dict)
    # --notify URL...: signed events on condition changes, drift, refusals (controller/daemon/notify.py).
    notify_urls: tuple[str, ...] = ()
    notify_format: str = "json"
    notify_backoff: float = 1.0
    # Bird requests per second per workspace (None: SENDERCTL_BIRD_GET_RATE / _POST_RATE or Bird's defaults).
    bird_get_rate: float | None = None
    bird_post_rate: float | None = None
    # Who sees the health endpoints' details: "token" (an admin token) or "loopback" (also any local caller).
    health_details: str = "token"
    # --webhook-listen HOST:PORT: POST /webhooks/bird also served there by `webhook_workers` processes of
    # their own (controller/daemon/receivers.py), so receiving is not bound by this process's GIL.
    webhook_listen: str | None = None
    webhook_workers: int = DEFAULT_WEBHOOK_WORKERS

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    def webhook_url(self, port: int | None = None) -> str:
        """The URL Bird signs: --public-url when given, else the listen address."""
        if self.public_url:
            base = self.public_url.rstrip("/")
            return base if base.endswith(WEBHOOK_PATH) else base + WEBHOOK_PATH
        host, listen_port = self.host_port
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{shown}:{port or listen_port}{WEBHOOK_PATH}"
