"""Commands that build a labelled set and a better describer: label, review, distill."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ltvad_search.cli.common import (
    app,
    generator_or_exit,
    latest_run_keys,
    open_catalog,
    print_failures,
    progress_bar,
    read_rows_or_exit,
    settings,
    start_or_exit,
    state,
)

if TYPE_CHECKING:
    from ltvad_search.config import Settings


PANEL = "Labelled data"


@app.command(rich_help_panel=PANEL)
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
    from ltvad_search import prompts
    from ltvad_search.dataset import labeling

    cfg = settings()
    if file is not None:
        _label_text(cfg, file, limit, out)
        return
    with open_catalog(cfg) as catalog, progress_bar() as progress:
        task = progress.add_task("label", total=None)
        tick = lambda done, total: progress.update(task, completed=done, total=total)  # noqa: E731
        if video:
            from ltvad_search.describe import make_describer

            describer = start_or_exit("describer", lambda: make_describer(cfg.describer))
            run = labeling.label_video(catalog, cfg, describer, redo=redo, progress=tick)
        else:
            key = latest_run_keys(catalog)
            describer_key, k = key.describer, key.k
            run = labeling.label_descriptions(
                catalog, generator_or_exit(cfg), prompts.load(cfg.label.prompt), describer_key, k,
                max_tokens=cfg.label.max_tokens, constrain=cfg.label.constrain, redo=redo, progress=tick)
    typer.echo(f"pseudo-labels: {run.long_tail} long-tail, {run.routine} routine, {run.undecided} undecided "
               f"(rejected answers), {run.skipped} labelled before; next: `ltvad review`")
    print_failures(run.failures)


def _label_text(cfg: Settings, file: Path, limit: int | None, out: Path | None) -> None:
    from ltvad_search import prompts
    from ltvad_search.dataset import labeling
    from ltvad_search.prompts import category_names

    rows = read_rows_or_exit(file, limit)
    generator, prompt = generator_or_exit(cfg), prompts.load(cfg.label.prompt)
    with progress_bar() as progress:
        task = progress.add_task("label", total=len(rows))
        answers = labeling.label_rows(generator, prompt, rows, max_tokens=cfg.label.max_tokens,
                                      constrain=cfg.label.constrain, progress=lambda: progress.advance(task))
    out = out or Path("reports") / f"{file.stem}.labels.jsonl"
    labeling.write_row_answers(out, rows, answers)
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
        for (want, got), n in labeling.category_confusion(rows, answers)[:8]:
            typer.echo(f"    labelled {category_names()[want]!r} -> {category_names()[got]!r}: {n}")


@app.command(rich_help_panel=PANEL)
def review(
    audit_rate: Annotated[float | None, typer.Option(help="Share of pseudo-'no' clips to audit (label.audit_rate).")]
    = None,
) -> None:
    """Confirm or reject pseudo-labels in the terminal; each answer is saved at once as a human label.

    The queue is every pseudo-positive, then a reproducible audit sample of pseudo-negatives (to
    estimate what the labeler missed). Keys: y long-tail, n routine, s skip, q quit; after y, a
    category number (Enter keeps the proposed one).
    """
    from ltvad_search.dataset import labeling
    from ltvad_search.prompts import category_names
    from ltvad_search.records import Label
    from ltvad_search.run.pipeline import latest_keys

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
                name = category_names()[proposed.category]
                typer.echo(f"  proposed: {proposed.category} {name} - {proposed.subtype or ''}")
            segments = catalog.segments(k=keys.k, clip_id=proposed.clip_id) if keys else []
            shown = (catalog.scored_segments_by_id([s.segment_id for s in segments], keys.describer, keys.scorer)
                     if keys else {})
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
                category = int(raw) if raw.strip().isdigit() and int(raw) in category_names() else proposed.category
            catalog.put_labels([Label(clip_id=proposed.clip_id, label=int(answer == "y"), category=category,
                                      subtype=proposed.subtype if answer == "y" and category == proposed.category
                                      else None, origin="human")])
    typer.echo(f"\nreviewed: {counts['y']} long-tail, {counts['n']} routine, {counts['s']} skipped; "
               "export with `ltvad labels export labelled.csv`")


@app.command(rich_help_panel=PANEL)
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
    from ltvad_search.dataset import distill as dist

    if student:
        state.overrides = [*state.overrides, f"distill.student={student}"]
    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        try:
            if teacher_jsonl is not None:
                texts, source = dist.imported_texts(teacher_jsonl), f"import:{teacher_jsonl.name}"
            else:
                source = teacher or latest_run_keys(catalog).describer
                texts = dist.teacher_texts(catalog, source, cfg.video.k)
            skipped: list[str] = []
            examples = list(dist.pairs(catalog, cfg, texts, skipped))
        except dist.DistillError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
    for problem in skipped[:20]:
        typer.secho(f"  skipped {problem}", fg="yellow", err=True)
    with progress_bar() as progress:
        task = progress.add_task("distill", total=None)
        tick = lambda done, total, loss: progress.update(  # noqa: E731
            task, completed=done, total=total, description=f"distill (loss {loss:.3f})")
        report = start_or_exit("distillation", lambda: dist.train(examples, cfg, out, teacher=source, progress=tick))
    typer.echo(f"adapter in {out}: {report.pairs} pairs from {source}, {report.steps} optimizer steps, "
               f"{report.seconds:.0f} s; loss per epoch " + " -> ".join(f"{x:.3f}" for x in report.losses))
