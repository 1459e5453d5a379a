"""Probe found video files, split them into segments, and record them in the catalog.

Each clip is its own transaction and its own failure record: a missing file, a text file named
.mp4 or an unreadable folder is stored with its reason and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ltvad_search.catalog import Catalog
from ltvad_search.config import VideoConfig
from ltvad_search.records import Failure, clip_id_for
from ltvad_search.video.decode import VideoError, probe, split
from ltvad_search.video.inputs import discover


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    skipped: int = 0
    failed: list[Failure] = field(default_factory=list)


def ingest(
    paths: Iterable[str | Path],
    catalog: Catalog,
    video: VideoConfig,
    *,
    on_item: Callable[[Path], None] | None = None,
) -> IngestReport:
    """Probe and segment every new clip under `paths`; clips already in the catalog are skipped."""
    report = IngestReport()
    for found in discover(paths, video.extensions):
        source = str(found.path.resolve())
        if on_item:
            on_item(found.path)
        if found.error is None and catalog.has_clip(clip_id_for(source)):
            report.skipped += 1
            continue
        try:
            if found.error:
                raise VideoError(found.path, found.error)
            clip = probe(found.path)
            segments = split(clip, video.k, video.fps)
        except VideoError as e:
            failure = Failure(item_id=clip_id_for(source), stage="ingest", source=source, reason=e.reason)
            catalog.record_failure(failure)
            report.failed.append(failure)
            continue
        catalog.add_clip(clip, segments)
        report.added += 1
    return report
