"""A scorer that reads the score a model already wrote, for the paper's baseline.

In the baseline a multimodal model answers the scoring prompt from the frames directly, so stage 1
already holds the answer ("[0.7]"); this backend turns that text into a score. No model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from ltvad_search.config import ScorerConfig
from ltvad_search.records import SegmentScore
from ltvad_search.score.base import ScorerCaps, ScoreRequest, score_from_text


class WrittenScoreParser:
    name = "parse:written"
    caps = ScorerCaps(logprobs=False, prefix_reuse=False)

    @classmethod
    def from_config(cls, cfg: ScorerConfig) -> WrittenScoreParser:
        return cls()

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        return [score_from_text(r, r.text, self.name, 0.0) for r in batch]
