"""How a command ends when it fails: one clear error line (never a traceback) and its exit code. Apart
from the commands so that a command that only reads (`costs`) imports neither the planner nor apply."""

from __future__ import annotations

import click

from controller.bird import BirdAuthError, BirdError
from controller.reconcile.settings import EngineError, Refused, SpecsInvalid, auth_problem

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED = 0, 1, 2, 3


def err(message: str) -> None:
    click.echo(message, err=True)


def report_failure(exc: BaseException, state_url: str | None = None) -> int:
    """One clear error line for whatever ended the command (never a traceback), and its exit code."""
    if isinstance(exc, SpecsInvalid):
        for e in exc.errors:
            err(str(e))
        err(f"{len(exc.errors)} error(s); nothing was planned. Fix the specs and run again.")
        return EXIT_ERROR
    if isinstance(exc, Refused):
        err(str(exc))
        return EXIT_REFUSED
    if isinstance(exc, BirdAuthError):
        err(f"error: {auth_problem(exc)}")
        return EXIT_ERROR
    if isinstance(exc, EngineError | BirdError):
        err(f"error: {exc}")
        return EXIT_ERROR
    from controller.policy import PolicyError

    if isinstance(exc, PolicyError):
        err(f"error: policy: {exc}")
        return EXIT_ERROR
    state_error = state_failure(exc, state_url)
    if state_error:
        err(f"error: {state_error}")
        return EXIT_ERROR
    raise exc


def state_failure(exc: BaseException, state_url: str | None = None) -> str | None:
    from controller.state import StateError, StateLocked, database_failure

    if isinstance(exc, StateLocked):
        unlock = f"senderctl force-unlock {exc.holder.lock_id}" if exc.holder else "senderctl force-unlock LOCK_ID"
        return f"{exc}. Wait for it to finish, raise --lock-timeout, or run `{unlock}` if it is dead."
    if isinstance(exc, StateError):
        return str(exc)
    return database_failure(exc, state_url)
