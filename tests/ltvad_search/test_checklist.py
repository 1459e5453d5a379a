from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltvad_search import prompts
from ltvad_search.backends import make_scorer, scorer_name
from ltvad_search.backends.base import ScoreRequest
from ltvad_search.backends.llamacpp import LlamaCppScorer
from ltvad_search.checklist import ChecklistScorer, answers
from ltvad_search.config import ScorerConfig
from ltvad_search.prompts import PromptError

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
    ranked = answers(p, probs)
    assert next(iter(ranked)) == p.questions[7].short == "adverse weather" and ranked["adverse weather"] == 0.9
    with pytest.raises(ValueError, match="questions"):
        answers(p, probs[:3])


def test_the_score_is_the_likeliest_yes_and_raw_says_which_question(judge: LlamaCppScorer) -> None:
    results = ChecklistScorer(judge).score(_requests())
    n = len(prompts.load("score_checklist").questions)
    for r in results:
        ranked = json.loads(r.raw)
        assert len(ranked) == n and all(0 < v < 1 for v in ranked.values())
        assert r.score == max(ranked.values()) == next(iter(ranked.values()))
        assert r.written == (1.0 if r.score >= 0.5 else 0.0)
        assert r.scorer == "llamacpp:SmolLM2-135M-Instruct.Q4_1+checklist"
        assert r.prompt_id.startswith("score_checklist@")
    assert len({r.score for r in results}) == len(results)


def test_prefix_reuse_changes_nothing_but_speed(judge: LlamaCppScorer) -> None:
    p = prompts.load("score_checklist")
    evaluated: list[int] = []
    real_eval = judge._llm.eval
    judge._llm.eval = lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1]  # count, then run
    try:
        judge.reuse_prefix = True
        reused = [judge.yes_probabilities(p, t) for t in TEXTS]
        cached_tokens = sum(evaluated)
        backwards = [judge.yes_probabilities(p, t) for t in TEXTS[::-1]][::-1]
        judge.reuse_prefix = False
        evaluated.clear()
        fresh = [judge.yes_probabilities(p, t) for t in TEXTS]
        fresh_tokens = sum(evaluated)
    finally:
        judge.reuse_prefix = True
        del judge._llm.eval
    assert reused == fresh == backwards  # the same passes are computed; the cache only skips some
    # with the cache, the rubric and each description are evaluated once, not once per question
    rubric = judge.shared_prefix(p)
    described = [len(judge.prompt_tokens(q, p.system)) for t in TEXTS for q in p.render_questions(t)]
    assert cached_tokens < fresh_tokens == sum(described)
    assert cached_tokens <= sum(described) - rubric * (len(described) - 1) - 10 * (len(described) - len(TEXTS))


def test_default_configuration_builds_the_checklist(smollm2: Path) -> None:
    cfg = ScorerConfig(model=str(smollm2), n_ctx=2048)
    scorer = make_scorer(cfg)
    assert isinstance(scorer, ChecklistScorer) and scorer.name == scorer_name(cfg)
    [r] = scorer.score(_requests()[:1])
    assert r.score is not None


def test_refuses_what_cannot_answer_yes_or_no(judge: LlamaCppScorer) -> None:
    from ltvad_search.backends.parse import WrittenScoreParser

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
    from ltvad_search.checklist import likeliest

    assert likeliest(json.dumps({"animal": 0.2, "adverse weather": 0.9})) == ("adverse weather", 0.9)
    for other in ["[0.4]", "", "Yes", json.dumps([{"sentence": "x", "score": 0.3}]), json.dumps({}), "{\"a\": \"b\"}"]:
        assert likeliest(other) is None  # other scorers' answers
