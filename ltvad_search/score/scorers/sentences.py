"""Sentence units for stage 2: the text analogue of the paper's K segments.

Scored as a whole, a paragraph's routine majority pulls the score of its one telling sentence down.
Scoring each sentence and max-pooling, exactly as clips max-pool their segments, keeps the one that
matters.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence

from ltvad_search.records import SegmentScore
from ltvad_search.score.base import Scorer, ScorerCaps, ScoreRequest
from ltvad_search.score.parsing import max_pool
from ltvad_search.score.units import split_sentences


class SentenceScorer:
    """Scores every sentence with an inner scorer and keeps the highest, per description."""

    def __init__(self, inner: Scorer) -> None:
        self.inner = inner
        self.name = f"{inner.name}+sentences"
        self.caps = ScorerCaps(logprobs=inner.caps.logprobs, prefix_reuse=inner.caps.prefix_reuse)

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        out = []
        for request in batch:
            start = time.perf_counter()
            sentences = split_sentences(request.text)
            parts = self.inner.score([dataclasses.replace(request, segment_id=f"{request.segment_id}#{i}", text=s)
                                      for i, s in enumerate(sentences)])
            best = max_pool(p.score for p in parts)
            written = max_pool(p.written for p in parts)
            raw = json.dumps([{"sentence": s, "score": p.score, "written": p.written}
                              for s, p in zip(sentences, parts, strict=True)])
            out.append(SegmentScore(segment_id=request.segment_id, score=None if best is None else best[0],
                                    written=None if written is None else written[0], raw=raw, scorer=self.name,
                                    prompt_id=request.prompt.id, seconds=time.perf_counter() - start))
        return out
