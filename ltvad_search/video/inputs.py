"""Where clips come from: files, folders, file lists and manifests, all resolved to paths.

A fleet export rarely arrives as one folder, so every command that takes clips accepts a mix of
video files, folders (walked for the configured extensions), text lists (one path per line) and
manifests (CSV or Parquet with a `uri`, `path` or `source` column). Relative entries in a list or
manifest are read relative to that file. Anything that cannot be read comes back as a `Found` with
its reason, so the caller records it and goes on.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LIST_SUFFIXES = (".txt", ".lst")
MANIFEST_SUFFIXES = (".csv", ".parquet")
MANIFEST_COLUMNS = ("uri", "path", "source")


@dataclass(frozen=True, slots=True)
class Found:
    """A path discovery turned up, or a reason it could not look there."""

    path: Path
    error: str | None = None


def discover(paths: Iterable[str | Path], extensions: tuple[str, ...]) -> Iterator[Found]:
    """Files named directly are taken as they are; folders are walked; lists and manifests are read."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            yield from _walk(path, extensions)
        elif not path.exists():
            yield Found(path, "path does not exist")
        elif path.suffix.lower() in LIST_SUFFIXES + MANIFEST_SUFFIXES:
            yield from _listed(path)
        else:
            yield Found(path)


def _listed(path: Path) -> Iterator[Found]:
    try:
        entries = _read_list(path) if path.suffix.lower() in LIST_SUFFIXES else _read_manifest(path)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        yield Found(path, f"cannot read this clip list: {e}")
        return
    for entry in entries:
        if entry.startswith("file://"):
            entry = entry.removeprefix("file://")
        elif "://" in entry:
            yield Found(Path(entry), "only local or mounted paths are supported (got a remote URI)")
            continue
        target = Path(entry).expanduser()
        target = target if target.is_absolute() else path.parent / target
        yield Found(target) if target.is_file() else Found(target, "path does not exist")


def _read_list(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _read_manifest(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("Parquet manifests need pyarrow: pip install 'ltvad-search[ray]'") from None
        table = pq.read_table(path)
        columns = {c.lower(): c for c in table.column_names}
        rows = None
        for name in MANIFEST_COLUMNS:
            if name in columns:
                rows = table.column(columns[name]).to_pylist()
                break
    else:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            columns = {c.strip().lower(): c for c in reader.fieldnames or ()}
            key = next((columns[n] for n in MANIFEST_COLUMNS if n in columns), None)
            rows = [r[key] for r in reader] if key else None
    if rows is None:
        raise ValueError(f"no column named one of {', '.join(MANIFEST_COLUMNS)} (found {', '.join(columns) or 'none'})")
    return [str(r).strip() for r in rows if r is not None and str(r).strip()]


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
