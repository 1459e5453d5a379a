"""Commands that measure: evaluation on clips or text, ablations, stage 2 on text, calibration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ltvad_search.cli.common import (
    app,
    build_backends,
    build_scorer,
    latest_run_keys,
    open_catalog,
    progress_bar,
    read_rows_or_exit,
    settings,
    start_or_exit,
    state,
)

if TYPE_CHECKING:
    from ltvad_search.config import Settings
    from ltvad_search.evaluation.evaluate import Evaluation
    from ltvad_search.evaluation.text import TextScores


PANEL = "Evaluate"


def _report_folder(cfg: Settings, name: str, out: Path | None) -> Path:
    return out or cfg.store.root / "reports" / name


def _print_evaluation(evaluation: Evaluation, name: str, threshold: float, folder: Path) -> None:
    from ltvad_search.evaluation.evaluate import TABLE_HEAD, table_row, write_report
    from ltvad_search.prompts import category_names

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
            typer.echo(f"  {c:2d} {category_names()[c]:24} {found:3d}/{total:<3d} {found / total:.2f}")
    written = write_report(folder, evaluation, threshold)
    typer.echo(f"report: {written / 'report.md'}")


@app.command("eval", rich_help_panel=PANEL)
def eval_store(
    out: Annotated[Path | None, typer.Option(help="Report folder (default index_store/reports/...).")] = None,
) -> None:
    """Evaluate the latest run against the catalog's labels: the paper's table and a report."""
    from ltvad_search.evaluation.evaluate import LabelError, evaluate_store
    from ltvad_search.evaluation.metrics import MetricError

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        key = latest_run_keys(catalog)
        try:
            evaluation = evaluate_store(catalog, key, cfg.scorer.threshold)
        except (LabelError, MetricError) as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
    _print_evaluation(evaluation, f"two-stage, K={key.k}", cfg.scorer.threshold, _report_folder(cfg, "eval", out))


@app.command("eval-text", rich_help_panel=PANEL)
def eval_text(
    file: Annotated[Path, typer.Argument(help="Labelled JSONL: id, text, label (category optional).")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default index_store/reports/...).")] = None,
) -> None:
    """Stage 2 alone on labelled descriptions: metrics, per-category recall, report with plots."""
    from ltvad_search.evaluation.evaluate import evaluate_text
    from ltvad_search.evaluation.metrics import MetricError

    cfg = settings()
    scores = _score_rows(cfg, file)
    rows, results, name = scores.rows, scores.results, scores.name
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
    from ltvad_search.evaluation.ablate import run_grid
    from ltvad_search.evaluation.evaluate import TABLE_HEAD, table_row

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


def _score_rows(cfg: Settings, file: Path, limit: int | None = None) -> TextScores:
    """A labelled JSONL scored by the configured scorer, with a progress bar; a bad file is a clear error."""
    from ltvad_search import prompts
    from ltvad_search.evaluation.text import score_rows

    rows = read_rows_or_exit(file, limit)
    scorer = build_scorer(cfg)
    with progress_bar() as progress:
        task = progress.add_task("score", total=len(rows))
        return score_rows(scorer, prompts.load(cfg.scorer.prompt), rows, batch_size=cfg.run.batch_size,
                          progress=lambda n: progress.advance(task, n))


@app.command("score-text", rich_help_panel=PANEL)
def score_text(
    file: Annotated[Path, typer.Argument(help="JSONL with id and text per line (label optional).")],
    out: Annotated[Path | None, typer.Option(help="Where to write scores (JSONL).")] = None,
    limit: Annotated[int | None, typer.Option(help="Score only the first N rows.")] = None,
) -> None:
    """Score descriptions given as text (stage 2 alone) and report ROC AUC when labels are present."""
    from ltvad_search.evaluation.text import reports, write_scores

    cfg = settings()
    scores = _score_rows(cfg, file, limit)
    out = out or Path("reports") / f"{file.stem}.scores.jsonl"
    write_scores(scores, out)
    typer.echo(f"{len(scores.rows)} descriptions scored by {scores.name}: {scores.seconds_per_row:.2f} s per "
               f"description; scores in {out}")
    for title, rep in reports(scores, cfg.scorer.threshold):
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
    from ltvad_search import prompts
    from ltvad_search.evaluation import metrics
    from ltvad_search.evaluation.calibration import calibrate as fit_calibration
    from ltvad_search.models.embed import Embedder
    from ltvad_search.score import make_scorer
    from ltvad_search.score.scorers.combined import llm_settings
    from ltvad_search.score.scorers.examples import read_examples

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
    from ltvad_search.evaluation import metrics
    from ltvad_search.evaluation.text import operating_point

    try:
        point = operating_point(_score_rows(settings(), file), recall, file)
    except metrics.MetricError as e:
        typer.secho(f"{file}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None
    point.write(out)
    typer.echo(f"{point.scorer}: threshold {point.threshold:.4f} finds {point.recall:.3f} of the long-tail rows "
               f"of {file.name} (precision {point.precision:.3f}, routine flagged {point.routine_flagged:.2f}); "
               f"wrote {out}")
    typer.echo(f"use it with: ltvad --set scorer.threshold={point.threshold:.4f} top (or eval, ui)")
