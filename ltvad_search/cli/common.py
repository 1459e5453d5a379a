"""What every `ltvad` command shares: the app, global options, settings, the catalog, progress,
and turning start-up errors into clear messages (exit code 2) instead of tracebacks."""

from __future__ import annotations

import contextlib
import faulthandler
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ltvad_search.catalog import Catalog
    from ltvad_search.catalog.textset import TextRow
    from ltvad_search.config import Settings
    from ltvad_search.describe.base import Describer
    from ltvad_search.records import Failure, RunKey
    from ltvad_search.score.base import Generator, Scorer

T = TypeVar("T")

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


class State:
    config: Path | None = None
    overrides: list[str] = []


state = State()


@app.callback()
def main(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a setting: section.key=value (repeatable)."),
    ] = None,
) -> None:
    state.config = config
    state.overrides = overrides or []
    _report_native_crashes()


def _report_native_crashes() -> None:
    """A crash in a native library (llama.cpp, OpenCV) prints the Python stack it happened under."""
    # where stderr is not a file (a test runner's capture) there is nothing to write the stack to
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        faulthandler.enable()


def settings() -> Settings:
    from ltvad_search.config import load_settings

    try:
        return load_settings(state.config, state.overrides)
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        raise typer.BadParameter(str(e), param_hint="--config/--set") from None


def open_catalog(cfg: Settings, *, readonly: bool = False) -> Catalog:
    from ltvad_search.catalog import Catalog, StoreError

    try:
        return Catalog(cfg.store.catalog, readonly=readonly)
    except StoreError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None


def progress_bar() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True)


def latest_run_keys(catalog: Catalog) -> RunKey:
    from ltvad_search.run import pipeline

    keys = pipeline.latest_keys(catalog)
    if keys is None:
        typer.secho("no finished run yet: run `ltvad run` first", fg="red", err=True)
        raise typer.Exit(1)
    return keys


def start_or_exit(what: str, build: Callable[[], T]) -> T:
    """Build backends; a missing model or package is a clear message and exit code 2, not a trace."""
    from ltvad_search.models.gguf import ModelError

    try:
        return build()
    except (ImportError, ModelError, ValueError, OSError) as e:
        typer.secho(f"cannot start the {what}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None


def generator_or_exit(cfg: Settings, role: str = "labeler") -> Generator:
    """The scorer's model as a free-text writer (labels, search queries); a backend that cannot write exits."""
    from ltvad_search.score import make_text_backend
    from ltvad_search.score.base import Generator

    inner = start_or_exit(role, lambda: make_text_backend(cfg.scorer))  # the model, not a scorer around it
    if not isinstance(inner, Generator):
        typer.secho(f"the {cfg.scorer.backend!r} scorer cannot write answers; use llamacpp, openai, "
                    "vllm or hf", fg="red", err=True)
        raise typer.Exit(2)
    return inner


def build_backends(cfg: Settings) -> tuple[Describer, Scorer]:
    from ltvad_search.describe import make_describer
    from ltvad_search.score import configured_scorer

    return start_or_exit("backends", lambda: (make_describer(cfg.describer), configured_scorer(cfg)))


def build_scorer(cfg: Settings) -> Scorer:
    from ltvad_search.score import configured_scorer

    return start_or_exit("scorer", lambda: configured_scorer(cfg))


def stage_progress(progress: Progress) -> Callable[[str, int, int], None]:
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=max(total, done))

    return update


def print_failures(failures: Sequence[Failure]) -> None:
    for failure in failures[:20]:
        typer.secho(f"  {failure.stage} failed: {failure.source}: {failure.reason}", fg="yellow", err=True)
    if len(failures) > 20:
        typer.secho(f"  ... and {len(failures) - 20} more (`ltvad status --json` lists them)", fg="yellow", err=True)


def read_rows_or_exit(file: Path, limit: int | None = None) -> list[TextRow]:
    """The first `limit` rows of a labelled JSONL, or a clear error naming the file (exit code 2)."""
    from ltvad_search.catalog.textset import read_rows

    try:
        return read_rows(file)[:limit]
    except ValueError as e:
        typer.secho(str(e), fg="red", err=True)
        raise typer.Exit(2) from None


def print_interrupted(catalog: Catalog) -> None:
    """Say so when the last run died mid-stage, naming the backend it died in and the setting to try."""
    from ltvad_search.run.pipeline import interrupted

    stopped = interrupted(catalog)
    if stopped is not None:
        typer.secho(stopped.message(), fg="yellow", err=True)


labels_app = typer.Typer(help="Human labels of clips (long-tail or routine, optional category).",
                         no_args_is_help=True)
app.add_typer(labels_app, name="labels", rich_help_panel="Labelled data")
