"""Finer text units for stage 2: the text analogue of the paper's K segments.

Real descriptions are paragraphs in which one sentence may carry the event ("a man steps out of his
car into our path") among several routine ones; scored as a whole, the routine majority pulls the
score down. Scoring each sentence and max-pooling, exactly as clips max-pool their segments, keeps
the one that matters.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Sequence

from ltvad_search.backends.base import Scorer, ScorerCaps, ScoreRequest
from ltvad_search.records import SegmentScore
from ltvad_search.scoring import max_pool

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (at ., ! or ? followed by white space); the text itself if one."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    return parts or [text.strip()]


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
