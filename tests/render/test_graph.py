"""Pictures of plans and specs: what is drawn, the collapse by kind, and Graphviz dot quoting."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from controller.reconcile.plan import Change, Plan, Refusal, Resource, Waiting
from controller.render.graph import plan_graph, to_dot, to_mermaid

ROOT = Path(__file__).resolve().parents[2]


def small_plan() -> Plan:
    return Plan("f", changes=(Change("Brand/acme", "create", "new"),),
                waiting=(Waiting("Campaign/alerts", "brand acme is PENDING"),),
                refusals=(Refusal("PhoneNumber/x", "beyond the limit"),),
                resources={"Campaign/alerts": Resource("Campaign/alerts", {}, ("Brand/acme",)),
                           "Brand/acme": Resource("Brand/acme", {}, ("Workspace/main",)),
                           "PhoneNumber/x": Resource("PhoneNumber/x", {}, ("Workspace/main",))})


def test_a_plan_draws_its_changes_what_waits_and_what_they_wait_on() -> None:
    graph = plan_graph(small_plan())
    assert {(n.key, n.state) for n in graph.nodes} == {
        ("Brand/acme", "create"), ("Campaign/alerts", "waiting"), ("PhoneNumber/x", "refused"),
        ("Workspace/main", "ready")}
    assert set(graph.edges) == {("Brand/acme", "Campaign/alerts"), ("Workspace/main", "Brand/acme"),
                                ("Workspace/main", "PhoneNumber/x")}
    text = to_mermaid(graph)
    assert text.startswith("flowchart LR\n") and 'n0["Brand/acme (create)"]:::create' in text
    assert "classDef refused " in text and "classDef create " in text


def test_a_plan_without_changes_or_waiting_has_no_picture() -> None:
    assert plan_graph(Plan("f", ready=("Brand/acme",))).nodes == ()


def test_above_the_node_limit_the_picture_is_drawn_by_kind() -> None:
    changes = tuple(Change(f"PhoneNumber/n{i}", "create", "new") for i in range(50))
    resources = {f"PhoneNumber/n{i}": Resource(f"PhoneNumber/n{i}", {}, ("Workspace/main",)) for i in range(50)}
    graph = plan_graph(Plan("f", changes=changes, resources=resources))
    assert graph.collapsed
    assert [(n.key, n.label) for n in graph.nodes] == [("PhoneNumber:create", "PhoneNumber × 50 (create)"),
                                                       ("Workspace:ready", "Workspace × 1 (ready)")]
    assert graph.edges == (("Workspace:ready", "PhoneNumber:create"),)


def test_dot_quotes_every_name() -> None:
    plan = Plan("f", changes=(Change('PhoneNumber/a"b\\c', "create", "new"),))
    text = to_dot(plan_graph(plan))
    assert '"PhoneNumber/a\\"b\\\\c" [label="PhoneNumber/a\\"b\\\\c (create)"' in text
    assert text.startswith("digraph senderctl {") and text.rstrip().endswith("}")


def test_graph_command_prints_the_specs_dependencies() -> None:
    from cli import cli

    result = CliRunner().invoke(cli, ["graph", str(ROOT / "examples" / "quickstart"), "-o", "dot"])
    assert result.exit_code == 0, result.output
    assert '"Brand/acme" -> "Campaign/acme-alerts";' in result.stdout
    assert '"Campaign/acme-alerts" -> "PhoneNumber/alice-line";' in result.stdout
    assert '"PhoneNumber/alice-line" -> "WebhookSubscription/inbound-sms-alice";' in result.stdout


def test_graph_of_invalid_specs_names_each_error(tmp_path: Path) -> None:
    from cli import cli

    (tmp_path / "bad.yaml").write_text("apiVersion: senderctl/v1\nkind: Campaign\nmetadata: {name: c}\n"
                                       "spec: {brand: nope}\n")
    result = CliRunner().invoke(cli, ["graph", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.yaml'}:" in result.stderr and "no graph drawn" in result.stderr
    assert "Traceback" not in result.output
