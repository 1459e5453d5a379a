"""The `ltvad` command.

Only typer is imported at start-up; each subcommand imports what it needs when it runs, so
`ltvad --help` is instant even though the pipeline pulls in torch, OpenCV and llama.cpp.
"""

from __future__ import annotations

import json
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
    from ltvad_search.ingest import discover
    from ltvad_search.ingest import ingest as run_ingest

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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
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


@app.command("demo-data")
def demo_data(
    folder: Annotated[Path, typer.Argument(help="Where to write the synthetic clips.")] = Path("demo_data"),
) -> None:
    """Write the synthetic demo clips and their labels.csv (no download needed)."""
    from ltvad_search.demo import write_demo_set

    paths = write_demo_set(folder)
    typer.echo(f"{len(paths)} clips and labels.csv in {folder}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Where the synthetic demo clips go.")] = Path("demo_data"),
) -> None:
    """The main job end to end on the embedded store: demo clips in, ranked result out."""
    from ltvad_search.demo import demo_sources, write_demo_set

    write_demo_set(folder)
    sources = demo_sources(folder)
    typer.echo("demo inputs: " + ", ".join(str(p) for p in sources))
    ingest(sources)
    status(as_json=False)


@app.command("config")
def show_config() -> None:
    """Print the effective settings as JSON (defaults, then --config, then --set)."""
    typer.echo(settings().model_dump_json(indent=2))


if __name__ == "__main__":
    app()
