"""Find video files, probe them, split them into segments, and record them in the catalog.

Each clip is its own transaction and its own failure record: a missing file, a text file named
.mp4 or an unreadable folder is stored with its reason and the batch goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ltvad_search.config import VideoConfig
from ltvad_search.records import Failure, clip_id_for
from ltvad_search.store import Catalog
from ltvad_search.video import VideoError, probe, split


@dataclass(frozen=True, slots=True)
class Found:
    """A path discovery turned up, or a reason it could not look there."""

    path: Path
    error: str | None = None


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    skipped: int = 0
    failed: list[Failure] = field(default_factory=list)


def discover(paths: Iterable[str | Path], extensions: tuple[str, ...]) -> Iterator[Found]:
    """Files named directly are taken as they are; folders are walked for the given extensions."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            yield from _walk(path, extensions)
        elif path.exists():
            yield Found(path)
        else:
            yield Found(path, "path does not exist")


def _walk(root: Path, extensions: tuple[str, ...]) -> Iterator[Found]:
    errors: list[OSError] = []
    if not os.access(root, os.R_OK | os.X_OK):
        yield Found(root, "folder is not readable (permission denied)")
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(extensions) and not name.startswith("."):
                yield Found(Path(dirpath) / name)
        while errors:
            err = errors.pop()
            yield Found(Path(err.filename or root), f"folder is not readable ({err.strerror})")
    while errors:
        err = errors.pop()
        yield Found(Path(err.filename or root), f"folder is not readable ({err.strerror})")


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
