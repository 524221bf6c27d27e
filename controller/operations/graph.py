"""`senderctl graph PATH... [-o mermaid|dot]`: the specs' dependency graph, offline (no Bird, no state)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from controller.render.graph import specs_graph, to_dot, to_mermaid
from specs import load_specs
from specs.graph import dependency_edges


def run_graph(paths: Sequence[str], output: str) -> int:
    result = load_specs(paths)
    if result.errors:
        for error in result.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(result.errors)} error(s); no graph drawn. Fix the specs (senderctl validate) and run again.",
                   err=True)
        return 1
    documents = [doc.address for doc in result.specs.documents]
    graph = specs_graph(documents, [(e.source, e.target) for e in dependency_edges(result.specs)])
    click.echo(to_dot(graph) if output == "dot" else to_mermaid(graph), nl=False)
    return 0
