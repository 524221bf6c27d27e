"""Plan renderers: one Plan, three views (terminal text, CONTRACT.md JSON, PR-comment Markdown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from controller.reconcile.plan import Plan
from controller.render.json_output import render_json
from controller.render.markdown import render_markdown
from controller.render.text import render_text

Format = Literal["text", "json", "markdown"]
FORMATS: tuple[Format, ...] = ("text", "json", "markdown")


def render(plan: Plan, fmt: Format, *, color: bool = False, policy: Mapping[str, Any] | None = None) -> str:
    """The plan in `fmt`. `color` only affects text (rich styling for a terminal); `policy` (the
    policies' verdict) is shown in Markdown, the pull-request comment (text shows it on stderr)."""
    if fmt == "text":
        return render_text(plan, color=color)
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan, policy)
    raise ValueError(f"unknown plan format {fmt!r}; expected one of: {', '.join(FORMATS)}")


__all__ = ["FORMATS", "Format", "render", "render_json", "render_markdown", "render_text"]
