"""What stage 2 already knows, put to work in search: the taxonomy category a query names, and how
strongly each segment's checklist answer says that category is present.

A query like "cones block the lane" names the infrastructure category; the checklist asked every
segment "is there construction, cones ...?" and stored its calibrated P(Yes). Segments whose answer
agrees rise in the ranking. The category of a query is the one whose descriptors (its subtypes
and the checklist questions that stand for it) are nearest to the query in embedding
space, unless plain driving is nearer still or nothing is close; a query that names no category is
left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltvad_search.models.embed import Embedder

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ltvad_search import prompts
from ltvad_search.score.scorers.checklist import per_question

# A query at least this close to a category's nearest descriptor names it. No margin over the
# runner-up is asked for: on the textbench queries, requiring 0.02-0.04 left 5-6 of 27 queries
# unrouted and cost 0.02-0.03 of precision@10, and a wrong guess only nudges the ranking.
MIN_SIMILARITY = 0.45
ROUTINE = 0  # the pseudo-category of plain driving: a query nearest to it names no category
PLAIN_DRIVING = ("the car drives down the road", "the car turns at the intersection", "the car waits at a red light",
                 "the car changes lanes on the highway", "traffic moves slowly")


@dataclass(frozen=True, slots=True)
class CategoryGuess:
    category: int
    similarity: float
    margin: float


def descriptors(checklist: prompts.Prompt | None = None) -> list[tuple[int, str]]:
    """(category, text) pairs that stand for each taxonomy category: its subtypes and the checklist
    questions about it, and plain-driving phrases for the routine pseudo-category. Not the category
    names: "Animals on the Road" would claim every query that says "road"."""
    out = [(c.id, subtype) for c in prompts.taxonomy() for subtype in c.subtypes]
    if checklist is not None:
        out += [(cat, q.text) for q in checklist.questions for cat in q.categories]
    out += [(ROUTINE, phrase) for phrase in (*prompts.routine_phrases(), *PLAIN_DRIVING)]
    return out


def nearest(similarity: np.ndarray, categories: Sequence[int]) -> CategoryGuess | None:
    """The category with the most similar descriptor, unless it is routine driving or not close
    (pure, over one query's row); the margin over the runner-up is kept for display."""
    best: dict[int, float] = {}
    for cat, sim in zip(categories, similarity, strict=True):
        best[cat] = max(float(sim), best.get(cat, -1.0))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    if not ranked:
        return None
    top, sim = ranked[0]
    margin = sim - (ranked[1][1] if len(ranked) > 1 else -1.0)
    if top == ROUTINE or sim < MIN_SIMILARITY:
        return None
    return CategoryGuess(top, sim, margin)


class QueryCategories:
    """Embeds the descriptors once; `guess` names a query's category, or None."""

    def __init__(self, embedder: Embedder, checklist: prompts.Prompt | None = None) -> None:
        pairs = descriptors(checklist)
        self._categories = [c for c, _ in pairs]
        self._vectors = embedder.encode([t for _, t in pairs])

    def guess(self, query_vector: np.ndarray) -> CategoryGuess | None:
        return nearest(self._vectors @ query_vector, self._categories)


def agreement(raw: str, category: int, questions: Mapping[str, tuple[int, ...]]) -> float:
    """How strongly a stored checklist answer says `category` is present: the highest score among
    the questions that stand for it (0 for answers of other scorers, or without such a question)."""
    scores = per_question(raw)
    if not scores:
        return 0.0
    return max((p for short, p in scores.items() if category in questions.get(short, ())), default=0.0)


def question_categories(checklist: prompts.Prompt | None) -> dict[str, tuple[int, ...]]:
    return {q.short: q.categories for q in checklist.questions} if checklist is not None else {}


def answer_similarity(seeds: Sequence[str], candidates: Mapping[str, str]) -> dict[str, float]:
    """"More like this" by what stage 2 answered: the cosine of two segments' checklist profiles (every
    question's score), the best over the seeds. Two long-tail segments of one kind say Yes to the same
    question however differently they are worded; routine ones share a low, flat profile. Candidates
    or seeds without a checklist answer get nothing (0)."""
    def profile(raw: str) -> np.ndarray | None:
        scores = per_question(raw)
        if not scores:
            return None
        v = np.array([scores[q] for q in sorted(scores)], dtype=np.float32)
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else None

    mine = [p for p in map(profile, seeds) if p is not None]
    out: dict[str, float] = {}
    for sid, raw in candidates.items():
        theirs = profile(raw)
        if mine and theirs is not None and all(len(p) == len(theirs) for p in mine):
            out[sid] = max(float(p @ theirs) for p in mine)
    return out
