"""The webhook inbox written by several processes at once (the daemon's webhook receivers, the daemon itself):
SQLite's write lock and busy timeout order them, and no delivery is lost or kept twice."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from controller.state import StateStore
from controller.state.records import utcnow
from controller.state.webhook_inbox import Delivery, record_webhooks

ROOT = Path(__file__).resolve().parents[2]


def test_writers_in_two_processes_each_commit_everything(tmp_path):
    """Two processes writing the inbox side by side: every delivery is kept, none twice."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore.open(url).close()
    script = (
        "import sys\n"
        "from controller.state import StateStore\n"
        "from controller.state.records import utcnow\n"
        "from controller.state.webhook_inbox import Delivery, record_webhooks\n"
        "store = StateStore.open(sys.argv[1])\n"
        "for i in range(200):\n"
        "    record_webhooks(store, [Delivery(f'{sys.argv[2]}-{i}', f'{sys.argv[2]}-{i}', 'e', {})],\n"
        "                    received_by=sys.argv[2], at=utcnow())\n"
        "store.close()\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, url, name], cwd=ROOT) for name in ("a", "b")]
    with StateStore.open(url) as store:
        kept = [record_webhooks(store, [Delivery(f"c-{i}", f"c-{i}", "e", {})], received_by="c", at=utcnow())[0]
                for i in range(200)]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert all(kept)
    with sqlite3.connect(tmp_path / "state.db") as db:
        counts = dict(db.execute("SELECT received_by, count(DISTINCT request_id) FROM webhook_events "
                                 "GROUP BY received_by").fetchall())
    assert counts == {"a": 200, "b": 200, "c": 200}
