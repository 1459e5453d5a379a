from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltvad_search import prompts
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.scorers.sentences import SentenceScorer
from ltvad_search.score.units import split_sentences


def test_split_sentences() -> None:
    assert split_sentences("The car stops. A man steps out! Why? ok") == ["The car stops.", "A man steps out!",
                                                                          "Why?", "ok"]
    assert split_sentences("  one sentence without end ") == ["one sentence without end"]
    assert split_sentences("3.5 m away. Then") == ["3.5 m away.", "Then"]  # no split inside numbers


def test_sentence_scorer_max_pools_a_real_scorer(smollm2: Path) -> None:
    from ltvad_search.score.llama.scorer import LlamaCppScorer

    inner = LlamaCppScorer(smollm2, n_ctx=2048)
    scorer = SentenceScorer(inner)
    p = prompts.load("score_sentence")
    text = "The car waits at a red light. A deer jumps onto the road. The car drives on."
    [r] = scorer.score([ScoreRequest("seg", text, p)])
    parts = json.loads(r.raw)
    assert [x["sentence"] for x in parts] == split_sentences(text)
    assert r.score == pytest.approx(max(x["score"] for x in parts))
    assert r.scorer == inner.name + "+sentences" and r.segment_id == "seg"
    alone = inner.score([ScoreRequest("x", "A deer jumps onto the road.", p)])[0].score
    assert parts[1]["score"] == pytest.approx(alone)  # each sentence is scored exactly as on its own


def test_registry_wraps_when_asked(smollm2: Path) -> None:
    from ltvad_search.config import ScorerConfig
    from ltvad_search.score import make_scorer

    s = make_scorer(ScorerConfig(model="smollm2-135m", n_ctx=2048, units="sentences"))
    assert isinstance(s, SentenceScorer)
