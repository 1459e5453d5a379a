"""Results computed away from the catalog (Ray workers) travel as Parquet shards, then merge.

One shard holds one batch: a row per segment (or per clip that failed before it had segments),
each carrying the typed records it produced as JSON (`records.to_json`), so the catalog gets
exactly what the local runner would have written. Shards are written to a temporary name and
renamed, so a killed worker leaves either a whole shard or none. A shard's name is a hash of
what it holds: writing the same results twice gives the same file.

Merging is idempotent twice over: every catalog write is keyed by id, and each shard's name is
recorded in the same transaction as its rows, so `ltvad merge` can run any number of times.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltvad_search.catalog import Catalog
from ltvad_search.records import Clip, Description, Failure, Segment, SegmentScore, from_json

# Column name -> Arrow type name. Empty strings mean "none" so every shard has one schema.
COLUMNS: dict[str, str] = {
    "segment_id": "string", "clip_id": "string", "source": "string", "clip": "string", "segment": "string",
    "describer": "string", "description": "string", "score": "string", "failure": "string",
    "retried": "int64", "decode_s": "float64", "describe_s": "float64", "score_s": "float64",
}
SUFFIX = ".parquet"


class ShardError(RuntimeError):
    pass


def _arrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ShardError("result shards need pyarrow: pip install 'ltvad-search[ray]'") from None
    return pa, pq


def shard_name(rows: Sequence[dict[str, Any]]) -> str:
    """Named by what it holds (ids and results, not timings): a batch redone after a failure gets a
    new name and is merged; the same results written twice get one name and are merged once."""
    keys = sorted("|".join(str(r[c]) for c in ("segment_id", "clip_id", "describer", "description", "score",
                                                "failure")) for r in rows)
    return hashlib.sha1("\n".join(keys).encode()).hexdigest()[:20] + SUFFIX


def write_shard(folder: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows (dicts with COLUMNS) to `folder` atomically; returns the shard's path."""
    pa, pq = _arrow()
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in COLUMNS.items()])
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=schema)
    path = folder / shard_name(rows)
    tmp = folder / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def shard_paths(folder: Path) -> list[Path]:
    """Finished shards, oldest first, so a later success overrides an earlier failure on merge."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.suffix == SUFFIX and not p.name.startswith(".")),
                  key=lambda p: (p.stat().st_mtime, p.name))


def read_shard(path: Path) -> list[dict[str, Any]]:
    _, pq = _arrow()
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise ShardError(f"{path}: not a readable shard ({type(e).__name__}: {e})") from None
    missing = set(COLUMNS) - set(table.column_names)
    if missing:
        raise ShardError(f"{path}: not a result shard (missing columns {sorted(missing)})")
    return table.to_pylist()


@dataclass(slots=True)
class MergeReport:
    merged: int = 0
    already: int = 0
    rows: int = 0
    unreadable: list[str] = field(default_factory=list)


def merge(catalog: Catalog, folder: Path) -> MergeReport:
    """Merge every shard under `folder` not merged before; unreadable shards are reported, not fatal."""
    done = catalog.merged_shards()
    paths = shard_paths(folder)
    report = merge_files(catalog, [p for p in paths if p.name not in done])
    report.already += sum(p.name in done for p in paths)
    return report


def merge_files(catalog: Catalog, paths: Sequence[Path]) -> MergeReport:
    """Merge the given shards (a run merges each one as its worker reports it)."""
    report = MergeReport()
    for path in paths:
        try:
            rows = read_shard(path)
        except ShardError as e:
            report.unreadable.append(str(e))
            continue
        if catalog.merge_shard(path.name, len(rows), **_records(rows)):
            report.merged += 1
            report.rows += len(rows)
        else:
            report.already += 1
    return report


def _records(rows: list[dict[str, Any]]) -> dict[str, Any]:
    segments: dict[str, list[Segment]] = {}
    clips: dict[str, Clip] = {}
    descriptions, scores, failures = [], [], []
    for r in rows:
        if r["clip"]:
            clip = from_json(Clip, r["clip"])
            clips[clip.clip_id] = clip
            segments.setdefault(clip.clip_id, [])
        if r["segment"]:
            segment = from_json(Segment, r["segment"])
            segments.setdefault(segment.clip_id, []).append(segment)
        if r["description"]:
            descriptions.append(from_json(Description, r["description"]))
        if r["score"]:
            scores.append((r["describer"], from_json(SegmentScore, r["score"])))
        if r["failure"]:
            failures.append(from_json(Failure, r["failure"]))
    return {"clips": [(clip, segments.get(cid, [])) for cid, clip in clips.items()],
            "descriptions": descriptions, "scores": scores, "failures": failures}

