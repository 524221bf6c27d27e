"""The renderers on a plan computed by the engine from examples/quickstart against the emulator."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.render import render
from controller.render.markdown import LIMIT
from tests.engine.conftest import ACCESS_KEY, SIGNING_ENV, Emulator, emulator, quickstart  # noqa: F401


def test_first_quickstart_plan_in_every_format(quickstart: Path, emulator: Emulator,  # noqa: F811
                                               sqlite_url: str) -> None:
    settings = Settings(state_url=sqlite_url, bird_url=emulator.url, access_key=ACCESS_KEY,
                        environ={**os.environ, **SIGNING_ENV})
    plan = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    assert plan.changes

    text, md, data = render(plan, "text"), render(plan, "markdown"), json.loads(render(plan, "json"))
    secrets = [ACCESS_KEY, *SIGNING_ENV.values()]
    for output in (text, md, json.dumps(data)):
        assert not [s for s in secrets if s in output]

    for change in plan.changes:
        assert f" {change.action} {change.address}" in text
    summary = plan.summary()
    assert text.splitlines()[-1].startswith(f"Plan: {summary['create']} to create, ")
    assert md.startswith("### senderctl plan") and len(md) <= LIMIT
    assert md.count("<details>") == len(plan.changes)
    assert data["summary"] == summary and len(data["changes"]) == len(plan.changes)
    # Numbers cost money: the total is shown, as exact decimal strings.
    assert data["total_cost"]["weekly"] != "0" and "USD weekly" in text
