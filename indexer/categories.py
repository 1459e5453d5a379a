"""What stage 2 already knows, put to work in search: the taxonomy category a query names, and how
strongly each segment's checklist answer says that category is present.

A query like "cones block the lane" names the infrastructure category; the checklist asked every
segment "is there construction, cones ...?" and stored its calibrated P(Yes). Segments whose answer
agrees rise in the ranking. A query's category is read from three cues, as a query's hits are
ranked from more than one: how near the query is to each category's descriptors (its subtypes and
the checklist questions that stand for it) in embedding space, how many of the query's words those
descriptors share (MiniLM puts "a crash or accident scene on the road" nearer to "Damaged road"
than to "Crash or collision"; the word "crash" does not blur), and what the checklist said of the
query's best text matches (when the top hits for "a worker holding a sign" are far likelier than the
rest to answer Yes to "does a worker direct traffic?", that is the category the query is about).
Plain driving (the routine pseudo-category) nearer than any category, or nothing close, names none.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from indexer.lexical import LexicalIndex, terms
from ltvad_search import prompts
from ltvad_search.score.scorers.checklist import per_question

if TYPE_CHECKING:
    from ltvad_search.models.embed import Embedder

# A query whose combined closeness to a category (below) is at least this names it. No margin over
# the runner-up is asked for: on the textbench queries, requiring 0.02-0.04 left 5-6 of 27 queries
# unrouted and cost 0.02-0.03 of precision@10.
MIN_SIMILARITY = 0.45
FEEDBACK_TOP = 10  # the best text matches whose checklist answers say what a query is about
ROUTINE = 0  # the pseudo-category of plain driving: a query nearest to it names no category
PLAIN_DRIVING = ("the car drives down the road", "the car turns at the intersection", "the car waits at a red light",
                 "the car changes lanes on the highway", "traffic moves slowly")


@dataclass(frozen=True, slots=True)
class CategoryGuess:
    category: int
    similarity: float  # the combined closeness the category won with
    margin: float  # over the runner-up, kept for display


def descriptors(checklist: prompts.Prompt | None = None) -> list[tuple[int, str]]:
    """(category, text) pairs that stand for each taxonomy category: its subtypes and the checklist
    questions about it, and plain-driving phrases for the routine pseudo-category. Not the category
    names: "Animals on the Road" would claim every query that says "road"."""
    out = [(c.id, subtype) for c in prompts.taxonomy() for subtype in c.subtypes]
    if checklist is not None:
        out += [(cat, q.text) for q in checklist.questions for cat in q.categories]
    out += [(ROUTINE, phrase) for phrase in (*prompts.routine_phrases(), *PLAIN_DRIVING)]
    return out


def closest(similarity: np.ndarray, categories: Sequence[int]) -> dict[int, float]:
    """Each category's similarity to the query: that of its nearest descriptor (pure)."""
    best: dict[int, float] = {}
    for cat, sim in zip(categories, similarity, strict=True):
        best[cat] = max(float(sim), best.get(cat, -1.0))
    return best


def nearest(dense: Mapping[int, float], words: Mapping[int, float] | None = None,
            feedback: Mapping[int, float] | None = None, *, words_weight: float = 0.0,
            feedback_weight: float = 0.0) -> CategoryGuess | None:
    """The category a query names (pure): its descriptors' similarity, plus `words_weight` times the
    share of the query's words they hold, plus `feedback_weight` times how much likelier the top
    text matches are to say Yes to it than the other candidates are. None when plain driving
    (which has no checklist question, so no feedback) comes first or nothing reaches MIN_SIMILARITY."""
    words, feedback = words or {}, feedback or {}
    combined = {cat: sim + words_weight * words.get(cat, 0.0)
                + (feedback_weight * feedback.get(cat, 0.0) if cat != ROUTINE else 0.0)
                for cat, sim in dense.items()}
    ranked = sorted(combined.items(), key=lambda kv: -kv[1])
    if not ranked:
        return None
    top, sim = ranked[0]
    margin = sim - (ranked[1][1] if len(ranked) > 1 else -1.0)
    if top == ROUTINE or sim < MIN_SIMILARITY:
        return None
    return CategoryGuess(top, sim, margin)


class DescriptorWords:
    """The share of a query's words that each category's descriptors hold, each word weighted by how
    few categories use it (idf over the categories): "crash" counts, "road" hardly. The descriptors
    sit in a small in-memory lexical index, so words are stemmed exactly as search stems them."""

    def __init__(self, pairs: Sequence[tuple[int, str]]) -> None:
        texts: dict[int, list[str]] = {}
        for cat, text in pairs:
            texts.setdefault(cat, []).append(text)
        self._count = len(texts)
        self._table = LexicalIndex.in_memory()
        self._table.apply([(str(cat), " . ".join(parts)) for cat, parts in texts.items()], ())
        self._lock = threading.Lock()  # the stemming probe is one shared table

    def shares(self, query: str) -> dict[int, float]:
        with self._lock:
            by_stem: dict[str, str] = {}  # one word per stem: "crash" and "crashes" count once
            for word in terms(query):
                stem = self._table.stem(word)
                if stem is not None:
                    by_stem.setdefault(stem, word)
            held = {stem: {int(c) for c in self._table.containing(word)} for stem, word in by_stem.items()}
        idf = {stem: math.log((self._count + 1) / (len(cats) + 0.5)) for stem, cats in held.items()}
        total = sum(idf.values())
        out: dict[int, float] = {}
        for stem, weight in idf.items():
            for cat in held[stem]:
                out[cat] = out.get(cat, 0.0) + weight / total
        return out


def feedback(ranked: Sequence[str], agree: Mapping[str, Mapping[int, float]], top: int = FEEDBACK_TOP
             ) -> dict[int, float]:
    """Per category, how much more strongly the best `top` text matches (rank-weighted, 1/rank) agree
    with it (`agreements`) than all the ranked candidates do on average (pure). Segments without a
    checklist answer agree with nothing."""
    categories = {cat for cats in agree.values() for cat in cats}
    if not ranked or not categories:
        return {}
    weights = [1.0 / (i + 1) for i in range(min(top, len(ranked)))]
    total = sum(weights)
    none: Mapping[int, float] = {}
    return {cat: sum(w * agree.get(sid, none).get(cat, 0.0) for w, sid in zip(weights, ranked, strict=False)) / total
            - sum(agree.get(sid, none).get(cat, 0.0) for sid in ranked) / len(ranked) for cat in categories}


class QueryCategories:
    """Embeds the descriptors once and indexes their words; `guess` names a query's category, or None."""

    def __init__(self, embedder: Embedder, checklist: prompts.Prompt | None = None, *,
                 words_weight: float = 0.0, feedback_weight: float = 0.0) -> None:
        pairs = descriptors(checklist)
        self._categories = [c for c, _ in pairs]
        self._vectors = embedder.encode([t for _, t in pairs])
        self._words = DescriptorWords(pairs)
        self.words_weight, self.feedback_weight = words_weight, feedback_weight

    def guess(self, query_vector: np.ndarray, query: str = "",
              evidence: Mapping[int, float] | None = None) -> CategoryGuess | None:
        """`evidence`: `feedback()` over the query's text ranking, when the caller has one."""
        words = self._words.shares(query) if query and self.words_weight else None
        return nearest(closest(self._vectors @ query_vector, self._categories), words, evidence,
                       words_weight=self.words_weight, feedback_weight=self.feedback_weight)


def agreements(raw: str, questions: Mapping[str, tuple[int, ...]]) -> dict[int, float]:
    """Per category, how strongly a stored checklist answer says it is present: the highest score
    among the questions that stand for it. Empty for answers of other scorers; a category without
    such a question is absent (0)."""
    out: dict[int, float] = {}
    for short, p in (per_question(raw) or {}).items():
        for category in questions.get(short, ()):
            out[category] = max(p, out.get(category, 0.0))
    return out


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


def checklist_of(scorer_key: str) -> prompts.Prompt | None:
    """The checklist prompt a run's scores were made with (its questions map to categories)."""
    prompt_id = scorer_key.rsplit("|", 1)[-1]
    try:
        prompt = prompts.load(prompt_id.split("@", 1)[0])
    except prompts.PromptError:
        return None
    # only the very wording the scores were made with says which question stands for which category
    return prompt if prompt.questions and prompt.id == prompt_id else None
