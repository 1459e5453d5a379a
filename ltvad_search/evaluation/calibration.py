"""Fitting the combined scorer (`ltvad calibrate`): score labelled descriptions, fit the combination,
and say how well it does on descriptions it was not fitted on (leave one video out).

The fitted model and how it scores live with the scorer (`score/scorers/combined.py`); fitting it
against labels is an evaluation, so it lives here, beside the metrics it reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ltvad_search.evaluation import metrics
from ltvad_search.models.embed import Embedder
from ltvad_search.prompts import Prompt
from ltvad_search.score.base import Scorer, ScoreRequest
from ltvad_search.score.scorers.combined import FEATURES, Calibration, ExemplarEvidence, fit, lovo_predictions
from ltvad_search.score.scorers.examples import Example, ExampleBank, bank_digest


def calibrate(llm: Scorer, prompt: Prompt, examples: Sequence[Example], embedder: Embedder, *, per_label: int = 2,
              progress: Callable[[int, int], None] | None = None) -> tuple[Calibration, list[float]]:
    """Score every labelled description, fit the combination on all of them, and return it with the
    leave-one-video-out predictions that say how well it does on descriptions it was not fitted on."""
    bank = ExampleBank(examples, embedder, per_label)
    evidence = ExemplarEvidence(embedder)
    rows = []
    for i, e in enumerate(examples):
        [result] = llm.score([ScoreRequest(e.id, e.text, prompt)])
        rows.append([0.0 if result.score is None else result.score, bank.neighbour_margin(e.id, e.text),
                     evidence.score(e.text)])
        if progress:
            progress(i + 1, len(examples))
    x, y = np.array(rows), [e.label for e in examples]
    lovo = lovo_predictions(x, y, [e.group or e.id for e in examples])
    mean, scale, coef, intercept = fit(x, y)
    calibration = Calibration(features=FEATURES, mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
                              coef=tuple(map(float, coef)), intercept=intercept, scorer=llm.name,
                              bank=bank_digest(examples), rows=len(examples),
                              lovo_auc=round(float(metrics.roc_auc(np.array(lovo), np.array(y))), 6))
    return calibration, lovo
