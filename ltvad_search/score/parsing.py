"""Pure functions that turn model output into scores, and segment scores into clip scores.

A score is either the expected value over the paper's 11-point grid (where the backend exposes token
probabilities: continuous, so clips rank without ties) or the value the model wrote. Nothing here
invents a number: an answer that cannot be read is None, and the caller keeps the raw text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

GRID: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))
GRID_STRINGS: tuple[str, ...] = tuple(f"{v:.1f}" for v in GRID)
DIGITS = "0123456789"

# "[0.4]", "[ 0.40 ]", "[.4]", "[1]", "[1.0]"; the first bracketed number wins, as the prompt asks
# for exactly one. A bare number is accepted only when the whole answer is that number.
_BRACKETED = re.compile(r"\[\s*(\d*\.?\d+)\s*\]")
_BARE = re.compile(r"^\s*(?:score\s*[:=]?\s*)?(\d*\.?\d+)\s*\.?\s*$", re.IGNORECASE)


def parse_written(text: str) -> float | None:
    """The grid value a model wrote, or None when it wrote none (out-of-range numbers included)."""
    match = _BRACKETED.search(text) or _BARE.match(text)
    if match is None:
        return None
    try:
        value = float(match.group(1))
    except ValueError:
        return None
    if not 0.0 <= value <= 1.0:
        return None
    return snap(value)


def snap(value: float) -> float:
    """Nearest grid value (0.45 goes up: rounding half away from zero, as people read it)."""
    if math.isnan(value):
        raise ValueError("cannot snap NaN")
    clipped = min(1.0, max(0.0, value))
    return GRID[int(math.floor(clipped * 10 + 0.5 + 1e-9))]


def grid_distribution(first: Mapping[str, float], digit: Mapping[str, float]) -> np.ndarray | None:
    """Probabilities of the 11 grid values from two next-token distributions.

    `first` holds the probabilities of "0" and "1" right after "[", `digit` those of "0".."9" right
    after "[0.". Each is renormalised over the tokens that stay on the grid, so the answer is the
    model's distribution constrained to valid scores. None when neither position puts any mass on
    the grid (the model wants to write something else entirely).
    """
    p0, p1 = max(first.get("0", 0.0), 0.0), max(first.get("1", 0.0), 0.0)
    digits = np.array([max(digit.get(d, 0.0), 0.0) for d in DIGITS], dtype=np.float64)
    if p0 + p1 <= 0:
        return None
    if digits.sum() <= 0:
        if p0 > 0:
            return None
        digits = np.ones(10)
    dist = np.zeros(11, dtype=np.float64)
    dist[:10] = p0 / (p0 + p1) * digits / digits.sum()
    dist[10] = p1 / (p0 + p1)
    return dist


def expected_value(dist: Sequence[float] | np.ndarray) -> float:
    return float(np.dot(np.asarray(dist, dtype=np.float64), GRID))


def greedy_value(first: Mapping[str, float], digit: Mapping[str, float]) -> float | None:
    """What greedy decoding constrained to the grid writes: the likelier of 0/1, then the likeliest digit."""
    p0, p1 = first.get("0", 0.0), first.get("1", 0.0)
    if p0 <= 0 and p1 <= 0:
        return None
    if p1 > p0:
        return 1.0
    best = max(DIGITS, key=lambda d: digit.get(d, 0.0))
    return GRID[int(best)] if digit.get(best, 0.0) > 0 else None


def softmax_subset(logits: np.ndarray, token_ids: Mapping[str, int]) -> dict[str, float]:
    """Probabilities (under the full softmax) of a few named tokens, from one row of logits."""
    row = np.asarray(logits, dtype=np.float64)
    peak = row.max()
    log_z = peak + math.log(float(np.exp(row - peak).sum()))
    return {name: math.exp(float(row[i]) - log_z) for name, i in token_ids.items()}


Steps = Sequence[tuple[str, Mapping[str, float]]]


def grid_from_steps(steps: Steps) -> tuple[dict[str, float], dict[str, float]] | None:
    """The two next-token distributions `grid_distribution` needs, from generated-token log-probs.

    `steps` is one (chosen token, {alternative token: logprob}) pair per generated token, the shape
    both OpenAI's `top_logprobs` and vLLM's `logprobs` reduce to. Works when "[", "0", ".", "4" are
    separate tokens (Qwen, Llama and SmolLM tokenizers write them so): the first lone 0/1 right
    after "[" gives the first distribution, the lone digit after the following "." the second.
    None for any other shape, and the caller falls back to the written score.
    """
    texts = [t.strip() for t, _ in steps]
    at = next((i for i, t in enumerate(texts) if t in ("0", "1")), None)
    if at is None or (at > 0 and not texts[at - 1].endswith("[")):
        return None

    def probs(i: int, wanted: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for token, logprob in steps[i][1].items():
            key = token.strip()
            if key in wanted and len(key) == 1:
                out[key] = out.get(key, 0.0) + math.exp(logprob)
        return out

    first = probs(at, "01")
    if at + 2 < len(texts) and texts[at + 1] == "." and texts[at + 2] in DIGITS and len(texts[at + 2]) == 1:
        return first, probs(at + 2, DIGITS)
    if texts[at] == "1":
        return first, {}
    return None


def yes_share(top: Mapping[str, float]) -> float | None:
    """P(Yes) / (P(Yes) + P(No)) from one answer token's {alternative: logprob}, as servers return them.

    Case and surrounding spaces are folded ("Yes", " yes", "YES" all count). When only one of the two
    is among the alternatives, the other is at most as likely as the least likely one listed and at
    most the mass left unlisted; that bound stands in for it, instead of a certainty. None when neither
    appears.
    """
    mass = {"yes": 0.0, "no": 0.0}
    for token, logprob in top.items():
        key = token.strip().lower()
        if key in mass:
            mass[key] += math.exp(logprob)
    if not mass["yes"] and not mass["no"]:
        return None
    probs = [math.exp(v) for v in top.values()]
    floor = max(0.0, min(min(probs), 1.0 - sum(probs)))
    yes, no = mass["yes"] or floor, mass["no"] or floor
    return yes / (yes + no)


def max_pool(scores: Iterable[float | None]) -> tuple[float, int] | None:
    """The clip score (max over segments) and the index of the segment that gave it.

    Segments without a score are skipped; None when no segment has one yet.
    """
    best: tuple[float, int] | None = None
    for i, s in enumerate(scores):
        if s is None or math.isnan(s):
            continue
        if best is None or s > best[0]:
            best = (s, i)
    return best


def is_long_tail(score: float, threshold: float = 0.5) -> bool:
    return score >= threshold - 1e-12
