"""Detection metrics as pure functions of (scores, labels).

Written out with NumPy rather than wrapped, so the maths is visible and the tests can hold it to
scikit-learn's numbers. Missing scores (None or NaN) are excluded and counted, never imputed; a
labelled set with one class has no ROC AUC, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


class MetricError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Scored:
    """Scores and labels with the missing scores taken out (and counted)."""

    scores: np.ndarray
    labels: np.ndarray
    missing: int


def clean(scores: Sequence[float | None], labels: Sequence[int]) -> Scored:
    if len(scores) != len(labels):
        raise MetricError(f"{len(scores)} scores but {len(labels)} labels")
    s = np.array([np.nan if v is None else float(v) for v in scores], dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if not np.isin(y, (0, 1)).all():
        raise MetricError(f"labels must be 0 or 1, got {sorted(set(y.tolist()) - {0, 1})}")
    keep = ~np.isnan(s)
    return Scored(scores=s[keep], labels=y[keep], missing=int((~keep).sum()))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative, ties counting one half
    (the Mann-Whitney U statistic, computed from average ranks)."""
    pos = int(labels.sum())
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        raise MetricError(f"ROC AUC needs both classes; got {pos} long-tail and {neg} routine")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average rank within each run of tied scores
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i: j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, thresholds), one point per distinct score."""
    pos, neg = int(labels.sum()), int(len(labels) - labels.sum())
    if pos == 0 or neg == 0:
        raise MetricError("a ROC curve needs both classes")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    return np.r_[0.0, fps / neg], np.r_[0.0, tps / pos], np.r_[np.inf, s[last]]


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """PR AUC as scikit-learn defines it: sum over thresholds of (R_n - R_{n-1}) * P_n."""
    pos = int(labels.sum())
    if pos == 0:
        raise MetricError("PR AUC needs at least one long-tail example")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last]
    precision = tps / (last + 1)
    recall = tps / pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True, slots=True)
class AtThreshold:
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    tn: int
    fn: int


def at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> AtThreshold:
    """Confusion counts and rates for `score >= threshold`; 0/0 rates are 0 (scikit-learn's default)."""
    pred = scores >= threshold - 1e-12
    tp = int((pred & (labels == 1)).sum())
    fp = int((pred & (labels == 0)).sum())
    fn = int((~pred & (labels == 1)).sum())
    tn = int((~pred & (labels == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AtThreshold(threshold, (tp + tn) / max(1, len(labels)), precision, recall, f1, tp, fp, tn, fn)


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """What a threshold buys: long-tail found, how clean the flagged list is, and how much routine it holds."""

    threshold: float
    recall: float
    precision: float
    routine_flagged: float  # share of routine items at or above the threshold (false positive rate)
    flagged: float  # share of all items at or above the threshold: the length of the list to review


THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


def operating_points(scores: np.ndarray, labels: np.ndarray,
                     thresholds: Sequence[float] = THRESHOLDS) -> list[OperatingPoint]:
    out = []
    for tau in sorted(set(thresholds)):
        t = at_threshold(scores, labels, tau)
        out.append(OperatingPoint(tau, t.recall, t.precision, t.fp / max(1, t.fp + t.tn),
                                  (t.tp + t.fp) / max(1, len(labels))))
    return out


def threshold_for_recall(scores: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The highest threshold at which at least `recall` of the long-tail items score at or above it:
    the shortest list to review that still finds that share."""
    positives = np.sort(scores[labels == 1])[::-1]
    if len(positives) == 0:
        raise MetricError("choosing a threshold for a recall needs at least one long-tail example")
    if not 0 < recall <= 1:
        raise MetricError(f"recall must be in (0, 1], got {recall}")
    return float(positives[int(np.ceil(recall * len(positives))) - 1])


def bootstrap_auc(scores: np.ndarray, labels: np.ndarray, *, rounds: int = 2000, seed: int = 0,
                  level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ROC AUC over stratified resamples (each keeps both class sizes)."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise MetricError("a ROC AUC interval needs both classes")
    values = np.empty(rounds)
    for r in range(rounds):
        idx = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        values[r] = roc_auc(scores[idx], labels[idx])
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


@dataclass(frozen=True, slots=True)
class Report:
    n: int
    positives: int
    missing: int
    auc: float
    auc_low: float
    auc_high: float
    pr_auc: float
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def report(scores: Sequence[float | None], labels: Sequence[int], threshold: float = 0.5,
           *, rounds: int = 2000) -> Report:
    data = clean(scores, labels)
    auc = roc_auc(data.scores, data.labels)
    low, high = bootstrap_auc(data.scores, data.labels, rounds=rounds)
    t = at_threshold(data.scores, data.labels, threshold)
    return Report(n=len(data.labels), positives=int(data.labels.sum()), missing=data.missing, auc=auc,
                  auc_low=low, auc_high=high, pr_auc=average_precision(data.scores, data.labels),
                  threshold=threshold, accuracy=t.accuracy, precision=t.precision, recall=t.recall, f1=t.f1)


def fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"
