from __future__ import annotations

from pathlib import Path

import numpy as np

from ltvad_search import prompts
from ltvad_search.config import DescriberConfig, ScorerConfig
from ltvad_search.describe.base import DescribeRequest
from ltvad_search.engines.hf import HFDescriber, HFScorer
from ltvad_search.records import Segment
from ltvad_search.score.base import ScoreRequest
from ltvad_search.video.decode import Frames


def test_hf_scorer_on_a_tiny_random_llm(tiny_llm: Path) -> None:
    scorer = HFScorer(ScorerConfig(backend="hf", model=str(tiny_llm)))
    p = prompts.load("score_description")
    results = scorer.score([ScoreRequest("a", "the car brakes for a deer", p), ScoreRequest("b", "the car drives", p)])
    for r in results:
        assert r.score is not None and 0 <= r.score <= 1 and r.written is not None
    assert results[0].score != results[1].score


def test_hf_scorer_answers_checklist_questions(tiny_llm: Path) -> None:
    scorer = HFScorer(ScorerConfig(backend="hf", model=str(tiny_llm)))
    p = prompts.load("score_checklist")
    [probs, other] = scorer.yes_probabilities(p, ["the car brakes for a deer", "the car drives"])
    assert len(probs) == len(p.questions) and all(0 < x < 1 for x in probs)
    assert len(set(probs)) > 1  # each question is its own forward pass
    assert scorer.yes_probabilities(p, ["the car drives"]) == [other]  # a batch answers as one at a time


def test_hf_describer_on_a_tiny_random_vlm(tiny_vlm: Path) -> None:
    describer = HFDescriber(DescriberConfig(backend="hf", model=str(tiny_vlm), max_tokens=6, max_frames=3))
    seg = Segment(segment_id="s", clip_id="c", index=0, k=1, start_s=0.0, end_s=2.0, sample_times=(0.0, 0.5, 1.0, 1.5))
    frames = Frames(pixels=np.random.default_rng(1).integers(0, 255, (4, 40, 60, 3), dtype=np.uint8),
                    times=seg.sample_times, fps=2.0)
    [d] = describer.describe([DescribeRequest(seg, frames, prompts.load("describe"))])
    assert d.segment_id == "s" and isinstance(d.text, str) and d.describer.startswith("hf:")
