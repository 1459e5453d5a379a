"""Any scorer behind the text-keyed score cache: each distinct text goes to the model once.

Within a batch, repeated texts are sent once; across batches, clips and runs, a text already scored
under the same scorer key (scorer configuration and prompt id) is answered from the cache. A hit
costs nothing, so its stored seconds are 0 and seconds per clip stay honest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ltvad_search.records import SegmentScore
from ltvad_search.score.base import Scorer, ScoreRequest, scorer_key
from ltvad_search.score.cache import ScoreCache


@dataclass(slots=True)
class CacheStats:
    """How many requests the cache answered, and how many distinct texts went to the model."""

    hits: int = 0
    scored: int = 0

    @property
    def requests(self) -> int:
        return self.hits + self.scored


class CachedScorer:
    def __init__(self, inner: Scorer, cache: ScoreCache) -> None:
        self.inner, self.cache = inner, cache
        self.name, self.caps = inner.name, inner.caps
        self.stats = CacheStats()

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        keys = [scorer_key(self.inner, request.prompt) for request in batch]
        by_key: dict[str, list[ScoreRequest]] = {}
        for key, request in zip(keys, batch, strict=True):
            by_key.setdefault(key, []).append(request)
        answered: dict[tuple[str, str], SegmentScore] = {}
        for key, requests in by_key.items():
            texts = [r.text for r in requests]
            known = self.cache.get(key, texts)
            answered.update({(key, t): dataclasses.replace(s, seconds=0.0) for t, s in known.items()})
            todo = list({r.text: r for r in requests if r.text not in known}.values())  # each text once
            fresh = self.inner.score(todo) if todo else []
            self.cache.put(key, [(r.text, s) for r, s in zip(todo, fresh, strict=True)])
            answered.update({(key, r.text): s for r, s in zip(todo, fresh, strict=True)})
            self.stats.scored += len(todo)
        out = []
        first_use: set[tuple[str, str]] = set()
        for scorer, request in zip(keys, batch, strict=True):
            pair = (scorer, request.text)
            result = answered[pair]
            if result.segment_id and pair not in first_use:  # the request the model actually answered
                first_use.add(pair)
            else:
                self.stats.hits += 1
                result = dataclasses.replace(result, seconds=0.0)
            out.append(dataclasses.replace(result, segment_id=request.segment_id))
        return out
