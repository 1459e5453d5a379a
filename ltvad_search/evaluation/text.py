"""Stage 2 alone on labelled text: score a JSONL of descriptions, measure it, choose an operating point.

`ltvad score-text` and `ltvad calibrate --recall` are thin over these; the benches call them too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ltvad_search.catalog.textset import TextRow
from ltvad_search.evaluation import metrics
from ltvad_search.prompts import Prompt
from ltvad_search.records import SegmentScore
from ltvad_search.score.base import Scorer, ScoreRequest


@dataclass(frozen=True, slots=True)
class TextScores:
    """Each row of a labelled text set with its score, and what scored them ("scorer name | prompt id")."""

    rows: tuple[TextRow, ...]
    results: tuple[SegmentScore, ...]
    name: str

    @property
    def seconds_per_row(self) -> float:
        return sum(r.seconds for r in self.results) / max(1, len(self.results))


def score_rows(scorer: Scorer, prompt: Prompt, rows: Sequence[TextRow], *, batch_size: int,
               progress: Callable[[int], None] | None = None) -> TextScores:
    """Score every row in batches of `batch_size`, so a batching backend sees whole batches."""
    results: list[SegmentScore] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start: start + batch_size]
        results.extend(scorer.score([ScoreRequest(segment_id=r.id, text=r.text, prompt=prompt) for r in batch]))
        if progress:
            progress(len(batch))
    return TextScores(tuple(rows), tuple(results), f"{scorer.name} | {prompt.id}")


def write_scores(scores: TextScores, out: Path) -> None:
    """One JSON line per row (id, score, written, raw, label, seconds, scorer, prompt id), written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w") as f:
        for row, r in zip(scores.rows, scores.results, strict=True):
            f.write(json.dumps({"id": row.id, "score": r.score, "written": r.written, "raw": r.raw,
                                "label": row.label, "seconds": round(r.seconds, 4),
                                "scorer": r.scorer, "prompt_id": r.prompt_id}) + "\n")
    tmp.replace(out)


def reports(scores: TextScores, threshold: float) -> list[tuple[str, metrics.Report]]:
    """ROC AUC and the operating point of the expected value and, where the scorer writes one, the
    written grid answer; nothing when the rows lack labels of both classes."""
    labelled = [(row.label, r) for row, r in zip(scores.rows, scores.results, strict=True) if row.label is not None]
    if len({lab for lab, _ in labelled}) != 2:
        return []
    labels = [lab for lab, _ in labelled]
    out = []
    for title, values in (("expected value", [r.score for _, r in labelled]),
                          ("written score", [r.written for _, r in labelled])):
        if all(v is None for v in values):
            continue  # a scorer that writes no grid answer (yes/no, combined) has no second line
        out.append((title, metrics.report(values, labels, threshold)))
    return out


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """The highest threshold that keeps `target_recall` on a labelled file, with what it gives there."""

    scorer: str
    threshold: float
    target_recall: float
    recall: float
    precision: float
    routine_flagged: float
    file: str
    rows: int
    long_tail: int

    def write(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(asdict(self), indent=2) + "\n")


def operating_point(scores: TextScores, recall: float, file: Path) -> OperatingPoint:
    """Raises `metrics.MetricError` when the file cannot give one (no labels, one class)."""
    labelled = [(int(row.label), r.score) for row, r in zip(scores.rows, scores.results, strict=True)
                if row.label is not None]
    data = metrics.clean([s for _, s in labelled], [lab for lab, _ in labelled])
    tau = metrics.threshold_for_recall(data.scores, data.labels, recall)
    [point] = metrics.operating_points(data.scores, data.labels, [tau])
    return OperatingPoint(scorer=scores.name, threshold=round(tau, 6), target_recall=recall, recall=point.recall,
                          precision=point.precision, routine_flagged=point.routine_flagged, file=str(file),
                          rows=int(len(data.labels)), long_tail=int(np.sum(data.labels)))
