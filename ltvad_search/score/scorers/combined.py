"""A calibrated combination of the LLM's score with two embedding signals, fitted on labelled data.

On CPU the small LLM alone separates long-tail from routine descriptions only weakly; two cheap
embedding signals see different things: how close the best sentence is to a taxonomy subtype rather
than to routine driving (no labels needed), and whether the nearest labelled descriptions are
long-tail or routine. A logistic regression over the three puts them on one scale and makes the
threshold mean a probability again. `ltvad calibrate` fits it, reports it leave-one-video-out, and
writes a small JSON file; `scorer.preset=combined` scores with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltvad_search.models.embed import Embedder

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ltvad_search.config import ScorerConfig
from ltvad_search.records import SegmentScore
from ltvad_search.score.base import Scorer, ScorerCaps, ScoreRequest
from ltvad_search.score.scorers.examples import ExampleBank, bank_digest

FEATURES = ("llm", "neighbours", "exemplars")


def exemplar_margin(sentences: np.ndarray, long_tail: np.ndarray, routine: np.ndarray) -> float:
    """For the best sentence: similarity to the nearest long-tail phrase minus that to the nearest
    routine phrase (rows are unit vectors)."""
    return float(((sentences @ long_tail.T).max(axis=1) - (sentences @ routine.T).max(axis=1)).max())


class ExemplarEvidence:
    """The label-free embedding signal: taxonomy subtypes against the rubric's routine phrases."""

    def __init__(self, embedder: Embedder) -> None:
        from ltvad_search import prompts

        self._embedder = embedder
        self._long_tail = embedder.encode([f"{c.name}: {s}" for c in prompts.taxonomy() for s in c.subtypes])
        self._routine = embedder.encode(list(prompts.routine_phrases()))

    def score(self, text: str) -> float:
        from ltvad_search.score.units import split_sentences

        return exemplar_margin(self._embedder.encode(split_sentences(text)), self._long_tail, self._routine)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Standardise each feature, then a logistic regression; plus what it was fitted with."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    scorer: str  # the LLM scorer whose scores it was fitted on
    bank: str  # bank_digest of the labelled set the neighbour signal reads
    rows: int
    lovo_auc: float  # ROC AUC of leave-one-video-out predictions on the labelled set

    def probability(self, values: Sequence[float]) -> float:
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in
                                 zip(self.coef, values, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:8]

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def read(cls, path: str | Path) -> Calibration:
        p = Path(path)
        try:
            raw = json.loads(p.read_text())
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
            return cls(**fields)
        except FileNotFoundError:
            raise ValueError(f"{p}: no such calibration file (make one with `ltvad calibrate`)") from None
        except (json.JSONDecodeError, TypeError) as e:
            raise ValueError(f"{p}: not a calibration written by `ltvad calibrate` ({e})") from None


def fit(x: np.ndarray, y: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean, scale, coefficients and intercept of a standardised logistic regression."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression().fit((x - mean) / scale, np.asarray(y))
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def lovo_predictions(x: np.ndarray, y: Sequence[int], groups: Sequence[str]) -> list[float]:
    """Each row predicted by a model fitted on the other videos only."""
    labels, group_of = np.asarray(y), np.asarray(groups, dtype=object)
    out = []
    for i in range(len(labels)):
        train = group_of != group_of[i]
        if len(set(labels[train].tolist())) < 2:
            raise ValueError("calibration needs both classes outside every video")
        mean, scale, coef, intercept = fit(x[train], labels[train])
        out.append(float(1.0 / (1.0 + np.exp(-(intercept + ((x[i] - mean) / scale) @ coef)))))
    return out


class CombinedScorer:
    """The LLM scorer's score, the neighbour margin and the exemplar margin, through a calibration."""

    def __init__(self, llm: Scorer, bank: ExampleBank, evidence: ExemplarEvidence, calibration: Calibration) -> None:
        if calibration.scorer != llm.name:
            raise ValueError(f"the calibration was fitted on scores of {calibration.scorer!r}, not {llm.name!r}: "
                             "run `ltvad calibrate` again with these scorer settings")
        if calibration.bank != bank_digest(bank.examples):
            raise ValueError(f"the calibration was fitted with labelled set {calibration.bank!r}, not "
                             f"{bank_digest(bank.examples)!r}: run `ltvad calibrate` again with scorer.examples")
        self.llm, self.bank, self.evidence, self.calibration = llm, bank, evidence, calibration
        self.name = f"combined({llm.name})@{calibration.digest}"
        self.caps = ScorerCaps(logprobs=True, prefix_reuse=llm.caps.prefix_reuse)

    def features(self, request: ScoreRequest, llm_score: float | None) -> tuple[float, float, float]:
        return (0.0 if llm_score is None else llm_score,
                self.bank.neighbour_margin(request.segment_id, request.text),
                self.evidence.score(request.text))

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        out = []
        for request, result in zip(batch, self.llm.score(batch), strict=True):
            start = time.perf_counter()
            values = self.features(request, result.score)
            p = round(self.calibration.probability(values), 6)
            out.append(dataclasses.replace(
                result, score=p, written=None, scorer=self.name,
                raw=json.dumps({**dict(zip(FEATURES, values, strict=True)), "llm_raw": result.raw}),
                seconds=result.seconds + time.perf_counter() - start))
        return out


def llm_settings(cfg: ScorerConfig) -> ScorerConfig:
    """The LLM part of a combined scorer: the configured one without examples or calibration, and
    the `yesno` preset when nothing about the LLM's prompt was chosen."""
    given = cfg.model_dump(exclude_unset=True)
    if given.get("preset") == "combined":
        given["preset"] = None  # its prompt, units and answer are already filled in
    elif given.get("preset") is None and not {"prompt", "units", "answer"} & given.keys():
        given["preset"] = "yesno"
    return ScorerConfig.model_validate({**given, "examples": None, "calibration": None})
