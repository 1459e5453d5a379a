"""Clips ranked by their max-pooled segment score: what `top`, the UI and evaluation show."""

from __future__ import annotations

from dataclasses import dataclass

from ltvad_search.catalog import Catalog, ScoredSegment
from ltvad_search.records import ClipScore, RunKey
from ltvad_search.score.parsing import is_long_tail, max_pool


@dataclass(frozen=True, slots=True)
class RankedClip:
    """A clip score with what a user needs to look at it: the top segment and its description."""

    clip: ClipScore
    source: str
    top: ScoredSegment
    segments: tuple[ScoredSegment, ...]


def rank(catalog: Catalog, key: RunKey, threshold: float, *, written: bool = False) -> list[RankedClip]:
    """Clips by max-pooled score, highest first; clips with no scored segment yet are left out."""
    by_clip: dict[str, list[ScoredSegment]] = {}
    for row in catalog.scored_segments(key.describer, key.scorer, key.k, written=written):
        by_clip.setdefault(row.segment.clip_id, []).append(row)
    ranked = []
    for clip_id, rows in by_clip.items():
        pooled = max_pool(r.score for r in rows)
        if pooled is None:
            continue
        score, i = pooled
        top = rows[i]
        ranked.append(RankedClip(
            clip=ClipScore(clip_id=clip_id, score=score, top_segment_id=top.segment.segment_id,
                           long_tail=is_long_tail(score, threshold)),
            source=top.source, top=top, segments=tuple(rows)))
    ranked.sort(key=lambda r: (-r.clip.score, r.source))
    return ranked
