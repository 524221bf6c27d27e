"""senderctl command line: parse flags, call one function, render, pick the exit code.

Each command imports its implementation lazily so that `senderctl --help` stays instant.
Exit codes follow CONTRACT.md: 0 ok, 1 error, 2 usage (click), 3 refused / needs a flag.
"""

from __future__ import annotations

import sys

import click

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
DEFAULT_STATE = "sqlite:///.senderctl/state.db"
DEFAULT_BIRD_URL = "https://api.bird.com"

OUTPUT = click.Choice(["text", "json"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


paths_argument = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))


# --- the spec language -------------------------------------------------------------------------------


@cli.command()
@paths_argument
def validate(paths: tuple[str, ...]) -> None:
    """Parse and check every spec document, offline. Prints every error."""
    from specs.cli_support import run_validate

    sys.exit(run_validate(paths))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec language."""
    from specs.cli_support import run_schema

    sys.exit(run_schema())


# --- the Bird emulator ---------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--world", type=click.Path(exists=True, dir_okay=False), help="World file (YAML).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for generated ids and numbers.")
def emulator(host: str, port: int, world: str | None, seed: int) -> None:
    """Serve the Bird emulator over HTTP."""
    from controller.emulator.server import serve

    sys.exit(serve(host=host, port=port, world_file=world, seed=seed))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
