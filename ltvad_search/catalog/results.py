"""Descriptions (stage 1) and scores (stage 2), keyed by the describer and scorer that wrote them, so
ablations that change only stage 2 reuse stored descriptions."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from ltvad_search.catalog.clips import ClipTables
from ltvad_search.catalog.schema import (
    ScoredSegment,
    description_row,
    in_chunks,
    score_row,
    segment_row,
    segment_row_light,
)
from ltvad_search.records import Description, Segment, SegmentScore


class ResultTables(ClipTables):

    def pending_descriptions(self, describer: str, k: int) -> list[Segment]:
        rows = self._db.execute(
            "SELECT s.* FROM segments s WHERE s.k = ? AND NOT EXISTS (SELECT 1 FROM descriptions d "
            "WHERE d.segment_id = s.segment_id AND d.describer = ?) ORDER BY s.clip_id, s.idx",
            (k, describer),
        )
        return [segment_row(r) for r in rows]

    def add_descriptions(self, descriptions: Iterable[Description]) -> None:
        with self.transaction() as db:
            self._put_descriptions(db, descriptions)

    @staticmethod
    def _put_descriptions(db: sqlite3.Connection, descriptions: Iterable[Description]) -> None:
        rows = [(d.segment_id, d.describer, d.prompt_id, d.text, d.seconds, time.time())
                for d in descriptions]
        db.executemany("INSERT OR REPLACE INTO descriptions VALUES (?,?,?,?,?,?)", rows)
        db.executemany("DELETE FROM failures WHERE item_id = ? AND stage = 'describe'", [(r[0],) for r in rows])

    def descriptions(self, describer: str, k: int | None = None) -> list[Description]:
        sql = ("SELECT d.* FROM descriptions d JOIN segments s USING (segment_id) "
               "WHERE d.describer = ?" + (" AND s.k = ?" if k is not None else "") +
               " ORDER BY s.clip_id, s.idx")
        args = (describer, k) if k is not None else (describer,)
        return [description_row(r) for r in self._db.execute(sql, args)]

    def describers(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT describer FROM descriptions ORDER BY 1")]

    def pending_scores(self, describer: str, scorer: str, k: int) -> list[Description]:
        rows = self._db.execute(
            "SELECT d.* FROM descriptions d JOIN segments s USING (segment_id) "
            "WHERE d.describer = ? AND s.k = ? AND NOT EXISTS (SELECT 1 FROM scores x WHERE "
            "x.segment_id = d.segment_id AND x.describer = d.describer AND x.scorer = ? "
            "AND x.score IS NOT NULL) ORDER BY s.clip_id, s.idx",
            (describer, k, scorer),
        )
        return [description_row(r) for r in rows]

    def add_scores(self, describer: str, scores: Iterable[SegmentScore]) -> None:
        with self.transaction() as db:
            self._put_scores(db, describer, scores)

    @staticmethod
    def _put_scores(db: sqlite3.Connection, describer: str, scores: Iterable[SegmentScore]) -> None:
        rows = [(s.segment_id, describer, s.scorer, s.prompt_id, s.score, s.written, s.raw,
                 s.seconds, time.time()) for s in scores]
        db.executemany("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("DELETE FROM failures WHERE item_id = ? AND stage = 'score'",
                       [(r[0],) for r in rows if r[4] is not None])

    def scores(self, describer: str, scorer: str, k: int | None = None) -> list[SegmentScore]:
        sql = ("SELECT x.* FROM scores x JOIN segments s USING (segment_id) WHERE x.describer = ? "
               "AND x.scorer = ?" + (" AND s.k = ?" if k is not None else "") +
               " ORDER BY s.clip_id, s.idx")
        args: tuple[Any, ...] = (describer, scorer) + ((k,) if k is not None else ())
        return [score_row(r) for r in self._db.execute(sql, args)]

    def scored_segments(self, describer: str, scorer: str, k: int, *, written: bool = False) -> list[ScoredSegment]:
        """Every segment of the given K with its description and score (None where missing);
        `written` takes the value the model wrote instead of the expected value."""
        column = "x.written" if written else "x.score"
        rows = self._db.execute(
            f"SELECT s.*, c.source, d.text, {column} AS score, x.raw FROM segments s JOIN clips c USING (clip_id) "
            "JOIN descriptions d ON d.segment_id = s.segment_id AND d.describer = ? "
            "LEFT JOIN scores x ON x.segment_id = s.segment_id AND x.describer = d.describer "
            "AND x.scorer = ? WHERE s.k = ? ORDER BY s.clip_id, s.idx",
            (describer, scorer, k),
        )
        return [ScoredSegment(segment_row(r), r["source"], r["text"], r["score"], r["raw"] or "") for r in rows]

    def top_segments(self, describer: str, scorer: str, k: int) -> list[tuple[ScoredSegment, str]]:
        """Each scored clip's highest-scoring segment (first segment on ties), best clip first.

        The same max-pool as `scoring.max_pool`, done in SQL so the UI lists 10,000 clips without
        building 20,000 Python records; `tests` hold the two to the same answer.
        """
        rows = self._db.execute(
            "SELECT * FROM (SELECT s.*, c.source, d.text, x.score, x.raw, ROW_NUMBER() OVER (PARTITION BY s.clip_id "
            "ORDER BY x.score DESC, s.idx) AS rn FROM segments s JOIN clips c USING (clip_id) "
            "JOIN descriptions d ON d.segment_id = s.segment_id AND d.describer = ? "
            "JOIN scores x ON x.segment_id = s.segment_id AND x.describer = d.describer AND x.scorer = ? "
            "AND x.score IS NOT NULL WHERE s.k = ?) WHERE rn = 1 ORDER BY score DESC, source",
            (describer, scorer, k))
        return [(ScoredSegment(segment_row_light(r), r["source"], r["text"], r["score"], r["raw"]), r["clip_id"])
                for r in rows]

    def scored_segments_by_id(self, ids: list[str], describer: str, scorer: str) -> dict[str, ScoredSegment]:
        """The same join for chosen segments (search hits), whatever their K."""
        out: dict[str, ScoredSegment] = {}
        for chunk, marks in in_chunks(ids):
            rows = self._db.execute(
                "SELECT s.*, c.source, d.text, x.score, x.raw FROM segments s JOIN clips c USING (clip_id) "
                "JOIN descriptions d ON d.segment_id = s.segment_id AND d.describer = ? "
                "LEFT JOIN scores x ON x.segment_id = s.segment_id AND x.describer = d.describer "
                f"AND x.scorer = ? WHERE s.segment_id IN ({marks})", (describer, scorer, *chunk))
            for r in rows:
                out[r["segment_id"]] = ScoredSegment(segment_row(r), r["source"], r["text"], r["score"], r["raw"] or "")
        return out

    def answers(self, ids: list[str], describer: str, scorer: str) -> dict[str, str]:
        """The stored raw answers of chosen segments (search reads the checklist's per question)."""
        out: dict[str, str] = {}
        for chunk, marks in in_chunks(ids):
            out.update(self._db.execute(
                f"SELECT segment_id, raw FROM scores WHERE describer = ? AND scorer = ? AND segment_id IN ({marks})",
                (describer, scorer, *chunk)).fetchall())
        return out

    def categories(self) -> dict[str, int]:
        """Taxonomy category per clip: a human label wins over a pseudo-label."""
        rows = self._db.execute(
            "SELECT clip_id, category FROM labels WHERE category IS NOT NULL "
            "ORDER BY CASE origin WHEN 'human' THEN 1 ELSE 0 END")
        return {r["clip_id"]: r["category"] for r in rows}
