"""`senderctl emulator` as a real process, and `running_emulator()` for tests and the demo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from controller.emulator.server import running_emulator
from tests.emulator.conftest import AUTH, WS

READY_TIMEOUT = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def senderctl(*args: str) -> subprocess.Popen[str]:
    """The installed ``senderctl`` console script, as a user runs it."""
    return subprocess.Popen([str(Path(sys.executable).parent / "senderctl"), *args], cwd=Path(__file__).parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_running_emulator_serves_http_and_stops_cleanly() -> None:
    started = time.monotonic()
    with running_emulator(seed=5) as running:
        startup = time.monotonic() - started
        response = httpx.get(f"{running.url}/workspaces/{WS}/numbers-available", headers=AUTH, params={"limit": 1})
        assert response.status_code == 200 and len(response.json()["results"]) == 1
        assert running.emulator.seed == 5
        url = running.url
    assert startup < 1.0, startup
    try:
        httpx.get(url, timeout=0.5)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the emulator still answers after the with block")


def test_senderctl_emulator_prints_its_ready_line_serves_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    world = tmp_path / "world.yaml"
    world.write_text(f"organizations: [{{id: 11111111-1111-4111-8111-111111111111, "
                     f"workspaces: [{{id: {WS}}}], stock: [{{count: 5}}]}}]\n")
    process = senderctl("emulator", "--host", "127.0.0.1", "--port", str(port), "--world", str(world),
                        "--seed", "3")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == f"emulator listening on http://127.0.0.1:{port}\n"
        stock = httpx.get(f"http://127.0.0.1:{port}/workspaces/{WS}/numbers-available", headers=AUTH,
                          params={"limit": 99}).json()
        assert len(stock["results"]) == 5
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_senderctl_emulator_exits_0_on_sigint() -> None:
    port = free_port()
    process = senderctl("emulator", "--port", str(port))
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("emulator listening on ")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_port_in_use_or_a_bad_world_file_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        process = senderctl("emulator", "--port", str(busy.getsockname()[1]))
        _, err = process.communicate(timeout=READY_TIMEOUT)
        assert process.returncode == 1 and "cannot listen on" in err and "Traceback" not in err
    world = tmp_path / "world.yaml"
    world.write_text("organizations: [{id: nope}]")
    process = senderctl("emulator", "--world", str(world))
    _, err = process.communicate(timeout=READY_TIMEOUT)
    assert process.returncode == 1 and "is not a UUID" in err and "Traceback" not in err


def test_a_client_gone_before_its_body_arrived_is_not_a_server_error() -> None:
    """A Ctrl-C'd apply closes its connections mid-request: Bird never processes such a request, and the
    emulator neither applies it nor reports an exception of its own (uvicorn printed a traceback)."""
    import asyncio

    from controller.emulator.app import create_app
    from tests.support import ACCESS_KEY, WORKSPACE

    app = create_app(seed=1)
    path = f"/workspaces/{WORKSPACE}/connectors"
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"application/json"), (b"content-length", b"100"),
                                          (b"authorization", f"AccessKey {ACCESS_KEY}".encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
