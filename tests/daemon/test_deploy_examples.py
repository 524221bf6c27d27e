"""examples/deploy uses the real command line: every flag parses with the `daemon` command itself."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml

from cli import cli

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"


def parse_daemon_args(args: list[str]) -> dict:
    assert args[0] == "daemon", args
    command = cli.commands["daemon"]
    # Paths must exist for click; the deployment's paths are the target machine's, so check them apart.
    params = [p for p in command.params if p.name != "paths"]
    probe = click.Command("daemon", params=[click.Argument(["paths"], nargs=-1, required=True), *params])
    ctx = probe.make_context("daemon", list(args[1:]))
    return dict(ctx.params)


def test_the_systemd_unit_runs_the_daemon_with_real_flags():
    unit = (DEPLOY / "systemd" / "senderctl.service").read_text()
    exec_start = unit.split("ExecStart=", 1)[1].split("\n# ", 1)[0].replace("\\\n", " ").splitlines()[0]
    argv = shlex.split(exec_start)
    assert argv[0].endswith("/senderctl")
    params = parse_daemon_args(argv[1:])
    assert params["resync"] == 600 and params["state"].startswith("sqlite:///")
    assert params["public_url"].startswith("https://")
    assert "KillSignal=SIGTERM" in unit and "EnvironmentFile=" in unit
    assert "BIRD_ACCESS_KEY" not in exec_start


def test_the_kubernetes_deployment_has_three_replicas_a_disruption_budget_probes_and_secrets_from_the_environment():
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "senderctl.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 3
    budget = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 2
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    params = parse_daemon_args(container["args"])
    host, port = params["listen"].rsplit(":", 1)
    assert host == "0.0.0.0" and int(port) == container["ports"][0]["containerPort"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {e["name"]: e for e in container["env"]}
    assert {"BIRD_ACCESS_KEY", "SENDERCTL_STATE"} <= set(env)
    assert all("secretKeyRef" in e["valueFrom"] for e in env.values()), "secrets come from a Secret"
    assert pod["terminationGracePeriodSeconds"] >= 10
    mount = container["volumeMounts"][0]["mountPath"]
    assert params["paths"] == (mount,)
