"""In-context examples from the user's own labelled descriptions, chosen per description by similarity.

A fixed rubric cannot know where one team draws the line between "a cyclist in the lane" and routine
traffic; the closest descriptions that team already labelled can. For every description the scorer
sees the `per_label` most similar long-tail and routine examples (so the prompt never leans on the
majority class), nearest last, with the long-tail ones' reasons when the labelled set has them.

An example never comes from the description itself: the bank leaves out the same id, the same video
(`group`), and the same text, so scoring the labelled set with its own bank is leave-one-video-out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltvad_search.models.embed import Embedder

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltvad_search.records import SegmentScore
from ltvad_search.score.base import Scorer, ScorerCaps, ScoreRequest


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: int
    group: str | None = None
    reason: str | None = None


def read_examples(path: str | Path) -> list[Example]:
    """Labelled rows of a JSONL file (`id`, `text`, `label`; optional `video` and `reason`).

    Rows without a label are skipped: they cannot teach anything. A file with only one class is an
    error, since the examples are chosen per class."""
    from ltvad_search.catalog.textset import read_rows

    p = Path(path)
    out = [Example(id=r.id, text=r.text, label=int(r.label), group=r.group, reason=r.reason)
           for r in read_rows(p) if r.label is not None]
    if len({e.label for e in out}) < 2:
        raise ValueError(f"{p}: in-context examples need labelled rows of both classes (label 0 and 1)")
    return out


def pick(similarity: np.ndarray, labels: np.ndarray, allowed: np.ndarray, per_label: int) -> list[int]:
    """Indices of the `per_label` most similar allowed rows of each label, least similar first (so
    the nearest example sits next to the description being judged)."""
    chosen: list[int] = []
    for label in (1, 0):
        idx = np.flatnonzero(allowed & (labels == label))
        chosen.extend(idx[np.argsort(-similarity[idx], kind="stable")][:per_label].tolist())
    return sorted(chosen, key=lambda i: (similarity[i], i))


def render(examples: Sequence[Example], text: str) -> str:
    """The description slot of an examples prompt: the labelled logs, then the log to judge."""
    blocks = []
    for e in examples:
        answer = "Yes" if e.label else "No"
        if e.label and e.reason:
            answer += f" ({e.reason})"
        blocks.append(f"Labelled log: {e.text.strip()}\nLong-tail: {answer}")
    return "\n\n".join([*blocks, f"Log to judge: {text.strip()}"])


def bank_digest(examples: Sequence[Example]) -> str:
    """A hash of the labelled set, so scores made with a different set (or a corrected label) are
    never mistaken for these."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.id}\x00{e.label}\x00{e.group or ''}\x00{e.reason or ''}\x00{e.text}\x00".encode())
    return digest.hexdigest()[:8]


def examples_name(inner: str, examples: Sequence[Example], per_label: int) -> str:
    """The scorer's name: the inner scorer, how many examples, and the labelled set's hash."""
    return f"{inner}+examples{per_label}@{bank_digest(examples)}"


class ExampleBank:
    """Labelled descriptions and their embeddings; `select` answers the examples for one description."""

    def __init__(self, examples: Sequence[Example], embedder: Embedder, per_label: int = 2) -> None:
        if per_label < 1:
            raise ValueError("per_label must be at least 1")
        self.examples = list(examples)
        self.per_label = per_label
        self._embedder = embedder
        self._vectors = embedder.encode([e.text for e in self.examples])
        self._labels = np.array([e.label for e in self.examples])
        self._groups = {e.id: e.group for e in self.examples if e.group is not None}
        self._group_of_example = np.array([e.group or f"\x00{e.id}" for e in self.examples], dtype=object)
        self._texts = np.array([" ".join(e.text.split()) for e in self.examples], dtype=object)
        self._ids = np.array([e.id for e in self.examples], dtype=object)

    def _neighbours(self, request_id: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Similarity of every example to `text`, and which examples it may see (not itself, not its
        video, not its text)."""
        query = self._embedder.encode([text])[0]
        own = request_id.split("#")[0]  # a sentence id ("row#2") belongs to its row
        allowed = (self._ids != own) & (self._texts != " ".join(text.split()))
        group = self._groups.get(own)
        if group is not None:
            allowed &= self._group_of_example != group
        return self._vectors @ query, allowed

    def select(self, request_id: str, text: str) -> list[Example]:
        """The examples for one description; never the description itself nor its video."""
        similarity, allowed = self._neighbours(request_id, text)
        return [self.examples[i] for i in pick(similarity, self._labels, allowed, self.per_label)]

    def neighbour_margin(self, request_id: str, text: str, k: int = 10) -> float:
        """Mean similarity to the k nearest long-tail examples minus that to the k nearest routine
        ones, under the same exclusions as `select`."""
        similarity, allowed = self._neighbours(request_id, text)
        return margin(similarity, self._labels, allowed, k)


def margin(similarity: np.ndarray, labels: np.ndarray, allowed: np.ndarray, k: int) -> float:
    def top(label: int) -> float:
        values = np.sort(similarity[allowed & (labels == label)])[::-1][:k]
        return float(values.mean()) if values.size else 0.0

    return top(1) - top(0)


class ExampleScorer:
    """Puts the nearest labelled examples in front of each description, then asks the inner scorer."""

    def __init__(self, inner: Scorer, bank: ExampleBank) -> None:
        self.inner = inner
        self.bank = bank
        self.name = examples_name(inner.name, bank.examples, bank.per_label)
        self.caps = ScorerCaps(logprobs=inner.caps.logprobs, prefix_reuse=inner.caps.prefix_reuse)

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        out = []
        for request in batch:
            start = time.perf_counter()
            chosen = self.bank.select(request.segment_id, request.text)
            [result] = self.inner.score([dataclasses.replace(request, text=render(chosen, request.text))])
            raw = json.dumps({"answer": result.raw, "examples": [e.id for e in chosen]})
            out.append(dataclasses.replace(result, scorer=self.name, raw=raw, seconds=time.perf_counter() - start))
        return out
