"""Stage 2 as a checklist: yes/no questions about the long-tail categories, calibrated without labels.

A 1.5B model asked to weigh the paper's whole rubric at once ranks real driving logs barely better
than chance, but it answers one concrete question ("is there snow, ice ... on the road?") well. A
description is long-tail when any category is present, so the score is the max over questions, the
same pooling the paper uses over segments; which question gave it is kept as the likely category.

Each question has a Yes bias of its own: the model says Yes to "does a worker direct traffic?" about
40% of the time on plainly routine logs, and to "is there an animal?" rarely; and every question says
Yes more often the longer the log. A prompt that lists routine reference logs (`[calibration] routine`
in its .toml) has that bias removed per question, without labels, by contextual calibration: a high
point of the question's log-odds of Yes on the reference logs (see `fit_bias`), at the description's
length when the prompt asks for it (`length_aware`), is subtracted from its log-odds on the
description. A calibrated P(Yes) of 0.5 then means "more Yes-like than plainly routine logs of that
length come", so 0.5 is the point above which a log reads more like long-tail than routine, and
questions with a strong Yes habit no longer drown the others in the max. The references are asked once
per model and prompt id (`ReferenceBias`, their raw answers cached on disk), and the raw P(Yes) and the
bias of every question stay in the stored answer, so the correction can be audited.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltvad_search.prompts import DEFAULT_SPREAD, Prompt, PromptError
from ltvad_search.records import SegmentScore
from ltvad_search.score.base import ScorerCaps, ScoreRequest, YesNoJudge

EPS = 1e-6


def logit(p: float) -> float:
    p = min(1 - EPS, max(EPS, p))
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


NARROWEST = 0.25  # the spread never shrinks below this share of its mean, however steep its fit (YesBias)


def log_words(text: str) -> float:
    """A log's length as the bias sees it: log of its word count, the same for every backend's tokenizer."""
    return math.log(max(1, len(text.split())))


@dataclass(frozen=True, slots=True)
class YesBias:
    """Each question's Yes bias in log-odds, as a function of the log's length.

    `centre[q] + slope * x + spread[q] * (1 + widening * (x - middle))`, where x is `log_words` of
    the log held to the range the reference logs cover (`shortest`, `longest`): past the longest
    reference the bias stops moving, because nothing was measured there. `spread[q]` is the
    question's spread at the references' mean length `middle`; with `widening` 0 it is the same at
    every length, and with slope 0 too the bias is one constant per question."""

    centre: tuple[float, ...]
    spread: tuple[float, ...]
    slope: float = 0.0
    shortest: float = 0.0
    longest: float = 0.0
    widening: float = 0.0
    middle: float = 0.0

    def offsets(self, text: str) -> list[float]:
        x = min(self.longest, max(self.shortest, log_words(text)))
        scale = max(NARROWEST, 1.0 + self.widening * (x - self.middle))
        return [round(c + self.slope * x + s * scale, 6) for c, s in zip(self.centre, self.spread, strict=True)]


def _pooled_slope(x: np.ndarray, values: np.ndarray) -> float:
    """The least-squares slope of every column of `values` on `x`, one slope for all columns."""
    dx = x - x.mean()
    return float((dx[:, None] * (values - values.mean(axis=0))).sum() / (dx @ dx) / values.shape[1]) \
        if dx @ dx > 0 else 0.0


def fit_bias(reference: Sequence[Sequence[float]], texts: Sequence[str], *, length_aware: bool,
             spread: float = DEFAULT_SPREAD, widen: bool = True) -> YesBias:
    """Each question's Yes bias from its P(Yes) on the routine reference logs (one row per log, in
    the order of `texts`): the centre of their log-odds plus `spread` standard deviations, where
    routine logs stop (steadier than the single most Yes-like reference).

    Length-aware, the centre is a line in log word count with one slope for all questions (the
    references' pooled within-question least-squares slope: longer logs draw more Yes from every
    question alike, and twelve slopes from 30 logs would each be noisy). With `widen` (the rule
    `length_aware` prompts get) the spread follows length too, by one pooled line through each
    question's distances from its centre line, in units of that question's standard deviation:
    a one-sentence routine log moves a question's answer about twice as far as a paragraph does
    (the shipped references: 1.3 times the mean spread at 13 words, 0.7 at 101), so one spread for
    all lengths sat too low for short logs (flagging a third of short routine logs) and too high
    for long ones (missing long logs with one unusual sentence). Chosen on the dev textbench over
    a constant bias, a centre-only line and per-question slopes (README, Scores)."""
    z = np.array([[logit(p) for p in row] for row in reference], dtype=np.float64)
    x = np.array([log_words(t) for t in texts], dtype=np.float64)
    if z.shape[0] != len(x):
        raise ValueError(f"{z.shape[0]} reference answers for {len(x)} reference logs")
    slope = _pooled_slope(x, z) if length_aware else 0.0
    centre = z.mean(axis=0) - slope * x.mean()
    residual = z - centre - slope * x[:, None]
    sd = residual.std(axis=0)
    distance = np.abs(residual) / np.where(sd > 0, sd, 1.0)
    widening = _pooled_slope(x, distance) / distance.mean() if length_aware and widen and distance.mean() > 0 else 0.0
    return YesBias(tuple(round(float(v), 6) for v in centre), tuple(round(float(v), 6) for v in spread * sd),
                   round(slope, 6), float(x.min()), float(x.max()), round(widening, 6), float(x.mean()))


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
    """Each question's Yes bias for one judge and prompt, fitted to the judge's answers on the
    prompt's reference logs; the answers are asked once and kept in a JSON file.

    The file is keyed by the judge's name and the prompt id (which covers the questions, the
    reference logs and whether the bias follows length), so another model or an edited question is
    asked again. It keeps the raw answers, not the fitted bias: the fit is redone on reading, in
    microseconds, so a file written under another rule is never misread."""

    def __init__(self, judge: YesNoJudge, folder: Path | None) -> None:
        self.judge, self.folder = judge, folder
        self._answers: dict[str, list[list[float]]] = {}
        self._known: dict[str, YesBias] = {}

    def _file(self, prompt: Prompt) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.sha256(f"{self.judge.name}\x00{prompt.id}".encode()).hexdigest()[:16]
        return self.folder / f"{digest}.json"

    def reference_answers(self, prompt: Prompt) -> list[list[float]]:
        """The judge's raw P(Yes) for every question on each reference log: held, read back, or asked now."""
        if prompt.id not in self._answers:
            path = self._file(prompt)
            self._answers[prompt.id] = self._read(path, prompt) or self._ask(path, prompt)
        return self._answers[prompt.id]

    def _read(self, path: Path | None, prompt: Prompt) -> list[list[float]] | None:
        if path is None or not path.exists():
            return None
        stored = json.loads(path.read_text())
        ok = stored.get("judge") == self.judge.name and stored.get("prompt_id") == prompt.id
        return stored.get("reference_p_yes") if ok else None

    def _ask(self, path: Path | None, prompt: Prompt) -> list[list[float]]:
        reference = self.judge.yes_probabilities(prompt, prompt.references)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{id(self)}")
            tmp.write_text(json.dumps({"judge": self.judge.name, "prompt_id": prompt.id,
                                       "questions": [q.short for q in prompt.questions],
                                       "reference_p_yes": reference}, indent=1))
            tmp.replace(path)
        return reference

    def of(self, prompt: Prompt) -> YesBias | None:
        """The prompt's fitted bias, or None for a prompt without reference logs."""
        if not prompt.references:
            return None
        if prompt.id not in self._known:
            self._known[prompt.id] = fit_bias(self.reference_answers(prompt), prompt.references,
                                              length_aware=prompt.length_aware, spread=prompt.spread)
        return self._known[prompt.id]


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
            fitted = self.bias.of(prompt)
            start = time.perf_counter()
            p_yes = self.inner.yes_probabilities(prompt, [batch[i].text for i in members])
            each = (time.perf_counter() - start) / len(members)
            for i, probabilities in zip(members, p_yes, strict=True):
                answer = answers(prompt, probabilities, fitted.offsets(batch[i].text) if fitted else None)
                out[i] = SegmentScore(segment_id=batch[i].segment_id, score=next(iter(answer["calibrated"].values())),
                                      written=None, raw=json.dumps(answer), scorer=self.name,
                                      prompt_id=prompt.id, seconds=each)
        return [out[i] for i in range(len(batch))]
