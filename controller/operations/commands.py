"""What the plan / apply / status / import commands do between parsing flags and exiting.

Each function returns the process exit code (CONTRACT.md): 0 ok, 1 error, 2 changes (plan with
--detailed-exitcode), 3 refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from controller.operations.failures import (  # noqa: F401 (the exit codes and failures, as callers know them)
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    err,
    report_failure,
    state_failure,
)
from controller.reconcile import engine
from controller.reconcile.engine import EngineError, Refused, Settings
from controller.reconcile.plan import Plan


class FirstRetryOnly(logging.Filter):
    """On a terminal or in a CI log, one line says Bird is being retried; the final error (or
    success) says the rest. The daemon logs every retry in its own JSON lines instead.

    One line per event loop, i.e. per command run, not per process: a process that runs commands one
    after another (a test session) shows each one's first retry."""

    def __init__(self) -> None:
        super().__init__()
        # The loop the last shown retry ran in (weakly: a finished command's loop is not kept).
        self.shown_in: Callable[[], asyncio.AbstractEventLoop | None] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self.shown_in is not None and self.shown_in() is loop:
            return False
        self.shown_in = weakref.ref(loop) if loop is not None else lambda: None
        record.msg = f"Bird: {record.msg} (further retries are not shown)"
        return True


logging.getLogger("senderctl.bird").addFilter(FirstRetryOnly())


def render(p: Plan, fmt: str, policy: Any = None) -> str:
    from controller.render import render as render_plan

    return render_plan(p, fmt, color=fmt == "text" and sys.stdout.isatty(),  # type: ignore[arg-type]
                       policy=policy.to_json() if policy is not None else None)


def load_policy_dirs(policy_dirs: Sequence[str]) -> Any:
    """The policies of every --policy DIR, read before Bird is: a broken policy fails fast."""
    from controller.policy import load_policies

    return load_policies(policy_dirs) if policy_dirs else None


def judge(policies: Any, p: Plan, paths: Sequence[str]) -> Any:
    """The policies' verdict over the plan JSON exactly as `--out` saves it (what conftest would read);
    each deny and warn message is printed on stderr with its policy file."""
    from controller.policy import evaluate_policies

    verdict = evaluate_policies(policies, json.loads(plan_document(p, paths)))
    for finding in verdict.denied:
        err(f"policy deny: {finding.policy}: {finding.message}")
    for finding in verdict.warned:
        err(f"policy warn: {finding.policy}: {finding.message}")
    return verdict


def denial_line(verdict: Any) -> str:
    files = sorted({f.policy for f in verdict.denied})
    return (f"refused by policy: {len(verdict.denied)} deny message(s) from {', '.join(files)} (listed above); "
            "change the specs, or the policy")


def policy_review(policies: Any, paths: Sequence[str]) -> Callable[[Plan], None] | None:
    """engine.apply's review: the policies refuse a plan before any of it is carried out."""
    if policies is None:
        return None

    def review(p: Plan) -> None:
        verdict = judge(policies, p, paths)
        if verdict.denied:
            raise Refused(f"apply {denial_line(verdict)}")

    return review


def run_plan(paths: Sequence[str], settings: Settings, output: str, out: str | None, detailed: bool,
             policy_dirs: Sequence[str] = ()) -> int:
    try:
        policies = load_policy_dirs(policy_dirs)
        computed = engine.run(engine.plan(paths, settings))
        p = computed.plan
        verdict = judge(policies, p, paths) if policies is not None else None
    except Exception as exc:
        return report_failure(exc, settings.state_url)
    report_compliance_warnings(computed.desired)
    # `-o json` prints exactly what `--out` saves, so either can be given to `apply --plan`.
    text = plan_document(p, paths) if output == "json" else render(p, output, verdict)
    if not computed.world.records:
        banner = empty_state_banner(settings.state_url)
        if output == "json":
            err(banner)  # stdout stays the plan JSON alone
        elif output == "markdown":  # under the comment's heading, above the summary
            head, sep, rest = text.partition("\n\n")
            text = f"{head}{sep}> **{banner}**\n\n{rest}" if sep else f"> **{banner}**\n\n{text}"
        else:
            text = f"{banner}\n\n{text}"
    click.echo(text, nl=not text.endswith("\n"))
    if output == "text":
        from controller.reconcile.throughput_view import plan_lines

        for line in [run_rate_line(p), *plan_lines(p, computed.desired, computed.world)]:
            if line:
                click.echo(line)
    if out:
        try:
            Path(out).write_text(plan_document(p, paths))
        except OSError as exc:
            err(f"error: cannot save the plan to {out}: {exc.strerror or exc}; check that the directory exists "
                "and is writable")
            return EXIT_ERROR
    if p.failed:
        # Bird refused to be read, or a resource cannot converge without a human: CI must not pass.
        report_failed_resources(p, listed_on_stdout=output == "text")
    if verdict is not None and verdict.denied:
        err(f"error: plan {denial_line(verdict)}")
        return EXIT_REFUSED
    if p.refusals:
        # The same plan is refused by apply (exit 3) before anything runs: plan says so with the same code.
        return EXIT_REFUSED
    if p.failed:
        return EXIT_ERROR
    if detailed and p.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def run_rate_line(p: Plan) -> str:
    """The change in monthly run-rate the plan causes (numbers' monthly price, campaigns' monthly fee)."""
    from controller.resources.costs import plan_run_rate

    numbers, campaigns = plan_run_rate(p.changes)
    if not numbers and not campaigns:
        return ""
    return (f"Monthly run-rate on Bird: {numbers + campaigns:+.2f} USD (numbers {numbers:+.2f}, campaigns "
            f"{campaigns:+.2f}); `senderctl costs` shows the whole estate's run-rate")


def report_compliance_warnings(desired: Sequence[Any]) -> None:
    """The doctor's warnings on stderr (its errors are the plan's refusals)."""
    from controller.reconcile.compliance import warnings_of

    for address, finding in warnings_of(desired):
        err(f"compliance warning: {address}: {finding['text']}")


def empty_state_banner(state_url: str) -> str:
    from controller.state.store import redact

    return (f"Note: the state {redact(state_url)} holds no records (new or empty): this plan is computed from Bird "
            "alone. If this state should hold records, check --state / SENDERCTL_STATE before applying; "
            "`senderctl import PATH...` adopts what Bird already holds.")


def report_failed_resources(p: Plan, *, listed_on_stdout: bool) -> None:
    """One line per failed resource on stderr, unless the text plan on stdout already lists them."""
    if listed_on_stdout:
        err(f"error: {len(p.failed)} resource(s) failed (listed under Failed: above); fix them and plan again.")
        return
    err(f"error: {len(p.failed)} resource(s) failed; fix them and plan again:")
    for f in p.failed:
        err(f"  {f.address}: {f.reason}")


def plan_document(p: Plan, paths: Sequence[str]) -> str:
    """The plan JSON (CONTRACT.md) plus the spec paths it was computed from, for `apply --plan`."""
    from controller.render import render_json

    data = json.loads(render_json(p))
    data["paths"] = list(paths)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_saved_plan(path: str) -> tuple[Plan, list[str], dict[str, Any]]:
    """The plan, its spec paths and the file's JSON as written (apply compares that JSON, never runs it)."""
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict):
            raise ValueError("the file holds JSON, but not a plan object")
        paths = data.get("paths") or []
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("'paths' must be a list of spec paths")
        return Plan.from_json(data), list(paths), data
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise EngineError(f"cannot read saved plan {path}: {reason}; give a file written by "
                          "`senderctl plan PATH... --out FILE`") from None


def with_saved_scope(settings: Settings, saved: Plan, plan_file: str) -> Settings:
    """A saved plan is applied in the scope it was computed in (--target / --org are recorded in it)."""
    import dataclasses

    targets, orgs = tuple(saved.scope.get("targets") or ()), tuple(saved.scope.get("orgs") or ())
    given = (tuple(sorted(settings.targets)), tuple(sorted(settings.orgs)))
    if (settings.targets or settings.orgs) and given != (tuple(sorted(targets)), tuple(sorted(orgs))):
        raise EngineError(f"{plan_file} was planned with --target {' '.join(targets) or '(none)'} --org "
                          f"{' '.join(orgs) or '(none)'}; apply it without --target/--org (its scope is recorded)")
    return dataclasses.replace(settings, targets=targets, orgs=orgs)


def run_apply(paths: Sequence[str], settings: Settings, *, plan_file: str | None, auto_approve: bool,
              allow_archive: bool, force: bool, policy_dirs: Sequence[str] = ()) -> int:
    finished: list[Any] = []  # what ran before an interrupt, for its summary
    try:
        policies = load_policy_dirs(policy_dirs)
        saved, saved_paths, saved_data = load_saved_plan(plan_file) if plan_file else (None, [], None)
        if saved is not None:
            settings = with_saved_scope(settings, saved, plan_file or "")
        paths = list(paths) or saved_paths
        if not paths:
            raise EngineError(f"the saved plan {plan_file} does not record the spec paths it was computed from; "
                              f"give them: senderctl apply PATH... --plan {plan_file}")
        settings.on_lock_wait = settings.on_lock_wait or announce_lock_wait
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        # Approval is asked only when there is something to approve: no changes is exit 0, as terraform.
        confirm = None if (auto_approve or saved is not None) else ask_approval if interactive else no_terminal
        with progress_reporter(enabled=sys.stdout.isatty()) as show:
            def on_result(result: Any) -> None:
                finished.append(result)
                show(result)

            outcome = engine.run(engine.apply(paths, settings, allow_archive=allow_archive, force=force,
                                               saved=saved_data, confirm=confirm, on_result=on_result,
                                               review=policy_review(policies, paths)))
    except KeyboardInterrupt:
        return interrupted(finished)
    except Exception as exc:
        return report_failure(exc, settings.state_url)
    return finish_apply(outcome)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def interrupted(finished: Sequence[Any]) -> int:
    """Ctrl-C mid-apply: say what finished (it is recorded) and what the next run does about the rest."""
    done = [r for r in finished if r.ok]
    failed = [r for r in finished if not r.ok]
    err("")
    err(f"Interrupted: {len(done)} done, {len(failed)} failed before the interrupt"
        + (f" ({', '.join(r.change.address for r in done[:10])}{', ...' if len(done) > 10 else ''})" if done else "")
        + ". What finished is recorded in the state; a Bird write that was in flight stays open in the journal and "
        "the next apply re-reads Bird before writing again. Run `senderctl plan` to see what is left.")
    return EXIT_INTERRUPTED


@contextmanager
def progress_reporter(enabled: bool) -> Iterator[Callable[[Any], None]]:
    """A live progress display on a terminal; plain result lines otherwise (CI logs).

    The display starts with the first result, so it never draws over the plan or the approval prompt.
    """
    if not enabled:
        yield print_result
        return
    # rich only here: a plan, or an apply whose output is not a terminal, never imports it (start-up).
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    progress = Progress(SpinnerColumn(), TextColumn("[bold]applying"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.description}"), console=Console(), transient=True)
    tasks: list[Any] = []

    def on_result(result: Any) -> None:
        if not tasks:
            progress.start()
            tasks.append(progress.add_task("", total=None))
        change = result.change
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        line = f"{mark} {change.action} {escape(change.address)}"
        if not result.ok:
            line += f": {escape(str(result.error))}"
        progress.console.print(line, highlight=False)
        progress.update(tasks[0], advance=1, description=escape(change.address))

    try:
        yield on_result
    finally:
        if tasks:
            progress.stop()


def no_terminal(p: Plan) -> bool:
    click.echo(render(p, "text"))
    raise Refused("apply refused: no terminal to ask for approval of the changes above; pass --auto-approve "
                  "(or apply a reviewed plan with --plan FILE)")


def ask_approval(p: Plan) -> bool:
    click.echo(render(p, "text"))
    return click.confirm("Apply these changes?", default=False)


def print_result(result: Any) -> None:
    change = result.change
    if result.ok:
        click.echo(f"✓ {change.action} {change.address}")
    else:
        err(f"✗ {change.action} {change.address}: {result.error}")


def finish_apply(outcome: engine.ApplyOutcome) -> int:
    report = outcome.report
    final = outcome.final.plan if outcome.final else outcome.first_plan
    failed_changes = {r.change.address for r in report.failed}
    unconverged = [f for f in final.failed if f.address not in failed_changes]
    for address in report.forgotten:  # the plan listed them: say they were done, as for every change
        click.echo(f"✓ forget {address}")
    if not report.results and not outcome.first_plan.has_changes:
        click.echo("No changes to apply." if final.failed or final.waiting else
                   "No changes. Bird and the records match the specs.")
    for w in final.waiting:
        click.echo(f"waiting: {w.address}: {w.reason}")
    for f in final.failed:
        err(f"failed: {f.address}: {f.reason or 'no reason given by Bird'}")
    failed = len(report.failed) + len(unconverged)
    head = "Apply complete" if not failed else "Apply finished with errors"
    click.echo(f"{head}: {len(report.done)} done, {failed} failed, {len(final.waiting)} waiting on Bird.")
    remaining = sorted({c.address for c in final.changes}) if report.results else []
    if remaining:
        # e.g. a saved plan bought a number: assigning it is possible now, but was not in the approved plan.
        click.echo(f"Now possible, not yet applied: {', '.join(remaining)}. Run `senderctl plan` to review them, "
                   "then apply again.")
    return EXIT_ERROR if report.failed or final.failed else EXIT_OK


STATUS_FILTERS = {"not-ready": ("Waiting", "Failed", "Paused"), "ready": ("Ready",), "waiting": ("Waiting",),
                  "failed": ("Failed",), "paused": ("Paused",)}


def status_summary(lines: Sequence[Any], shown: int) -> str:
    """`12 resources: 9 Ready, 2 Waiting, 1 Failed, 0 Paused` (and how many are listed, when filtered)."""
    counts = Counter(s.status for s in lines)
    text = f"{len(lines)} resources: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("Ready", "Waiting", "Failed",
                                                                                    "Paused"))
    return text + (f" ({shown} listed)" if shown != len(lines) else "")


def run_status(paths: Sequence[str], settings: Settings, output: str, only: str | None = None,
               throughput: bool = False) -> int:
    try:
        lines = engine.run(engine.status(paths, settings))
    except Exception as exc:
        return report_failure(exc, settings.state_url)
    shown = [s for s in lines if only is None or s.status in STATUS_FILTERS[only]]
    if output == "json":
        click.echo(json.dumps([
            {"address": s.address, "status": s.status, "reason": s.reason,
             "since": s.since.isoformat() if s.since else None, **({"throughput": s.throughput} if s.throughput else {}),
             **({"ghost": ghost_json(s.ghost)} if s.ghost else {})}
            for s in shown
        ], indent=2))
    else:
        for s in shown:
            click.echo(s.text())
            if s.ghost:  # a fine is coming: always said, under the campaign's own line
                click.echo(f"  ghost campaign: {s.ghost.advice()}")
            if throughput and s.throughput:  # opt-in: by default one line per resource
                click.echo(f"  can send: {s.throughput}")
        # On stderr: stdout stays one line per resource for scripts that read it.
        err(status_summary(lines, len(shown)))
    return EXIT_ERROR if any(s.status == "Failed" for s in lines) else EXIT_OK


def ghost_json(silence: Any) -> dict[str, Any]:
    return {"silentSince": silence.silent_since.isoformat() if silence.silent_since else None,
            "lastOutbound": silence.last_outbound.isoformat() if silence.last_outbound else None,
            "outboundCounted": silence.outbound_count, "advice": silence.advice()}


def run_import(paths: Sequence[str], settings: Settings, output: str) -> int:
    settings.on_lock_wait = settings.on_lock_wait or announce_lock_wait
    try:
        report, computed = engine.run(engine.import_existing(paths, settings))
    except Exception as exc:
        return report_failure(exc, settings.state_url)
    adopted = [r.change.address for r in report.done]
    # A subscription's key cannot be read back from Bird: adopted, it is rotated by the next apply.
    rotate = sorted({c.address for c in computed.plan.changes if c.payload.get("unprovenKey")})
    left = sorted({c.address for c in computed.plan.changes if c.action != "adopt"} - set(rotate))
    if output == "json":
        click.echo(json.dumps({"adopted": adopted, "failed": [r.error for r in report.failed],
                               "notOnBird": left, "signingKeysToRotate": rotate}, indent=2))
    else:
        for address in adopted:
            click.echo(f"= adopted {address}")
        for r in report.failed:
            err(f"✗ {r.error}")
        if left:
            click.echo(f"not found on Bird (apply would create or change them): {', '.join(left)}")
        if rotate:
            click.echo(f"signing keys the next apply rotates on Bird to the specs' keys (Bird never returns a key, "
                       f"so an imported one cannot be proven equal): {', '.join(rotate)}")
        click.echo(f"Import complete: {len(adopted)} adopted, {len(report.failed)} failed.")
    return EXIT_ERROR if report.failed else EXIT_OK


def announce_lock_wait(holder: Any) -> None:
    who = holder.describe() if holder is not None else "another process"
    err(f"waiting for the state lock… (held by {who}; --lock-timeout bounds the wait)")


def run_force_unlock(state_url: str, lock_id: str, force: bool) -> int:
    from controller.state import LockHolderAlive, StateStore, check_state_location

    if not lock_id.strip():
        err("error: give the LOCK_ID printed in the 'state is locked' message (senderctl force-unlock LOCK_ID)")
        return EXIT_ERROR
    try:
        check_state_location(state_url)
        if engine.missing_sqlite_file(state_url):
            click.echo("no lock is held: the state does not exist yet")
            return EXIT_OK
        store = StateStore.open(state_url)
    except Exception as exc:
        return report_failure(exc, state_url)
    try:
        holder = store.lock_holder()
        released = store.force_unlock(lock_id, force=force)
    except LockHolderAlive as exc:
        err(f"force-unlock refused: {exc}")
        return EXIT_REFUSED
    except Exception as exc:
        return report_failure(exc, state_url)
    finally:
        store.close()
    if released:
        who = f" (held by {holder.describe()})" if holder else ""
        click.echo(f"lock {lock_id} released{who}; if that process still runs, stop it before the next apply")
    else:
        click.echo("no lock is held on this state; nothing to release")
    return EXIT_OK


def run_show(plan_file: str, output: str) -> int:
    """Render a saved plan (offline: reads neither Bird nor the state)."""
    try:
        saved, paths, _ = load_saved_plan(plan_file)
    except EngineError as exc:
        return report_failure(exc)
    text = plan_document(saved, paths) if output == "json" else render(saved, output)
    click.echo(text, nl=not text.endswith("\n"))
    if output == "text" and run_rate_line(saved):
        click.echo(run_rate_line(saved))
    return EXIT_OK


def run_state_command(state_url: str, action: str, *args: Any, read_only: bool = False) -> int:
    """`senderctl state list|show|rm|mv`: open the state (read-only for list and show), run, close."""
    from controller.operations import records as state_commands

    try:
        store = engine.open_store(Settings(state_url=state_url), read_only=read_only)
    except Exception as exc:
        return report_failure(exc, state_url)
    try:
        return getattr(state_commands, action)(store, *args)
    except state_commands.StateCommandError as exc:
        err(f"error: {exc}")
        return EXIT_ERROR
    except Exception as exc:
        return report_failure(exc, state_url)
    finally:
        store.close()


def run_drift(paths: Sequence[str], settings: Settings, output: str) -> int:
    """0: Bird matches what senderctl last applied; 2: drift; 1: error."""
    try:
        report = engine.run(engine.drift(paths, settings))
    except Exception as exc:
        return report_failure(exc)
    if output == "json":
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(drift_text(report), nl=False)
    return EXIT_CHANGES if report.drift else EXIT_OK


def drift_text(report: Any) -> str:
    from controller.render.common import clean, display_value

    lines = []
    for d in report.drift:
        lines.append(f"{'~' if d.what == 'changed' else 'x'} {clean(d.address)}: {d.description}")
        for f in d.fields:
            lines.append(f"    {clean(f.path)}: {display_value(f.before)} (last applied) -> "
                         f"{display_value(f.after)} (on Bird)")
        if d.ignored:
            lines.append(f"    ignored (senderctl.io/ignore-drift): {', '.join(d.ignored)}")
    for u in report.unchecked:
        lines.append(f"? {clean(u.address)}: not checked: {clean(u.reason)}")
    if report.drift:
        lines.append(f"Drift: {len(report.drift)} of {report.checked} applied resource(s) changed on Bird outside "
                     "senderctl. `senderctl plan` shows how apply would restore the specs.")
    else:
        lines.append(f"No drift: Bird matches what senderctl last applied ({report.checked} resource(s) checked).")
    return "\n".join(lines) + "\n"


def run_dump(organization_id: str, out: str, name: str | None, settings: Settings) -> int:
    """Spec files for what the Bird organization holds; checked with the spec loader before exit 0."""
    from collections import Counter

    from controller.operations import dump
    from specs import load_specs

    target = Path(out)
    if target.is_dir() and any(target.glob("*.y*ml")):
        err(f"error: {out} already holds spec files; dump into an empty or new directory "
            "(a dump never overwrites specs)")
        return EXIT_ERROR

    async def read() -> Any:
        async with engine.bird_client(settings) as client:
            return await dump.read_account(client, organization_id)

    try:
        account = engine.run(read())
        files = dump.spec_files(account, name or dump.default_org_name(organization_id))
        written = dump.write(files, target)
    except OSError as exc:
        err(f"error: cannot write to {out}: {exc.strerror or exc}")
        return EXIT_ERROR
    except Exception as exc:
        return report_failure(exc)
    result = load_specs([str(target)])
    if result.errors:  # a Bird value the spec language refuses: say where, so it can be fixed by hand
        for e in result.errors:
            err(str(e))
        err(f"{len(result.errors)} error(s) in the dumped specs: fix them by hand before `senderctl import {out}`")
        return EXIT_ERROR
    kinds = Counter(doc.kind for f in files for doc in f.documents)
    click.echo(f"wrote {sum(kinds.values())} documents to {len(written)} file(s) in {out}: "
               + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
    variables = dump.signing_key_variables(files)
    if variables:
        click.echo("Bird never returns webhook signing keys; export each subscription's key before import: "
                   + " ".join(variables))
    click.echo(f"next: senderctl validate {out} && senderctl import {out} && senderctl plan {out}")
    return EXIT_OK


def run_webhooks_failed(settings: Settings, output: str) -> int:
    """The deliveries Bird gave up on, of every subscription the state records. 0 none, 2 some, 1 error."""
    from controller.operations.undelivered import abandoned_deliveries, abandoned_text
    from controller.state import StateStore

    async def read() -> list[Any]:
        with StateStore.open(settings.state_url, read_only=True) as store:
            records = store.records()
        async with engine.bird_client(settings) as client:
            return await abandoned_deliveries(client, records)

    try:
        found = engine.run(read())
    except Exception as exc:
        return report_failure(exc, settings.state_url)
    if output == "json":
        click.echo(json.dumps([a.to_json() for a in found], indent=2))
    else:
        click.echo(abandoned_text(found), nl=False)
    return EXIT_CHANGES if found else EXIT_OK
