"""A client that keeps streaming a body the daemon refused: the daemon answers (413, 401), says
`Connection: close` and ends the connection, instead of parsing and dropping whatever the client
sends for as long as it sends. The client still receives the answer, whether it reads while it sends
or only after its send failed. Raw sockets, so that nothing between the test and the daemon reads
the answer early or stops sending for us."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from tests.api.conftest import World, build_world, make_token
from tests.api.hostile import MB

PURCHASE = "/v1/sms/phone-numbers/purchase"
CHUNK = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
# Far more than the kernel buffers of a connection hold (a few MiB): a client that sends this much
# is being read by the daemon.
NEVER_READ = 256 * MB


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("api-streaming")
    yield from build_world(tmp, f"sqlite:///{tmp / 'state.db'}")


@pytest.fixture(scope="module")
def writer(world: World) -> str:
    return make_token(world.state_url, "svc@acme.example", "member", "--scopes", "phones:read,phones:write")


def open_stream(world: World, token: str | None, path: str = PURCHASE) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", world.daemon.port))
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    return sock


def stream_while_reading(sock: socket.socket) -> tuple[bytes, int]:
    """Send chunks for ever, reading whatever comes back, until the daemon ends the connection (or
    NEVER_READ bytes went through). Returns (what was received, bytes sent)."""
    received, sent, pending = b"", 0, CHUNK
    while sent < NEVER_READ:
        readable, writable, _ = select.select([sock], [sock], [])  # waits while the daemon's window is full
        try:
            if readable:
                data = sock.recv(65536)
                if not data:
                    break  # the daemon closed its end
                received += data
            if writable:
                n = sock.send(pending)
                sent, pending = sent + n, pending[n:] or CHUNK  # finish a chunk before the next: keep the framing
        except (BrokenPipeError, ConnectionResetError):
            break
    return received, sent


def answer_of(received: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("path, authorised, status, code", [
    (PURCHASE, True, "413", "too_large"), (PURCHASE, False, "401", "unauthorized"),
    ("/webhooks/bird", False, "413", "too_large")])  # the receiver reads its body itself, up to 1 MiB
def test_a_client_streaming_for_ever_gets_its_answer_and_the_connection_ends(
        world: World, writer: str, path: str, authorised: bool, status: str, code: str) -> None:
    sock = open_stream(world, writer if authorised else None, path)
    try:
        received, sent = stream_while_reading(sock)
    finally:
        sock.close()
    assert sent < NEVER_READ, "the daemon went on reading the refused body"
    line, headers, body = answer_of(received)
    assert line.startswith(f"HTTP/1.1 {status}"), received[:300]
    assert headers["connection"] == "close" and f'"{code}"' in body.decode(), received[:600]
    assert world.daemon.alive()


def test_a_client_that_reads_only_after_its_send_failed_still_gets_the_413(world: World, writer: str) -> None:
    for _ in range(3):
        sock = open_stream(world, writer)
        try:
            sent = 0
            with pytest.raises(OSError):  # the daemon closed the connection: the send fails at last
                while sent < NEVER_READ:
                    sock.sendall(CHUNK)
                    sent += len(CHUNK)
            received = b""
            try:
                while data := sock.recv(65536):
                    received += data
            except ConnectionResetError:
                pass
        finally:
            sock.close()
        line, headers, body = answer_of(received)
        assert line.startswith("HTTP/1.1 413") and b"too_large" in body, received[:300]


def test_a_refused_request_without_a_body_keeps_its_connection(world: World) -> None:
    """Nothing is left unread: the connection stays open for the next request."""
    sock = socket.create_connection(("127.0.0.1", world.daemon.port))
    try:
        for _ in range(2):
            sock.sendall(b"GET /v1/sms/phone-numbers HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            while b"}}" not in received:
                received += sock.recv(65536)
            line, headers, _ = answer_of(received)
            assert line.startswith("HTTP/1.1 401") and headers.get("connection") != "close", received[:300]
    finally:
        sock.close()
