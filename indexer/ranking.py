"""How an index's rows become ranked segments: a description's rows, and pure functions that turn
row similarities and rankings into one relevance per segment."""

from __future__ import annotations

import numpy as np

from indexer.index import VectorIndex
from ltvad_search.score.units import split_sentences

SENTENCE_MARK = "#"  # row id of a sentence: "<segment id>#<n>"


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


def rows_by_segment(index: VectorIndex) -> dict[str, list[int]]:
    """Segment id -> its rows in the index, the whole description first."""
    rows: dict[str, list[int]] = {}
    for i, row_id in enumerate(index.ids):
        rows.setdefault(base_id(row_id), []).append(i)
    return rows


def segment_similarity(index: VectorIndex, rows: dict[str, list[int]], query: np.ndarray,
                       candidates: list[str], *, best: bool = False) -> list[tuple[str, float]]:
    """Exact similarity of each candidate segment, best first: the mean of its whole-description
    match and its best sentence's (the whole alone when it has one sentence); with `best`, its best
    row's (a negated phrase is present if any one sentence says it)."""
    scored = []
    for sid in dict.fromkeys(candidates):
        own = rows.get(sid)
        if not own:
            continue
        sims = index.vectors[own] @ query
        whole, parts = float(sims[0]), sims[1:]
        if best or len(parts) == 0:
            scored.append((sid, float(sims.max())))
        else:
            scored.append((sid, 0.5 * whole + 0.5 * float(parts.max())))
    scored.sort(key=lambda it: -it[1])
    return scored


def best_per_segment(rows: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Row hits (a description or one of its sentences) as segment hits: each segment's best row."""
    best: dict[str, float] = {}
    for row_id, value in rows:
        sid = base_id(row_id)
        best[sid] = max(value, best.get(sid, float("-inf")))
    return sorted(best.items(), key=lambda it: -it[1])


def fuse(rankings: list[list[tuple[str, float]]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking gives an item 1/(k + rank); a rank-based sum needs no
    common scale between cosine similarities and BM25 scores."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, (sid, _) in enumerate(ranking, 1):
            fused[sid] = fused.get(sid, 0.0) + 1.0 / (k + rank)
    return fused
