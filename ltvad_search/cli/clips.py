"""Commands that take clips through the pipeline: ingest, run (local or Ray), merge, top, demo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ltvad_search.score.ranking import RankedClip

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ltvad_search.cli.common import (
    AsJson,
    app,
    build_backends,
    open_catalog,
    print_failures,
    print_interrupted,
    progress_bar,
    settings,
    stage_progress,
    start_or_exit,
    state,
)

PANEL = "Pipeline"


@app.command(rich_help_panel=PANEL)
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video files or folders (searched recursively).")],
) -> None:
    """Probe and segment new clips; clips already in the catalog are skipped."""
    from ltvad_search.run.ingest import ingest as run_ingest
    from ltvad_search.video.inputs import discover

    cfg = settings()
    with open_catalog(cfg) as catalog, progress_bar() as progress:
        total = sum(1 for _ in discover(paths, cfg.video.extensions))
        task = progress.add_task("ingest", total=total)
        report = run_ingest(paths, catalog, cfg.video,
                            on_item=lambda p: progress.update(task, advance=1, description=p.name[:40]))
    typer.echo(f"ingested {report.added}, already present {report.skipped}, failed {len(report.failed)}")
    for failure in report.failed:
        typer.secho(f"  failed: {failure.source}: {failure.reason}", fg="yellow", err=True)


@app.command(rich_help_panel=PANEL)
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
        from ltvad_search.video.decode import VideoError, split

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


@app.command(rich_help_panel=PANEL)
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts per stage, and every failure with its reason."""
    cfg = settings()
    if not cfg.store.catalog.exists():
        typer.echo(f"no catalog at {cfg.store.catalog} yet: run `ltvad ingest PATH`")
        return
    with open_catalog(cfg, readonly=True) as catalog:
        counts = catalog.counts()
        failures = catalog.failures()
        print_interrupted(catalog)
    if as_json:
        payload = {"counts": counts, "failures": [
            {"stage": f.stage, "source": f.source, "reason": f.reason, "attempts": n} for f, n in failures]}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
    for failure, attempts in failures:
        typer.secho(f"  {failure.stage} failed ({attempts}x): {failure.source}: {failure.reason}",
                    fg="yellow")


class Engine(StrEnum):
    local = "local"
    ray = "ray"


@app.command(rich_help_panel=PANEL)
def run(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Clips, folders, file lists (.txt) or manifests (.csv/.parquet with a uri column) to run on.")] = None,
    engine: Annotated[Engine, typer.Option(help="local (this process) or ray (a Ray cluster).")] = Engine.local,
    address: Annotated[str | None, typer.Option(help="Ray cluster to join (sets ray.address).")] = None,
) -> None:
    """Describe and score every pending segment; resumable, failures recorded per item."""
    if engine is Engine.ray:
        if address:
            state.overrides = [*state.overrides, f"ray.address={address}"]
        _run_on_ray(paths or [])
        return
    from ltvad_search.run import pipeline

    cfg = settings()
    if paths:
        ingest(paths)
    with open_catalog(cfg) as catalog:
        print_interrupted(catalog)  # before loading models: a crash at load would hide it again
        describer, scorer = build_backends(cfg)
        with progress_bar() as progress:
            report = pipeline.run(catalog, cfg, describer, scorer, progress=stage_progress(progress))
    d, s = report.describe, report.score
    stats = getattr(scorer, "stats", None)  # the score cache's, when it is on
    cached = f", {stats.hits} from the score cache" if stats is not None and stats.hits else ""
    typer.echo(f"run {report.run_id}: described {d.done} ({d.failed} failed, {d.seconds:.1f} s), "
               f"scored {s.done} ({s.failed} failed, {s.seconds:.1f} s{cached}), retried {d.retried + s.retried}")
    typer.echo(f"  describer {report.describer}\n  scorer    {report.scorer}")
    print_failures([*d.failures, *s.failures])


def _run_on_ray(paths: list[Path]) -> None:
    from ltvad_search.run import distributed

    cfg = settings()
    with open_catalog(cfg) as catalog, progress_bar() as progress:
        report = start_or_exit("Ray run", lambda: distributed.run(catalog, cfg, paths,
                                                           progress=stage_progress(progress)))
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
    print_failures(report.failures)


@app.command(rich_help_panel=PANEL)
def merge(
    folder: Annotated[Path | None, typer.Argument(help="Shard folder (default: ray.shards or <store>/shards).")] = None,
) -> None:
    """Merge result shards written by Ray workers into the catalog; safe to repeat."""
    from ltvad_search.catalog import shards
    from ltvad_search.run import distributed

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
        from ltvad_search.cli.search import index  # the index follows the catalog

        index(rebuild=False)


@app.command(rich_help_panel=PANEL)
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
    from ltvad_search.evaluation.ablate import BASELINE

    state.overrides = [*state.overrides, *BASELINE]
    run(paths)


@app.command(rich_help_panel=PANEL)
def top(
    n: Annotated[int, typer.Option("-n", help="How many clips.")] = 20,
    everything: Annotated[bool, typer.Option("--all", help="Include clips below the threshold.")] = False,
    query: Annotated[str | None, typer.Option(help="Rank only clips among this text search's results.")] = None,
    within: Annotated[int, typer.Option(help="How many search results --query ranks within.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The ranked long-tail candidates of the latest run (optionally within a text search)."""
    from ltvad_search.run import pipeline
    from ltvad_search.score.ranking import rank
    from ltvad_search.score.scorers import checklist

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        keys = pipeline.latest_keys(catalog)
        if keys is None:
            typer.echo("no finished run yet: run `ltvad run`")
            return
        ranked = rank(catalog, keys, threshold=cfg.scorer.threshold)
        if query:
            from ltvad_search.cli.search import open_searcher

            matching = {h.clip_id for h in open_searcher(cfg, catalog).text(query, k=within)}
            ranked = [r for r in ranked if r.clip.clip_id in matching]
    shown = [r for r in ranked if everything or r.clip.long_tail][:n]
    if as_json:
        typer.echo(json.dumps([_ranked_json(r) for r in shown], indent=2))
        return
    typer.echo(f"{len(shown)} of {len(ranked)} scored clips"
               + ("" if everything else f" at or above {cfg.scorer.threshold:g}") + f"  ({keys.scorer})")
    for i, r in enumerate(shown, 1):
        seg = r.top.segment
        flag = "LONG-TAIL" if r.clip.long_tail else "routine"
        why = checklist.likeliest(r.top.raw)
        typer.echo(f"{i:3d}. {r.clip.score:.3f} {flag:9}  {Path(r.source).name}  "
                   f"[{seg.start_s:.1f}-{seg.end_s:.1f} s]" + (f"  most likely: {why[0]}" if why else ""))
        typer.echo(f"      {r.top.description[:300]}")


def _ranked_json(r: RankedClip) -> dict[str, Any]:
    from ltvad_search.score.scorers.checklist import likeliest

    seg = r.top.segment
    why = likeliest(r.top.raw)
    return {"clip_id": r.clip.clip_id, "source": r.source, "score": r.clip.score, "long_tail": r.clip.long_tail,
            "most_likely": None if why is None else {"question": why[0], "p_yes": why[1]},
            "top_segment": {"segment_id": seg.segment_id, "start_s": seg.start_s, "end_s": seg.end_s,
                            "description": r.top.description},
            "segments": [{"segment_id": x.segment.segment_id, "start_s": x.segment.start_s,
                          "end_s": x.segment.end_s, "score": x.score} for x in r.segments]}


@app.command(rich_help_panel=PANEL)
def demo(
    folder: Annotated[Path, typer.Option(help="Where the synthetic demo clips go.")] = Path("demo_data"),
) -> None:
    """The main job end to end on the embedded store: demo clips in, ranked result out."""
    from ltvad_search.video.demo_clips import demo_sources, write_demo_set

    write_demo_set(folder)
    sources = demo_sources(folder)
    typer.echo("demo inputs: " + ", ".join(str(p) for p in sources))
    run(sources)
    status(as_json=False)
    typer.echo("")
    from ltvad_search.cli.evaluation import eval_store
    from ltvad_search.cli.labels import labels_import
    from ltvad_search.cli.search import index

    index(rebuild=False)
    top(n=20, everything=True, query=None, within=50, as_json=False)
    typer.echo("")
    labels_import(folder / "labels.csv")
    eval_store(out=None)


@app.command("demo-data", rich_help_panel=PANEL)
def demo_data(
    folder: Annotated[Path, typer.Argument(help="Where to write the synthetic clips.")] = Path("demo_data"),
) -> None:
    """Write the synthetic demo clips and their labels.csv (no download needed)."""
    from ltvad_search.video.demo_clips import write_demo_set

    paths = write_demo_set(folder)
    typer.echo(f"{len(paths)} clips and labels.csv in {folder}")


@app.command("config", rich_help_panel=PANEL)
def show_config() -> None:
    """Print the effective settings as JSON (defaults, then --config, then --set)."""
    typer.echo(settings().model_dump_json(indent=2))
