"""The `ltvad` command.

Only typer is imported at start-up; each subcommand imports what it needs when it runs, so
`ltvad --help` is instant even though the pipeline pulls in torch, OpenCV and llama.cpp.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ltvad_search.config import Settings
    from ltvad_search.store import Catalog

app = typer.Typer(
    help="Find, rank and search long-tail driving scenarios in fleet video.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Options several commands share, declared once.
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
TopK = Annotated[int, typer.Option("-k", help="How many results.")]
MinScore = Annotated[float | None, typer.Option(help="Only segments with at least this long-tail score.")]
Category = Annotated[int | None, typer.Option(help="Only clips labelled with this taxonomy category (1-10).")]


class _State:
    config: Path | None = None
    overrides: list[str] = []


_state = _State()


@app.callback()
def main(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a setting: section.key=value (repeatable)."),
    ] = None,
) -> None:
    _state.config = config
    _state.overrides = overrides or []


def settings() -> Settings:
    from ltvad_search.config import load_settings

    try:
        return load_settings(_state.config, _state.overrides)
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise typer.BadParameter(str(e), param_hint="--config/--set") from None


def open_catalog(cfg: Settings, *, readonly: bool = False) -> Catalog:
    from ltvad_search.store import Catalog, StoreError

    try:
        return Catalog(cfg.store.catalog, readonly=readonly)
    except StoreError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video files or folders (searched recursively).")],
) -> None:
    """Probe and segment new clips; clips already in the catalog are skipped."""
    from ltvad_search.ingest import ingest as run_ingest
    from ltvad_search.inputs import discover

    cfg = settings()
    with open_catalog(cfg) as catalog, _progress() as progress:
        total = sum(1 for _ in discover(paths, cfg.video.extensions))
        task = progress.add_task("ingest", total=total)
        report = run_ingest(paths, catalog, cfg.video,
                            on_item=lambda p: progress.update(task, advance=1, description=p.name[:40]))
    typer.echo(f"ingested {report.added}, already present {report.skipped}, failed {len(report.failed)}")
    for failure in report.failed:
        typer.secho(f"  failed: {failure.source}: {failure.reason}", fg="yellow", err=True)


@app.command()
def segments(
    clip: Annotated[str, typer.Argument(help="Clip id, id prefix, or source path.")],
    as_json: AsJson = False,
) -> None:
    """Print a clip's segments and the timestamps sampled from each."""
    from ltvad_search.records import to_dict

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        found = catalog.find_clip(clip)
        if found is None:
            typer.secho(f"{clip}: no such clip in {cfg.store.catalog}", fg="red", err=True)
            raise typer.Exit(1)
        segs = catalog.segments(clip_id=found.clip_id, k=cfg.video.k)
    if not segs:  # not stored for this K yet: show what a run with these settings will sample
        from ltvad_search.video import VideoError, split

        try:
            segs = split(found, cfg.video.k, cfg.video.fps)
        except VideoError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"clip": to_dict(found), "segments": [to_dict(s) for s in segs]}, indent=2))
        return
    typer.echo(f"{found.source}  {found.duration_s:.2f} s  {found.fps:g} fps  {found.width}x{found.height}")
    for s in segs:
        times = ", ".join(f"{t:.2f}" for t in s.sample_times)
        typer.echo(f"  [{s.index}] {s.start_s:6.2f}-{s.end_s:6.2f} s  {s.segment_id}  samples: {times}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts per stage, and every failure with its reason."""
    cfg = settings()
    if not cfg.store.catalog.exists():
        typer.echo(f"no catalog at {cfg.store.catalog} yet: run `ltvad ingest PATH`")
        return
    with open_catalog(cfg, readonly=True) as catalog:
        counts = catalog.counts()
        failures = catalog.failures()
    if as_json:
        payload = {"counts": counts, "failures": [
            {"stage": f.stage, "source": f.source, "reason": f.reason, "attempts": n} for f, n in failures]}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
    for failure, attempts in failures:
        typer.secho(f"  {failure.stage} failed ({attempts}x): {failure.source}: {failure.reason}",
                    fg="yellow")


def _latest(catalog: Catalog) -> tuple[str, str, int]:
    from ltvad_search import pipeline

    keys = pipeline.latest_keys(catalog)
    if keys is None:
        typer.secho("no finished run yet: run `ltvad run` first", fg="red", err=True)
        raise typer.Exit(1)
    return keys


def _searcher(cfg: Settings, catalog: Catalog):  # type: ignore[no-untyped-def]
    from indexer.index import IndexStoreError
    from indexer.search import Searcher

    describer, scorer, _ = _latest(catalog)
    try:
        return Searcher(catalog, cfg, describer, scorer)
    except IndexStoreError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(1) from None


def _print_hits(hits, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(h) for h in hits], indent=2))
        return
    if not hits:
        typer.echo("no results")
    for i, h in enumerate(hits, 1):
        score = "  n/a" if h.score is None else f"{h.score:.3f}"
        typer.echo(f"{i:3d}. sim {h.similarity:.3f}  long-tail {score}  {Path(h.source).name} "
                   f"[{h.start_s:.1f}-{h.end_s:.1f} s]" + (f"  category {h.category}" if h.category else ""))
        typer.echo(f"      {h.description[:300]}")


@app.command()
def index(
    rebuild: Annotated[bool, typer.Option(help="Start the index afresh.")] = False,
) -> None:
    """Embed every described segment not yet indexed (and drop removed ones)."""
    from indexer.embed import Embedder
    from indexer.index import IndexStoreError
    from indexer.search import update_index

    cfg = settings()
    with open_catalog(cfg) as catalog, _progress() as progress:
        describer, _, k = _latest(catalog)
        task = progress.add_task("embed", total=None)
        try:
            result = update_index(catalog, cfg, Embedder(cfg.index.model), describer, k, rebuild=rebuild,
                                  progress=lambda done, total: progress.update(task, completed=done, total=total))
        except IndexStoreError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"index: {result.added} added, {result.removed} removed, {result.total} segments "
               f"({cfg.index.kind}) in {cfg.store.index}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: TopK = 20,
    min_score: MinScore = None,
    category: Category = None,
    as_json: AsJson = False,
) -> None:
    """Free-text scenario search over the descriptions."""
    _search_and_print(lambda s: s.text(query, k, min_score=min_score, category=category), as_json)


@app.command()
def similar(
    ref: Annotated[str, typer.Argument(help="A clip (id, id prefix or path) or a segment id.")],
    k: TopK = 20,
    min_score: MinScore = None,
    category: Category = None,
    as_json: AsJson = False,
) -> None:
    """"More like this": segments of other clips that read like the given one."""
    _search_and_print(lambda s: s.similar(ref, k, min_score=min_score, category=category), as_json)


def _search_and_print(query, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Run one query against the latest run's index; a bad query or reference is a clear error."""
    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        try:
            hits = query(_searcher(cfg, catalog))
        except ValueError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(1) from None
    _print_hits(hits, as_json)


labels_app = typer.Typer(help="Human labels of clips (long-tail or routine, optional category).",
                         no_args_is_help=True)
app.add_typer(labels_app, name="labels")


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


@labels_app.command("export")
def labels_export(
    out: Annotated[Path, typer.Argument(help="Where to write: .csv or .jsonl (what `labels import` reads).")],
    balanced: Annotated[bool, typer.Option(help="As many routine as long-tail clips (sampled with label.seed).")]
    = True,
) -> None:
    """Write the human-reviewed labels as a labelled set."""
    from ltvad_search import labeling

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        labels = catalog.labels("human")
    chosen = labeling.balanced(labels, cfg.label.seed) if balanced else labels
    if not chosen:
        typer.secho("no human labels to export" + (" with both classes present" if labels else "")
                    + ": review pseudo-labels with `ltvad review` or import labels first", fg="red", err=True)
        raise typer.Exit(2)
    labeling.write_labels(out, chosen)
    positives = sum(lab.label for lab in chosen)
    typer.echo(f"exported {len(chosen)} labels ({positives} long-tail, {len(chosen) - positives} routine) to {out}")


def _generator(cfg: Settings):  # type: ignore[no-untyped-def]
    from ltvad_search.backends.base import Generator

    scorer = _scorer(cfg)
    inner = getattr(scorer, "inner", scorer)  # a sentence-level wrapper labels with its inner model
    if not isinstance(inner, Generator):
        typer.secho(f"the {cfg.scorer.backend!r} scorer cannot write answers; label with llamacpp, openai, "
                    "vllm or hf", fg="red", err=True)
        raise typer.Exit(2)
    return inner


@app.command()
def label(
    file: Annotated[Path | None, typer.Argument(
        help="JSONL of descriptions ({id, text[, label, category]}) to label instead of the catalog.")] = None,
    video: Annotated[bool, typer.Option(help="Label the clips' frames with the describer backend (a VLM).")]
    = False,
    redo: Annotated[bool, typer.Option(help="Label again clips that already have a pseudo-label.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows of FILE.")] = None,
    out: Annotated[Path | None, typer.Option(help="Where FILE's answers go (JSONL).")] = None,
) -> None:
    """Pseudo-label clips with the taxonomy prompt: "Scenario Detected: [Category] - [Subtype]" or "no".

    Answers are stored as pseudo-labels (apart from human labels) and go to `ltvad review`; an
    answer outside the taxonomy is rejected and kept, with its text, in the failures table.
    """
    from ltvad_search import labeling, prompts

    cfg = settings()
    if file is not None:
        _label_text(cfg, file, limit, out)
        return
    with open_catalog(cfg) as catalog, _progress() as progress:
        task = progress.add_task("label", total=None)
        tick = lambda done, total: progress.update(task, completed=done, total=total)  # noqa: E731
        if video:
            from ltvad_search.backends import make_describer

            describer = _start("describer", lambda: make_describer(cfg.describer))
            run = labeling.label_video(catalog, cfg, describer, redo=redo, progress=tick)
        else:
            describer_key, _, k = _latest(catalog)
            run = labeling.label_descriptions(
                catalog, _generator(cfg), prompts.load(cfg.label.prompt), describer_key, k,
                max_tokens=cfg.label.max_tokens, constrain=cfg.label.constrain, redo=redo, progress=tick)
    typer.echo(f"pseudo-labels: {run.long_tail} long-tail, {run.routine} routine, {run.undecided} undecided "
               f"(rejected answers), {run.skipped} labelled before; next: `ltvad review`")
    _print_failures(run.failures)


def _label_text(cfg: Settings, file: Path, limit: int | None, out: Path | None) -> None:
    from ltvad_search import labeling, prompts
    from ltvad_search.evaluate import CATEGORY_NAMES
    from ltvad_search.textset import read_rows

    try:
        rows = read_rows(file)[:limit]
    except ValueError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None
    generator, prompt = _generator(cfg), prompts.load(cfg.label.prompt)
    rules = labeling.grammar() if cfg.label.constrain else None
    answers = []
    with _progress() as progress:
        task = progress.add_task("label", total=len(rows))
        for row in rows:
            [raw] = generator.generate([prompt.render(row.text)], max_tokens=cfg.label.max_tokens, grammar=rules)
            answers.append(labeling.parse_answer(raw))
            progress.advance(task)
    out = out or Path("reports") / f"{file.stem}.labels.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for row, a in zip(rows, answers, strict=True):
            f.write(json.dumps({"id": row.id, "verdict": a.verdict, "category": a.category, "subtype": a.subtype,
                                "raw": a.raw, "reason": a.reason, "label": row.label,
                                "labelled_category": row.category}) + "\n")
    typer.echo(f"{len(rows)} descriptions labelled by {generator.name} with {prompt.id}; answers in {out}")
    a = labeling.agreement(rows, answers)
    verdicts = [x.verdict for x in answers]
    typer.echo(f"  scenario {verdicts.count('scenario')}, no {verdicts.count('no')}, rejected {a.rejected}")
    if a.long_tail:
        typer.echo(f"  long-tail rows given a category: {a.long_tail_categorized}/{a.long_tail} = "
                   f"{a.long_tail_share:.1%}")
        typer.echo(f"  routine rows given a category:   {a.routine_categorized}/{a.routine} = {a.routine_share:.1%}")
        typer.echo(f"  category agreement (long-tail rows with both): {a.category_agree}/{a.with_category} = "
                   f"{a.category_agreement:.1%}")
        confusion: dict[tuple[int, int], int] = {}
        for row, x in zip(rows, answers, strict=True):
            if row.label == 1 and row.category and x.category:
                confusion[(row.category, x.category)] = confusion.get((row.category, x.category), 0) + 1
        for (want, got), n in sorted(confusion.items(), key=lambda kv: -kv[1])[:8]:
            typer.echo(f"    labelled {CATEGORY_NAMES[want]!r} -> {CATEGORY_NAMES[got]!r}: {n}")


@app.command()
def review(
    audit_rate: Annotated[float | None, typer.Option(help="Share of pseudo-'no' clips to audit (label.audit_rate).")]
    = None,
) -> None:
    """Confirm or reject pseudo-labels in the terminal; each answer is saved at once as a human label.

    The queue is every pseudo-positive, then a reproducible audit sample of pseudo-negatives (to
    estimate what the labeler missed). Keys: y long-tail, n routine, s skip, q quit; after y, a
    category number (Enter keeps the proposed one).
    """
    from ltvad_search import labeling
    from ltvad_search.evaluate import CATEGORY_NAMES
    from ltvad_search.pipeline import latest_keys
    from ltvad_search.records import Label

    cfg = settings()
    rate = cfg.label.audit_rate if audit_rate is None else audit_rate
    with open_catalog(cfg) as catalog:
        reviewed = {lab.clip_id for lab in catalog.labels("human")}
        queue = labeling.review_queue(catalog.labels("pseudo"), reviewed, rate, cfg.label.seed)
        if not queue:
            typer.echo("nothing to review: run `ltvad label` first" if not catalog.labels("pseudo")
                       else "every pseudo-label in the queue has been reviewed")
            return
        keys = latest_keys(catalog)
        counts = {"y": 0, "n": 0, "s": 0}
        for i, proposed in enumerate(queue, 1):
            clip = catalog.clip(proposed.clip_id)
            kind = "pseudo-positive" if proposed.label else "audit (pseudo-no)"
            typer.echo(f"\n[{i}/{len(queue)}] {kind}: {clip.source if clip else proposed.clip_id}")
            if proposed.category:
                name = CATEGORY_NAMES[proposed.category]
                typer.echo(f"  proposed: {proposed.category} {name} - {proposed.subtype or ''}")
            segments = catalog.segments(k=keys[2], clip_id=proposed.clip_id) if keys else []
            shown = catalog.scored_segments_by_id([s.segment_id for s in segments], keys[0], keys[1]) if keys else {}
            for seg in segments:
                row = shown.get(seg.segment_id)
                score = "" if row is None or row.score is None else f" score {row.score:.2f}"
                typer.echo(f"  [{seg.start_s:.1f}-{seg.end_s:.1f} s]{score} {row.description[:400] if row else ''}")
            answer = typer.prompt("  long-tail? [y/n/s/q]", default="s").strip().lower()[:1]
            if answer == "q":
                break
            if answer not in counts:
                answer = "s"
            counts[answer] += 1
            if answer == "s":
                continue
            category = None
            if answer == "y":
                raw = typer.prompt("  category 1-10", default=str(proposed.category or ""),
                                   show_default=bool(proposed.category))
                category = int(raw) if raw.strip().isdigit() and int(raw) in CATEGORY_NAMES else proposed.category
            catalog.put_labels([Label(clip_id=proposed.clip_id, label=int(answer == "y"), category=category,
                                      subtype=proposed.subtype if answer == "y" and category == proposed.category
                                      else None, origin="human")])
    typer.echo(f"\nreviewed: {counts['y']} long-tail, {counts['n']} routine, {counts['s']} skipped; "
               "export with `ltvad labels export labelled.csv`")


@app.command()
def distill(
    out: Annotated[Path, typer.Argument(help="Folder for the LoRA adapter and its manifest.")],
    teacher: Annotated[str | None, typer.Option(help="Describer key whose descriptions teach (default: the "
                                                     "latest run's describer).")] = None,
    teacher_jsonl: Annotated[Path | None, typer.Option(help="Teacher descriptions as JSONL {segment_id, text} "
                                                            "instead of the catalog.")] = None,
    student: Annotated[str | None, typer.Option(help="Student model (sets distill.student).")] = None,
) -> None:
    """Fine-tune the small describer with LoRA on a teacher's descriptions (paper: r=64, alpha=64, 2 epochs).

    Load the result with `--set describer.backend=hf --set describer.model=STUDENT --set describer.adapter=OUT`
    (or the vllm describer).
    """
    from ltvad_search import distill as dist

    if student:
        _state.overrides = [*_state.overrides, f"distill.student={student}"]
    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        try:
            if teacher_jsonl is not None:
                texts, source = dist.imported_texts(teacher_jsonl), f"import:{teacher_jsonl.name}"
            else:
                source = teacher or _latest(catalog)[0]
                texts = dist.teacher_texts(catalog, source, cfg.video.k)
            skipped: list[str] = []
            examples = list(dist.pairs(catalog, cfg, texts, skipped))
        except dist.DistillError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
    for problem in skipped[:20]:
        typer.secho(f"  skipped {problem}", fg="yellow", err=True)
    with _progress() as progress:
        task = progress.add_task("distill", total=None)
        tick = lambda done, total, loss: progress.update(  # noqa: E731
            task, completed=done, total=total, description=f"distill (loss {loss:.3f})")
        report = _start("distillation", lambda: dist.train(examples, cfg, out, teacher=source, progress=tick))
    typer.echo(f"adapter in {out}: {report.pairs} pairs from {source}, {report.steps} optimizer steps, "
               f"{report.seconds:.0f} s; loss per epoch " + " -> ".join(f"{x:.3f}" for x in report.losses))


def _report_folder(cfg: Settings, name: str, out: Path | None) -> Path:
    return out or cfg.store.root / "reports" / name


def _print_evaluation(evaluation, name: str, threshold: float, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from ltvad_search.evaluate import CATEGORY_NAMES, TABLE_HEAD, table_row, write_report

    typer.echo(evaluation.title)
    typer.echo(TABLE_HEAD)
    typer.echo(table_row(name, evaluation))
    r = evaluation.report
    typer.echo(f"PR AUC {r.pr_auc:.3f}; {r.n} items ({r.positives} long-tail), {r.missing} without a score left out")
    recall = evaluation.per_category_recall(threshold)
    if recall:
        typer.echo("recall by category at the threshold:")
        for c, (found, total) in recall.items():
            typer.echo(f"  {c:2d} {CATEGORY_NAMES[c]:24} {found:3d}/{total:<3d} {found / total:.2f}")
    written = write_report(folder, evaluation, threshold)
    typer.echo(f"report: {written / 'report.md'}")


@app.command("eval")
def eval_store(
    out: Annotated[Path | None, typer.Option(help="Report folder (default index_store/reports/...).")] = None,
) -> None:
    """Evaluate the latest run against the catalog's labels: the paper's table and a report."""
    from ltvad_search.evaluate import LabelError, evaluate_store
    from ltvad_search.metrics import MetricError

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        describer, scorer, k = _latest(catalog)
        try:
            evaluation = evaluate_store(catalog, describer, scorer, k, cfg.scorer.threshold)
        except (LabelError, MetricError) as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
    _print_evaluation(evaluation, f"two-stage, K={k}", cfg.scorer.threshold, _report_folder(cfg, "eval", out))


@app.command("eval-text")
def eval_text(
    file: Annotated[Path, typer.Argument(help="Labelled JSONL: id, text, label (category optional).")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default index_store/reports/...).")] = None,
) -> None:
    """Stage 2 alone on labelled descriptions: metrics, per-category recall, report with plots."""
    from ltvad_search.evaluate import evaluate_text
    from ltvad_search.metrics import MetricError

    cfg = settings()
    rows, results, prompt_id, name = _score_rows(cfg, file)
    try:
        for written in (False, True):
            title = f"{name} ({'written score' if written else 'expected value'})"
            evaluation = evaluate_text(rows, results, cfg.scorer.threshold, title, written=written)
            folder = _report_folder(cfg, f"text-{file.stem}" + ("-written" if written else ""), out and (
                out / "written" if written else out))
            _print_evaluation(evaluation, "written score" if written else "expected value",
                              cfg.scorer.threshold, folder)
    except MetricError as e:
        typer.secho(f"{file}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None


@app.command()
def ablate() -> None:
    """The paper's ablation tables on the labelled clips: K, guidance/examples, scoring, baseline."""
    from ltvad_search.ablate import run_grid
    from ltvad_search.evaluate import TABLE_HEAD, table_row

    cfg = settings()
    base = [*_state.overrides]
    multimodal = cfg.describer.backend not in ("cpu", "import")
    with open_catalog(cfg) as catalog:
        if not catalog.labels("human"):
            typer.secho("no labels in the catalog: `ltvad labels import FILE` first", fg="red", err=True)
            raise typer.Exit(2)
        tables = run_grid(catalog, base, _backends, multimodal=multimodal,
                          on_setting=lambda table, name: typer.echo(f"  running: {name}", err=True))
    for title, rows in tables.items():
        typer.echo(f"\n{title}")
        typer.echo(TABLE_HEAD)
        for name, result in rows:
            typer.echo(table_row(name, result) if not isinstance(result, str) else f"{name[:44]:44} {result}")
    if not multimodal:
        typer.echo("\nBaseline vs two-stage: skipped; it needs a multimodal describer (openai, vllm or hf).")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Start the Streamlit UI on the embedded store."""
    import subprocess
    import sys

    app_path = Path(__file__).resolve().parents[1] / "ui" / "app.py"
    args = [f"--set={o}" for o in _state.overrides] + ([f"--config={_state.config}"] if _state.config else [])
    # Import what the pages need and run the candidate query before the server starts, so the first
    # visitor waits for neither (the cache lives in this process, which then becomes the server).
    warm = ("import pandas, pyarrow, numpy, ltvad_search.pipeline, ltvad_search.evaluate, ui.data; "
            "import sys; from ui import pages; pages.prewarm(sys.argv[sys.argv.index('--') + 1:]); "
            "from streamlit.web.cli import main; sys.exit(main())")
    cmd = [sys.executable, "-c", warm, "run", str(app_path), "--server.address", host,
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "viewer", "--", *args]
    raise typer.Exit(subprocess.call(cmd))


@app.command("demo-data")
def demo_data(
    folder: Annotated[Path, typer.Argument(help="Where to write the synthetic clips.")] = Path("demo_data"),
) -> None:
    """Write the synthetic demo clips and their labels.csv (no download needed)."""
    from ltvad_search.demo import write_demo_set

    paths = write_demo_set(folder)
    typer.echo(f"{len(paths)} clips and labels.csv in {folder}")


def _start(what: str, build):  # type: ignore[no-untyped-def]
    """Build backends; a missing model or package is a clear message and exit code 2, not a trace."""
    from ltvad_search.backends.gguf import ModelError

    try:
        return build()
    except (ImportError, ModelError, ValueError, OSError) as e:
        typer.secho(f"cannot start the {what}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None


def _backends(cfg: Settings):  # type: ignore[no-untyped-def]
    from ltvad_search.backends import make_describer, make_scorer

    return _start("backends", lambda: (make_describer(cfg.describer), make_scorer(cfg.scorer)))


def _scorer(cfg: Settings):  # type: ignore[no-untyped-def]
    from ltvad_search.backends import make_scorer

    return _start("scorer", lambda: make_scorer(cfg.scorer))


class Engine(StrEnum):
    local = "local"
    ray = "ray"


@app.command()
def run(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Clips, folders, file lists (.txt) or manifests (.csv/.parquet with a uri column) to run on.")] = None,
    engine: Annotated[Engine, typer.Option(help="local (this process) or ray (a Ray cluster).")] = Engine.local,
    address: Annotated[str | None, typer.Option(help="Ray cluster to join (sets ray.address).")] = None,
) -> None:
    """Describe and score every pending segment; resumable, failures recorded per item."""
    if engine is Engine.ray:
        if address:
            _state.overrides = [*_state.overrides, f"ray.address={address}"]
        _run_on_ray(paths or [])
        return
    from ltvad_search import pipeline

    cfg = settings()
    if paths:
        ingest(paths)
    describer, scorer = _backends(cfg)
    with open_catalog(cfg) as catalog, _progress() as progress:
        report = pipeline.run(catalog, cfg, describer, scorer, progress=_stage_progress(progress))
    d, s = report.describe, report.score
    typer.echo(f"run {report.run_id}: described {d.done} ({d.failed} failed, {d.seconds:.1f} s), "
               f"scored {s.done} ({s.failed} failed, {s.seconds:.1f} s), retried {d.retried + s.retried}")
    typer.echo(f"  describer {report.describer}\n  scorer    {report.scorer}")
    _print_failures([*d.failures, *s.failures])


def _stage_progress(progress):  # type: ignore[no-untyped-def]
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=max(total, done))

    return update


def _print_failures(failures) -> None:  # type: ignore[no-untyped-def]
    for failure in failures[:20]:
        typer.secho(f"  {failure.stage} failed: {failure.source}: {failure.reason}", fg="yellow", err=True)
    if len(failures) > 20:
        typer.secho(f"  ... and {len(failures) - 20} more (`ltvad status --json` lists them)", fg="yellow", err=True)


def _run_on_ray(paths: list[Path]) -> None:
    from ltvad_search import distributed

    cfg = settings()
    with open_catalog(cfg) as catalog, _progress() as progress:
        report = _start("Ray run", lambda: distributed.run(catalog, cfg, paths,
                                                           progress=_stage_progress(progress)))
    s = report.stage_s
    typer.echo(f"run {report.run_id} on Ray: {report.done} segments done, {report.failed} failed, "
               f"{report.retried} retried; {report.skipped_clips} of {report.sources} clips already done; "
               f"{report.shards} shards merged")
    typer.echo(f"  throughput {report.clips_per_hour:,.0f} clips/hour, "
               f"{report.video_hours_per_day_per_worker:,.1f} video-hours/day per describer worker "
               f"({report.workers} worker(s), {report.wall_s:.1f} s wall)")
    typer.echo(f"  stage time (summed over workers): decode {s['decode']:.1f} s, describe {s['describe']:.1f} s, "
               f"score {s['score']:.1f} s")
    typer.echo(f"  describer {report.describer}\n  scorer    {report.scorer}")
    for problem in report.unreadable_shards:
        typer.secho(f"  skipped shard: {problem}", fg="yellow", err=True)
    _print_failures(report.failures)


@app.command()
def merge(
    folder: Annotated[Path | None, typer.Argument(help="Shard folder (default: ray.shards or <store>/shards).")] = None,
) -> None:
    """Merge result shards written by Ray workers into the catalog; safe to repeat."""
    from ltvad_search import distributed, shards

    cfg = settings()
    folder = folder or distributed.shard_folder(cfg)
    if not folder.is_dir():
        typer.secho(f"{folder}: no shard folder here", fg="red", err=True)
        raise typer.Exit(2)
    with open_catalog(cfg) as catalog:
        try:
            report = shards.merge(catalog, folder)
        except shards.ShardError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"merged {report.merged} shards ({report.rows} rows); {report.already} merged before")
    for problem in report.unreadable:
        typer.secho(f"  skipped: {problem}", fg="yellow", err=True)
    if report.merged and cfg.store.index.exists():
        index(rebuild=False)


@app.command()
def baseline(
    paths: Annotated[list[Path] | None, typer.Argument(help="Ingest these first (optional).")] = None,
) -> None:
    """The paper's vanilla baseline: a multimodal describer scores each whole clip directly.

    Equivalent to `ltvad run` with K=1, the describer prompted with the scoring prompt, and the
    written answer parsed as the score. Needs a multimodal describer (openai, vllm or hf).
    """
    cfg = settings()
    if cfg.describer.backend in ("cpu", "import"):
        typer.secho(f"the baseline needs a multimodal describer (openai, vllm, hf), not {cfg.describer.backend!r}: "
                    "e.g. --set describer.backend=openai --set describer.base_url=http://127.0.0.1:8000/v1",
                    fg="red", err=True)
        raise typer.Exit(2)
    from ltvad_search.ablate import BASELINE

    _state.overrides = [*_state.overrides, *BASELINE]
    run(paths)


@app.command()
def top(
    n: Annotated[int, typer.Option("-n", help="How many clips.")] = 20,
    everything: Annotated[bool, typer.Option("--all", help="Include clips below the threshold.")] = False,
    query: Annotated[str | None, typer.Option(help="Rank only clips among this text search's results.")] = None,
    within: Annotated[int, typer.Option(help="How many search results --query ranks within.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The ranked long-tail candidates of the latest run (optionally within a text search)."""
    from ltvad_search import pipeline

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        keys = pipeline.latest_keys(catalog)
        if keys is None:
            typer.echo("no finished run yet: run `ltvad run`")
            return
        ranked = pipeline.rank(catalog, *keys, threshold=cfg.scorer.threshold)
        if query:
            matching = {h.clip_id for h in _searcher(cfg, catalog).text(query, k=within)}
            ranked = [r for r in ranked if r.clip.clip_id in matching]
    shown = [r for r in ranked if everything or r.clip.long_tail][:n]
    if as_json:
        typer.echo(json.dumps([_ranked_json(r) for r in shown], indent=2))
        return
    typer.echo(f"{len(shown)} of {len(ranked)} scored clips"
               + ("" if everything else f" at or above {cfg.scorer.threshold:g}") + f"  ({keys[1]})")
    for i, r in enumerate(shown, 1):
        seg = r.top.segment
        flag = "LONG-TAIL" if r.clip.long_tail else "routine"
        typer.echo(f"{i:3d}. {r.clip.score:.3f} {flag:9}  {Path(r.source).name}  "
                   f"[{seg.start_s:.1f}-{seg.end_s:.1f} s]")
        typer.echo(f"      {r.top.description[:300]}")


def _ranked_json(r) -> dict:  # type: ignore[no-untyped-def]
    seg = r.top.segment
    return {"clip_id": r.clip.clip_id, "source": r.source, "score": r.clip.score, "long_tail": r.clip.long_tail,
            "top_segment": {"segment_id": seg.segment_id, "start_s": seg.start_s, "end_s": seg.end_s,
                            "description": r.top.description},
            "segments": [{"segment_id": x.segment.segment_id, "start_s": x.segment.start_s,
                          "end_s": x.segment.end_s, "score": x.score} for x in r.segments]}


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
    scorer = _scorer(cfg)
    prompt = prompts.load(cfg.scorer.prompt)
    results = []
    with _progress() as progress:
        task = progress.add_task("score", total=len(rows))
        for row in rows:
            results.extend(scorer.score([ScoreRequest(segment_id=row.id, text=row.text, prompt=prompt)]))
            progress.advance(task)
    return rows, results, prompt.id, f"{scorer.name} | {prompt.id}"


@app.command("score-text")
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
            rep = metrics.report(values, labels, cfg.scorer.threshold)
            typer.echo(f"  {title:15} ROC AUC {rep.auc:.3f} [{rep.auc_low:.3f}, {rep.auc_high:.3f}]  "
                       f"recall {rep.recall:.3f}  precision {rep.precision:.3f} at {rep.threshold:g}"
                       + (f"  ({rep.missing} unscored)" if rep.missing else ""))


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Where the synthetic demo clips go.")] = Path("demo_data"),
) -> None:
    """The main job end to end on the embedded store: demo clips in, ranked result out."""
    from ltvad_search.demo import demo_sources, write_demo_set

    write_demo_set(folder)
    sources = demo_sources(folder)
    typer.echo("demo inputs: " + ", ".join(str(p) for p in sources))
    run(sources)
    status(as_json=False)
    typer.echo("")
    index(rebuild=False)
    top(n=20, everything=True, query=None, within=50, as_json=False)
    typer.echo("")
    labels_import(folder / "labels.csv")
    eval_store(out=None)


@app.command("config")
def show_config() -> None:
    """Print the effective settings as JSON (defaults, then --config, then --set)."""
    typer.echo(settings().model_dump_json(indent=2))


if __name__ == "__main__":
    app()
