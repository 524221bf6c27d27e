"""The largest plan of the 30 x 100 bench world (every number bought once the campaigns are approved)
renders a pull-request comment under GitHub's 65,536 characters, with its picture and every kind listed,
while the plan JSON (the artifact) holds all of it. Not timed: bench/statuspage.py times it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import statuspage as bench_statuspage
from controller.render import render_json, render_markdown
from controller.render.markdown import LIMIT


@pytest.mark.slow
def test_the_30_by_100_plan_fits_a_comment_with_its_picture(tmp_path: Path) -> None:
    plan = bench_statuspage.largest_plan(tmp_path, 30).plan
    assert len([c for c in plan.changes if c.action == "create" and c.kind == "NumberPool"]) == 2999
    markdown = render_markdown(plan)
    assert len(markdown) <= LIMIT
    assert "```mermaid\nflowchart LR\n" in markdown and "Drawn by kind (6000 resources)" in markdown
    for kind in sorted({c.kind for c in plan.changes}):
        assert f"<details><summary><b>{kind}</b> — " in markdown, kind
    assert markdown.count("<details>") == markdown.count("</details>")
    assert "more changes: the full plan is the JSON artifact" in markdown
    artifact = json.loads(render_json(plan))
    assert len(artifact["changes"]) == len(plan.changes)
