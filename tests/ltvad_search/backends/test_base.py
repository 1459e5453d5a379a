from __future__ import annotations

import math

import pytest

from ltvad_search import prompts
from ltvad_search.backends.base import ScoreRequest, score_from_text

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
