from __future__ import annotations

import math

import pytest

from ltvad_search import prompts
from ltvad_search.score.base import ScoreRequest, score_from_text

REQ = ScoreRequest("s", "text", prompts.load("score_description"))


def test_text_only_answers_score_what_was_written() -> None:
    r = score_from_text(REQ, "[0.7]", "x", 0.1)
    assert (r.score, r.written, r.raw) == (0.7, 0.7, "[0.7]")
    bad = score_from_text(REQ, "I think it is fine", "x", 0.1)
    assert bad.score is None and bad.written is None and bad.raw == "I think it is fine"


def test_log_probs_give_the_expected_value_and_keep_the_written_answer() -> None:
    steps = [("[", {"[": 0.0}), ("0", {"0": math.log(0.8), "1": math.log(0.2)}), (".", {".": 0.0}),
             ("5", {"5": math.log(0.5), "3": math.log(0.5)}), ("]", {"]": 0.0})]
    r = score_from_text(REQ, "[0.5]", "x", 0.1, steps)
    assert r.written == 0.5 and r.score == pytest.approx(0.8 * 0.4 + 0.2 * 1.0)


def test_a_batch_of_texts_flattens_to_every_question_and_splits_back() -> None:
    """What the vLLM judge sends in one call and how its answers come back to each text."""
    from ltvad_search.score.base import per_text, question_batch

    p = prompts.load("score_checklist")
    texts = ["Snow covers the road.", "A deer runs onto the road.", "The car keeps its lane."]
    flat = question_batch(p, texts)
    n = len(p.questions)
    assert len(flat) == 3 * n and flat[:n] == p.render_questions(texts[0]) and flat[-n:] == p.render_questions(texts[2])
    answers = per_text(p, list(range(3 * n)))
    assert answers[1] == list(range(n, 2 * n)) and len(answers) == 3
    with pytest.raises(ValueError, match="do not split"):
        per_text(p, [0.5] * (n + 1))
    single = prompts.load("score_sentence_yesno")  # a prompt that is its own one question
    assert question_batch(single, texts) == [single.render(t) for t in texts]
    assert per_text(single, [0.1, 0.2, 0.3]) == [[0.1], [0.2], [0.3]]
