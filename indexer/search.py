"""Search over the catalog's descriptions: by words, by example, and narrowing the ranked list.

The index holds the descriptions of one describer (the latest run's); hits are joined back to the
catalog for the clip, the time span, the description and the long-tail score of that run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from indexer.embed import DEFAULT_MODEL, Embedder
from indexer.index import VectorIndex
from ltvad_search.config import Settings
from ltvad_search.store import Catalog
from ltvad_search.units import split_sentences


@dataclass(frozen=True, slots=True)
class Hit:
    segment_id: str
    clip_id: str
    source: str
    start_s: float
    end_s: float
    similarity: float
    score: float | None
    description: str
    category: int | None


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    added: int
    removed: int
    total: int


SENTENCE_MARK = "#"  # row id of a sentence: "<segment id>#<n>"


def model_name(settings: Settings) -> str:
    return settings.index.model or DEFAULT_MODEL


def passages(segment_id: str, text: str, sentences: bool) -> list[tuple[str, str]]:
    """The rows a description is indexed as: the whole text, and each sentence when it has several.

    Real descriptions are paragraphs whose one telling sentence is buried among routine ones; a
    query matched against that sentence alone finds it (precision@10 on the textbench goes from
    0.24 to 0.36, bench/bench_retrieval.py).
    """
    rows = [(segment_id, text)]
    if sentences:
        parts = split_sentences(text)
        if len(parts) > 1:
            rows += [(f"{segment_id}{SENTENCE_MARK}{n}", part) for n, part in enumerate(parts)]
    return rows


def base_id(row_id: str) -> str:
    return row_id.split(SENTENCE_MARK, 1)[0]


def update_index(catalog: Catalog, settings: Settings, embedder: Embedder, describer: str, k: int, *,
                 rebuild: bool = False, progress: Callable[[int, int], None] | None = None) -> IndexUpdate:
    """Embed every described segment not yet indexed, drop those whose clips are gone, save."""
    folder = settings.store.index
    index = None
    if not rebuild and (folder / "CURRENT").exists():
        # an index that does not match the configured model or describer is refused, never replaced
        index = VectorIndex.load(folder, embedding_model=embedder.name, describer=describer)
    if index is None:
        index = VectorIndex.empty(embedder.name, embedder.dim, describer, settings.index.kind, settings.index.params)
    descriptions = catalog.descriptions(describer, k)
    wanted = {d.segment_id for d in descriptions}
    new = [d for d in descriptions if d.segment_id not in index]
    gone = {base_id(r) for r in index.ids} - wanted
    index.remove([r for r in index.ids if base_id(r) in gone])
    rows = [row for d in new for row in passages(d.segment_id, d.text, settings.index.sentences)]
    if rows:
        index.add([r for r, _ in rows], embedder.encode([t for _, t in rows], progress=progress))
    if new or gone or rebuild or not (folder / "CURRENT").exists():
        index.save(folder)
    return IndexUpdate(added=len(new), removed=len(gone), total=len({base_id(r) for r in index.ids}))


def rows_by_segment(index: VectorIndex) -> dict[str, list[int]]:
    """Segment id -> its rows in the index, the whole description first."""
    rows: dict[str, list[int]] = {}
    for i, row_id in enumerate(index.ids):
        rows.setdefault(base_id(row_id), []).append(i)
    return rows


def rerank(index: VectorIndex, rows: dict[str, list[int]], query: np.ndarray,
           candidates: list[str]) -> list[tuple[str, float]]:
    """Exact similarity of each candidate segment, best first: the mean of its whole-description
    match and its best sentence's (the whole alone when it has one sentence)."""
    scored = []
    for sid in dict.fromkeys(candidates):
        own = rows.get(sid)
        if not own:
            continue
        sims = index.vectors[own] @ query
        whole, parts = float(sims[0]), sims[1:]
        scored.append((sid, whole if len(parts) == 0 else 0.5 * whole + 0.5 * float(parts.max())))
    scored.sort(key=lambda it: -it[1])
    return scored


class Searcher:
    """Loaded once per process (the UI keeps one); every query is an embedding and a FAISS lookup."""

    def __init__(self, catalog: Catalog, settings: Settings, describer: str, scorer: str,
                 embedder: Embedder | None = None, index: VectorIndex | None = None) -> None:
        self.catalog, self.describer, self.scorer = catalog, describer, scorer
        self.embedder = embedder or Embedder(settings.index.model)
        self.index = index or VectorIndex.load(settings.store.index, embedding_model=self.embedder.name,
                                               describer=describer)
        self._rows = rows_by_segment(self.index)

    def _hits(self, ranked: list[tuple[str, float]]) -> list[Hit]:
        details = self.catalog.scored_segments_by_id([sid for sid, _ in ranked], self.describer, self.scorer)
        categories = self.catalog.categories()
        hits = []
        for sid, sim in ranked:
            row = details.get(sid)
            if row is None:
                continue  # indexed but since removed from the catalog: skipped until the next `ltvad index`
            seg = row.segment
            hits.append(Hit(sid, seg.clip_id, row.source, seg.start_s, seg.end_s, sim, row.score, row.description,
                            categories.get(seg.clip_id)))
        return hits

    def _filtered(self, ranked: list[tuple[str, float]], k: int, min_score: float | None,
                  category: int | None, exclude_clip: str | None = None) -> list[Hit]:
        out = []
        for hit in self._hits(ranked):
            if exclude_clip is not None and hit.clip_id == exclude_clip:
                continue
            if min_score is not None and (hit.score is None or hit.score < min_score):
                continue
            if category is not None and hit.category != category:
                continue
            out.append(hit)
            if len(out) == k:
                break
        return out

    def _fetch(self, k: int, filtered: bool) -> int:
        """Rows to ask FAISS for: sentences share segments, and the caller drops some hits."""
        return len(self.index) if filtered else min(len(self.index), max(k * 10, k + 64))

    def text(self, query: str, k: int = 20, *, min_score: float | None = None,
             category: int | None = None) -> list[Hit]:
        """Segments whose descriptions are nearest in meaning to a free-text query."""
        if not query.strip():
            raise ValueError("empty query")
        q = self.embedder.encode([query])
        filtered = min_score is not None or category is not None
        [ranked] = self.index.search(q, self._fetch(k, filtered))
        candidates = [base_id(r) for r, _ in ranked]
        return self._filtered(rerank(self.index, self._rows, q[0], candidates), k, min_score, category)

    def similar(self, ref: str, k: int = 20, *, min_score: float | None = None,
                category: int | None = None) -> list[Hit]:
        """"More like this": segments of other clips nearest to a segment, or to any segment of a clip."""
        seg = self.catalog.segment(ref)
        if seg is not None:
            clip_id, seeds = seg.clip_id, [ref]
        else:
            clip = self.catalog.find_clip(ref)
            if clip is None:
                raise ValueError(f"{ref}: no such clip or segment in the catalog")
            clip_id, seeds = clip.clip_id, [s.segment_id for s in self.catalog.segments(clip_id=clip.clip_id)]
        seeds = [s for s in seeds if s in self.index]
        if not seeds:
            raise ValueError(f"{ref}: not indexed yet (run `ltvad index`)")
        queries = np.stack([self.index.vector(s) for s in seeds])
        best: dict[str, float] = {}
        filtered = min_score is not None or category is not None
        for ranked in self.index.search(queries, self._fetch(k + len(seeds), filtered)):
            for row_id, sim in ranked:
                if SENTENCE_MARK not in row_id:  # example to example: whole descriptions
                    best[row_id] = max(sim, best.get(row_id, -1.0))
        merged = sorted(best.items(), key=lambda it: -it[1])
        return self._filtered(merged, k, min_score, category, exclude_clip=clip_id)
