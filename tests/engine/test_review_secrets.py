"""Review check: a distinctive signing key and the access key never reach a plan, the state, the
journal, error text or logs — through creates, a key rotation, and Bird refusing the writes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.render.json_output import render_json
from controller.state import StateStore
from tests.engine.conftest import Emulator
from tests.support import ACCESS_KEY

KEY_1 = "rev1ew-S1GNING-key-d1stinct-0001"
KEY_2 = "rev1ew-S1GNING-key-d1stinct-0002"
SUBSCRIPTIONS = "/organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions"


def state_text(url: str) -> str:
    with StateStore.open(url) as store, store.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return json.dumps({t: [list(map(str, row)) for row in conn.execute(text(f'SELECT * FROM "{t}"'))]
                           for t in tables})


def test_signing_and_access_keys_stay_out_of_plans_state_journal_errors_and_logs(
        quickstart: Path, settings: Settings, emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    paths = [str(quickstart)]
    seen: list[str] = []
    for key in (KEY_1, KEY_2):  # create, then rotate (an update of every subscription)
        keyed = replace(settings, environ={**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": key})
        planned = asyncio.run(engine.plan(paths, keyed)).plan
        seen.append(render_json(planned))
        outcome = asyncio.run(engine.apply(paths, keyed))
        seen += [r.error or "" for r in outcome.report.results]
        assert not outcome.report.failed, outcome.report.failed
    assert {c.action for c in planned.changes if c.kind == "WebhookSubscription"} == {"update"}  # the rotation

    # Bird refuses every subscription write: errors land in the journal and the report.
    emulator.fault(method="PATCH", route=SUBSCRIPTIONS + "/{webhookSubscriptionId}", effect="status", status=422, times=50)
    emulator.fault(method="POST", route=SUBSCRIPTIONS, effect="commit-then-fail", times=50)
    keyed = replace(settings, environ={**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": KEY_1})
    outcome = asyncio.run(engine.apply(paths, keyed))
    seen += [r.error or "" for r in outcome.report.results]
    assert {r.change.kind for r in outcome.report.failed} == {"WebhookSubscription"}, outcome.report.failed

    everything = "\n".join([*seen, state_text(settings.state_url), caplog.text])
    for secret in (KEY_1, KEY_2, ACCESS_KEY):
        assert secret not in everything
