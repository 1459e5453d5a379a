"""The same stages on a Ray cluster: `ltvad run --engine ray`.

Nothing here re-implements a stage. Probing, splitting and frame sampling are the functions the
local runner uses, run as Ray Data CPU tasks; `pipeline.describe_batch` and `pipeline.score_batch`
run inside actor pools that load their model once per actor with declared resources (GPUs, CPUs,
memory). The per-row steps (`ray_rows.py`) never import ray; this module is the only one that does.

Results never go straight into SQLite from a worker (the catalog is one file on the driver's disk).
The last step of the dataset writes each batch as a Parquet shard (`catalog/shards.py`), and the driver
merges shards into the catalog as they finish and once more at the end. That gives the rerun rule:
a killed run leaves whole shards behind; the next run merges them first, then skips every segment
the catalog already has a description and a score for, by id.

Failures stay rows: a clip that does not probe, a segment whose frames do not decode, a backend
error after bounded retries, all travel as `Failure` records in their row and land in the catalog's
failures table. A crashed actor is restarted by Ray (`ray.max_restarts`) and its batch retried
(`ray.task_retries`); beyond that the job fails loudly rather than looping.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltvad_search import prompts
from ltvad_search.catalog import Catalog, shards
from ltvad_search.config import Settings
from ltvad_search.describe import describer_name, describer_needs_frames
from ltvad_search.extras import require
from ltvad_search.records import Failure, clip_id_for
from ltvad_search.run import pipeline
from ltvad_search.run.ray_rows import DescribeActor, Progress, ScoreActor, probe_rows, sample_row, write_rows
from ltvad_search.score import pinned, scorer_name
from ltvad_search.video.inputs import discover

# -- the driver -----------------------------------------------------------------------------------

@dataclass(slots=True)
class RayReport:
    """What a Ray run did, and its throughput in the units curation pipelines report."""

    run_id: str
    describer: str
    scorer: str
    workers: int
    sources: int = 0
    skipped_clips: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    shards: int = 0
    clips: set[str] = field(default_factory=set)
    video_s: float = 0.0
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "describe": 0.0, "score": 0.0})
    failures: list[Failure] = field(default_factory=list)
    unreadable_shards: list[str] = field(default_factory=list)

    @property
    def clips_per_hour(self) -> float:
        return len(self.clips) / self.wall_s * 3600 if self.wall_s else 0.0

    @property
    def video_hours_per_day_per_worker(self) -> float:
        """Hours of video one describer worker gets through in a day of wall-clock time."""
        return self.video_s / self.wall_s * 24 / self.workers if self.wall_s else 0.0

    def details(self) -> dict[str, Any]:
        return {"describer_key": self.describer, "scorer_key": self.scorer, "engine": "ray",
                "workers": self.workers, "sources": self.sources, "skipped_clips": self.skipped_clips,
                "done": self.done, "failed": self.failed, "retried": self.retried, "shards": self.shards,
                "clips": len(self.clips), "video_s": self.video_s, "wall_s": self.wall_s,
                "clips_per_hour": self.clips_per_hour,
                "video_hours_per_day_per_worker": self.video_hours_per_day_per_worker,
                "stage_s": self.stage_s, "unreadable_shards": self.unreadable_shards}


def shard_folder(settings: Settings) -> Path:
    return settings.ray.shards or settings.store.root / "shards"


def keys(settings: Settings) -> tuple[str, str]:
    """(describer key, scorer key) exactly as the workers will write them, before any worker starts."""
    d_prompt, s_prompt = prompts.load(settings.describer.prompt), prompts.load(settings.scorer.prompt)
    return f"{describer_name(settings.describer)}|{d_prompt.id}", f"{scorer_name(settings.scorer)}|{s_prompt.id}"


def _connect(settings: Settings) -> Any:
    # Ray Data logs every dataset's plan at INFO on the driver's stderr; our progress and report replace
    # that (its full logs still go to the session folder). An explicit RAY_DATA_LOG_LEVEL wins.
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    ray = require("ray", extra="ray", backend="ray engine")
    if not ray.is_initialized():
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if settings.ray.address:
            ray.init(address=settings.ray.address, **quiet)
        else:
            ray.init(num_cpus=settings.ray.num_cpus, include_dashboard=False, **quiet)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


def _sources(catalog: Catalog, settings: Settings, inputs: Sequence[str | Path],
             report: RayReport) -> list[str]:
    """Resolved inputs (or every catalogued clip when none given); bad paths become failures."""
    if not inputs:
        return [c.source for c in catalog.clips()]
    out = []
    for found in discover(inputs, settings.video.extensions):
        source = str(found.path.resolve())
        if found.error:
            failure = Failure(item_id=clip_id_for(source), stage="ingest", source=source, reason=found.error)
            catalog.record_failure(failure)
            report.failures.append(failure)
            report.failed += 1
        else:
            out.append(source)
    return list(dict.fromkeys(out))


def _still_to_do(catalog: Catalog, settings: Settings, sources: list[str], d_key: str, s_key: str,
                 report: RayReport) -> tuple[list[str], frozenset[str]]:
    """Sources with work left, and the done segment ids among them (skipped by id, not by name)."""
    done = catalog.done_segments(d_key, s_key, settings.video.k)
    by_clip: dict[str, list[str]] = {}
    for s in catalog.segments(k=settings.video.k):
        by_clip.setdefault(s.clip_id, []).append(s.segment_id)
    todo: list[str] = []
    partly_done: set[str] = set()
    for source in sources:
        ids = by_clip.get(clip_id_for(source), [])
        if ids and all(i in done for i in ids):
            report.skipped_clips += 1
            continue
        todo.append(source)
        partly_done.update(i for i in ids if i in done)
    return todo, frozenset(partly_done)


def run(catalog: Catalog, settings: Settings, inputs: Sequence[str | Path] = (), *,
        progress: Progress | None = None) -> RayReport:
    """Describe and score `inputs` (files, folders, lists, manifests) on Ray; merge into `catalog`.
    Machine-dependent settings are decided here, on the driver (`pinned`), and go to every worker."""
    settings = settings.model_copy(update={"scorer": pinned(settings.scorer)})
    folder = shard_folder(settings)
    d_key, s_key = keys(settings)
    leftover = shards.merge(catalog, folder)  # a killed run's finished shards count as done
    run_id = catalog.start_run("run --engine ray", settings.model_dump(mode="json"), {
        "describer_key": d_key, "scorer_key": s_key, "k": settings.video.k, "engine": "ray",
        "versions": {**pipeline.versions(), **_ray_version()}})
    report = RayReport(run_id=run_id, describer=d_key, scorer=s_key, workers=settings.ray.describe_workers,
                       unreadable_shards=list(leftover.unreadable))
    start = time.perf_counter()
    sources = _sources(catalog, settings, inputs, report)
    report.sources = len(sources)
    todo, done = _still_to_do(catalog, settings, sources, d_key, s_key, report)
    if todo:
        _execute(_connect(settings), settings, todo, done, folder, d_key, report, catalog, progress)
    merged = shards.merge(catalog, folder)
    report.unreadable_shards += merged.unreadable
    report.wall_s = time.perf_counter() - start
    wanted = set(todo)
    report.failures += [f for f, _ in catalog.failures() if f.source in wanted][:100]
    catalog.finish_run(run_id, {"k": settings.video.k, **report.details()})
    return report


def check_resources(settings: Settings, available: dict[str, float]) -> None:
    """Refuse a layout that would hang: actors hold their CPUs/GPUs for the whole run, so the
    cluster must fit every actor plus one decode task, or the pipeline waits forever."""
    r = settings.ray
    need = {"CPU": r.describe_workers * r.describe_cpus + r.score_workers * r.score_cpus + r.decode_cpus,
            "GPU": r.describe_workers * r.describe_gpus + r.score_workers * r.score_gpus}
    short = {k: v for k, v in need.items() if v > available.get(k, 0.0) + 1e-9}
    if short:
        raise ValueError(
            "the Ray cluster is too small for this layout: needs "
            + ", ".join(f"{v:g} {k} (has {available.get(k, 0.0):g})" for k, v in short.items())
            + "; lower ray.describe_workers/score_workers or ray.*_cpus/*_gpus, or add nodes")


def _execute(ray: Any, settings: Settings, todo: list[str], done: frozenset[str], folder: Path, d_key: str,
             report: RayReport, catalog: Catalog, progress: Progress | None) -> None:
    from ray.data import ActorPoolStrategy

    r = settings.ray
    check_resources(settings, ray.cluster_resources())
    task_args = {"num_cpus": r.decode_cpus, "max_retries": r.task_retries}
    actor_args = {"max_restarts": r.max_restarts, "max_task_retries": r.task_retries}

    def gb(value: float | None) -> dict[str, float]:
        return {"memory": value * 2**30} if value else {}

    needs_frames = describer_needs_frames(settings.describer)
    with warnings.catch_warnings():
        # Ray 2.60 deprecates passing retry limits this way but offers no named parameter for them
        # yet; bounded retries are part of the contract, so we keep passing them.
        warnings.simplefilter("ignore", DeprecationWarning)
        ds = ray.data.from_items([{"source": s} for s in todo], override_num_blocks=len(todo))
        ds = ds.flat_map(probe_rows, fn_kwargs={"video": settings.video, "describer": d_key, "done": done},
                         **task_args)
        ds = ds.map(sample_row, fn_kwargs={"settings": settings, "needs_frames": needs_frames}, **task_args)
        ds = ds.map_batches(DescribeActor, fn_constructor_kwargs={"settings": settings},
                            batch_size=settings.run.batch_size, compute=ActorPoolStrategy(size=r.describe_workers),
                            num_cpus=r.describe_cpus, num_gpus=r.describe_gpus, batch_format="numpy",
                            **gb(r.describe_memory_gb), **actor_args)
        ds = ds.map_batches(ScoreActor, fn_constructor_kwargs={"settings": settings},
                            batch_size=settings.run.batch_size, compute=ActorPoolStrategy(size=r.score_workers),
                            num_cpus=r.score_cpus, num_gpus=r.score_gpus, batch_format="numpy",
                            **gb(r.score_memory_gb), **actor_args)
        ds = ds.map_batches(write_rows, fn_kwargs={"folder": str(folder)}, batch_size=settings.run.batch_size,
                            batch_format="numpy", **task_args)
    for summary in ds.iter_rows():
        report.shards += 1
        report.done += int(summary["done"])
        report.failed += int(summary["failed"])
        report.retried += int(summary["retried"])
        report.video_s += float(summary["video_s"])
        report.clips.update(c for c in str(summary["clips"]).split(",") if c)
        for stage in report.stage_s:
            report.stage_s[stage] += float(summary[f"{stage}_s"])
        # land results as they come: a killed driver loses no finished shard
        shards.merge_files(catalog, [folder / str(summary["shard"])])
        if progress:
            progress("ray", report.done + report.failed, len(todo) * settings.video.k)


def _ray_version() -> dict[str, str]:
    from ltvad_search.catalog.provenance import package_versions

    return package_versions("ray", "pyarrow")
