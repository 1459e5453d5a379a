"""Commands that measure: labels import, evaluation on clips or text, ablations, stage 2 on text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ltvad_search.cli.common import (
    app,
    build_backends,
    build_scorer,
    labels_app,
    latest_run_keys,
    open_catalog,
    progress_bar,
    settings,
    start_or_exit,
    state,
)

if TYPE_CHECKING:
    from ltvad_search.config import Settings


PANEL = "Evaluate"


@labels_app.command("import")
def labels_import(
    file: Annotated[Path, typer.Argument(help="CSV (clip,label[,category]) or JSONL with the same keys.")],
) -> None:
    """Store labels; the whole file is checked first and nothing lands unless all of it is valid."""
    from ltvad_search.evaluate import LabelError, read_labels

    cfg = settings()
    with open_catalog(cfg) as catalog:
        try:
            labels = read_labels(file, catalog)
        except LabelError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
        catalog.put_labels(labels)
    positives = sum(lb.label for lb in labels)
    typer.echo(f"imported {len(labels)} labels ({positives} long-tail, {len(labels) - positives} routine)")


def _report_folder(cfg: Settings, name: str, out: Path | None) -> Path:
    return out or cfg.store.root / "reports" / name


def _print_evaluation(evaluation, name: str, threshold: float, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from ltvad_search.evaluate import CATEGORY_NAMES, TABLE_HEAD, table_row, write_report

    typer.echo(evaluation.title)
    typer.echo(TABLE_HEAD)
    typer.echo(table_row(name, evaluation))
    r = evaluation.report
    typer.echo(f"PR AUC {r.pr_auc:.3f}; {r.n} items ({r.positives} long-tail), {r.missing} without a score left out")
    typer.echo("threshold  recall  precision  routine flagged")
    for pt in evaluation.operating_points(threshold):
        typer.echo(f"  {pt.threshold:<7g}  {pt.recall:.3f}   {pt.precision:.3f}      {pt.routine_flagged:.2f}"
                   + ("  (set)" if pt.threshold == threshold else ""))
    recall = evaluation.per_category_recall(threshold)
    if recall:
        typer.echo("recall by category at the threshold:")
        for c, (found, total) in recall.items():
            typer.echo(f"  {c:2d} {CATEGORY_NAMES[c]:24} {found:3d}/{total:<3d} {found / total:.2f}")
    written = write_report(folder, evaluation, threshold)
    typer.echo(f"report: {written / 'report.md'}")


@app.command("eval", rich_help_panel=PANEL)
def eval_store(
    out: Annotated[Path | None, typer.Option(help="Report folder (default index_store/reports/...).")] = None,
) -> None:
    """Evaluate the latest run against the catalog's labels: the paper's table and a report."""
    from ltvad_search.evaluate import LabelError, evaluate_store
    from ltvad_search.metrics import MetricError

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        describer, scorer, k = latest_run_keys(catalog)
        try:
            evaluation = evaluate_store(catalog, describer, scorer, k, cfg.scorer.threshold)
        except (LabelError, MetricError) as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
    _print_evaluation(evaluation, f"two-stage, K={k}", cfg.scorer.threshold, _report_folder(cfg, "eval", out))


@app.command("eval-text", rich_help_panel=PANEL)
def eval_text(
    file: Annotated[Path, typer.Argument(help="Labelled JSONL: id, text, label (category optional).")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default index_store/reports/...).")] = None,
) -> None:
    """Stage 2 alone on labelled descriptions: metrics, per-category recall, report with plots."""
    from ltvad_search.evaluate import evaluate_text
    from ltvad_search.metrics import MetricError

    cfg = settings()
    rows, results, prompt_id, name = _score_rows(cfg, file)
    # a second report on the grid value the model wrote, for scorers that write one (not the checklist)
    forms = (False, True) if any(r.written is not None for r in results) else (False,)
    try:
        for written in forms:
            title = f"{name} ({'written score' if written else 'expected value'})" if len(forms) > 1 else name
            evaluation = evaluate_text(rows, results, cfg.scorer.threshold, title, written=written)
            folder = _report_folder(cfg, f"text-{file.stem}" + ("-written" if written else ""), out and (
                out / "written" if written else out))
            _print_evaluation(evaluation, "written score" if written else "score", cfg.scorer.threshold, folder)
    except MetricError as e:
        typer.secho(f"{file}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None


@app.command(rich_help_panel=PANEL)
def ablate() -> None:
    """The paper's ablation tables on the labelled clips: K, guidance/examples, scoring, baseline."""
    from ltvad_search.ablate import run_grid
    from ltvad_search.evaluate import TABLE_HEAD, table_row

    cfg = settings()
    base = [*state.overrides]
    multimodal = cfg.describer.backend not in ("cpu", "import")
    with open_catalog(cfg) as catalog:
        if not catalog.labels("human"):
            typer.secho("no labels in the catalog: `ltvad labels import FILE` first", fg="red", err=True)
            raise typer.Exit(2)
        tables = run_grid(catalog, base, build_backends, multimodal=multimodal,
                          on_setting=lambda table, name: typer.echo(f"  running: {name}", err=True))
    for title, rows in tables.items():
        typer.echo(f"\n{title}")
        typer.echo(TABLE_HEAD)
        for name, result in rows:
            typer.echo(table_row(name, result) if not isinstance(result, str) else f"{name[:44]:44} {result}")
    if not multimodal:
        typer.echo("\nBaseline vs two-stage: skipped; it needs a multimodal describer (openai, vllm or hf).")


def _score_rows(cfg: Settings, file: Path, limit: int | None = None):  # type: ignore[no-untyped-def]
    """Read a JSONL of descriptions and score every row with the configured scorer."""
    from ltvad_search import prompts
    from ltvad_search.backends.base import ScoreRequest
    from ltvad_search.textset import read_rows

    try:
        rows = read_rows(file)[:limit]
    except ValueError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None
    scorer = build_scorer(cfg)
    prompt = prompts.load(cfg.scorer.prompt)
    results = []
    with progress_bar() as progress:
        task = progress.add_task("score", total=len(rows))
        for start in range(0, len(rows), cfg.run.batch_size):  # a batching backend sees whole batches
            batch = rows[start: start + cfg.run.batch_size]
            results.extend(scorer.score([ScoreRequest(segment_id=r.id, text=r.text, prompt=prompt) for r in batch]))
            progress.advance(task, len(batch))
    return rows, results, prompt.id, f"{scorer.name} | {prompt.id}"


@app.command("score-text", rich_help_panel=PANEL)
def score_text(
    file: Annotated[Path, typer.Argument(help="JSONL with id and text per line (label optional).")],
    out: Annotated[Path | None, typer.Option(help="Where to write scores (JSONL).")] = None,
    limit: Annotated[int | None, typer.Option(help="Score only the first N rows.")] = None,
) -> None:
    """Score descriptions given as text (stage 2 alone) and report ROC AUC when labels are present."""
    from ltvad_search import metrics

    cfg = settings()
    rows, results, prompt_id, name = _score_rows(cfg, file, limit)
    out = out or Path("reports") / f"{file.stem}.scores.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w") as f:
        for row, r in zip(rows, results, strict=True):
            f.write(json.dumps({"id": row.id, "score": r.score, "written": r.written, "raw": r.raw,
                                "label": row.label, "seconds": round(r.seconds, 4),
                                "scorer": r.scorer, "prompt_id": r.prompt_id}) + "\n")
    tmp.replace(out)
    per = sum(r.seconds for r in results) / len(results)
    typer.echo(f"{len(rows)} descriptions scored by {name}: {per:.2f} s per description; scores in {out}")
    labelled = [(row.label, r) for row, r in zip(rows, results, strict=True) if row.label is not None]
    if labelled and len({lab for lab, _ in labelled}) == 2:
        labels = [lab for lab, _ in labelled]
        for title, values in (("expected value", [r.score for _, r in labelled]),
                              ("written score", [r.written for _, r in labelled])):
            if all(v is None for v in values):
                continue  # a scorer that writes no grid answer (yes/no, combined) has no second line
            rep = metrics.report(values, labels, cfg.scorer.threshold)
            typer.echo(f"  {title:15} ROC AUC {rep.auc:.3f} [{rep.auc_low:.3f}, {rep.auc_high:.3f}]  "
                       f"recall {rep.recall:.3f}  precision {rep.precision:.3f} at {rep.threshold:g}"
                       + (f"  ({rep.missing} unscored)" if rep.missing else ""))


@app.command(rich_help_panel=PANEL)
def calibrate(
    file: Annotated[Path, typer.Argument(help="JSONL of labelled descriptions: id, text, label (video, reason "
                                         "optional).")],
    out: Annotated[Path | None, typer.Option(help="Where to write the result (JSON; default calibration.json, "
                                             "or operating_point.json with --recall).")] = None,
    recall: Annotated[float | None, typer.Option(help="Instead: the threshold at which the configured scorer finds "
                                                 "this share of FILE's long-tail rows (an operating point).")] = None,
) -> None:
    """Fit the combined scorer (LLM score + embedding evidence + labelled neighbours) on labelled text,
    or, with --recall, choose the configured scorer's threshold for a target recall.

    The combined scorer's LLM part is the configured scorer (default: the yesno preset); it prints the
    combination's ROC AUC leave-one-video-out on FILE, then how to score with it."""
    if recall is not None:
        _operating_point(file, recall, out or Path("operating_point.json"))
        return
    out = out or Path("calibration.json")
    from indexer.embed import Embedder
    from ltvad_search import metrics, prompts
    from ltvad_search.scorers import make_scorer
    from ltvad_search.scorers.combined import calibrate as fit_calibration
    from ltvad_search.scorers.combined import llm_settings
    from ltvad_search.scorers.examples import read_examples

    cfg = settings()
    llm_cfg = llm_settings(cfg.scorer)
    try:
        examples = read_examples(file)
    except ValueError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None
    llm = start_or_exit("scorer", lambda: make_scorer(llm_cfg))
    with progress_bar() as progress:
        task = progress.add_task("calibrate", total=len(examples))
        calibration, lovo = fit_calibration(llm, prompts.load(llm_cfg.prompt), examples, Embedder(),
                                            per_label=llm_cfg.examples_per_label,
                                            progress=lambda done, _: progress.update(task, completed=done))
    calibration.write(out)
    rep = metrics.report(lovo, [e.label for e in examples], cfg.scorer.threshold)
    typer.echo(f"{len(examples)} labelled descriptions, LLM {llm.name}; leave-one-video-out: ROC AUC {rep.auc:.3f} "
               f"[{rep.auc_low:.3f}, {rep.auc_high:.3f}], recall {rep.recall:.3f}, precision {rep.precision:.3f} "
               f"at {rep.threshold:g}")
    typer.echo(f"wrote {out}; score with: ltvad --set scorer.preset=combined --set scorer.examples={file} "
               f"--set scorer.calibration={out} score-text FILE (or run)")


def _operating_point(file: Path, recall: float, out: Path) -> None:
    """The highest threshold that keeps `recall` on a labelled file, saved with the scorer key."""
    import numpy as np

    from ltvad_search import metrics

    cfg = settings()
    rows, results, prompt_id, name = _score_rows(cfg, file)
    labelled = [(int(row.label), r.score) for row, r in zip(rows, results, strict=True) if row.label is not None]
    try:
        data = metrics.clean([s for _, s in labelled], [lab for lab, _ in labelled])
        tau = metrics.threshold_for_recall(data.scores, data.labels, recall)
    except metrics.MetricError as e:
        typer.secho(f"{file}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None
    [point] = metrics.operating_points(data.scores, data.labels, [tau])
    payload = {"scorer": name, "threshold": round(tau, 6), "target_recall": recall, "recall": point.recall,
               "precision": point.precision, "routine_flagged": point.routine_flagged, "file": str(file),
               "rows": int(len(data.labels)), "long_tail": int(np.sum(data.labels))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    typer.echo(f"{name}: threshold {tau:.4f} finds {point.recall:.3f} of the long-tail rows of {file.name} "
               f"(precision {point.precision:.3f}, routine flagged {point.routine_flagged:.2f}); wrote {out}")
    typer.echo(f"use it with: ltvad --set scorer.threshold={tau:.4f} top (or eval, ui)")
