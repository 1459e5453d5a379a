"""The local runner: describe and score every pending segment, in batches, resumably.

What is pending is read from the catalog (by id), so a rerun after a crash, a kill or a failed
item does only what is missing. A batch that fails is retried item by item with backoff, and an
item that still fails is stored as a failure with its reason; the run goes on.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ltvad_search import prompts
from ltvad_search.backends.base import Describer, DescribeRequest, Scorer, ScoreRequest
from ltvad_search.config import Settings
from ltvad_search.provenance import package_versions
from ltvad_search.records import ClipScore, Failure, Segment
from ltvad_search.scoring import is_long_tail, max_pool
from ltvad_search.store import Catalog, ScoredSegment
from ltvad_search.video import VideoError, read_frames, split

Progress = Callable[[str, int, int], None]  # (stage, done, total)
T = TypeVar("T")
R = TypeVar("R")


def describer_key(describer: Describer, prompt: prompts.Prompt) -> str:
    """What descriptions are stored under: the backend and model, and the exact prompt wording."""
    return f"{describer.name}|{prompt.id}"


def scorer_key(scorer: Scorer, prompt: prompts.Prompt) -> str:
    return f"{scorer.name}|{prompt.id}"


@dataclass(slots=True)
class StageReport:
    done: int = 0
    failed: int = 0
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


def _each_with_retries(
    items: Sequence[T], call: Callable[[Sequence[T]], list[R]], retries: int, on_fail: Callable[[T, str], None]
) -> list[R]:
    """The batch in one call; if that raises, each item alone, with exponential backoff."""
    try:
        return call(items)
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

    def fail(segment: Segment, reason: str) -> None:
        failure = Failure(item_id=segment.segment_id, stage="describe", source=clips[segment.clip_id].source,
                          reason=reason)
        catalog.record_failure(failure)
        report.fail(failure)

    for batch in batches(pending, settings.run.batch_size):
        requests, decode_s = [], {}
        for segment in batch:
            t0 = time.perf_counter()
            try:
                frames = (read_frames(clips[segment.clip_id], segment.sample_times, settings.video.max_side,
                                      decoder=settings.video.decoder)
                          if describer.caps.needs_frames else None)
            except (VideoError, OSError, ValueError) as e:
                fail(segment, f"frames could not be read: {e}")
                continue
            decode_s[segment.segment_id] = time.perf_counter() - t0
            requests.append(DescribeRequest(segment=segment, frames=frames, prompt=prompt))  # type: ignore[arg-type]
        results = _each_with_retries(requests, describer.describe, settings.run.retries,
                                     lambda r, why: fail(r.segment, why))
        # stored seconds include decoding, so seconds per clip in `ltvad eval` is the whole cost
        stored = [dataclasses.replace(d, describer=key, seconds=d.seconds + decode_s.get(d.segment_id, 0.0))
                  for d in results]
        catalog.add_descriptions(stored)
        report.done += len(stored)
        if progress:
            progress("describe", report.done + report.failed, len(pending))
    report.seconds = time.perf_counter() - start
    return report


def score_pending(
    catalog: Catalog, settings: Settings, scorer: Scorer, describer_key_: str, *,
    progress: Progress | None = None,
) -> StageReport:
    prompt = prompts.load(settings.scorer.prompt)
    key = scorer_key(scorer, prompt)
    report = StageReport()
    start = time.perf_counter()
    pending = catalog.pending_scores(describer_key_, key, settings.video.k)

    def fail(request: ScoreRequest, reason: str) -> None:
        failure = Failure(item_id=request.segment_id, stage="score", source=request.segment_id, reason=reason)
        catalog.record_failure(failure)
        report.fail(failure)

    for batch in batches(pending, settings.run.batch_size):
        requests = [ScoreRequest(segment_id=d.segment_id, text=d.text, prompt=prompt) for d in batch]
        results = _each_with_retries(requests, scorer.score, settings.run.retries, fail)
        stored = [dataclasses.replace(s, scorer=key) for s in results]
        catalog.add_scores(describer_key_, stored)
        for s in stored:
            if s.score is None:
                fail(ScoreRequest(s.segment_id, "", prompt), f"no score in the answer {s.raw[:200]!r}")
            else:
                report.done += 1
        if progress:
            progress("score", report.done + report.failed, len(pending))
    report.seconds = time.perf_counter() - start
    return report


@dataclass(frozen=True, slots=True)
class RankedClip:
    """A clip score with what a user needs to look at it: the top segment and its description."""

    clip: ClipScore
    source: str
    top: ScoredSegment
    segments: tuple[ScoredSegment, ...]


def rank(catalog: Catalog, describer: str, scorer: str, k: int, threshold: float, *,
         written: bool = False) -> list[RankedClip]:
    """Clips by max-pooled score, highest first; clips with no scored segment yet are left out."""
    by_clip: dict[str, list[ScoredSegment]] = {}
    for row in catalog.scored_segments(describer, scorer, k, written=written):
        by_clip.setdefault(row.segment.clip_id, []).append(row)
    ranked = []
    for clip_id, rows in by_clip.items():
        pooled = max_pool(r.score for r in rows)
        if pooled is None:
            continue
        score, i = pooled
        top = rows[i]
        ranked.append(RankedClip(
            clip=ClipScore(clip_id=clip_id, score=score, top_segment_id=top.segment.segment_id,
                           long_tail=is_long_tail(score, threshold)),
            source=top.source, top=top, segments=tuple(rows)))
    ranked.sort(key=lambda r: (-r.clip.score, r.source))
    return ranked


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

    def details(self) -> dict[str, Any]:
        return {"describer_key": self.describer, "scorer_key": self.scorer, "k": self.k,
                "described": self.describe.done, "describe_failed": self.describe.failed,
                "describe_seconds": self.describe.seconds, "scored": self.score.done,
                "score_failed": self.score.failed, "score_seconds": self.score.seconds,
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
    described = describe_pending(catalog, settings, describer, progress=progress)
    scored = score_pending(catalog, settings, scorer, d_key, progress=progress)
    report = RunReport(run_id=run_id, describer=d_key, scorer=s_key, k=settings.video.k,
                       segment_failures=len(seg_failures), describe=described, score=scored)
    catalog.finish_run(run_id, report.details())
    return report


def latest_keys(catalog: Catalog) -> tuple[str, str, int] | None:
    """(describer key, scorer key, K) of the most recent finished run, which `top` shows."""
    for r in catalog.runs():
        d = r["details"]
        if r["finished_at"] and "describer_key" in d and "scorer_key" in d:
            return d["describer_key"], d["scorer_key"], int(d["k"])
    return None
