"""Raw HTTP for the attacker tests: bodies far larger than any cap, streamed from a generator so the
test never holds them, and the daemon's memory read from /proc."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client got to send before the answer

    def json(self) -> dict:
        return json.loads(self.body)


def chunks(total: int) -> Iterator[bytes]:
    """`total` bytes, 64 KiB at a time: never more than one chunk in memory."""
    left = total
    while left > 0:
        piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
        left -= len(piece)
        yield piece


async def send_body(port: int, method: str, path: str, *, total: int, token: str | None = None,
                    chunked: bool = False, headers: dict[str, str] | None = None) -> Answer:
    """Send a `total`-byte body (declared up front, or chunked) while reading the answer; stop sending
    as soon as the answer starts, as a real client that reads its socket does."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = asyncio.create_task(read_answer(reader))
    sent = 0
    try:
        for piece in chunks(total):
            if answer.done():
                break
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            sent += len(piece)
        else:
            if chunked:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
    except ConnectionError:
        pass  # the daemon closed the connection after answering: the answer is what counts
    try:
        status, head, body = await answer
    finally:
        writer.close()
    return Answer(status, head, body, sent)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    head: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        head[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(head.get("content-length", "0")))
    return status, head, body


def rss_kib(pid: int) -> tuple[int, int]:
    """(resident, peak resident) of a process, in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
