"""Where a Bird id named by a webhook lives: its workspace and, for a channel, the receiving number.

Bird's webhooks name ids, never a workspace: an `sms.inbound` carries its `channelId` and
`receiver.connector.id` and no receiving number (docs.bird.com/api/channels-api/supported-channels/
programmable-sms/receiving-messages), a `10dlc.campaign` its campaign id. The state knows them: the
records the reconciler saved (a Channel's channel id, connector id and number; a Brand's workspace) and
the channels the platform API installed. The daemon asks twice, with the same answer: which
subscriptions' keys may verify a delivery (those of the workspace the event is about), and which number
an inbound message is for.

The map is held in memory and read again from the state when an id is missing (a channel installed
since), at most every REFRESH_SECONDS: a flood of unknown ids costs one read per interval, not one per
request. Records this process saved since the last read (a reconcile recorded a channel) are read at
once: Bird's first event about a new channel must not wait out the interval, or be refused meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REFRESH_SECONDS = 2.0
# Record kinds whose Bird ids a webhook may name, and the data keys holding more ids of theirs.
ID_DATA_KEYS = ("channelId", "brandId", "campaignId", "vettingId")


@dataclass(frozen=True)
class Place:
    workspace_id: str    # Bird's workspace id; "" when the state does not say
    number: str = ""     # the number a channel or connector id receives for
    channel_id: str = ""  # for a channel, a connector or a Channel record's address: the channel's id


def places(rows: Iterable[tuple[str, str, str | None, Mapping[str, Any]]],
           api_channels: Iterable[tuple[str | None, str | None, str | None, str]]) -> dict[str, Place]:
    """Bird id -> Place, from the records (address, kind, bird_id, data) and the platform API's channels
    (channel id, connector id, number, Bird workspace id). Pure."""
    rows = list(rows)
    found: dict[str, Place] = {}
    brand_workspace = {bird_id: str(data.get("workspaceId") or "") for _, kind, bird_id, data in rows
                       if kind == "Brand" and bird_id}
    for address, kind, bird_id, data in rows:
        workspace = str(data.get("workspaceId") or brand_workspace.get(str(data.get("brandId") or ""), ""))
        channel = kind == "Channel"
        place = Place(workspace, str(data.get("number") or "") if channel else "",
                      str(data.get("channelId") or "") if channel else "")
        # A channel is also found by its record's address (a subscription's filter names it) and by its
        # number (a message naming its receiver rather than its channel).
        aliases = (address, place.number) if channel else ()
        for bird in (bird_id, *(data.get(k) for k in ID_DATA_KEYS if k != "brandId"), *aliases):
            if bird and (place.number or str(bird) not in found):
                found[str(bird)] = place
    for channel_id, connector_id, number, workspace in api_channels:
        for bird in (channel_id, connector_id, number):
            if bird:
                found[bird] = Place(workspace, number or "", channel_id or "")
    return found


class Directory:
    """places() held in memory; `load` reads the state (a worker thread's job: it does I/O)."""

    def __init__(self, load: Callable[[], dict[str, Place]], refresh_seconds: float = REFRESH_SECONDS,
                 changes: Callable[[], int] = lambda: 0) -> None:
        """`changes()`: a counter this process moves whenever it changes the records (StateStore.records_changed)."""
        self._load = load
        self._refresh_seconds = refresh_seconds
        self._changes = changes
        self._places: dict[str, Place] | None = None
        self._loaded_at = float("-inf")
        self._loaded_changes = -1
        self._lock = threading.Lock()

    def peek(self, ids: Iterable[str | None]) -> Place | None:
        """The place of the first id known to what was last read (no I/O: for the event loop)."""
        known = self._places or {}
        return next((known[i] for i in ids if i and i in known), None)

    def stale(self) -> bool:
        return (self._places is None or self._changes() != self._loaded_changes
                or time.monotonic() - self._loaded_at >= self._refresh_seconds)

    def find(self, ids: Iterable[str | None]) -> Place | None:
        """The place of the first id the state knows (reading the state again when none is known and the
        last read is older than the refresh interval). Blocking: call it from a worker thread."""
        wanted = [i for i in ids if i]
        if not wanted:
            return None
        known = self._places if self._places is not None else self.refresh()
        place = next((known[i] for i in wanted if i in known), None)
        if place is None and self.stale():
            known = self.refresh()
            place = next((known[i] for i in wanted if i in known), None)
        return place

    def refresh(self) -> dict[str, Place]:
        with self._lock:  # one reader at a time; the others take what it read
            if self.stale():
                changes = self._changes()  # before the read: a save during it is read again next time
                self._places = self._load()
                self._loaded_at, self._loaded_changes = time.monotonic(), changes
            return self._places

    def forget(self) -> None:
        """The records changed (a reconcile saved some): the next lookup reads them again."""
        self._loaded_at = float("-inf")
