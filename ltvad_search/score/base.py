"""Stage 2's protocols: a scorer turns a description into a score; a yes/no judge and a generator are
the other ways stage 2 reads a text model.

Each scorer declares what it can do (token probabilities give continuous scores; a shared rubric
computed once). Scorers raise on failure; the runner turns failures into per-item records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ltvad_search.prompts import Prompt
from ltvad_search.records import SegmentScore
from ltvad_search.score.parsing import Steps, yes_share


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    segment_id: str
    text: str
    prompt: Prompt


@dataclass(frozen=True, slots=True)
class ScorerCaps:
    logprobs: bool = False  # continuous expected-value scores
    prefix_reuse: bool = False  # shared rubric computed once


@runtime_checkable
class Scorer(Protocol):
    name: str
    caps: ScorerCaps

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]: ...


def scorer_key(scorer: Scorer, prompt: Prompt) -> str:
    """What scores are stored (and cached) under: the scorer configuration and the exact prompt wording."""
    return f"{scorer.name}|{prompt.id}"


@runtime_checkable
class YesNoJudge(Protocol):
    """A text model read as P(Yes) against P(No) for its first answer token.

    `yes_probabilities(prompt, texts)` asks every question of a checklist prompt (or, for a prompt
    without questions, the one question it is) about each of `texts`, and answers one list per text in
    the prompt's question order. A whole batch comes at once so that a GPU server sees all of it: the
    prompts share their beginning, and each text's questions share the text, which backends with a
    cache compute once.
    """

    name: str

    def yes_probabilities(self, prompt: Prompt, texts: Sequence[str]) -> list[list[float]]: ...


def question_prompts(prompt: Prompt, text: str) -> list[str]:
    return prompt.render_questions(text) if prompt.questions else [prompt.render(text)]


def question_batch(prompt: Prompt, texts: Sequence[str]) -> list[str]:
    """Every question about every text, text by text: one flat batch for a batching backend."""
    return [q for text in texts for q in question_prompts(prompt, text)]


def per_text(prompt: Prompt, flat: Sequence[float]) -> list[list[float]]:
    """A flat batch's answers (in `question_batch` order) split back into one list per text."""
    n = max(1, len(prompt.questions))
    if len(flat) % n:
        raise ValueError(f"{len(flat)} answers do not split into texts of {n} questions ({prompt.id})")
    return [list(flat[i: i + n]) for i in range(0, len(flat), n)]


def chat(user: str, system: str = "") -> list[dict[str, str]]:
    """The chat messages for one rendered prompt: a system turn when there is one, then the user's."""
    return [*([{"role": "system", "content": system}] if system else []), {"role": "user", "content": user}]


def read_yes(scorer: str, top: Mapping[str, float], began: str) -> float:
    """P(Yes) share from a server's first-token alternatives, or an error that says what came instead."""
    share = yes_share(top)
    if share is None:
        raise ValueError(f"{scorer}: neither Yes nor No among the answer's likeliest first tokens (it began {began!r})")
    return share


@runtime_checkable
class Generator(Protocol):
    """A text model that answers in free text, for pseudo-labeling stored descriptions.

    Every text scorer backend is one too. `grammar` is GBNF; backends that cannot enforce it
    (vLLM, transformers) ignore it, and the strict label parser rejects what does not fit.
    """

    name: str

    def generate(self, prompts: Sequence[str], *, max_tokens: int, grammar: str | None = None) -> list[str]: ...


def score_from_text(request: ScoreRequest, raw: str, scorer: str, seconds: float,
                    steps: Steps | None = None) -> SegmentScore:
    """A SegmentScore from generated text and, where the backend returned them, per-token log-probs.

    With usable log-probs the score is the expected value over the grid; otherwise the written value
    is the score. The written value is what the text says, or the greedy grid answer if it says none.
    """
    from ltvad_search.score.parsing import (
        expected_value,
        greedy_value,
        grid_distribution,
        grid_from_steps,
        parse_written,
    )

    written = parse_written(raw)
    score = written
    dists = grid_from_steps(steps) if steps else None
    dist = grid_distribution(*dists) if dists else None
    if dists is not None and dist is not None:
        score = round(expected_value(dist), 6)
        written = written if written is not None else greedy_value(*dists)
    return SegmentScore(segment_id=request.segment_id, score=score, written=written, raw=raw,
                        scorer=scorer, prompt_id=request.prompt.id, seconds=seconds)
