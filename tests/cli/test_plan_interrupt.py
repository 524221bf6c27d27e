"""Ctrl-C during a `plan` whose state database server accepts the connection and never answers: the plan
opens the state aside (in a thread of its own, while Bird is asked for the lists), and Ctrl-C must still
end it at once with exit 130, not wait for the server (the TCP connect and the server's greeting have no
timeout of their own)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# As from a terminal, whatever this process hands its children: a shell without job control starts a
# background job with SIGINT ignored.
INTERRUPTIBLE = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                 "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
                 "sys.argv[0] = 'cli'; runpy.run_module('cli', run_name='__main__', alter_sys=True)")


def test_ctrl_c_while_the_state_server_never_answers_ends_the_plan(tmp_path: Path) -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # closed at the end of the test
            connection, _ = silent.accept()
            held.append(connection)  # open and silent: psycopg waits for the server's first message
            accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "examples" / "quickstart", specs)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BIRD_API_URL": "http://127.0.0.1:9",
           "BIRD_ACCESS_KEY": "emulator-key", "SENDERCTL_DEMO_SIGNING_KEY": "k",
           "SENDERCTL_STATE": f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/senderctl"}
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTIBLE, "plan", str(specs)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert accepted.wait(60), "the plan never connected to the state server"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)  # a plan waiting for the server would never end
    finally:
        process.kill()
        silent.close()
        for connection in held:
            connection.close()
    assert process.returncode == 130, out + err
    assert "Traceback" not in err, err
