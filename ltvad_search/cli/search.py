"""Commands over the embedding index: build it, search it by text, find more like a clip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ltvad_search.cli.common import (
    AsJson,
    Category,
    MinScore,
    TopK,
    app,
    latest_run_keys,
    open_catalog,
    progress_bar,
    settings,
)

if TYPE_CHECKING:
    from ltvad_search.config import Settings
    from ltvad_search.store import Catalog


PANEL = "Search"


def open_searcher(cfg: Settings, catalog: Catalog):  # type: ignore[no-untyped-def]
    from indexer.index import IndexStoreError
    from indexer.search import Searcher

    describer, scorer, _ = latest_run_keys(catalog)
    try:
        return Searcher(catalog, cfg, describer, scorer)
    except IndexStoreError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(1) from None


def _print_hits(hits, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(h) for h in hits], indent=2))
        return
    if not hits:
        typer.echo("no results")
    for i, h in enumerate(hits, 1):
        score = "  n/a" if h.score is None else f"{h.score:.3f}"
        typer.echo(f"{i:3d}. sim {h.similarity:.3f}  long-tail {score}  {Path(h.source).name} "
                   f"[{h.start_s:.1f}-{h.end_s:.1f} s]" + (f"  category {h.category}" if h.category else ""))
        typer.echo(f"      {h.description[:300]}")


@app.command(rich_help_panel=PANEL)
def index(
    rebuild: Annotated[bool, typer.Option(help="Start the index afresh.")] = False,
) -> None:
    """Embed every described segment not yet indexed (and drop removed ones)."""
    from indexer.embed import Embedder
    from indexer.index import IndexStoreError
    from indexer.search import update_index

    cfg = settings()
    with open_catalog(cfg) as catalog, progress_bar() as progress:
        describer, _, k = latest_run_keys(catalog)
        task = progress.add_task("embed", total=None)
        try:
            result = update_index(catalog, cfg, Embedder(cfg.index.model), describer, k, rebuild=rebuild,
                                  progress=lambda done, total: progress.update(task, completed=done, total=total))
        except IndexStoreError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"index: {result.added} added, {result.removed} removed, {result.total} segments "
               f"({cfg.index.kind}) in {cfg.store.index}")


@app.command(rich_help_panel=PANEL)
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: TopK = 20,
    min_score: MinScore = None,
    category: Category = None,
    as_json: AsJson = False,
) -> None:
    """Free-text scenario search over the descriptions."""
    _search_and_print(lambda s: s.text(query, k, min_score=min_score, category=category), as_json)


@app.command(rich_help_panel=PANEL)
def similar(
    ref: Annotated[str, typer.Argument(help="A clip (id, id prefix or path) or a segment id.")],
    k: TopK = 20,
    min_score: MinScore = None,
    category: Category = None,
    as_json: AsJson = False,
) -> None:
    """"More like this": segments of other clips that read like the given one."""
    _search_and_print(lambda s: s.similar(ref, k, min_score=min_score, category=category), as_json)


def _search_and_print(query, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Run one query against the latest run's index; a bad query or reference is a clear error."""
    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        try:
            hits = query(open_searcher(cfg, catalog))
        except ValueError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    _print_hits(hits, as_json)
