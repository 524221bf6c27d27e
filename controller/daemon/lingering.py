"""A lingering close for uvicorn's httptools protocol: a connection closed while its client is still
sending a body (a refusal: 401, 403, 413 with `Connection: close`) stops being read at once and is
closed only LINGER_SECONDS later.

Why: closed at once, the kernel resets a connection that has unread bytes, and a client still busy
sending (asyncio's streams, for one) loses the answer with the reset. Kept alive instead, uvicorn
parses and drops whatever the client still sends, for as long as it sends: a client streaming for ever
cost CPU for ever. Not reading costs nothing: the kernel's buffers fill and the client's sends wait,
while the answer already written reaches it. nginx's lingering close does the same (5 s by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

LINGER_SECONDS = 5.0


class LingeringTransport:
    """The connection's transport, whose close() lingers while `unfinished()` says the client has
    not finished sending its request."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop,
                 unfinished: Callable[[], bool]) -> None:
        self._transport, self._loop, self._unfinished = transport, loop, unfinished
        self._closing = False

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._unfinished():
            self._transport.close()
            return
        self._transport.pause_reading()
        self._loop.call_later(LINGER_SECONDS, self._transport.close)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def resume_reading(self) -> None:
        if not self._closing:  # a lingering connection is never read again
            self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class LingeringHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(LingeringTransport(transport, self.loop, self.sending_body))  # type: ignore[arg-type]

    def sending_body(self) -> bool:
        """The request's body has not all arrived (uvicorn saw no end of message)."""
        return self.cycle is not None and self.cycle.more_body
