"""The local runner: describe and score every pending segment, in batches, resumably.

What is pending is read from the catalog (by id), so a rerun after a crash, a kill or a failed
item does only what is missing. A batch that fails is retried item by item with backoff, and an
item that still fails is stored as a failure with its reason; the run goes on.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.catalog.provenance import package_versions
from ltvad_search.config import Settings
from ltvad_search.describe.base import Describer, DescribeRequest, describer_key
from ltvad_search.records import Clip, Description, Failure, RunKey, Segment, SegmentScore
from ltvad_search.score.base import Scorer, ScoreRequest, scorer_key
from ltvad_search.video.decode import Frames, VideoError, read_frames, split

Progress = Callable[[str, int, int], None]  # (stage, done, total)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class StageReport:
    done: int = 0
    failed: int = 0
    retried: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    def fail(self, failure: Failure) -> None:
        self.failed += 1
        self.failures.append(failure)


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]


def ensure_segments(catalog: Catalog, settings: Settings) -> list[Failure]:
    """Segments for the configured K, made from stored probes (a K=3 ablation needs no re-ingest)."""
    failures = []
    for clip in catalog.clips_without_segments(settings.video.k):
        try:
            catalog.add_segments(split(clip, settings.video.k, settings.video.fps))
        except VideoError as e:
            failure = Failure(item_id=clip.clip_id, stage="segment", source=clip.source, reason=e.reason)
            catalog.record_failure(failure)
            failures.append(failure)
    return failures


@dataclass(frozen=True, slots=True)
class Sampled:
    """A segment with its sampled frames (None for describers that need none), ready to describe."""

    segment: Segment
    source: str
    frames: Frames | None
    decode_s: float


@dataclass(slots=True)
class BatchResult(Generic[R]):
    """What one backend batch produced: results, per-item failures, and how many needed a retry."""

    results: list[R] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    retried: int = 0


def _each_with_retries(
    items: Sequence[T], call: Callable[[Sequence[T]], list[R]], retries: int, on_fail: Callable[[T, str], None]
) -> tuple[list[R], int]:
    """The batch in one call; if that raises, each item alone, with exponential backoff.

    Returns the results and how many items were retried (all of them once the batch call failed).
    """
    try:
        return call(items), 0
    except Exception:  # noqa: BLE001 - any backend failure falls back to per-item handling
        pass
    out: list[R] = []
    for item in items:
        for attempt in range(retries + 1):
            try:
                out.extend(call([item]))
                break
            except Exception as e:  # noqa: BLE001 - recorded on the item, never raised
                if attempt == retries:
                    on_fail(item, f"{type(e).__name__}: {e}")
                else:
                    time.sleep(min(8.0, 0.25 * 2**attempt))
    return out, len(items)


def sample(clip: Clip, segment: Segment, settings: Settings, needs_frames: bool) -> Sampled:
    """Decode a segment's sampled frames (none when the describer needs none); raises VideoError,
    OSError or ValueError on a bad file."""
    t0 = time.perf_counter()
    frames = (read_frames(clip, segment.sample_times, settings.video.max_side, decoder=settings.video.decoder)
              if needs_frames else None)
    return Sampled(segment=segment, source=clip.source, frames=frames, decode_s=time.perf_counter() - t0)


def sampling_failure(segment: Segment, source: str, error: Exception) -> Failure:
    return Failure(item_id=segment.segment_id, stage="describe", source=source,
                   reason=f"frames could not be read: {error}")


def describe_batch(describer: Describer, prompt: prompts.Prompt, items: Sequence[Sampled],
                   retries: int) -> BatchResult[Description]:
    """Stage 1 on one batch. Stored seconds include decoding, so seconds per clip is the whole cost."""
    key = describer_key(describer, prompt)
    out: BatchResult[Description] = BatchResult()
    by_id = {s.segment.segment_id: s for s in items}

    def fail(request: DescribeRequest, why: str) -> None:
        out.failures.append(Failure(item_id=request.segment.segment_id, stage="describe",
                                    source=by_id[request.segment.segment_id].source, reason=why))

    requests = [DescribeRequest(segment=s.segment, frames=s.frames, prompt=prompt)  # type: ignore[arg-type]
                for s in items]
    results, out.retried = _each_with_retries(requests, describer.describe, retries, fail)
    out.results = [dataclasses.replace(d, describer=key, seconds=d.seconds + by_id[d.segment_id].decode_s)
                   for d in results]
    return out


def score_batch(scorer: Scorer, prompt: prompts.Prompt, descriptions: Sequence[Description], retries: int,
                sources: Mapping[str, str] | None = None) -> BatchResult[SegmentScore]:
    """Stage 2 on one batch. An answer with no readable score is kept (raw text) and counted as failed."""
    key = scorer_key(scorer, prompt)
    out: BatchResult[SegmentScore] = BatchResult()

    def fail(segment_id: str, why: str) -> None:
        source = (sources or {}).get(segment_id, segment_id)
        out.failures.append(Failure(item_id=segment_id, stage="score", source=source, reason=why))

    requests = [ScoreRequest(segment_id=d.segment_id, text=d.text, prompt=prompt) for d in descriptions]
    results, out.retried = _each_with_retries(requests, scorer.score, retries,
                                              lambda r, why: fail(r.segment_id, why))
    out.results = [dataclasses.replace(s, scorer=key) for s in results]
    for s in out.results:
        if s.score is None:
            fail(s.segment_id, f"no score in the answer {s.raw[:200]!r}")
    return out


def describe_pending(
    catalog: Catalog, settings: Settings, describer: Describer, *, progress: Progress | None = None
) -> StageReport:
    prompt = prompts.load(settings.describer.prompt)
    key = describer_key(describer, prompt)
    report = StageReport()
    start = time.perf_counter()
    pending = catalog.pending_descriptions(key, settings.video.k)
    clips = {c.clip_id: c for c in catalog.clips()}

    def fail(failure: Failure) -> None:
        catalog.record_failure(failure)
        report.fail(failure)

    for batch in batches(pending, settings.run.batch_size):
        sampled = []
        for segment in batch:
            clip = clips[segment.clip_id]
            try:
                sampled.append(sample(clip, segment, settings, describer.caps.needs_frames))
            except (VideoError, OSError, ValueError) as e:
                fail(sampling_failure(segment, clip.source, e))
        result = describe_batch(describer, prompt, sampled, settings.run.retries)
        for failure in result.failures:
            fail(failure)
        catalog.add_descriptions(result.results)
        report.done += len(result.results)
        report.retried += result.retried
        if progress:
            progress("describe", report.done + report.failed, len(pending))
    report.seconds = time.perf_counter() - start
    return report


def score_pending(
    catalog: Catalog, settings: Settings, scorer: Scorer, describer_key_: str, *,
    progress: Progress | None = None,
) -> StageReport:
    prompt = prompts.load(settings.scorer.prompt)
    report = StageReport()
    start = time.perf_counter()
    pending = catalog.pending_scores(describer_key_, scorer_key(scorer, prompt), settings.video.k)
    for batch in batches(pending, settings.run.batch_size):
        result = score_batch(scorer, prompt, batch, settings.run.retries)
        catalog.add_scores(describer_key_, result.results)
        for failure in result.failures:
            catalog.record_failure(failure)
            report.fail(failure)
        report.done += sum(s.score is not None for s in result.results)
        report.retried += result.retried
        if progress:
            progress("score", report.done + report.failed, len(pending))
    report.seconds = time.perf_counter() - start
    return report


def versions() -> dict[str, str]:
    return package_versions("ltvad-search", "llama_cpp_python", "openai", "av", "opencv-python-headless", "torch",
                            "transformers", "vllm")


@dataclass(slots=True)
class RunReport:
    run_id: str
    describer: str
    scorer: str
    k: int
    segment_failures: int
    describe: StageReport
    score: StageReport

    @property
    def key(self) -> RunKey:
        return RunKey(describer=self.describer, scorer=self.scorer, k=self.k)

    def details(self) -> dict[str, Any]:
        return {"describer_key": self.describer, "scorer_key": self.scorer, "k": self.k,
                "described": self.describe.done, "describe_failed": self.describe.failed,
                "describe_seconds": self.describe.seconds, "scored": self.score.done,
                "score_failed": self.score.failed, "score_seconds": self.score.seconds,
                "retried": self.describe.retried + self.score.retried,
                "segment_failures": self.segment_failures}


def run(
    catalog: Catalog, settings: Settings, describer: Describer, scorer: Scorer, *,
    progress: Progress | None = None, command: str = "run",
) -> RunReport:
    """Describe then score everything pending under the current settings, recorded as one run."""
    d_prompt, s_prompt = prompts.load(settings.describer.prompt), prompts.load(settings.scorer.prompt)
    d_key, s_key = describer_key(describer, d_prompt), scorer_key(scorer, s_prompt)
    run_id = catalog.start_run(command, settings.model_dump(mode="json"), {
        "describer_key": d_key, "scorer_key": s_key, "k": settings.video.k,
        "prompts": {d_prompt.id: d_prompt.template, s_prompt.id: s_prompt.template},
        "versions": versions(),
    })
    seg_failures = ensure_segments(catalog, settings)
    catalog.note_run(run_id, _stage("describe", d_key, describer))
    described = describe_pending(catalog, settings, describer, progress=progress)
    catalog.note_run(run_id, _stage("score", s_key, scorer))
    scored = score_pending(catalog, settings, scorer, d_key, progress=progress)
    report = RunReport(run_id=run_id, describer=d_key, scorer=s_key, k=settings.video.k,
                       segment_failures=len(seg_failures), describe=described, score=scored)
    catalog.finish_run(run_id, report.details())
    return report


def _stage(stage: str, key: str, backend: object) -> dict[str, str]:
    """What a run is doing now, kept on its row: if the process dies here, `interrupted` reports it."""
    return {"stage": stage, "backend": key, "crash_hint": getattr(backend, "crash_hint", "")}


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The latest run, when it never finished: the process died (a native crash, a kill) in `stage`."""

    run_id: str
    started_at: float
    stage: str
    backend: str
    crash_hint: str

    def message(self) -> str:
        where = f"in stage {self.stage} ({self.backend})" if self.stage else "before its first stage"
        text = (f"run {self.run_id} stopped {where} without finishing: most likely a crash inside the backend's "
                "native library, or the process was killed. Everything stored before it is kept; `ltvad run` "
                "resumes from there.")
        return text + (f" If it stops there again, try: {self.crash_hint}" if self.crash_hint else "")


def interrupted(catalog: Catalog) -> Interrupted | None:
    """The most recent run if it was left unfinished, with the stage and backend it died in."""
    runs = catalog.runs(limit=1)
    if not runs or runs[0].finished_at:
        return None
    r, d = runs[0], runs[0].details
    return Interrupted(run_id=r.run_id, started_at=r.started_at, stage=d.get("stage", ""),
                       backend=d.get("backend", ""), crash_hint=d.get("crash_hint", ""))


def latest_keys(catalog: Catalog) -> RunKey | None:
    """The key of the most recent finished run, which `top` shows."""
    return next((r.key for r in catalog.runs() if r.finished_at and r.key is not None), None)
