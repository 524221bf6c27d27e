"""senderctl command line: parse flags, call one function, render, pick the exit code.

Each command imports its implementation lazily so that `senderctl --help` stays instant.
Exit codes follow CONTRACT.md: 0 ok, 1 error, 2 usage (click), 3 refused / needs a flag.
"""

from __future__ import annotations

import atexit
import os
import sys

import click

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_STATE = "sqlite:///.senderctl/state.db"
DEFAULT_BIRD_URL = "https://api.bird.com"

OUTPUT = click.Choice(["text", "json"])
output_option = click.option("-o", "--output", type=OUTPUT, default="text", show_default=True)


class Senderctl(click.Group):
    """Ctrl-C ends any command with exit 130 and one line, never click's bare "Aborted!" (apply prints
    what finished first, see controller.operations.commands.interrupted)."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\nInterrupted; nothing more was done.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=Senderctl, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="senderctl")
def cli() -> None:
    """Keep SMS sending infrastructure on Bird exactly as the YAML specs say."""


def state_option(f):  # type: ignore[no-untyped-def]
    return click.option(
        "--state",
        envvar="SENDERCTL_STATE",
        default=DEFAULT_STATE,
        show_default=True,
        help="State database (SQLAlchemy URL).",
    )(f)


def bird_option(f):  # type: ignore[no-untyped-def]
    return click.option(
        "--bird-url",
        envvar="BIRD_API_URL",
        default=DEFAULT_BIRD_URL,
        show_default=True,
        help="Bird API base URL. The access key comes from BIRD_ACCESS_KEY only.",
    )(f)


# Bird's documented per-workspace limits (https://docs.bird.com/api/channels-api/rate-limit); kept here
# as literals so that `--help` imports nothing of the engine.
DEFAULT_GET_RATE, DEFAULT_POST_RATE = 50.0, 500.0
DEFAULT_PARALLELISM = 16  # controller.reconcile.engine.DEFAULT_PARALLELISM says why


def rate_options(f):  # type: ignore[no-untyped-def]
    positive = click.FloatRange(min=0, min_open=True)
    f = click.option("--bird-post-rate", envvar="SENDERCTL_BIRD_POST_RATE", default=DEFAULT_POST_RATE,
                     show_default=True, type=positive,
                     help="Bird POST (and PATCH/PUT/DELETE) requests per second, per workspace.")(f)
    return click.option("--bird-get-rate", envvar="SENDERCTL_BIRD_GET_RATE", default=DEFAULT_GET_RATE,
                        show_default=True, type=positive, help="Bird GET requests per second, per workspace.")(f)


paths_argument = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))


def scope_options(f):  # type: ignore[no-untyped-def]
    f = click.option("--org", "orgs", multiple=True, metavar="NAME",
                     help="Only this Organization's resources (repeatable).")(f)
    return click.option("--target", "targets", multiple=True, metavar="ADDRESS",
                        help="Only this resource (Kind/name) and what it depends on (repeatable).")(f)


policy_option = click.option(
    "--policy", "policy_dirs", multiple=True, metavar="DIR", type=click.Path(exists=True),
    help="Evaluate the Rego policies (*.rego, package main: deny / warn) in DIR over the plan JSON; "
         "a deny refuses the plan, exit 3 (repeatable).")


# --- the spec language -------------------------------------------------------------------------------


@cli.command()
@paths_argument
def validate(paths: tuple[str, ...]) -> None:
    """Parse and check every spec document, offline. Prints every error."""
    from specs.cli_support import run_validate

    sys.exit(run_validate(paths))


@cli.command()
@click.option("--plan", "plan_schema", is_flag=True,
              help="The JSON Schema of the plan JSON (plan -o json / --out) instead, versioned by format_version.")
def schema(plan_schema: bool) -> None:
    """Print the JSON Schema of the spec language (or, with --plan, of the plan JSON)."""
    if plan_schema:
        from controller.reconcile.plan_schema import run_plan_schema

        sys.exit(run_plan_schema())
    from specs.cli_support import run_schema

    sys.exit(run_schema())


@cli.command()
@paths_argument
@click.option("-o", "--output", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
def graph(paths: tuple[str, ...], output: str) -> None:
    """Print the specs' dependency graph (what waits on what), offline: Mermaid or Graphviz dot."""
    from controller.operations.graph import run_graph

    sys.exit(run_graph(paths, output))


# --- the Bird emulator ---------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--world", type=click.Path(exists=True, dir_okay=False), help="World file (YAML).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for generated ids and numbers.")
def emulator(host: str, port: int, world: str | None, seed: int) -> None:
    """Serve the Bird emulator over HTTP."""
    from controller.emulator.server import serve

    sys.exit(serve(host=host, port=port, world_file=world, seed=seed))


# --- the reconcile engine -------------------------------------------------------------------------


def engine_settings(state: str, bird_url: str | None = None,  # type: ignore[no-untyped-def]
                    rates: tuple[float, float] = (DEFAULT_GET_RATE, DEFAULT_POST_RATE), lock_timeout: float = 0.0,
                    parallelism: int = DEFAULT_PARALLELISM, targets: tuple[str, ...] = (),
                    orgs: tuple[str, ...] = ()):
    from controller.reconcile.settings import Settings

    return Settings.from_env(state, bird_url, lock_timeout=lock_timeout, parallelism=parallelism,
                             bird_get_rate=rates[0], bird_post_rate=rates[1], targets=tuple(targets),
                             orgs=tuple(orgs))


@cli.command()
@paths_argument
@click.option("-o", "--output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), help="Save the plan (JSON) for apply --plan.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none.")
@scope_options
@policy_option
@state_option
@bird_option
@rate_options
def plan(paths: tuple[str, ...], output: str, out: str | None, detailed_exitcode: bool, targets: tuple[str, ...],
         orgs: tuple[str, ...], policy_dirs: tuple[str, ...], state: str, bird_url: str, bird_get_rate: float,
         bird_post_rate: float) -> None:
    """Show what apply would do. Never writes to Bird or to the state."""
    from controller.operations.commands import run_plan

    settings = engine_settings(state, bird_url, (bird_get_rate, bird_post_rate), targets=targets, orgs=orgs)
    sys.exit(run_plan(paths, settings, output, out, detailed_exitcode, policy_dirs))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False), help="Apply this saved plan, exactly.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for approval.")
@click.option("--allow-archive", is_flag=True, help="Allow archiving numbers removed from the specs.")
@click.option("--force", is_flag=True, help="Allow plans beyond the safety thresholds.")
@click.option("--lock-timeout", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for another apply.")
@click.option("--parallelism", default=DEFAULT_PARALLELISM, show_default=True, type=click.IntRange(1, 512),
              help="Changes carried out at once (the rate limits still hold per workspace).")
@scope_options
@policy_option
@state_option
@bird_option
@rate_options
def apply(paths: tuple[str, ...], plan_file: str | None, auto_approve: bool, allow_archive: bool, force: bool,
          lock_timeout: float, parallelism: int, targets: tuple[str, ...], orgs: tuple[str, ...],
          policy_dirs: tuple[str, ...], state: str, bird_url: str, bird_get_rate: float, bird_post_rate: float) -> None:
    """Carry the plan out, in dependency order, idempotently."""
    from controller.operations.commands import run_apply

    if not paths and not plan_file:
        raise click.UsageError("give spec PATH... or --plan FILE")
    settings = engine_settings(state, bird_url, (bird_get_rate, bird_post_rate), lock_timeout, parallelism,
                               targets=targets, orgs=orgs)
    sys.exit(run_apply(paths, settings, plan_file=plan_file, auto_approve=auto_approve,
                       allow_archive=allow_archive, force=force, policy_dirs=policy_dirs))


@cli.command()
@paths_argument
@click.option("-o", "--output", type=OUTPUT, default="text", show_default=True)
@click.option("--only", "only", type=click.Choice(["not-ready", "ready", "waiting", "failed", "paused"]),
              help="List only the resources in that state (not-ready: Waiting, Failed and Paused); the summary "
                   "and the exit code still count every resource.")
@click.option("--throughput", is_flag=True,
              help="Under each brand and campaign, what the carriers' published tiers let it send (`can send:`); "
                   "JSON output always carries it.")
@state_option
@bird_option
@rate_options
def status(paths: tuple[str, ...], output: str, only: str | None, throughput: bool, state: str, bird_url: str,
           bird_get_rate: float, bird_post_rate: float) -> None:
    """One line per resource: Ready, Waiting: <reason>, Failed: <reason>; a summary line on stderr."""
    from controller.operations.commands import run_status

    sys.exit(run_status(paths, engine_settings(state, bird_url, (bird_get_rate, bird_post_rate)), output,
                        only=only, throughput=throughput))


@cli.command()
@paths_argument
@click.option("-o", "--output", type=OUTPUT, default="text", show_default=True)
@state_option
@bird_option
@rate_options
def drift(paths: tuple[str, ...], output: str, state: str, bird_url: str, bird_get_rate: float,
          bird_post_rate: float) -> None:
    """Read-only: what changed on Bird outside senderctl since the last apply. Exit 0 none, 2 drift."""
    from controller.operations.commands import run_drift

    sys.exit(run_drift(paths, engine_settings(state, bird_url, (bird_get_rate, bird_post_rate)), output))


@cli.group(name="webhooks")
def webhooks_group() -> None:
    """What Bird could not deliver to senderctl's webhook receiver."""


@webhooks_group.command(name="failed")
@click.option("-o", "--output", type=OUTPUT, default="text", show_default=True)
@state_option
@bird_option
def webhooks_failed(output: str, state: str, bird_url: str) -> None:
    """Deliveries Bird gave up on after 8 hours of retries (its subscription logs). Exit 0 none, 2 some."""
    from controller.operations.commands import run_webhooks_failed

    sys.exit(run_webhooks_failed(engine_settings(state, bird_url), output))


@cli.command()
@click.option("--organization", "organization_id", required=True, metavar="BIRD_ORG_ID",
              help="The Bird organization id (UUID) to write specs for.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory for the spec files.")
@click.option("--name", help="metadata.name of the Organization (default: org-<first 8 characters of the id>).")
@bird_option
def dump(organization_id: str, out: str, name: str | None, bird_url: str) -> None:
    """Write spec files for what a Bird organization already holds (then validate, import, plan)."""
    from controller.operations.commands import run_dump

    sys.exit(run_dump(organization_id, out, name, engine_settings(DEFAULT_STATE, bird_url)))


@cli.command()
@click.option("--org", "orgs", multiple=True, metavar="NAME", help="Only this Organization (repeatable).")
@click.option("-o", "--output", type=OUTPUT, default="text", show_default=True)
@state_option
@bird_option
@rate_options
def costs(orgs: tuple[str, ...], output: str, state: str, bird_url: str, bird_get_rate: float,
          bird_post_rate: float) -> None:
    """What the estate costs per organization and workspace: monthly run-rate, platform weekly price,
    campaigns' 3-month minimums, one-time 10DLC fees so far, ghost campaigns. Reads Bird and the state."""
    from controller.operations.costs import run_costs

    sys.exit(run_costs(engine_settings(state, bird_url, (bird_get_rate, bird_post_rate)), orgs, output))


@cli.command(name="import")
@paths_argument
@click.option("-o", "--output", type=OUTPUT, default="text", show_default=True)
@click.option("--lock-timeout", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for another apply.")
@state_option
@bird_option
@rate_options
def import_(paths: tuple[str, ...], output: str, lock_timeout: float, state: str, bird_url: str,
            bird_get_rate: float, bird_post_rate: float) -> None:
    """Adopt resources that already exist on Bird into the state, creating nothing."""
    from controller.operations.commands import run_import

    sys.exit(run_import(paths, engine_settings(state, bird_url, (bird_get_rate, bird_post_rate), lock_timeout),
                        output))


@cli.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def show(plan_file: str, output: str) -> None:
    """Render a saved plan (from plan --out FILE), offline."""
    from controller.operations.commands import run_show

    sys.exit(run_show(plan_file, output))


@cli.command(name="force-unlock")
@click.argument("lock_id")
@click.option("--force", is_flag=True, help="Release it even though its holder still runs (a hung apply).")
@state_option
def force_unlock(lock_id: str, force: bool, state: str) -> None:
    """Release the apply lock LOCK_ID (printed in every "state is locked" message)."""
    from controller.operations.commands import run_force_unlock

    sys.exit(run_force_unlock(state, lock_id, force))


@cli.group(name="state")
def state_group() -> None:
    """The state's records, as terraform's state commands: list, show, rm, mv. Bird is never called."""


lock_timeout_option = click.option("--lock-timeout", default=0.0, show_default=True, type=click.FloatRange(min=0),
                                   help="Seconds to wait for an apply that holds the state.")


@state_group.command(name="list")
@output_option
@state_option
def state_list(output: str, state: str) -> None:
    """Every address the state holds, one per line."""
    from controller.operations.commands import run_state_command

    sys.exit(run_state_command(state, "list_records", output, read_only=True))


@state_group.command(name="show")
@click.argument("address")
@output_option
@state_option
def state_show(address: str, output: str, state: str) -> None:
    """One record: its Bird id, the last applied spec, its data and condition (secrets masked)."""
    from controller.operations.commands import run_state_command

    sys.exit(run_state_command(state, "show_record", address, output, read_only=True))


@state_group.command(name="rm")
@click.argument("addresses", nargs=-1, required=True)
@lock_timeout_option
@state_option
def state_rm(addresses: tuple[str, ...], lock_timeout: float, state: str) -> None:
    """Forget records without touching Bird (a number stays bought); its channel, assignment or vetting too."""
    from controller.operations.commands import run_state_command

    sys.exit(run_state_command(state, "remove_records", list(addresses), lock_timeout))


@state_group.command(name="mv")
@click.argument("source")
@click.argument("target")
@lock_timeout_option
@state_option
def state_mv(source: str, target: str, lock_timeout: float, state: str) -> None:
    """Rename a record (after renaming it in the specs) without buying anything; its companions follow."""
    from controller.operations.commands import run_state_command

    sys.exit(run_state_command(state, "move_record", source, target, lock_timeout))


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the demo state in this directory.")
def demo(keep: str | None) -> None:
    """Run the quick start end to end against an embedded Bird emulator."""
    from controller.operations.demo import run_demo

    sys.exit(run_demo(keep))


# --- tenant views: numbers, config, billing (state database only) ------------------------------------

org_option = click.option("--org", required=True, help="The Organization's metadata.name.")


@cli.group()
def numbers() -> None:
    """The platform's number views: an organization's numbers, unassigned ones, a user's own."""


@numbers.command(name="list")
@org_option
@click.option("--workspace", help="Only numbers linked to this workspace.")
@click.option("--archived", is_flag=True, help="List archived workspace phone numbers instead.")
@output_option
@state_option
def numbers_list(org: str, workspace: str | None, archived: bool, output: str, state: str) -> None:
    """The organization's numbers with assignee, workspace, status and prices."""
    from controller.tenant import commands

    sys.exit(commands.numbers_list(state, org, output, workspace=workspace, archived=archived))


@numbers.command(name="available")
@org_option
@output_option
@state_option
def numbers_available(org: str, output: str, state: str) -> None:
    """The organization's numbers no user has."""
    from controller.tenant import commands

    sys.exit(commands.numbers_available(state, org, output))


@numbers.command(name="mine")
@org_option
@click.option("--user", required=True, help="The user (e.g. alice@acme.example).")
@output_option
@state_option
def numbers_mine(org: str, user: str, output: str, state: str) -> None:
    """The user's own number, and the number their campaigns send from."""
    from controller.tenant import commands

    sys.exit(commands.numbers_mine(state, org, user, output))


@numbers.command(name="blockers")
@org_option
@click.argument("number")
@output_option
@state_option
def numbers_blockers(org: str, number: str, output: str, state: str) -> None:
    """What keeps NUMBER from being archived (assignment, channel or campaign, pending operation)."""
    from controller.tenant import commands

    sys.exit(commands.numbers_blockers(state, org, number, output))


@numbers.command(name="unrouted")
@click.option("--org", help="Only messages to this organization's numbers.")
@output_option
@state_option
def numbers_unrouted(org: str | None, output: str, state: str) -> None:
    """Inbound messages that reached no user (unassigned or unknown numbers)."""
    from controller.tenant import commands

    sys.exit(commands.numbers_unrouted(state, org, output))


@numbers.command(name="history")
@org_option
@click.argument("number", required=False)
@output_option
@state_option
def numbers_history(org: str, number: str | None, output: str, state: str) -> None:
    """Who had which number, from when to when."""
    from controller.tenant import commands

    sys.exit(commands.numbers_history(state, org, number, output))


@cli.command()
@org_option
@output_option
@state_option
def config(org: str, output: str, state: str) -> None:
    """The organization's multi-number configuration: enabled, limit, used, weekly price, 10DLC active."""
    from controller.tenant import commands

    sys.exit(commands.config(state, org, output))


@cli.group()
def billing() -> None:
    """Weekly per-number billing (usage_logs, event_type phone_number_weekly)."""


@billing.command(name="run")
@click.option("--week", required=True, help="ISO week, YYYY-Www (e.g. 2026-W07).")
@output_option
@state_option
def billing_run(week: str, output: str, state: str) -> None:
    """Write one usage row per billable number for the week; running it again writes nothing."""
    from controller.tenant import commands

    sys.exit(commands.billing_run(state, week, output))


# --- platform API tokens (state database only) ------------------------------------------------------


@cli.group()
def tokens() -> None:
    """Tokens for the daemon's platform API (shown once, stored only as hashes)."""


def _expires(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    from controller.api.commands import parse_expires

    return parse_expires(value)


@tokens.command(name="create")
@org_option
@click.option("--user", required=True, help="The user the token acts for (e-mail).")
@click.option("--role", required=True, type=click.Choice(["admin", "member"]),
              help="admin: seed 000's 'Admin only' routes too; member: any authenticated user.")
@click.option("--scopes", help="Comma-separated: phones:read,phones:write,phones:admin "
              "(default: phones:read for a member, all three for an admin).")
@click.option("--workspace", help="Limit the token to this Workspace (metadata.name).")
@click.option("--expires", callback=_expires, help="Lifetime, e.g. 30d, 12h, 2w (default: until revoked).")
@output_option
@state_option
def tokens_create(org: str, user: str, role: str, scopes: str | None, workspace: str | None,
                  expires: float | None, output: str, state: str) -> None:
    """Make a token and print it once, alone on its line."""
    from controller.api import commands

    sys.exit(commands.create(state, org=org, user=user, role=role, scopes=scopes, workspace=workspace,
                             expires=expires, output=output))


@tokens.command(name="list")
@org_option
@output_option
@state_option
def tokens_list(org: str, output: str, state: str) -> None:
    """The organization's tokens (ids and first characters, never the tokens)."""
    from controller.api import commands

    sys.exit(commands.list_(state, org, output))


@tokens.command(name="revoke")
@click.argument("token_id")
@output_option
@state_option
def tokens_revoke(token_id: str, output: str, state: str) -> None:
    """End a token at once (by the id `tokens list` shows)."""
    from controller.api import commands

    sys.exit(commands.revoke(state, token_id, output))


# --- the reconcile daemon -------------------------------------------------------------------------------


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    from controller.daemon.config import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _listen(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from controller.daemon.config import parse_listen

    try:
        parse_listen(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _given(name: str) -> bool:
    """Whether the option was given on the command line or in the environment (not left at its default)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _optional_listen(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _listen(ctx, param, value)


@cli.command()
@paths_argument
@click.option("--listen", default="127.0.0.1:8080", show_default=True, callback=_listen,
              help="HOST:PORT for /healthz, /readyz, /metrics, POST /webhooks/bird and the platform API.")
@click.option("--webhook-listen", callback=_optional_listen, metavar="HOST:PORT",
              help="Also receive POST /webhooks/bird here, in processes of their own (--webhook-workers): "
                   "receiving then uses more than one core. Point Bird's subscriptions (or --public-url) here.")
@click.option("--webhook-workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="With --webhook-listen: how many processes receive webhooks there.")
@click.option("--resync", default="10m", show_default=True, callback=_duration,
              help="Full reconcile interval (±10 % jitter), e.g. 30s, 10m, 1h.")
@click.option("--public-url", envvar="SENDERCTL_PUBLIC_URL",
              help="The URL Bird posts webhooks to (behind a proxy or ingress); signatures are checked against it.")
@click.option("--allow-archive", is_flag=True, help="Allow archiving numbers removed from the specs.")
@click.option("--settle", default="2s", show_default=True, callback=_duration,
              help="Act on changed spec files only once they have been unchanged this long (a file saved in "
                   "two writes is never read half-written).")
@click.option("--act-on-commit/--no-act-on-commit", default=True, show_default=True,
              help="When every spec file is exactly what the checked-out git commit holds (a pull or checkout "
                   "has just ended), act at once instead of waiting --settle: git wrote them whole.")
@click.option("--notify", "notify_urls", multiple=True, metavar="URL",
              help="POST a signed JSON event here on every condition change, drift found and refused plan "
                   "(repeatable; signed with SENDERCTL_NOTIFY_KEY).")
@click.option("--notify-format", type=click.Choice(["json", "slack"]), default="json", show_default=True,
              help="slack: a {\"text\": ...} body for Slack-compatible incoming webhooks.")
@click.option("--health-details", type=click.Choice(["token", "loopback"]), default="token", show_default=True,
              envvar="SENDERCTL_HEALTH_DETAILS",
              help="Who sees /readyz's and /healthz's details (role, leader, spec errors): callers with an admin "
                   "token, or also any caller from this machine (loopback). Others learn ready or not only.")
@click.option("--lease-ttl", default="6s", show_default=True, callback=_duration,
              help="PostgreSQL state: how long a replica's lease lasts unless renewed (every third of it); a dead "
                   "replica's work resumes elsewhere within about this long.")
@click.option("--shard", "shards", multiple=True, metavar="ORG",
              help="PostgreSQL state: pin this Organization (metadata.name) to this replica (repeatable); a replica "
                   "with pins reconciles only those, and the other replicas divide the rest.")
@state_option
@bird_option
@rate_options
def daemon(paths: tuple[str, ...], listen: str, webhook_listen: str | None, webhook_workers: int, resync: float, public_url: str | None, allow_archive: bool,
           settle: float, act_on_commit: bool, notify_urls: tuple[str, ...], notify_format: str,
           health_details: str, lease_ttl: float, shards: tuple[str, ...], state: str,
           bird_url: str, bird_get_rate: float, bird_post_rate: float) -> None:
    """Keep Bird converged: watch the specs, resync, react to Bird webhooks. Runs until SIGTERM/SIGINT."""
    from controller.daemon import DaemonOptions, run_daemon
    from controller.daemon.config import parse_listen

    if webhook_listen is None and _given("webhook_workers"):
        raise click.BadParameter("receiving processes need an address of their own: add --webhook-listen HOST:PORT",
                                 param_hint="'--webhook-workers'")
    if webhook_listen is not None and parse_listen(webhook_listen) == parse_listen(listen):
        raise click.BadParameter(f"{webhook_listen} is --listen's address too; give the webhook receivers a port of "
                                 "their own", param_hint="'--webhook-listen'")
    sys.exit(run_daemon(DaemonOptions(paths=paths, state_url=state, bird_url=bird_url, listen=listen,
                                      resync=resync, public_url=public_url, allow_archive=allow_archive,
                                      settle=settle, act_on_commit=act_on_commit, notify_urls=notify_urls,
                                      notify_format=notify_format, health_details=health_details, lease_ttl=lease_ttl, shards=shards,
                                      bird_get_rate=bird_get_rate, bird_post_rate=bird_post_rate,
                                      webhook_listen=webhook_listen, webhook_workers=webhook_workers)))


def skip_pydantic_plugin_discovery() -> None:
    """senderctl uses no pydantic plugin, yet pydantic reads the entry points of every installed
    distribution for plugins when it builds its first model. PYDANTIC_DISABLE_PLUGINS is pydantic's own
    documented switch for that; one already set (e.g. empty, or naming some plugins) is left as it is."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def tune_garbage_collector() -> None:
    """A plan holds tens of thousands of Bird objects, none of them in reference cycles: with Python's
    default thresholds the cyclic collector walked them all again and again (a third of a 10,000-number
    no-op plan's CPU). Objects made at import are frozen out of its reach; collections come less often."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def main() -> None:
    skip_pydantic_plugin_discovery()
    tune_garbage_collector()
    atexit.register(end_without_teardown)  # registered first, so it runs after every other exit handler
    try:
        cli()
    except SystemExit as done:
        _exit_status.append(exit_status(done.code))
        raise


# The status the command ended with, once it has (none: it ended with an uncaught exception).
_exit_status: list[int] = []


def exit_status(code: object) -> int:
    """The process's exit status for SystemExit(code), as the interpreter computes it."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_ERROR  # (the interpreter prints such a code on stderr itself, before its exit handlers)


def end_without_teardown() -> None:
    """The last exit handler: end the process without the interpreter's teardown, which freed a no-op
    plan's 10,000-number world object by object (0.3 s of a 3 s command; Instagram's Django workers skip it
    the same way). The other exit handlers have run and every non-daemon thread has ended by now; standard
    output and error are flushed first. Any doubt (no status, another thread, a flush that fails, such as
    a closed pipe) leaves the interpreter's own exit as it is."""
    import threading

    if not _exit_status or threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(_exit_status[0])


if __name__ == "__main__":
    main()
