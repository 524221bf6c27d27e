"""A command shows Bird's first retry on one line and no more; each command run (its own event loop) shows
its own first one, however many ran in the process before it (a test session runs many)."""

from __future__ import annotations

import asyncio
import io
import logging

from controller.operations import commands


def test_each_command_run_shows_its_first_retry_only() -> None:
    logger = logging.getLogger("senderctl.bird")
    shown = io.StringIO()
    handler = logging.StreamHandler(shown)
    logger.addHandler(handler)
    assert any(isinstance(f, commands.FirstRetryOnly) for f in logger.filters), "installed by the commands"

    async def one_command() -> None:
        logger.warning("retrying in 0.10s (attempt 2 of 5): first")
        logger.warning("retrying in 0.20s (attempt 3 of 5): second")

    try:
        asyncio.run(one_command())
        asyncio.run(one_command())
    finally:
        logger.removeHandler(handler)
    assert shown.getvalue().splitlines() == ["Bird: retrying in 0.10s (attempt 2 of 5): first (further retries are not shown)"] * 2
