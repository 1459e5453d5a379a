"""Evaluation against labelled clips or labelled text: the paper's table, a report, the ablations.

Metric maths lives in `metrics.py` (pure); this module gathers scores and labels from the catalog or
a text file, writes the report folder (report.md, metrics.json, ROC curve, score histograms), and
runs the ablation grid by re-running only the stages a setting changes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ltvad_search.catalog import Catalog
from ltvad_search.catalog.textset import TextRow
from ltvad_search.evaluation import metrics
from ltvad_search.prompts import category_names
from ltvad_search.records import Label, RunKey, SegmentScore


class LabelError(ValueError):
    pass


def read_labels(path: str | Path, catalog: Catalog) -> list[Label]:
    """Labels from CSV (`clip,label[,category]`) or JSONL (`{"clip", "label", "category"}`).

    A clip is named by id, id prefix, absolute path, or a path relative to the labels file. Every
    problem in the file is collected and reported together, and nothing is imported unless the
    whole file is valid.
    """
    p = Path(path)
    if not p.is_file():
        raise LabelError(f"{p}: no such file")
    raw = _rows(p)
    errors: list[str] = []
    labels: list[Label] = []
    seen: dict[str, int] = {}
    for line, row in raw:
        ref = str(row.get("clip") or row.get("clip_id") or row.get("path") or "").strip()
        where = f"{p.name}:{line}"
        if not ref:
            errors.append(f"{where}: no clip given")
            continue
        clip = catalog.find_clip(ref) or catalog.find_clip(str((p.parent / ref).resolve()))
        if clip is None:
            errors.append(f"{where}: unknown clip {ref!r} (ingest it first)")
            continue
        try:
            label = int(str(row.get("label", "")).strip())
            if label not in (0, 1):
                raise ValueError
        except ValueError:
            errors.append(f"{where}: label must be 0 or 1, got {row.get('label')!r}")
            continue
        given = row.get("category")
        try:
            category = None if given is None or given == "" else int(given)
            if category is not None and category not in category_names():
                raise ValueError
        except ValueError:
            errors.append(f"{where}: category must be 1-10 or empty, got {row.get('category')!r}")
            continue
        if clip.clip_id in seen:
            errors.append(f"{where}: clip {ref!r} is labelled again (first at line {seen[clip.clip_id]})")
            continue
        seen[clip.clip_id] = line
        subtype = str(row.get("subtype") or "").strip() or None
        labels.append(Label(clip_id=clip.clip_id, label=label, category=category, subtype=subtype, origin="human"))
    if errors:
        raise LabelError(f"{p}: {len(errors)} problem(s), nothing imported:\n  " + "\n  ".join(errors))
    if not labels:
        raise LabelError(f"{p}: no labels")
    return labels


def _rows(p: Path) -> list[tuple[int, dict[str, str]]]:
    if p.suffix.lower() in (".jsonl", ".json"):
        out = []
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append((n, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise LabelError(f"{p.name}:{n}: not JSON ({e})") from None
        return out
    with p.open(newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "label" not in reader.fieldnames:
            raise LabelError(f"{p}: expected a header with 'clip' and 'label' columns")
        return [(n, row) for n, row in enumerate(reader, 2)]


@dataclass(frozen=True, slots=True)
class ClipResult:
    clip_id: str
    source: str
    score: float | None
    label: int
    category: int | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    title: str
    report: metrics.Report
    items: tuple[ClipResult, ...]
    seconds_per_item: float

    def per_category_recall(self, threshold: float) -> dict[int, tuple[int, int]]:
        """Category -> (found at threshold, total) over labelled long-tail items."""
        out: dict[int, list[int]] = {}
        for it in self.items:
            if it.label == 1 and it.category is not None:
                found, total = out.setdefault(it.category, [0, 0])
                out[it.category] = [found + int(it.score is not None and it.score >= threshold), total + 1]
        return {c: (v[0], v[1]) for c, v in sorted(out.items())}

    def operating_points(self, threshold: float) -> list[metrics.OperatingPoint]:
        """Recall, precision and routine flagged at a few thresholds and the configured one."""
        data = metrics.clean([i.score for i in self.items], [i.label for i in self.items])
        return metrics.operating_points(data.scores, data.labels, (*metrics.THRESHOLDS, threshold))


def evaluate_store(catalog: Catalog, key: RunKey, threshold: float, title: str = "", *,
                   written: bool = False) -> Evaluation:
    """Clip scores (max over segments) of one run against the catalog's human labels."""
    from ltvad_search.score.ranking import rank

    labels = {lb.clip_id: lb for lb in catalog.labels("human")}
    if not labels:
        raise LabelError("no labels in the catalog: `ltvad labels import FILE` first")
    ranked = {r.clip.clip_id: r for r in rank(catalog, key, threshold, written=written)}
    clips = {c.clip_id: c for c in catalog.clips()}
    seconds = _seconds_per_clip(catalog, key, set(labels))
    items = tuple(ClipResult(cid, clips[cid].source, ranked[cid].clip.score if cid in ranked else None,
                             lb.label, lb.category) for cid, lb in labels.items() if cid in clips)
    report = metrics.report([i.score for i in items], [i.label for i in items], threshold)
    return Evaluation(title or f"{key.describer} -> {key.scorer} (K={key.k})", report, items, seconds)


def _seconds_per_clip(catalog: Catalog, key: RunKey, clip_ids: set[str]) -> float:
    """Recorded stage-1 (frame decoding included) and stage-2 seconds, summed per clip."""
    describer, scorer, k = key.describer, key.scorer, key.k
    segments = {s.segment_id: s.clip_id for s in catalog.segments(k=k) if s.clip_id in clip_ids}
    total = sum(d.seconds for d in catalog.descriptions(describer, k) if d.segment_id in segments)
    total += sum(s.seconds for s in catalog.scores(describer, scorer, k) if s.segment_id in segments)
    covered = len(set(segments.values()))
    return total / covered if covered else float("nan")


def evaluate_text(rows: Sequence[TextRow], scores: Sequence[SegmentScore], threshold: float,
                  title: str, *, written: bool = False) -> Evaluation:
    """Stage 2 alone on labelled descriptions (expected-value score, or the written one)."""
    by_id = {s.segment_id: s for s in scores}
    labelled = [r for r in rows if r.label is not None]
    items = tuple(ClipResult(r.id, r.id, (by_id[r.id].written if written else by_id[r.id].score)
                             if r.id in by_id else None, int(r.label or 0), r.category) for r in labelled)
    report = metrics.report([i.score for i in items], [i.label for i in items], threshold)
    seconds = float(np.mean([s.seconds for s in scores])) if scores else float("nan")
    return Evaluation(title, report, items, seconds)


TABLE_HEAD = f"{'setting':44} {'Acc':>6} {'Prec':>6} {'Rec':>6} {'F1':>6} {'AUC':>6} {'AUC 95% CI':>13} {'s/item':>7}"


def table_row(name: str, e: Evaluation) -> str:
    r = e.report
    return (f"{name[:44]:44} {r.accuracy:6.3f} {r.precision:6.3f} {r.recall:6.3f} {r.f1:6.3f} {r.auc:6.3f} "
            f"[{r.auc_low:.2f}, {r.auc_high:.2f}] {e.seconds_per_item:7.2f}")


def write_report(folder: str | Path, evaluation: Evaluation, threshold: float) -> Path:
    """report.md, metrics.json, roc.png and histogram.png; written to a temp folder, then renamed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(folder)
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    data = metrics.clean([i.score for i in evaluation.items], [i.label for i in evaluation.items])
    fpr, tpr, _ = metrics.roc_curve(data.scores, data.labels)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    ax.plot(fpr, tpr, lw=2, label=f"AUC {evaluation.report.auc:.3f}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.set(xlabel="false positive rate (routine flagged)", ylabel="true positive rate (long-tail found)",
           title="ROC curve", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(tmp / "roc.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    bins = [i / 20 for i in range(21)]
    ax.hist(data.scores[data.labels == 0], bins=bins, alpha=0.6, label=f"routine (n={int((data.labels == 0).sum())})")
    ax.hist(data.scores[data.labels == 1], bins=bins, alpha=0.6, label=f"long-tail (n={int(data.labels.sum())})")
    ax.axvline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set(xlabel="score", ylabel="items", title="Scores by class")
    ax.legend()
    fig.tight_layout()
    fig.savefig(tmp / "histogram.png")
    plt.close(fig)
    r = evaluation.report
    points = evaluation.operating_points(threshold)
    payload = {"title": evaluation.title, **r.as_dict(), "seconds_per_item": evaluation.seconds_per_item,
               "per_category_recall": {category_names()[c]: {"found": f, "total": t}
                                       for c, (f, t) in evaluation.per_category_recall(threshold).items()},
               "thresholds": [asdict(pt) for pt in points]}
    (tmp / "metrics.json").write_text(json.dumps(payload, indent=2))
    lines = [f"# Evaluation: {evaluation.title}", "",
             f"{r.n} labelled items ({r.positives} long-tail); {r.missing} without a score were left out.", "",
             "| Accuracy | Precision | Recall | F1 | ROC AUC (95% CI) | PR AUC | s/item |",
             "|---|---|---|---|---|---|---|",
             f"| {r.accuracy:.3f} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | {r.auc:.3f} "
             f"({r.auc_low:.3f}-{r.auc_high:.3f}) | {r.pr_auc:.3f} | {evaluation.seconds_per_item:.2f} |", "",
             f"Threshold {threshold:g}: an item is long-tail when its score is at least this.", "",
             "| threshold | recall | precision | routine flagged | items flagged |", "|---|---|---|---|---|",
             *(f"| {pt.threshold:g}{' (set)' if pt.threshold == threshold else ''} | {pt.recall:.3f} | "
               f"{pt.precision:.3f} | {pt.routine_flagged:.2f} | {pt.flagged:.2f} |" for pt in points), ""]
    recall = evaluation.per_category_recall(threshold)
    if recall:
        lines += ["| category | found | total | recall |", "|---|---|---|---|"]
        lines += [f"| {c} {category_names()[c]} | {f} | {t} | {f / t:.2f} |" for c, (f, t) in recall.items()]
        lines.append("")
    lines += ["![ROC curve](roc.png)", "", "![Scores by class](histogram.png)", ""]
    (tmp / "report.md").write_text("\n".join(lines))
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out
