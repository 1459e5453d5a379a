"""Adapt the embedder to the store's own descriptions, label-free, and rebuild the index with it.

`ltvad index --adapt`: the scorer's LLM writes a few search queries per distinct description
(`queries`, cached), the embedder is fine-tuned on (query, description) pairs (`tune`), saved under
`<store>/embedders/<base>+adapted-<hash>/`, and the index is rebuilt with it. The index's manifest
names the model and where it is, so later `ltvad index` runs and every search embed with the same
model, and any other model is refused (indexer/index.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.adapt.queries import Generated, QueryCache, generate_queries
from indexer.adapt.tune import AdaptedModel, bm25_negatives, fine_tune, pairs_from, save_adapted
from indexer.search import IndexUpdate, update_index
from ltvad_search.catalog import Catalog
from ltvad_search.config import AdaptConfig, Settings
from ltvad_search.models.embed import DEFAULT_MODEL, Embedder, adapted_info
from ltvad_search.score.base import Generator

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True, slots=True)
class Adaptation:
    model: AdaptedModel
    descriptions: int  # distinct description texts
    generated: int  # of them, answered by the LLM in this run (the rest came from the cache)
    generate_seconds: float
    update: IndexUpdate


def base_model(settings: Settings) -> str:
    """What to fine-tune: the configured model, or the base of an adapted one (adapting is never
    stacked on an earlier adaptation)."""
    configured = settings.index.model or DEFAULT_MODEL
    info = adapted_info(configured)
    return str(info["base"]) if info else configured


def adapted_model(texts: Sequence[str], generator: Generator, cache: QueryCache, settings: AdaptConfig, base: str,
                  folder: Path, *, trained_on: Mapping[str, object] | None = None,
                  progress: Progress | None = None) -> tuple[AdaptedModel, Generated, float]:
    """Queries written for `texts` (from the cache where it has them), the base embedder fine-tuned on
    them and saved under `folder`; with the queries and the seconds spent writing them."""
    start = time.perf_counter()
    generated = generate_queries(generator, texts, cache, per_text=settings.queries,
                                 progress=progress and (lambda d, n: progress("queries", d, n)))
    generate_seconds = time.perf_counter() - start
    usable = {text: qs for text, qs in generated.queries.items() if qs}
    pairs = pairs_from(usable, bm25_negatives(usable) if settings.hard_negatives else None)
    start = time.perf_counter()
    model = fine_tune(base, pairs, settings, progress=progress and (lambda d, n: progress("fine-tune", d, n)))
    adapted = save_adapted(model, folder, base=base, pairs=len(pairs), seconds=time.perf_counter() - start,
                           trained_on={"generator": generator.name, "descriptions": len(usable),
                                       **settings.model_dump(), **(trained_on or {})})
    return adapted, generated, generate_seconds


def adapt_index(catalog: Catalog, settings: Settings, generator: Generator, describer: str, k: int, *,
                progress: Progress | None = None) -> Adaptation:
    """Generate queries for the run's descriptions, fine-tune, save the model, rebuild the index."""
    texts = list(dict.fromkeys(d.text for d in catalog.descriptions(describer, k)))
    if not texts:
        raise ValueError(f"no descriptions by {describer!r} with k={k} to adapt to: run `ltvad run` first")
    cache = QueryCache(settings.store.query_cache)
    try:
        adapted, generated, seconds = adapted_model(
            texts, generator, cache, settings.index.adapt, base_model(settings), settings.store.embedders,
            trained_on={"describer": describer, "k": k}, progress=progress)
    finally:
        cache.close()
    update = update_index(catalog, settings, Embedder(str(adapted.path)), describer, k, rebuild=True,
                          progress=progress and (lambda d, n: progress("embed", d, n)))
    return Adaptation(model=adapted, descriptions=len(texts), generated=generated.new,
                      generate_seconds=seconds, update=update)
