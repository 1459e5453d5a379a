"""Optional re-ranking of the top search hits by the stage-2 model: "Does this log show: <query>?"

Retrieval ranks by closeness of words and meaning; the language model reads each of the top N
descriptions and answers whether it shows what was asked, which separates "the car stops for a
pedestrian crossing" from "a pedestrian runs out in front of the car". It costs one yes/no question
per description (about a second each on a laptop), so it is opt-in (`--rerank N`). Answers are kept
in the score cache under (model, question wording with the query, description text): asking again
costs nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ltvad_search import prompts
from ltvad_search.records import SegmentScore
from ltvad_search.score.base import YesNoJudge
from ltvad_search.score.cache import ScoreCache

PROMPT = "score_checklist"  # its template and system turn; the question is the query


def query_prompt(query: str, base: prompts.Prompt | None = None) -> prompts.Prompt:
    """The checklist prompt with one question, about the query; its id names the query's wording."""
    base = base or prompts.load(PROMPT)
    question = prompts.Question(short="query", text=f"Does this log show {query.strip().rstrip('?.')}?")
    digest = hashlib.sha256(f"{base.id}\x00{question.text}".encode()).hexdigest()[:8]
    return replace(base, id=f"rerank@{digest}", name="rerank", questions=(question,), references=())


@dataclass(frozen=True, slots=True)
class Reranked:
    order: list[str]  # the re-ranked ids first, best first
    p_yes: dict[str, float]
    seconds: float
    asked: int  # descriptions sent to the model (the rest came from the cache)


def rerank(judge: YesNoJudge, query: str, hits: Sequence[tuple[str, str]], cache: ScoreCache | None,
           base: prompts.Prompt | None = None) -> Reranked:
    """Order (id, description) hits by the model's P(Yes) that each shows the query; ties keep the
    retrieval order."""
    start = time.perf_counter()
    prompt = query_prompt(query, base)
    key = f"{judge.name}|{prompt.id}"
    texts = [text for _, text in hits]
    known = cache.get(key, texts) if cache is not None else {}
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    answers = dict(zip(todo, (p for [p] in judge.yes_probabilities(prompt, todo)), strict=True)) if todo else {}
    if cache is not None and answers:
        cache.put(key, [(t, SegmentScore(segment_id="", score=p, written=None, raw="", scorer=key,
                                         prompt_id=prompt.id, seconds=0.0)) for t, p in answers.items()])
    p_yes = {hid: _score(known[t]) if t in known else answers[t] for hid, t in hits}
    position = {hid: i for i, (hid, _) in enumerate(hits)}
    order = sorted(p_yes, key=lambda hid: (-p_yes[hid], position[hid]))
    return Reranked(order, p_yes, time.perf_counter() - start, len(todo))


def _score(cached: SegmentScore) -> float:
    """A cached P(Yes); the judge only ever stores numbers, so a missing one counts as No."""
    return 0.0 if cached.score is None else cached.score
