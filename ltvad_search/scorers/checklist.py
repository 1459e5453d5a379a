"""Stage 2 as a checklist: yes/no questions about the long-tail categories, calibrated without labels.

A 1.5B model asked to weigh the paper's whole rubric at once ranks real driving logs barely better
than chance, but it answers one concrete question ("is there snow, ice ... on the road?") well. A
description is long-tail when any category is present, so the score is the max over questions, the
same pooling the paper uses over segments; which question gave it is kept as the likely category.

Each question has a Yes bias of its own: the model says Yes to "does a worker direct traffic?" about
40% of the time on plainly routine logs, and to "is there an animal?" rarely. A prompt that lists
routine reference logs (`[calibration] routine` in its .toml) has that bias removed per question,
without labels, by contextual calibration: a high point of the question's log-odds of Yes on the
reference logs (see `bias`) is subtracted from its log-odds on the description. A calibrated P(Yes)
of 0.5 then means "more Yes-like than plainly routine logs come", so 0.5 is the point above which a
log reads more like long-tail than routine, and questions with a strong Yes habit no longer drown
the others in the max. The references are asked once per model and prompt id (`ReferenceBias`,
cached on disk), and the raw P(Yes) of every question stays in the stored answer, so the correction
can be audited.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ltvad_search.backends.base import ScorerCaps, ScoreRequest, YesNoJudge
from ltvad_search.prompts import Prompt, PromptError
from ltvad_search.records import SegmentScore

EPS = 1e-6


def logit(p: float) -> float:
    p = min(1 - EPS, max(EPS, p))
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def bias(reference: Sequence[Sequence[float]]) -> list[float]:
    """Each question's Yes bias, in log-odds, from its P(Yes) on the routine reference logs (one row
    per log): the mean log-odds plus two standard deviations, where routine logs stop (about the top
    2% of a normal spread), steadier than the single most Yes-like reference. Chosen on the dev
    textbench among the mean, +1, +1.5, +2 standard deviations and the maximum (README, Scores)."""
    z = np.array([[logit(p) for p in row] for row in reference], dtype=np.float64)
    return [round(float(v), 6) for v in z.mean(axis=0) + 2.0 * z.std(axis=0)]


def calibrated(p_yes: Sequence[float], offsets: Sequence[float] | None) -> list[float]:
    """P(Yes) with each question's bias taken out of its log-odds (unchanged without offsets)."""
    if offsets is None:
        return list(p_yes)
    return [sigmoid(logit(p) - b) for p, b in zip(p_yes, offsets, strict=True)]


def answers(prompt: Prompt, p_yes: Sequence[float], offsets: Sequence[float] | None = None) -> dict:
    """The stored answer: every question's calibrated and raw P(Yes), likeliest first."""
    if len(p_yes) != len(prompt.questions):
        raise ValueError(f"{len(p_yes)} answers for the {len(prompt.questions)} questions of {prompt.id}")
    cal = calibrated(p_yes, offsets)
    order = sorted(range(len(cal)), key=lambda i: -cal[i])
    shorts = [prompt.questions[i].short for i in order]
    out: dict = {"calibrated": {s: round(cal[i], 6) for s, i in zip(shorts, order, strict=True)},
                 "p_yes": {s: round(p_yes[i], 6) for s, i in zip(shorts, order, strict=True)}}
    if offsets is not None:
        out["bias"] = {s: offsets[i] for s, i in zip(shorts, order, strict=True)}
    return out


def per_question(raw: str) -> dict[str, float] | None:
    """{question short name: score} of a stored checklist answer (calibrated where it was), or None
    for answers of other scorers. Reads the answers of earlier versions too (a flat {name: P(Yes)})."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("calibrated"), dict):
        data = data["calibrated"]
    if not isinstance(data, dict) or not data:
        return None
    values = {k: float(v) for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return values or None


def likeliest(raw: str) -> tuple[str, float] | None:
    """The question that gave a checklist score and its score, read back from the stored answer;
    None for answers of other scorers."""
    scores = per_question(raw)
    return max(scores.items(), key=lambda kv: kv[1]) if scores else None


class ReferenceBias:
    """Each question's Yes bias for one judge and prompt, asked once and kept in a JSON file.

    The file is keyed by the judge's name and the prompt id (which covers the questions and the
    reference logs), so another model or an edited question is asked again."""

    def __init__(self, judge: YesNoJudge, folder: Path | None) -> None:
        self.judge, self.folder = judge, folder
        self._known: dict[str, list[float]] = {}

    def _file(self, prompt: Prompt) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.sha256(f"{self.judge.name}\x00{prompt.id}".encode()).hexdigest()[:16]
        return self.folder / f"{digest}.json"

    def offsets(self, prompt: Prompt) -> list[float] | None:
        if not prompt.references:
            return None
        if prompt.id in self._known:
            return self._known[prompt.id]
        path = self._file(prompt)
        if path is not None and path.exists():
            stored = json.loads(path.read_text())
            if stored.get("judge") == self.judge.name and stored.get("prompt_id") == prompt.id:
                self._known[prompt.id] = stored["bias"]
                return stored["bias"]
        reference = self.judge.yes_probabilities(prompt, prompt.references)
        values = bias(reference)
        self._known[prompt.id] = values
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{id(self)}")
            tmp.write_text(json.dumps({"judge": self.judge.name, "prompt_id": prompt.id, "bias": values,
                                       "questions": [q.short for q in prompt.questions],
                                       "reference_p_yes": reference}, indent=1))
            tmp.replace(path)
        return values


class ChecklistScorer:
    """Scores a description by asking a yes/no judge every question of a checklist prompt."""

    def __init__(self, judge: YesNoJudge, threshold: float = 0.5, reference: Path | None = None) -> None:
        if not isinstance(judge, YesNoJudge):
            raise ValueError(f"{getattr(judge, 'name', judge)!r} cannot read yes/no probabilities; "
                             "the checklist scorer needs the llamacpp, openai, vllm or hf backend")
        self.inner = judge
        self.threshold = threshold
        self.bias = ReferenceBias(judge, reference)
        self.name = f"{judge.name}+checklist"
        self.caps = ScorerCaps(logprobs=True, prefix_reuse=getattr(getattr(judge, "caps", None), "prefix_reuse", False))

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        """One call to the judge per prompt in the batch, so a batching backend sees all of it."""
        out: dict[int, SegmentScore] = {}
        groups: dict[str, list[int]] = {}
        for i, request in enumerate(batch):
            if not request.prompt.questions:
                raise PromptError(f"the checklist scorer needs a checklist prompt (score_checklist), "
                                  f"not {request.prompt.id}")
            groups.setdefault(request.prompt.id, []).append(i)
        for members in groups.values():
            prompt = batch[members[0]].prompt
            offsets = self.bias.offsets(prompt)
            start = time.perf_counter()
            p_yes = self.inner.yes_probabilities(prompt, [batch[i].text for i in members])
            each = (time.perf_counter() - start) / len(members)
            for i, probabilities in zip(members, p_yes, strict=True):
                answer = answers(prompt, probabilities, offsets)
                out[i] = SegmentScore(segment_id=batch[i].segment_id, score=next(iter(answer["calibrated"].values())),
                                      written=None, raw=json.dumps(answer), scorer=self.name,
                                      prompt_id=prompt.id, seconds=each)
        return [out[i] for i in range(len(batch))]
