from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from ltvad_search.evaluation import metrics


def _data(draw_scores: list[float], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(draw_scores, dtype=np.float64), np.array(labels)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.1, 0.5, 0.5, 0.9, 1.0]) | st.floats(0, 1), st.integers(0, 1)),
                min_size=2, max_size=60))
def test_auc_pr_auc_and_rates_agree_with_scikit_learn(pairs: list[tuple[float, int]]) -> None:
    s, y = _data([p[0] for p in pairs], [p[1] for p in pairs])
    if len(set(y.tolist())) < 2:
        with pytest.raises(metrics.MetricError, match="both classes"):
            metrics.roc_auc(s, y)
        return
    assert metrics.roc_auc(s, y) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-9)
    assert metrics.average_precision(s, y) == pytest.approx(sk.average_precision_score(y, s), abs=1e-9)
    t = metrics.at_threshold(s, y, 0.5)
    pred = (s >= 0.5).astype(int)
    assert t.accuracy == pytest.approx(sk.accuracy_score(y, pred), abs=1e-9)
    assert t.precision == pytest.approx(sk.precision_score(y, pred, zero_division=0), abs=1e-9)
    assert t.recall == pytest.approx(sk.recall_score(y, pred, zero_division=0), abs=1e-9)
    assert t.f1 == pytest.approx(sk.f1_score(y, pred, zero_division=0), abs=1e-9)
    fpr, tpr, _ = metrics.roc_curve(s, y)
    sk_fpr, sk_tpr, _ = sk.roc_curve(y, s, drop_intermediate=False)
    assert np.allclose(fpr, sk_fpr) and np.allclose(tpr, sk_tpr)


def test_all_ties_give_one_half() -> None:
    assert metrics.roc_auc(np.full(6, 0.4), np.array([0, 1, 0, 1, 1, 0])) == 0.5


def test_single_class_is_a_clear_error_not_a_crash() -> None:
    with pytest.raises(metrics.MetricError, match="got 3 long-tail and 0 routine"):
        metrics.report([0.1, 0.5, 0.9], [1, 1, 1])


def test_nan_and_missing_scores_are_excluded_and_counted() -> None:
    r = metrics.report([0.9, None, math.nan, 0.1, 0.8, 0.2], [1, 1, 0, 0, 1, 0], rounds=200)
    assert r.missing == 2 and r.n == 4 and r.auc == 1.0


def test_bad_labels_and_lengths_are_refused() -> None:
    with pytest.raises(metrics.MetricError, match="0 or 1"):
        metrics.clean([0.1, 0.2], [0, 2])
    with pytest.raises(metrics.MetricError, match="2 scores but 3 labels"):
        metrics.clean([0.1, 0.2], [0, 1, 1])


def test_bootstrap_interval_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = y * 0.3 + rng.random(200)
    low, high = metrics.bootstrap_auc(s, y, rounds=500)
    assert low < metrics.roc_auc(s, y) < high and high - low < 0.25
    assert metrics.bootstrap_auc(s, y, rounds=500) == (low, high)  # seeded: reproducible
