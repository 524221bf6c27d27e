"""The diagrams senderctl draws are valid Mermaid, as Mermaid itself parses them: its npm package (pinned in
tests/render/package-lock.json, installed by .ci/run) runs in Debian's headless Chromium. Each diagram is
also drawn to SVG and a screenshot kept under build/ for a person to look at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from controller.reconcile.plan import Change, Plan, Resource, Waiting
from controller.render.graph import plan_graph, to_mermaid
from tests.browser import browser, skip_or_fail  # noqa: F401 (fixture)
from tests.render.plans import mixed_plan, number_change

ROOT = Path(__file__).resolve().parents[2]
MERMAID = ROOT / "tests" / "render" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
SHOTS = ROOT / "build" / "mermaid"


@pytest.fixture
def mermaid(browser: Any) -> Any:  # noqa: F811
    if not MERMAID.exists():
        skip_or_fail(f"{MERMAID} is missing: npm ci --prefix tests/render (.ci/run does it)")
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.set_content("<!doctype html><html><body><div id=out></div></body></html>")
    page.add_script_tag(path=str(MERMAID))
    page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict'})")
    return page


def parse(page: Any, text: str) -> str | None:
    """None when Mermaid parses the text as a flowchart; its error message otherwise."""
    return page.evaluate("""async (text) => {
        try { const r = await mermaid.parse(text); return r && r.diagramType === 'flowchart-v2' ? null : 'type ' + (r && r.diagramType); }
        catch (e) { return String(e && e.message || e); } }""", text)


def draw(page: Any, text: str, name: str) -> None:
    svg = page.evaluate("async (text) => (await mermaid.render('g' + Date.now(), text)).svg", text)
    page.set_content(f"<!doctype html><html><body style='margin:16px;background:#fff'>{svg}</body></html>")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("svg").screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(MERMAID))
    page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict'})")


def test_the_parser_check_can_fail(mermaid: Any) -> None:
    assert parse(mermaid, 'flowchart LR\n  n0["a"] --> n1["b"]\n') is None
    assert parse(mermaid, 'flowchart LR\n  n0["unclosed] --> \n') is not None


def test_graph_of_the_multi_org_example_is_valid_mermaid(mermaid: Any) -> None:
    run = subprocess.run([sys.executable, "-m", "cli", "graph", str(ROOT / "examples" / "multi-org")],
                         capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert run.returncode == 0, run.stderr
    assert parse(mermaid, run.stdout) is None
    assert run.stdout.count(" --> ") >= 20
    draw(mermaid, run.stdout, "multi-org-specs")


def test_plan_pictures_are_valid_mermaid(mermaid: Any) -> None:
    small = mixed_plan()
    small = Plan(small.fingerprint, changes=small.changes, waiting=small.waiting, resources={
        "Channel/alice-line": Resource("PhoneNumber/alice-line", {}, ("PhoneNumber/alice-line", "Campaign/acme-alerts")),
        "Assignment/alice": Resource("PhoneNumber/alice", {}, ("PhoneNumber/alice",))})
    text = to_mermaid(plan_graph(small))
    assert parse(mermaid, text) is None
    draw(mermaid, text, "plan-small")

    big = Plan("f", changes=tuple(number_change(i) for i in range(3000)),
               waiting=tuple(Waiting(f"Channel/line-{i:05d}", "not bought yet") for i in range(3000)),
               resources={f"Channel/line-{i:05d}": Resource(f"PhoneNumber/line-{i:05d}", {},
                                                            (f"PhoneNumber/line-{i:05d}", "Campaign/alerts"))
                          for i in range(3000)})
    graph = plan_graph(big)
    assert graph.collapsed
    text = to_mermaid(graph)
    assert parse(mermaid, text) is None
    draw(mermaid, text, "plan-by-kind")


HOSTILE = ['x"]; click n0 callback', "a\nb", "</script><script>alert(1)</script>", "%%{init: {}}%%", "#35;", "[x](y)",
           "end", "subgraph", "A --> B", "é ü 漢字 🙂", "`x`", "{{x}}", "a|b|c", "()[]{}<>"]


@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_in_labels_keeps_the_diagram_valid(mermaid: Any, text: str) -> None:
    plan = Plan("f", changes=(Change(f"PhoneNumber/{text}", "create", "new"),),
                waiting=(Waiting(f"Channel/{text}", text),),
                resources={f"Channel/{text}": Resource("PhoneNumber/x", {}, (f"PhoneNumber/{text}",))})
    diagram = to_mermaid(plan_graph(plan))
    assert parse(mermaid, diagram) is None, diagram
    assert diagram.count(" --> ") == 1
