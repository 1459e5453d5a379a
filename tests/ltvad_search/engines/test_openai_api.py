from __future__ import annotations

import numpy as np
import pytest

from ltvad_search import prompts
from ltvad_search.config import DescriberConfig, ScorerConfig
from ltvad_search.describe.base import DescribeRequest
from ltvad_search.engines.openai_api import OpenAIDescriber, OpenAIScorer, _even_subset, jpeg_data_url
from ltvad_search.records import Segment
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.scorers.checklist import answers
from ltvad_search.video.decode import Frames

SEG = Segment(segment_id="s1", clip_id="c", index=0, k=1, start_s=0.0, end_s=1.5, sample_times=(0.0, 0.5, 1.0))
FRAMES = Frames(pixels=np.random.default_rng(0).integers(0, 255, (3, 48, 64, 3), dtype=np.uint8),
                times=(0.0, 0.5, 1.0), fps=2.0)


def test_scorer_reads_grid_probabilities_from_a_real_server(llama_server: str) -> None:
    scorer = OpenAIScorer(ScorerConfig(backend="openai", base_url=llama_server, constrain="grammar"))
    assert scorer.name == "openai:smollm2"
    p = prompts.load("score_description")
    results = scorer.score([ScoreRequest("a", "A deer runs onto the highway.", p),
                            ScoreRequest("b", "The car keeps its lane on a clear road.", p)])
    for r in results:
        assert r.raw.startswith("[") and r.written is not None
        assert r.score is not None and 0 <= r.score <= 1 and r.score not in (r.written,)  # continuous


def test_checklist_questions_read_yes_no_from_a_real_server(llama_server: str) -> None:
    from ltvad_search.score import make_scorer

    cfg = ScorerConfig(backend="openai", base_url=llama_server)  # the default stage 2: the checklist
    scorer = make_scorer(cfg)
    p = prompts.load("score_checklist")
    [probs] = scorer.inner.yes_probabilities(p, ["Snow covers the road."])  # type: ignore[attr-defined]
    assert len(probs) == len(p.questions) and all(0 <= x <= 1 for x in probs)
    [r] = scorer.score([ScoreRequest("a", "Snow covers the road.", p)])
    calibrated = answers(p, probs, scorer.bias.of(p).offsets("Snow covers the road."))["calibrated"]  # type: ignore[attr-defined]
    assert r.score == pytest.approx(max(calibrated.values()), abs=1e-6) and r.scorer == "openai:smollm2+checklist"


def test_many_descriptions_in_flight_answer_as_one_at_a_time(llama_server: str) -> None:
    judge = OpenAIScorer(ScorerConfig(backend="openai", base_url=llama_server))
    p = prompts.load("score_checklist")
    texts = ["Snow covers the road.", "A deer runs onto the highway.", "The car keeps its lane."]
    together = judge.yes_probabilities(p, texts)
    alone = [judge.yes_probabilities(p, [t])[0] for t in texts]
    assert len(together) == 3 and [len(a) for a in together] == [len(p.questions)] * 3
    assert [x for a in together for x in a] == pytest.approx([x for a in alone for x in a], abs=1e-6)


def test_scorer_without_constraint_keeps_unparseable_raw_text(llama_server: str) -> None:
    scorer = OpenAIScorer(ScorerConfig(backend="openai", base_url=llama_server))
    [r] = scorer.score([ScoreRequest("a", "The car drives.", prompts.load("score_description"))])
    assert r.raw  # whatever the weak model wrote is kept
    assert (r.score is None) == (r.written is None)


def test_describer_sends_frames_to_a_real_server(llama_server: str) -> None:
    describer = OpenAIDescriber(DescriberConfig(backend="openai", base_url=llama_server, max_tokens=16))
    [d] = describer.describe([DescribeRequest(SEG, FRAMES, prompts.load("describe"))])
    assert d.segment_id == "s1" and d.text and d.describer == "openai:smollm2"


def test_video_part_carries_frames_and_fps(llama_server: str) -> None:
    describer = OpenAIDescriber(DescriberConfig(backend="openai", base_url=llama_server, frames_as="video",
                                                max_frames=2))
    parts, extra = describer.content(DescribeRequest(SEG, FRAMES, prompts.load("describe")))
    url = parts[0]["video_url"]["url"]
    assert url.startswith("data:video/jpeg;base64,") and url.count(",") == 2  # two frames kept
    assert extra["mm_processor_kwargs"]["fps"] == pytest.approx(2.0 * 2 / 3)
    assert parts[1]["text"] == "Please describe the given video."


def test_a_refused_connection_is_raised_after_retries() -> None:
    import openai

    scorer_cfg = ScorerConfig(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2)
    scorer = OpenAIScorer(scorer_cfg, retries=1)
    with pytest.raises(openai.APIConnectionError):
        scorer.score([ScoreRequest("a", "x", prompts.load("score_description"))])


def test_helpers() -> None:
    assert _even_subset(10, 3) == [0, 4, 9]
    assert _even_subset(2, 5) == [0, 1]
    assert jpeg_data_url(FRAMES.pixels[0]).startswith("data:image/jpeg;base64,/9j/")
