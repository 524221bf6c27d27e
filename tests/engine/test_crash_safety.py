"""A real `senderctl apply` process killed with SIGKILL right after Bird accepted a write and before
its outcome was recorded; the next run must adopt, never repeat, the write."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from controller.reconcile.apply import CRASH_ENV
from tests.engine.conftest import ACCESS_KEY, Emulator, senderctl


def counts(emulator: Emulator) -> Counter[str]:
    state = emulator.state()
    return Counter({key: len(state[key]) for key in
                    ("numbers", "brands", "vettings", "campaigns", "connectors", "webhookSubscriptions")})


def test_sigkill_between_bird_write_and_outcome_never_duplicates(quickstart: Path, emulator: Emulator,
                                                                 state_url: str) -> None:
    env = {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url}
    specs = str(quickstart)

    def killed_at(write: str) -> None:
        run = senderctl("apply", specs, "--auto-approve", env={**env, CRASH_ENV: write})
        assert run.returncode == -signal.SIGKILL, (write, run.returncode, run.stdout, run.stderr)

    def clean_apply() -> None:
        run = senderctl("apply", specs, "--auto-approve", env=env)
        assert run.returncode == 0, (run.stdout, run.stderr)

    # First apply: brand, first number and the 10DLC / channel.updated subscriptions.
    killed_at("create:Brand/")
    killed_at("create:PhoneNumber/")
    killed_at("create:WebhookSubscription/")
    clean_apply()
    first = counts(emulator)
    assert first["brands"] == 1 and first["numbers"] == 1
    clean_apply()
    assert counts(emulator) == first

    emulator.advance(3600 + 60)  # brand approved: the campaign comes next
    killed_at("create:Campaign/")
    clean_apply()
    assert counts(emulator)["campaigns"] == 1

    emulator.advance(7 * 24 * 3600)  # campaign approved: second number and the channels
    killed_at("create:Channel/")
    clean_apply()
    after = counts(emulator)
    assert after["numbers"] == 2 and after["connectors"] == 2 and after["campaigns"] == 1

    emulator.advance(15 * 60 + 60)
    clean_apply()
    final = counts(emulator)
    assert final["brands"] == 1 and final["numbers"] == 2 and final["connectors"] == 2
    # Every spec'd subscription exists exactly once.
    subs = emulator.state()["webhookSubscriptions"]
    keys = Counter((s["event"], s["url"], str(s.get("eventFilters"))) for s in subs)
    assert all(n == 1 for n in keys.values()), keys
    # Each registration fee was charged once.
    kinds = Counter(c["kind"] for c in emulator.state()["charges"])
    assert kinds["brand-registration"] == 1 and kinds["vetting"] == 1 and kinds["campaign-vetting"] == 1, kinds
    assert kinds["number"] == 2, kinds
