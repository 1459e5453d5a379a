"""Clips and their segments: what ingest writes and every stage reads."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from ltvad_search.catalog.schema import Tables, clip_row, looks_like_id, segment_row
from ltvad_search.records import Clip, Segment


class ClipTables(Tables):

    def add_clip(self, clip: Clip, segments: Sequence[Segment]) -> None:
        """A clip and its segments land together, and any earlier ingest failure is cleared."""
        with self.transaction() as db:
            self._put_clip(db, clip, segments, replace=True)

    @classmethod
    def _put_clip(cls, db: sqlite3.Connection, clip: Clip, segments: Sequence[Segment], *, replace: bool) -> None:
        db.execute(
            f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO clips VALUES (?,?,?,?,?,?,?,?,?,?)",
            (clip.clip_id, clip.source, clip.duration_s, clip.fps, clip.frame_count,
             clip.width, clip.height, clip.size_bytes, clip.container, time.time()),
        )
        cls._put_segments(db, segments)
        db.execute("DELETE FROM failures WHERE item_id = ? AND stage = 'ingest'", (clip.clip_id,))

    def add_segments(self, segments: Sequence[Segment]) -> None:
        with self.transaction() as db:
            self._put_segments(db, segments)

    @staticmethod
    def _put_segments(db: sqlite3.Connection, segments: Sequence[Segment]) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO segments VALUES (?,?,?,?,?,?,?)",
            [(s.segment_id, s.clip_id, s.index, s.k, s.start_s, s.end_s, json.dumps(s.sample_times))
             for s in segments],
        )

    def has_clip(self, clip_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM clips WHERE clip_id = ?", (clip_id,)).fetchone() is not None

    def clip(self, clip_id: str) -> Clip | None:
        row = self._db.execute("SELECT * FROM clips WHERE clip_id = ?", (clip_id,)).fetchone()
        return clip_row(row) if row else None

    def find_clip(self, ref: str) -> Clip | None:
        """A clip by id, by source path, or by a unique id prefix (what a user types)."""
        resolved = str(Path(ref).expanduser().resolve()) if not looks_like_id(ref) else ref
        row = self._db.execute(
            "SELECT * FROM clips WHERE clip_id = ? OR source = ? OR source = ?", (ref, ref, resolved)
        ).fetchone()
        if row is None and len(ref) >= 6:
            rows = self._db.execute("SELECT * FROM clips WHERE clip_id LIKE ?", (ref + "%",)).fetchall()
            row = rows[0] if len(rows) == 1 else None
        return clip_row(row) if row else None

    def clips(self) -> list[Clip]:
        return [clip_row(r) for r in self._db.execute("SELECT * FROM clips ORDER BY source")]

    def segments(self, *, k: int | None = None, clip_id: str | None = None) -> list[Segment]:
        sql, args = "SELECT * FROM segments WHERE 1=1", list[object]()
        if k is not None:
            sql, args = sql + " AND k = ?", [*args, k]
        if clip_id is not None:
            sql, args = sql + " AND clip_id = ?", [*args, clip_id]
        return [segment_row(r) for r in self._db.execute(sql + " ORDER BY clip_id, idx", args)]

    def segment(self, segment_id: str) -> Segment | None:
        row = self._db.execute("SELECT * FROM segments WHERE segment_id = ?", (segment_id,)).fetchone()
        return segment_row(row) if row else None

    def clips_without_segments(self, k: int) -> list[Clip]:
        rows = self._db.execute(
            "SELECT * FROM clips c WHERE NOT EXISTS "
            "(SELECT 1 FROM segments s WHERE s.clip_id = c.clip_id AND s.k = ?) ORDER BY source",
            (k,),
        )
        return [clip_row(r) for r in rows]
