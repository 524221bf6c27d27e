"""A flood of clients that never stop sending: `python bench/streaming.py --url URL --pid PID --token T`
prints the daemon's CPU seconds while --clients keep-alive connections stream a chunked body into
POST /v1/sms/phone-numbers/purchase (capped: the guard answers 413) for --seconds; not a test.

Each client sends as fast as the connection takes bytes and never reconnects; it notes whether it
received the 413. Run it against a daemon before and after a change and compare the CPU.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from bench.run import cpu_seconds  # noqa: E402

PATH = "/v1/sms/phone-numbers/purchase"
CHUNK = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"


def stream(host: str, port: int, token: str, until: float, answers: list[bytes], sent: list[int]) -> None:
    sock = socket.create_connection((host, port))
    sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    sock.setblocking(False)
    received, total, pending = b"", 0, CHUNK
    try:
        while time.monotonic() < until:
            with contextlib.suppress(BlockingIOError):
                received += sock.recv(65536)
            try:
                n = sock.send(pending)
                total, pending = total + n, pending[n:] or CHUNK  # the rest of a chunk first: keep the framing
            except BlockingIOError:
                time.sleep(0.001)  # the daemon does not read: its window is full
    except OSError:
        pass  # the daemon closed the connection
    finally:
        answers.append(received)
        sent.append(total)
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    where = urlsplit(args.url)
    answers: list[bytes] = []
    sent: list[int] = []
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=stream, args=(where.hostname, where.port, args.token, until, answers, sent))
               for _ in range(args.clients)]
    before = cpu_seconds(args.pid)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    used = cpu_seconds(args.pid) - before
    got_413 = sum(a.startswith(b"HTTP/1.1 413") for a in answers)
    print(f"daemon CPU {used:.2f} s over {args.seconds:.0f} s with {args.clients} streaming clients; "
          f"{got_413}/{len(answers)} received the 413; they sent {sum(sent) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
