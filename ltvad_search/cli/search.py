"""Commands over the embedding index: build it, search it by text, find more like a clip."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ltvad_search.cli.common import (
    AsJson,
    Category,
    MinScore,
    TopK,
    app,
    generator_or_exit,
    latest_run_keys,
    open_catalog,
    progress_bar,
    settings,
)

if TYPE_CHECKING:
    from rich.progress import TaskID

    from indexer.search import Hit, Searcher
    from ltvad_search.catalog import Catalog
    from ltvad_search.config import Settings
    from ltvad_search.score.base import YesNoJudge
    from ltvad_search.score.cache import ScoreCache


PANEL = "Search"


def open_searcher(cfg: Settings, catalog: Catalog) -> Searcher:
    from indexer.index import IndexStoreError
    from indexer.search import Searcher

    key = latest_run_keys(catalog)
    describer, scorer = key.describer, key.scorer
    try:
        return Searcher(catalog, cfg, describer, scorer)
    except IndexStoreError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(1) from None


def _print_hits(hits: Sequence[Hit], as_json: bool) -> None:
    import dataclasses

    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(h) for h in hits], indent=2))
        return
    if not hits:
        typer.echo("no results")
    for i, h in enumerate(hits, 1):
        score = "  n/a" if h.score is None else f"{h.score:.3f}"
        why = f"  most likely: {h.most_likely[0]}" if h.most_likely else ""
        typer.echo(f"{i:3d}. relevance {h.similarity:.3f}  long-tail {score}  {Path(h.source).name} "
                   f"[{h.start_s:.1f}-{h.end_s:.1f} s]" + (f"  category {h.category}" if h.category else "") + why)
        typer.echo(f"      {h.description[:300]}")
        if h.matched is not None and h.matched != h.description:
            typer.echo(f"      matching: {h.matched[:200]}")


@app.command(rich_help_panel=PANEL)
def index(
    rebuild: Annotated[bool, typer.Option(help="Start the index afresh.")] = False,
    adapt: Annotated[bool, typer.Option(help="Fine-tune the embedder on search queries the scorer's LLM writes for "
                                        "these descriptions (cached; no labels), then rebuild the index with it "
                                        "(settings: index.adapt.*).")] = False,
) -> None:
    """Embed every described segment not yet indexed (and drop removed ones)."""
    from indexer.index import IndexStoreError, configured_embedder

    cfg = settings()
    if adapt:
        _adapt(cfg)
        return
    from indexer.search import update_index

    with open_catalog(cfg) as catalog, progress_bar() as progress:
        key = latest_run_keys(catalog)
        describer, k = key.describer, key.k
        task = progress.add_task("embed", total=None)
        try:
            result = update_index(catalog, cfg, configured_embedder(cfg), describer, k, rebuild=rebuild,
                                  progress=lambda done, total: progress.update(task, completed=done, total=total))
        except (IndexStoreError, ValueError) as e:  # ValueError: an adapted model whose weights changed
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"index: {result.added} added, {result.removed} removed, {result.total} segments "
               f"({cfg.index.kind}) in {cfg.store.index}")


def _adapt(cfg: Settings) -> None:
    """`ltvad index --adapt`: queries written, the embedder fine-tuned, the index rebuilt with it."""
    from indexer.adapt import adapt_index

    generator = generator_or_exit(cfg, "query writer")
    with open_catalog(cfg) as catalog, progress_bar() as progress:
        key = latest_run_keys(catalog)
        tasks: dict[str, TaskID] = {}

        def show(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        try:
            result = adapt_index(catalog, cfg, generator, key.describer, key.k, progress=show)
        except ValueError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    m = result.model
    typer.echo(f"adapted {m.base} on {m.pairs} (query, description) pairs from {result.descriptions} "
               f"descriptions ({result.generated} newly written in {result.generate_seconds:.0f} s, the rest cached; "
               f"fine-tuned in {m.seconds:.0f} s)")
    typer.echo(f"model: {m.name} in {m.path}")
    typer.echo(f"index: rebuilt with it, {result.update.total} segments in {cfg.store.index}")
    if cfg.index.model:
        typer.secho(f"index.model is set to {cfg.index.model!r}: unset it (the index then names its model) or set it "
                    f"to {m.path} to search this index", fg="yellow", err=True)


class Mode(StrEnum):
    hybrid = "hybrid"
    dense = "dense"
    lexical = "lexical"


class Order(StrEnum):
    relevance = "relevance"
    long_tail = "long-tail"


@app.command(rich_help_panel=PANEL)
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words. \"not ...\", \"no ...\", "
                                         "\"without ...\" push hits down; score>=0.5, category 10, clip:NAME and "
                                         "\"in the last 5 seconds\" filter (the reading is printed).")],
    k: TopK = 20,
    min_score: MinScore = None,
    category: Category = None,
    mode: Annotated[Mode | None, typer.Option(help="hybrid (default: meaning and exact words fused), dense or "
                                              "lexical alone.")] = None,
    order: Annotated[Order | None, typer.Option(help="relevance, or long-tail: relevance and long-tail score "
                                                "together.")] = None,
    rerank: Annotated[int, typer.Option(help="Ask the stage-2 model whether each of the top N shows the query, "
                                        "and reorder them by its answer (about a second each on a laptop; "
                                        "answers are cached).")] = 0,
    as_json: AsJson = False,
) -> None:
    """Free-text scenario search over the descriptions."""
    judge, cache = (_rerank_model() if rerank else (None, None))

    def ask(s: Searcher) -> list[Hit]:
        hits = s.text(query, k, min_score=min_score, category=category, mode=mode and mode.value,
                      order=order and order.value, rerank_top=rerank, judge=judge, cache=cache)
        read = s.read(query, min_score=min_score, category=category)
        if not read.plain:  # on stderr: --json output stays a list of hits
            typer.secho(f"read as: {read.explain()}", err=True, fg="cyan")
        if s.last_category is not None and read.category is None:  # a guess the user did not ask for: said so
            from ltvad_search.prompts import category_names

            name = category_names().get(s.last_category, "?")
            typer.secho(f"about category {s.last_category} ({name}): segments the checklist put there rank higher "
                        "(--set search.category_weight=0 to turn off)", err=True, fg="cyan")
        done = s.last_rerank
        if done is not None and judge is not None and not as_json:
            typer.secho(f"re-ranked the top {len(done.p_yes)} with {judge.name} in {done.seconds:.1f} s "
                        f"({done.asked} asked, {len(done.p_yes) - done.asked} from the cache)", err=True)
        return hits

    _search_and_print(ask, as_json)


def _rerank_model() -> tuple[YesNoJudge, ScoreCache]:
    """The stage-2 model as a yes/no judge, and the score cache its answers are kept in."""
    from ltvad_search.cli.common import start_or_exit
    from ltvad_search.score import make_text_backend
    from ltvad_search.score.base import YesNoJudge
    from ltvad_search.score.cache import ScoreCache

    cfg = settings()
    judge = start_or_exit("re-ranker", lambda: make_text_backend(
        cfg.scorer.model_copy(update={"answer": "checklist", "prompt": "score_checklist"})))
    if not isinstance(judge, YesNoJudge):
        typer.secho(f"the {cfg.scorer.backend!r} backend cannot answer yes/no; re-rank with llamacpp, openai, "
                    "vllm or hf", fg="red", err=True)
        raise typer.Exit(2)
    return judge, ScoreCache(cfg.store.score_cache)


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


def _search_and_print(query: Callable[[Searcher], list[Hit]], as_json: bool) -> None:
    """Run one query against the latest run's index; a bad query or reference is a clear error."""
    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        try:
            hits = query(open_searcher(cfg, catalog))
        except ValueError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    _print_hits(hits, as_json)
