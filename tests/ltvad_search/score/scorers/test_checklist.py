from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from ltvad_search import prompts
from ltvad_search.config import ScorerConfig
from ltvad_search.prompts import PromptError
from ltvad_search.score import make_scorer, scorer_name
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.llama.scorer import LlamaCppScorer
from ltvad_search.score.scorers.checklist import ChecklistScorer, answers

TEXTS = ["The car drives slowly because the road is covered in snow.", "The car keeps its lane on a clear road.",
         "The car stops because a man steps out of his car into the lane."]


@pytest.fixture(scope="module")
def judge(smollm2: Path) -> LlamaCppScorer:
    return LlamaCppScorer(smollm2, n_ctx=2048, answer="checklist")


def _requests() -> list[ScoreRequest]:
    p = prompts.load("score_checklist")
    return [ScoreRequest(segment_id=str(i), text=t, prompt=p) for i, t in enumerate(TEXTS)]


def test_answers_rank_questions_and_check_the_count() -> None:
    p = prompts.load("score_checklist")
    probs = [0.1] * len(p.questions)
    probs[7] = 0.9
    answer = answers(p, probs)
    assert next(iter(answer["calibrated"])) == p.questions[7].short == "adverse weather"
    assert answer["calibrated"] == answer["p_yes"] and answer["p_yes"]["adverse weather"] == 0.9
    assert "bias" not in answer  # nothing to take out without reference logs
    with pytest.raises(ValueError, match="questions"):
        answers(p, probs[:3])


def test_calibration_takes_each_questions_bias_out_of_its_log_odds() -> None:
    from ltvad_search.score.scorers.checklist import calibrated, fit_bias, logit

    reference = [[0.5, 0.1], [0.5, 0.2], [0.5, 0.3]]  # question 0 says Yes to routine logs half the time
    texts = ["The car drives on.", "The car stops at the light.", "The car turns left at the corner."]
    fitted = fit_bias(reference, texts, length_aware=False)
    assert fitted.slope == 0.0
    for text in (*texts, "The car waits.", "word " * 500):  # a constant: the length plays no part
        offsets = fitted.offsets(text)
        assert offsets[0] == pytest.approx(0.0) and offsets[1] == pytest.approx(
            np.mean([logit(p) for p in (0.1, 0.2, 0.3)]) + 2 * np.std([logit(p) for p in (0.1, 0.2, 0.3)]), abs=1e-5)
    p = calibrated([0.5, 0.5], fitted.offsets(texts[0]))
    assert p[0] == pytest.approx(0.5) and p[1] > 0.5  # a Yes-shy question's 0.5 means more
    assert calibrated([0.3, 0.7], None) == [0.3, 0.7]
    with pytest.raises(ValueError, match="3 reference answers for 2 reference logs"):
        fit_bias(reference, texts[:2], length_aware=False)


def test_a_length_aware_bias_follows_the_logs_length_within_the_references_range() -> None:
    from ltvad_search.score.scorers.checklist import fit_bias, log_words, sigmoid

    rng = np.random.default_rng(0)
    lengths = [5, 10, 20, 40, 80] * 6
    texts = [" ".join(["word"] * n) for n in lengths]
    noise = rng.normal(0, 0.05, size=(len(texts), 2))
    # both questions say Yes more to longer logs, 0.5 log-odds per unit of log word count
    reference = [[float(sigmoid(c + 0.5 * np.log(n) + e)) for c, e in zip((-2.0, 0.0), row, strict=True)]
                 for n, row in zip(lengths, noise, strict=True)]
    fitted = fit_bias(reference, texts, length_aware=True)
    assert fitted.slope == pytest.approx(0.5, abs=0.03)
    assert fitted.centre == pytest.approx((-2.0, 0.0), abs=0.1) and max(fitted.spread) < 0.2  # what the line leaves
    short, long = fitted.offsets("word " * 5), fitted.offsets("word " * 80)
    assert [b - a for a, b in zip(short, long, strict=True)] == pytest.approx([0.5 * np.log(16)] * 2, abs=0.1)
    # outside the references' range it holds still: nothing was measured there
    assert fitted.offsets("word") == short and fitted.offsets("word " * 1000) == long
    assert fitted.shortest == pytest.approx(log_words("word " * 5)) and fitted.longest == pytest.approx(np.log(80))
    constant = fit_bias(reference, texts, length_aware=False)  # the same answers, one bias for every length
    assert constant.offsets("word " * 5) == constant.offsets("word " * 80)
    assert constant.spread[0] > fitted.spread[0]  # the length is what spread them


def test_a_length_aware_spread_is_wider_where_short_routine_logs_stray_further() -> None:
    from ltvad_search.score.scorers.checklist import NARROWEST, fit_bias, sigmoid

    rng = np.random.default_rng(1)
    lengths = [5, 10, 20, 40, 80] * 40
    texts = [" ".join(["word"] * n) for n in lengths]
    # the same centre line as above, but a 5-word log's answer strays four times as far as an 80-word one's
    stray = {5: 0.8, 10: 0.6, 20: 0.4, 40: 0.3, 80: 0.2}
    reference = [[float(sigmoid(c + 0.5 * np.log(n) + rng.normal(0, stray[n]))) for c in (-2.0, 0.0)]
                 for n in lengths]
    fitted = fit_bias(reference, texts, length_aware=True, spread=2.0)
    assert fitted.slope == pytest.approx(0.5, abs=0.1) and fitted.widening < -0.2
    level = fit_bias(reference, texts, length_aware=True, spread=2.0, widen=False)  # one spread for all lengths
    assert level.widening == 0.0 and level.centre == fitted.centre and level.spread == fitted.spread
    for n, wider in ((5, True), (80, False)):
        text = "word " * n
        above = [b - (c + fitted.slope * np.log(n)) for b, c in zip(fitted.offsets(text), fitted.centre, strict=True)]
        flat = [b - (c + level.slope * np.log(n)) for b, c in zip(level.offsets(text), level.centre, strict=True)]
        assert all((a > f) == wider for a, f in zip(above, flat, strict=True))

    def covered(bias, n: int) -> float:  # the share of n-word routine logs the bias takes back to 0.5 or under
        z = np.array([[np.log(p / (1 - p)) for p in row] for row, m in zip(reference, lengths, strict=True) if m == n])
        return float((z <= np.array(bias.offsets("word " * n))).mean())

    assert covered(fitted, 5) > 0.93 and covered(fitted, 80) > 0.93  # about its top 2% at every length
    assert covered(level, 5) < 0.9 < 0.99 < covered(level, 80)  # one spread: short logs pass, long ones never
    steep = dataclasses.replace(fitted, widening=-5.0)  # a fit steep enough to take the spread below zero
    above = np.array(steep.offsets("word " * 80)) - np.array(steep.centre) - steep.slope * np.log(80)
    assert above == pytest.approx(np.array(steep.spread) * NARROWEST, abs=1e-5)  # held to a floor instead


def test_the_score_is_the_likeliest_calibrated_yes_and_raw_keeps_every_answer(judge: LlamaCppScorer,
                                                                             tmp_path: Path) -> None:
    p = prompts.load("score_checklist")
    scorer = ChecklistScorer(judge, reference=tmp_path / "reference")
    results = scorer.score(_requests())
    fitted = scorer.bias.of(p)
    assert fitted is not None and len(fitted.centre) == len(p.questions) and p.length_aware
    for text, r in zip(TEXTS, results, strict=True):
        answer = json.loads(r.raw)
        assert answer["bias"] == dict(zip((q.short for q in p.questions), fitted.offsets(text), strict=True))
        assert set(answer) == {"calibrated", "p_yes", "bias"} and len(answer["p_yes"]) == len(p.questions)
        assert r.score == max(answer["calibrated"].values()) == next(iter(answer["calibrated"].values()))
        for short, cal in answer["calibrated"].items():  # the correction can be redone from what is stored
            from ltvad_search.score.scorers.checklist import logit, sigmoid

            assert cal == pytest.approx(sigmoid(logit(answer["p_yes"][short]) - answer["bias"][short]), abs=2e-6)
        assert r.written is None  # the model writes no score, so there is no second report on one
        assert r.scorer == "llamacpp:SmolLM2-135M-Instruct.Q4_1+checklist"
        assert r.prompt_id.startswith("score_checklist@")
    assert len({r.score for r in results}) == len(results)


def test_the_reference_bias_is_asked_once_per_model_and_prompt(judge: LlamaCppScorer, tmp_path: Path) -> None:
    p = prompts.load("score_checklist")
    first = ChecklistScorer(judge, reference=tmp_path).bias.of(p)
    [stored] = list(tmp_path.glob("*.json"))
    asked: list[int] = []
    real = judge.yes_probabilities
    judge.yes_probabilities = lambda prompt, texts: (asked.append(len(texts)), real(prompt, texts))[1]  # type: ignore[method-assign]
    try:
        again = ChecklistScorer(judge, reference=tmp_path).bias.of(p)
    finally:
        del judge.yes_probabilities
    kept = json.loads(stored.read_text())
    assert again == first and asked == [] and kept["prompt_id"] == p.id
    assert len(kept["reference_p_yes"]) == len(p.references)  # the raw answers: the fit is redone on reading


def test_prefix_reuse_changes_nothing_but_speed(judge: LlamaCppScorer) -> None:
    p = prompts.load("score_checklist")
    try:
        judge.reuse_prefix = False
        start = judge.evaluated
        fresh = judge.yes_probabilities(p, TEXTS)
        fresh_tokens = judge.evaluated - start
        judge.reuse_prefix = True  # from here the rubric is held: it was the last text's beginning too
        start = judge.evaluated
        reused = judge.yes_probabilities(p, TEXTS)
        cached_tokens = judge.evaluated - start
        backwards = judge.yes_probabilities(p, TEXTS[::-1])[::-1]
    finally:
        judge.reuse_prefix = True
    assert reused == fresh == backwards  # the same passes are computed; the cache only skips some
    # each description is evaluated once, not once per question, and with the cache the rubric once
    rubric = judge.shared_prefix(p)
    asked = [[judge.prompt_tokens(q, p.system) for q in p.render_questions(t)] for t in TEXTS]
    once = sum(len(qs[0]) + sum(len(q) for q in qs[1:]) - (len(qs) - 1) * _shared(qs) for qs in asked)
    assert fresh_tokens == once
    assert cached_tokens == once - rubric * len(TEXTS)


def _shared(sequences: list[list[int]]) -> int:
    return next(i for i in range(min(map(len, sequences))) if len({s[i] for s in sequences}) > 1)


def test_default_configuration_builds_the_checklist(smollm2: Path) -> None:
    cfg = ScorerConfig(model=str(smollm2), n_ctx=2048)
    scorer = make_scorer(cfg)
    assert isinstance(scorer, ChecklistScorer) and scorer.name == scorer_name(cfg)
    [r] = scorer.score(_requests()[:1])
    assert r.score is not None


def test_refuses_what_cannot_answer_yes_or_no(judge: LlamaCppScorer) -> None:
    from ltvad_search.score.written import WrittenScoreParser

    with pytest.raises(ValueError, match="cannot read yes/no"):
        ChecklistScorer(WrittenScoreParser())  # type: ignore[arg-type]
    with pytest.raises(PromptError, match="checklist prompt"):
        ChecklistScorer(judge).score([ScoreRequest("a", TEXTS[0], prompts.load("score_description"))])


def test_the_system_turn_is_part_of_the_shared_rubric(judge: LlamaCppScorer) -> None:
    p = prompts.load("score_checklist")
    tokens = judge.prompt_tokens(p.render_questions(TEXTS[0])[0], p.system)
    rubric = judge._llm.detokenize(tokens[: judge.shared_prefix(p)]).decode()
    assert p.system in rubric and TEXTS[0][:12] not in rubric


def test_likeliest_reads_the_stored_answer_back() -> None:
    from ltvad_search.score.scorers.checklist import likeliest

    assert likeliest(json.dumps({"animal": 0.2, "adverse weather": 0.9})) == ("adverse weather", 0.9)  # earlier form
    p = prompts.load("score_checklist")
    probs = [0.2] * len(p.questions)
    probs[9] = 0.8
    assert likeliest(json.dumps(answers(p, probs, [0.0] * len(p.questions)))) == ("emergency/accident", 0.8)
    for other in ["[0.4]", "", "Yes", json.dumps([{"sentence": "x", "score": 0.3}]), json.dumps({}), "{\"a\": \"b\"}"]:
        assert likeliest(other) is None  # other scorers' answers
