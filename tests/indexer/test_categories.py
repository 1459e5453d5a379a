from __future__ import annotations

import json

import numpy as np

from indexer.categories import ROUTINE, QueryCategories, agreement, nearest, question_categories
from ltvad_search import prompts
from ltvad_search.models.embed import Embedder


def test_the_nearest_category_names_a_query_unless_plain_driving_is_nearer_or_nothing_is_close() -> None:
    cats = [1, 1, 4, ROUTINE]
    guess = nearest(np.array([0.50, 0.62, 0.60, 0.30]), cats)
    assert guess is not None and guess.category == 1 and abs(guess.margin - 0.02) < 1e-9  # a small lead is enough
    assert nearest(np.array([0.50, 0.60, 0.55, 0.70]), cats) is None  # routine driving is nearer
    assert nearest(np.array([0.20, 0.30, 0.40, 0.10]), cats) is None  # nothing is close
    assert nearest(np.array([]), []) is None


def test_queries_name_their_category_with_the_real_embedder() -> None:
    checklist = prompts.load("score_checklist")
    embedder = Embedder()
    guesses = QueryCategories(embedder, checklist)

    def named(query: str) -> int | None:
        guess = guesses.guess(embedder.encode([query])[0])
        return None if guess is None else guess.category

    assert named("a police officer directs traffic through the intersection") == 3
    assert named("snow or ice on the road") == 8
    assert named("the car follows a truck along a quiet street") is None  # plain driving names nothing


def test_agreement_reads_the_calibrated_answer_of_the_category_questions() -> None:
    checklist = prompts.load("score_checklist")
    questions = question_categories(checklist)
    weather = next(q.short for q in checklist.questions if 8 in q.categories)
    raw = json.dumps({"calibrated": {weather: 0.8, "other": 0.3}, "p_yes": {weather: 0.9}, "bias": {}})
    assert agreement(raw, 8, questions) == 0.8
    assert agreement(raw, 3, questions) == 0.0  # no stored answer for the category's question
    assert agreement("[0.7]", 8, questions) == 0.0  # another scorer's answer
