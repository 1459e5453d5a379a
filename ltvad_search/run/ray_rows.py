"""The Ray job's per-row steps: probe, sample, describe, score and write a shard, as functions and
actor classes that Ray Data maps over batches of rows. They call the local runner's own stages and
never import ray (`distributed.py` is the only module that does), so they run and are tested alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ltvad_search import prompts
from ltvad_search.catalog import shards
from ltvad_search.config import Settings, VideoConfig
from ltvad_search.describe import make_describer
from ltvad_search.records import Clip, Description, Failure, Segment, clip_id_for, from_json, to_json
from ltvad_search.run import pipeline
from ltvad_search.score import configured_scorer
from ltvad_search.video.decode import Frames, VideoError, probe, split

NO_FRAMES = np.zeros((0, 1, 1, 3), dtype=np.uint8)
Progress = Callable[[str, int, int], None]


def _row(**values: Any) -> dict[str, Any]:
    """A dataset row: every shard column present (empty string or zero when unset)."""
    row: dict[str, Any] = {name: (0 if kind == "int64" else 0.0 if kind == "float64" else "")
                           for name, kind in shards.COLUMNS.items()}
    row.update(values)
    return row


def _rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    names = list(batch)
    return [dict(zip(names, values, strict=True)) for values in zip(*(batch[n] for n in names), strict=True)]


def _columns(rows: list[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    return {n: [r[n] for r in rows] for n in names}


# -- CPU tasks ------------------------------------------------------------------------------------

def probe_rows(item: dict[str, Any], *, video: VideoConfig, describer: str, done: frozenset[str]) -> list[dict]:
    """One clip in, a row per segment still to do out (or one failure row for a clip that won't open)."""
    source = item["source"]
    try:
        clip = probe(source)
        segments = split(clip, video.k, video.fps)
    except VideoError as e:
        failure = Failure(item_id=clip_id_for(source), stage="ingest", source=source, reason=e.reason)
        return [_row(clip_id=failure.item_id, source=source, describer=describer, failure=to_json(failure),
                     frames=NO_FRAMES, frames_fps=0.0)]
    return [_row(segment_id=s.segment_id, clip_id=clip.clip_id, source=source, clip=to_json(clip),
                 segment=to_json(s), describer=describer, frames=NO_FRAMES, frames_fps=0.0)
            for s in segments if s.segment_id not in done]


def sample_row(row: dict[str, Any], *, settings: Settings, needs_frames: bool) -> dict[str, Any]:
    """Decode the segment's sampled frames on a CPU task, so describer actors only describe."""
    if row["failure"] or not needs_frames:
        return row
    clip, segment = from_json(Clip, row["clip"]), from_json(Segment, row["segment"])
    try:
        sampled = pipeline.sample(clip, segment, settings, needs_frames)
    except (VideoError, OSError, ValueError) as e:
        row["failure"] = to_json(pipeline.sampling_failure(segment, clip.source, e))
        return row
    assert sampled.frames is not None
    row.update(frames=sampled.frames.pixels, frames_fps=sampled.frames.fps, decode_s=sampled.decode_s)
    return row


def write_rows(batch: dict[str, Any], *, folder: str) -> dict[str, list[Any]]:
    """Write one batch as a shard; return one summary row for the driver's report."""
    rows = _rows(batch)
    path = shards.write_shard(Path(folder), rows)
    done = [r for r in rows if r["score"] and not r["failure"]]
    video_s = sum(s.end_s - s.start_s for s in (from_json(Segment, r["segment"]) for r in done))
    return {"shard": [path.name], "rows": [len(rows)], "done": [len(done)],
            "failed": [sum(bool(r["failure"]) for r in rows)], "retried": [sum(int(r["retried"]) for r in rows)],
            "clips": [",".join(sorted({r["clip_id"] for r in done}))], "video_s": [video_s],
            "decode_s": [sum(float(r["decode_s"]) for r in rows)],
            "describe_s": [sum(float(r["describe_s"]) for r in rows)],
            "score_s": [sum(float(r["score_s"]) for r in rows)]}


# -- actors ---------------------------------------------------------------------------------------

class DescribeActor:
    """Loads the describer once; describes the batches Ray Data hands it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.describer = make_describer(settings.describer)
        self.prompt = prompts.load(settings.describer.prompt)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        rows = _rows(batch)
        todo = [r for r in rows if not r["failure"]]
        sampled = [self._sampled(r, from_json(Segment, r["segment"])) for r in todo]
        t0 = time.perf_counter()
        result = pipeline.describe_batch(self.describer, self.prompt, sampled, self.settings.run.retries)
        each = (time.perf_counter() - t0) / max(1, len(todo))
        _attach(todo, {d.segment_id: to_json(d) for d in result.results}, result.failures, "description",
                each, "describe_s", result.retried > 0)
        return _columns(rows, list(shards.COLUMNS))

    @staticmethod
    def _sampled(row: dict[str, Any], segment: Segment) -> pipeline.Sampled:
        frames = (Frames(pixels=np.asarray(row["frames"]), times=segment.sample_times, fps=float(row["frames_fps"]))
                  if len(row["frames"]) else None)
        return pipeline.Sampled(segment=segment, source=row["source"], frames=frames, decode_s=float(row["decode_s"]))


class ScoreActor:
    """Loads the scorer once; scores the described rows of each batch."""

    def __init__(self, settings: Settings) -> None:
        cfg = settings.scorer
        if cfg.llamacpp.n_threads is None:  # local models: one thread per reserved CPU, not one per core of the node
            local = cfg.llamacpp.model_copy(update={"n_threads": max(1, int(settings.ray.score_cpus))})
            cfg = cfg.model_copy(update={"llamacpp": local})
        self.settings = settings
        self.scorer = configured_scorer(settings.model_copy(update={"scorer": cfg}))
        self.prompt = prompts.load(settings.scorer.prompt)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        rows = _rows(batch)
        todo = [r for r in rows if not r["failure"] and r["description"]]
        descriptions = [from_json(Description, r["description"]) for r in todo]
        t0 = time.perf_counter()
        result = pipeline.score_batch(self.scorer, self.prompt, descriptions, self.settings.run.retries,
                                      {r["segment_id"]: r["source"] for r in todo})
        each = (time.perf_counter() - t0) / max(1, len(todo))
        _attach(todo, {s.segment_id: to_json(s) for s in result.results}, result.failures, "score",
                each, "score_s", result.retried > 0)
        return _columns(rows, list(shards.COLUMNS))


def _attach(rows: list[dict[str, Any]], outputs: dict[str, str], failures: list[Failure], column: str,
            seconds: float, seconds_column: str, retried: bool) -> None:
    failed = {f.item_id: to_json(f) for f in failures}
    for r in rows:
        r[column] = outputs.get(r["segment_id"], "")
        r["failure"] = failed.get(r["segment_id"], "")
        r[seconds_column] = seconds
        r["retried"] = int(r["retried"]) + int(retried)
