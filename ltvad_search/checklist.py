"""Stage 2 as a checklist: one yes/no question per long-tail category, the highest P(Yes) is the score.

A 1.5B model asked to weigh the paper's whole rubric at once ranks real driving logs barely better
than chance, but it answers one concrete question ("is there snow, ice ... on the road?") well.
A description is long-tail when any category is present, so the score is the max over questions,
the same pooling the paper uses over segments; which question gave it is kept as the likely category.
The questions live in prompts/score_checklist.toml and are part of the prompt id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from ltvad_search.backends.base import ScorerCaps, ScoreRequest, YesNoJudge
from ltvad_search.prompts import Prompt, PromptError
from ltvad_search.records import SegmentScore


def answers(prompt: Prompt, probabilities: Sequence[float]) -> dict[str, float]:
    """{question short name: P(Yes)}, highest first: what a reviewer reads to see why a row scored."""
    if len(probabilities) != len(prompt.questions):
        raise ValueError(f"{len(probabilities)} answers for the {len(prompt.questions)} questions of {prompt.id}")
    pairs = sorted(zip((q.short for q in prompt.questions), probabilities, strict=True), key=lambda kv: -kv[1])
    return {short: round(p, 6) for short, p in pairs}


def likeliest(raw: str) -> tuple[str, float] | None:
    """The question that gave a checklist score and its P(Yes), read back from the stored answer;
    None for answers of other scorers."""
    try:
        ranked = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(ranked, dict) or not ranked:
        return None
    short, p = max(ranked.items(), key=lambda kv: kv[1] if isinstance(kv[1], int | float) else -1.0)
    return (short, float(p)) if isinstance(p, int | float) and not isinstance(p, bool) else None


class ChecklistScorer:
    """Scores a description by asking a yes/no judge every question of a checklist prompt."""

    def __init__(self, judge: YesNoJudge, threshold: float = 0.5) -> None:
        if not isinstance(judge, YesNoJudge):
            raise ValueError(f"{getattr(judge, 'name', judge)!r} cannot read yes/no probabilities; "
                             "the checklist scorer needs the llamacpp, openai, vllm or hf backend")
        self.inner = judge
        self.threshold = threshold
        self.name = f"{judge.name}+checklist"
        self.caps = ScorerCaps(logprobs=True, prefix_reuse=getattr(getattr(judge, "caps", None), "prefix_reuse", False))

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        out = []
        for request in batch:
            if not request.prompt.questions:
                raise PromptError(f"the checklist scorer needs a checklist prompt (score_checklist), "
                                  f"not {request.prompt.id}")
            start = time.perf_counter()
            ranked = answers(request.prompt, self.inner.yes_probabilities(request.prompt, request.text))
            best = next(iter(ranked.values()))
            out.append(SegmentScore(segment_id=request.segment_id, score=best,
                                    written=1.0 if best >= self.threshold else 0.0, raw=json.dumps(ranked),
                                    scorer=self.name, prompt_id=request.prompt.id,
                                    seconds=time.perf_counter() - start))
        return out
