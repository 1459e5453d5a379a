"""The catalog's tables, its errors, and how rows become records.

Every table module (`clips`, `results`, `ledger`) works on one connection through `Tables`, which
`store.Catalog` opens; the split is by table so that no file holds the whole catalog.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from ltvad_search.records import Clip, Description, Segment, SegmentScore

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clips (
    clip_id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE, duration_s REAL NOT NULL,
    fps REAL NOT NULL, frame_count INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL, container TEXT NOT NULL, ingested_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    segment_id TEXT PRIMARY KEY, clip_id TEXT NOT NULL REFERENCES clips(clip_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, k INTEGER NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL,
    sample_times TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS segments_by_clip ON segments(clip_id, k);
CREATE TABLE IF NOT EXISTS descriptions (
    segment_id TEXT NOT NULL REFERENCES segments(segment_id) ON DELETE CASCADE,
    describer TEXT NOT NULL, prompt_id TEXT NOT NULL, text TEXT NOT NULL, seconds REAL NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (segment_id, describer));
CREATE TABLE IF NOT EXISTS scores (
    segment_id TEXT NOT NULL REFERENCES segments(segment_id) ON DELETE CASCADE,
    describer TEXT NOT NULL, scorer TEXT NOT NULL, prompt_id TEXT NOT NULL,
    score REAL, written REAL, raw TEXT NOT NULL, seconds REAL NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (segment_id, describer, scorer));
CREATE TABLE IF NOT EXISTS labels (
    clip_id TEXT NOT NULL REFERENCES clips(clip_id) ON DELETE CASCADE, origin TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label IN (0, 1)), category INTEGER, subtype TEXT,
    updated_at REAL NOT NULL, PRIMARY KEY (clip_id, origin));
CREATE TABLE IF NOT EXISTS failures (
    item_id TEXT NOT NULL, stage TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1, updated_at REAL NOT NULL, PRIMARY KEY (item_id, stage));
CREATE TABLE IF NOT EXISTS merged_shards (
    name TEXT PRIMARY KEY, rows INTEGER NOT NULL, merged_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL,
    config TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}');
"""



class StoreError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class ScoredSegment:
    """A segment joined with its description and score, as ranking and search show it."""

    segment: Segment
    source: str
    description: str
    score: float | None
    raw: str = ""  # the scorer's answer as stored (a checklist's per-question P(Yes)); ranking reads it


class Tables:
    """What every table module needs: the connection, and a write transaction on it."""

    path: object
    _db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError


def in_chunks(values: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """`values` in slices small enough to bind in one statement (SQLite caps bound parameters),
    each with its "?,?,..." placeholder list for an IN (...)."""
    for start in range(0, len(values), size):
        chunk = values[start: start + size]
        yield chunk, ",".join("?" * len(chunk))


def looks_like_id(ref: str) -> bool:
    return len(ref) == 36 and ref.count("-") == 4


def clip_row(r: sqlite3.Row) -> Clip:
    return Clip(clip_id=r["clip_id"], source=r["source"], duration_s=r["duration_s"], fps=r["fps"],
                frame_count=r["frame_count"], width=r["width"], height=r["height"],
                size_bytes=r["size_bytes"], container=r["container"])


def segment_row(r: sqlite3.Row) -> Segment:
    return Segment(segment_id=r["segment_id"], clip_id=r["clip_id"], index=r["idx"], k=r["k"],
                   start_s=r["start_s"], end_s=r["end_s"],
                   sample_times=tuple(json.loads(r["sample_times"])))


def segment_row_light(r: sqlite3.Row) -> Segment:
    """A segment without its sample times (not needed to list it, and costly to parse in bulk)."""
    return Segment(segment_id=r["segment_id"], clip_id=r["clip_id"], index=r["idx"], k=r["k"],
                   start_s=r["start_s"], end_s=r["end_s"], sample_times=())


def description_row(r: sqlite3.Row) -> Description:
    return Description(segment_id=r["segment_id"], text=r["text"], describer=r["describer"],
                       prompt_id=r["prompt_id"], seconds=r["seconds"])


def score_row(r: sqlite3.Row) -> SegmentScore:
    return SegmentScore(segment_id=r["segment_id"], score=r["score"], written=r["written"],
                        raw=r["raw"], scorer=r["scorer"], prompt_id=r["prompt_id"], seconds=r["seconds"])
