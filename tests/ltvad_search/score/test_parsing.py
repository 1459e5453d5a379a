from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltvad_search.score.parsing import (
    GRID,
    expected_value,
    greedy_value,
    grid_distribution,
    grid_from_steps,
    is_long_tail,
    max_pool,
    parse_written,
    snap,
    softmax_subset,
)


@pytest.mark.parametrize("text,value", [
    ("[0.4]", 0.4), ("[ 0.40 ]", 0.4), ("The score is [0.7].", 0.7), ("[1.0]", 1.0), ("[1]", 1.0),
    ("[.3]", 0.3), ("[0]", 0.0), ("0.8", 0.8), ("Score: 0.2", 0.2), ("[0.45]", 0.5), ("[0.4] and [0.9]", 0.4),
])
def test_parse_written_reads_the_first_bracketed_value(text: str, value: float) -> None:
    assert parse_written(text) == value


@pytest.mark.parametrize("text", ["", "no idea", "[1.5]", "[-0.2]", "score 7/10", "[abc]", "0.4 maybe 0.6"])
def test_parse_written_returns_none_never_a_sentinel(text: str) -> None:
    assert parse_written(text) is None


@given(st.text())
def test_parse_written_any_text_gives_a_grid_value_or_none(text: str) -> None:
    value = parse_written(text)
    assert value is None or value in GRID


@given(st.sampled_from(GRID), st.text(alphabet=st.characters(blacklist_characters="[]0123456789.")),
       st.text(alphabet=st.characters(blacklist_characters="[]")))
def test_a_bracketed_grid_value_survives_any_surrounding_text(value: float, before: str, after: str) -> None:
    assert parse_written(f"{before}[{value:.1f}]{after}") == value


@given(st.floats(min_value=-5, max_value=5, allow_nan=False))
def test_snap_lands_on_the_grid(x: float) -> None:
    assert snap(x) in GRID
    if 0 <= x <= 1:
        assert abs(snap(x) - x) <= 0.05 + 1e-9


def test_snap_refuses_nan() -> None:
    with pytest.raises(ValueError):
        snap(math.nan)


def test_grid_distribution_and_expected_value() -> None:
    first = {"0": 0.6, "1": 0.2}  # 0.2 mass elsewhere: renormalised away
    digit = {str(d): (1.0 if d == 3 else 0.0) for d in range(10)}
    dist = grid_distribution(first, digit)
    assert dist is not None and dist.sum() == pytest.approx(1.0)
    assert dist[3] == pytest.approx(0.75) and dist[10] == pytest.approx(0.25)
    assert expected_value(dist) == pytest.approx(0.75 * 0.3 + 0.25 * 1.0)
    assert greedy_value(first, digit) == 0.3
    assert greedy_value({"0": 0.1, "1": 0.8}, digit) == 1.0


def test_grid_distribution_without_mass_is_none() -> None:
    assert grid_distribution({}, {"4": 1.0}) is None
    assert grid_distribution({"0": 0.5}, {}) is None
    assert grid_distribution({"1": 0.5}, {}) is not None  # all mass on 1.0


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=2),
       st.lists(st.floats(min_value=0, max_value=1), min_size=10, max_size=10))
def test_expected_value_stays_in_range(first: list[float], digits: list[float]) -> None:
    dist = grid_distribution({"0": first[0], "1": first[1]}, {str(i): d for i, d in enumerate(digits)})
    if dist is not None:
        assert 0.0 <= expected_value(dist) <= 1.0 + 1e-12


def test_softmax_subset_matches_full_softmax() -> None:
    logits = np.array([1.0, 2.0, 3.0, -1.0])
    full = np.exp(logits) / np.exp(logits).sum()
    got = softmax_subset(logits, {"a": 0, "c": 2})
    assert got["a"] == pytest.approx(full[0]) and got["c"] == pytest.approx(full[2])


def test_grid_from_steps_reads_openai_style_logprobs() -> None:
    steps = [("[", {"[": 0.0}), ("0", {"0": math.log(0.7), "1": math.log(0.3)}),
             (".", {".": 0.0}), ("4", {"4": math.log(0.5), "6": math.log(0.5)}), ("]", {"]": 0.0})]
    first, digit = grid_from_steps(steps)  # type: ignore[misc]
    assert first == pytest.approx({"0": 0.7, "1": 0.3}) and digit == pytest.approx({"4": 0.5, "6": 0.5})
    assert grid_from_steps([("[0.4]", {})]) is None  # merged tokens: fall back to the written score
    assert grid_from_steps([("I", {}), ("0", {})]) is None  # a 0 not right after "[" is not an answer


def test_max_pool_skips_missing_and_reports_the_segment() -> None:
    assert max_pool([0.2, None, 0.9, 0.5]) == (0.9, 2)
    assert max_pool([None, float("nan")]) is None
    assert max_pool([]) is None


def test_threshold_is_inclusive() -> None:
    assert is_long_tail(0.5) and not is_long_tail(0.49) and is_long_tail(0.3, 0.3)


def test_yes_share_reads_server_top_logprobs() -> None:
    from ltvad_search.score.parsing import yes_share

    assert yes_share({"Yes": math.log(0.6), " no": math.log(0.2), "The": math.log(0.1)}) == pytest.approx(0.75)
    assert yes_share({"YES": math.log(0.3), "Yes": math.log(0.3), "No": math.log(0.2)}) == pytest.approx(0.75)
    # No is unlisted: it is at most the least likely alternative listed (0.05), so P(Yes) >= 0.5/0.55
    assert yes_share({"Yes": math.log(0.5), "Maybe": math.log(0.05)}) == pytest.approx(0.5 / 0.55)
    assert yes_share({"Yes": 0.0}) == 1.0  # nothing left unlisted
    assert yes_share({"The": math.log(0.9)}) is None
