from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.categories import (
    ROUTINE,
    DescriptorWords,
    QueryCategories,
    agreements,
    closest,
    feedback,
    nearest,
    question_categories,
)
from ltvad_search import prompts
from ltvad_search.config import SearchConfig
from ltvad_search.models.embed import Embedder


def test_the_nearest_category_names_a_query_unless_plain_driving_is_nearer_or_nothing_is_close() -> None:
    cats = [1, 1, 4, ROUTINE]
    dense = closest(np.array([0.50, 0.62, 0.60, 0.30]), cats)
    assert dense == {1: 0.62, 4: 0.60, ROUTINE: 0.30}  # a category's nearest descriptor speaks for it
    guess = nearest(dense)
    assert guess is not None and guess.category == 1 and abs(guess.margin - 0.02) < 1e-9  # a small lead is enough
    assert nearest(closest(np.array([0.50, 0.60, 0.55, 0.70]), cats)) is None  # routine driving is nearer
    assert nearest(closest(np.array([0.20, 0.30, 0.40, 0.10]), cats)) is None  # nothing is close
    assert nearest({}) is None


def test_shared_words_and_what_the_top_matches_answered_can_overturn_the_nearest_category() -> None:
    dense = {1: 0.62, 4: 0.60, ROUTINE: 0.55}
    assert nearest(dense, {4: 0.5}, words_weight=0.3).category == 4  # type: ignore[union-attr]
    assert nearest(dense, {}, {4: 0.3}, feedback_weight=1.0).category == 4  # type: ignore[union-attr]
    # plain driving has no checklist question: feedback never lifts it, words can
    assert nearest(dense, {}, {ROUTINE: 0.5}, feedback_weight=1.0).category == 1  # type: ignore[union-attr]
    assert nearest(dense, {ROUTINE: 0.5}, words_weight=0.3) is None
    # a query near nothing is not named by a weak word overlap alone
    assert nearest({1: 0.2, ROUTINE: 0.1}, {1: 0.5}, words_weight=0.3) is None


def test_descriptor_words_weigh_a_word_by_how_few_categories_use_it() -> None:
    words = DescriptorWords([(10, "Crash or collision"), (4, "Damaged road"), (8, "Snow on the road"),
                             (ROUTINE, "the car drives down the road")])
    shares = words.shares("two crashes on the road")  # "crashes" stems to the descriptor's "crash"
    assert shares[10] > shares[4] > 0 and shares[4] == shares[8] == shares[ROUTINE]  # "road" is everywhere
    assert words.shares("collisions") == {10: 1.0}
    assert words.shares("a purple elephant") == {}  # no category holds any of its words
    assert words.shares("the and of") == {}  # stop words only


def test_feedback_is_how_much_the_top_matches_agree_beyond_the_candidates() -> None:
    ranked = ["a", "b", "c", "d"]
    agree = {"a": {8: 0.9, 10: 0.1}, "b": {8: 0.8, 10: 0.1}, "c": {8: 0.1, 10: 0.1}, "d": {8: 0.0, 10: 0.9}}
    lift = feedback(ranked, agree, top=2)
    assert lift[8] == pytest.approx((0.9 * 1 + 0.8 * 0.5) / 1.5 - 0.45)
    assert lift[10] == pytest.approx(0.1 - 0.3)  # the top two agree with it less than the pool does
    assert set(lift) == {8, 10}  # categories no answer speaks for get nothing
    assert feedback([], agree) == {} and feedback(ranked, {}) == {}
    assert feedback(["x", "a"], agree, top=1)[8] == pytest.approx(0.0 - 0.45)  # no answer: agrees with nothing


def test_queries_name_their_category_with_the_real_embedder_and_the_configured_weights() -> None:
    checklist = prompts.load("score_checklist")
    embedder = Embedder()
    settings = SearchConfig()
    guesses = QueryCategories(embedder, checklist, words_weight=settings.category_words_weight,
                              feedback_weight=settings.category_feedback_weight)
    embedding_only = QueryCategories(embedder, checklist)

    def named(query: str, reader: QueryCategories = guesses) -> int | None:
        guess = reader.guess(embedder.encode([query])[0], query)
        return None if guess is None else guess.category

    assert named("a police officer directs traffic through the intersection") == 3
    assert named("snow or ice on the road") == 8
    assert named("the car follows a truck along a quiet street") is None  # plain driving names nothing
    assert named("the car waits at a red light") is None
    # MiniLM alone reads these as road works, obstacles or nothing; the words they share with the
    # category's descriptors ("crash", "ambulance", "fire truck") set it right
    for query in ("a crash on the highway", "an ambulance passes with its siren on", "a fire truck parked on the road"):
        assert named(query, embedding_only) != 10 and named(query) == 10, query


def test_agreement_reads_the_calibrated_answer_of_the_category_questions() -> None:
    checklist = prompts.load("score_checklist")
    questions = question_categories(checklist)
    weather = next(q.short for q in checklist.questions if 8 in q.categories)
    raw = json.dumps({"calibrated": {weather: 0.8, "other": 0.3}, "p_yes": {weather: 0.9}, "bias": {}})
    assert agreements(raw, questions) == {8: 0.8}  # no stored answer for the other categories' questions
    assert agreements("[0.7]", questions) == {}  # another scorer's answer
