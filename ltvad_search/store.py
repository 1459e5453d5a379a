"""The embedded catalog: one SQLite file that every stage reads from and writes to.

WAL mode lets the UI read while a run writes. Every write that belongs together (a clip and its
segments, a batch of descriptions) is one transaction, so a killed process leaves either all of it or
none of it, and a rerun simply picks up what is missing. Descriptions are keyed by the describer
that wrote them and scores by (describer, scorer), so ablations that change only stage 2 reuse
stored descriptions.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltvad_search.records import Clip, Description, Failure, Label, Segment, SegmentScore

SCHEMA_VERSION = 1

_SCHEMA = """
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


class Catalog:
    """A connection to the catalog file. Open one per thread or process."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise StoreError(f"{self.path}: no catalog here yet (run `ltvad ingest` first)")
            uri = f"file:{self.path.resolve()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        else:
            self._check_version()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row["value"]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {row['value']} is newer than this ltvad "
                    f"({SCHEMA_VERSION}); upgrade ltvad-search"
                )

    def _check_version(self) -> None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            self._db.close()
            raise StoreError(f"{self.path}: not an ltvad catalog (or still being created)") from None
        if row is None or int(row["value"]) != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: unexpected schema version {row and row['value']}")

    # -- clips and segments -------------------------------------------------------------------

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
        return _clip(row) if row else None

    def find_clip(self, ref: str) -> Clip | None:
        """A clip by id, by source path, or by a unique id prefix (what a user types)."""
        resolved = str(Path(ref).expanduser().resolve()) if not _looks_like_id(ref) else ref
        row = self._db.execute(
            "SELECT * FROM clips WHERE clip_id = ? OR source = ? OR source = ?", (ref, ref, resolved)
        ).fetchone()
        if row is None and len(ref) >= 6:
            rows = self._db.execute("SELECT * FROM clips WHERE clip_id LIKE ?", (ref + "%",)).fetchall()
            row = rows[0] if len(rows) == 1 else None
        return _clip(row) if row else None

    def clips(self) -> list[Clip]:
        return [_clip(r) for r in self._db.execute("SELECT * FROM clips ORDER BY source")]

    def segments(self, *, k: int | None = None, clip_id: str | None = None) -> list[Segment]:
        sql, args = "SELECT * FROM segments WHERE 1=1", []
        if k is not None:
            sql, args = sql + " AND k = ?", [*args, k]
        if clip_id is not None:
            sql, args = sql + " AND clip_id = ?", [*args, clip_id]
        return [_segment(r) for r in self._db.execute(sql + " ORDER BY clip_id, idx", args)]

    def segment(self, segment_id: str) -> Segment | None:
        row = self._db.execute("SELECT * FROM segments WHERE segment_id = ?", (segment_id,)).fetchone()
        return _segment(row) if row else None

    def clips_without_segments(self, k: int) -> list[Clip]:
        rows = self._db.execute(
            "SELECT * FROM clips c WHERE NOT EXISTS "
            "(SELECT 1 FROM segments s WHERE s.clip_id = c.clip_id AND s.k = ?) ORDER BY source",
            (k,),
        )
        return [_clip(r) for r in rows]

    # -- descriptions and scores --------------------------------------------------------------

    def pending_descriptions(self, describer: str, k: int) -> list[Segment]:
        rows = self._db.execute(
            "SELECT s.* FROM segments s WHERE s.k = ? AND NOT EXISTS (SELECT 1 FROM descriptions d "
            "WHERE d.segment_id = s.segment_id AND d.describer = ?) ORDER BY s.clip_id, s.idx",
            (k, describer),
        )
        return [_segment(r) for r in rows]

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
        return [_description(r) for r in self._db.execute(sql, args)]

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
        return [_description(r) for r in rows]

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
        return [_score(r) for r in self._db.execute(sql, args)]

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
        return [ScoredSegment(_segment(r), r["source"], r["text"], r["score"], r["raw"] or "") for r in rows]

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
        return [(ScoredSegment(_segment_light(r), r["source"], r["text"], r["score"], r["raw"]), r["clip_id"])
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
                out[r["segment_id"]] = ScoredSegment(_segment(r), r["source"], r["text"], r["score"], r["raw"] or "")
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

    # -- labels -------------------------------------------------------------------------------

    def put_labels(self, labels: Iterable[Label]) -> None:
        rows = [(lb.clip_id, lb.origin, lb.label, lb.category, lb.subtype, time.time()) for lb in labels]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO labels VALUES (?,?,?,?,?,?)", rows)

    def labels(self, origin: str = "human") -> list[Label]:
        rows = self._db.execute("SELECT * FROM labels WHERE origin = ? ORDER BY clip_id", (origin,))
        return [Label(clip_id=r["clip_id"], label=r["label"], category=r["category"],
                      subtype=r["subtype"], origin=r["origin"]) for r in rows]

    # -- failures -----------------------------------------------------------------------------

    def record_failure(self, failure: Failure) -> None:
        with self.transaction() as db:
            self._put_failure(db, failure)

    @staticmethod
    def _put_failure(db: sqlite3.Connection, failure: Failure) -> None:
        db.execute(
            "INSERT INTO failures VALUES (?,?,?,?,1,?) ON CONFLICT (item_id, stage) DO UPDATE "
            "SET reason = excluded.reason, source = excluded.source, "
            "attempts = attempts + 1, updated_at = excluded.updated_at",
            (failure.item_id, failure.stage, failure.source, failure.reason, time.time()),
        )

    # -- results computed elsewhere (Ray shards) ----------------------------------------------

    def merge_shard(self, name: str, rows: int, *, clips: Sequence[tuple[Clip, Sequence[Segment]]],
                    descriptions: Sequence[Description], scores: Sequence[tuple[str, SegmentScore]],
                    failures: Sequence[Failure]) -> bool:
        """One shard of results in one transaction, at most once: False when `name` was merged before.

        Failures go in first, so a success in the same shard clears its own earlier failure.
        Existing clips are kept as they are (INSERT OR IGNORE), never replaced.
        """
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM merged_shards WHERE name = ?", (name,)).fetchone():
                return False
            for failure in failures:
                self._put_failure(db, failure)
            for clip, segments in clips:
                self._put_clip(db, clip, segments, replace=False)
            self._put_descriptions(db, descriptions)
            by_describer: dict[str, list[SegmentScore]] = {}
            for describer, score in scores:
                by_describer.setdefault(describer, []).append(score)
            for describer, group in by_describer.items():
                self._put_scores(db, describer, group)
            db.execute("INSERT INTO merged_shards VALUES (?,?,?)", (name, rows, time.time()))
        return True

    def merged_shards(self) -> set[str]:
        try:
            return {r[0] for r in self._db.execute("SELECT name FROM merged_shards")}
        except sqlite3.OperationalError:  # a read-only catalog made before shards existed
            return set()

    def done_segments(self, describer: str, scorer: str, k: int) -> set[str]:
        """Segments of K with a description and a readable score under these keys: what a rerun skips."""
        rows = self._db.execute(
            "SELECT x.segment_id FROM scores x JOIN segments s USING (segment_id) WHERE s.k = ? "
            "AND x.describer = ? AND x.scorer = ? AND x.score IS NOT NULL", (k, describer, scorer))
        return {r[0] for r in rows}

    def failures(self, stage: str | None = None) -> list[tuple[Failure, int]]:
        sql = "SELECT * FROM failures" + (" WHERE stage = ?" if stage else "") + " ORDER BY stage, source"
        rows = self._db.execute(sql, (stage,) if stage else ())
        return [(Failure(item_id=r["item_id"], stage=r["stage"], source=r["source"], reason=r["reason"]),
                 r["attempts"]) for r in rows]

    # -- runs and status ----------------------------------------------------------------------

    def start_run(self, command: str, config: dict[str, Any], details: dict[str, Any]) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self.transaction() as db:
            db.execute("INSERT INTO runs VALUES (?,?,?,NULL,?,?)",
                       (run_id, command, time.time(), json.dumps(config, default=str),
                        json.dumps(details, default=str)))
        return run_id

    def finish_run(self, run_id: str, details: dict[str, Any]) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT details FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            merged = {**json.loads(row["details"]), **details} if row else details
            db.execute("UPDATE runs SET finished_at = ?, details = ? WHERE run_id = ?",
                       (time.time(), json.dumps(merged, default=str), run_id))

    def note_run(self, run_id: str, details: dict[str, Any]) -> None:
        """Merge `details` into an unfinished run's (the stage it is in), so a crash leaves them behind."""
        with self.transaction() as db:
            row = db.execute("SELECT details FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            merged = {**json.loads(row["details"]), **details} if row else details
            db.execute("UPDATE runs SET details = ? WHERE run_id = ?", (json.dumps(merged, default=str), run_id))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY started_at DESC")
        return [{**dict(r), "config": json.loads(r["config"]), "details": json.loads(r["details"])}
                for r in rows]

    def counts(self) -> dict[str, int]:
        def one(sql: str) -> int:
            return int(self._db.execute(sql).fetchone()[0])

        return {
            "clips": one("SELECT COUNT(*) FROM clips"),
            "segments": one("SELECT COUNT(*) FROM segments"),
            "descriptions": one("SELECT COUNT(*) FROM descriptions"),
            "scores": one("SELECT COUNT(*) FROM scores WHERE score IS NOT NULL"),
            "labels": one("SELECT COUNT(*) FROM labels"),
            "failures": one("SELECT COUNT(*) FROM failures"),
        }


def in_chunks(values: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """`values` in slices small enough to bind in one statement (SQLite caps bound parameters),
    each with its "?,?,..." placeholder list for an IN (...)."""
    for start in range(0, len(values), size):
        chunk = values[start: start + size]
        yield chunk, ",".join("?" * len(chunk))


def _looks_like_id(ref: str) -> bool:
    return len(ref) == 36 and ref.count("-") == 4


def _clip(r: sqlite3.Row) -> Clip:
    return Clip(clip_id=r["clip_id"], source=r["source"], duration_s=r["duration_s"], fps=r["fps"],
                frame_count=r["frame_count"], width=r["width"], height=r["height"],
                size_bytes=r["size_bytes"], container=r["container"])


def _segment(r: sqlite3.Row) -> Segment:
    return Segment(segment_id=r["segment_id"], clip_id=r["clip_id"], index=r["idx"], k=r["k"],
                   start_s=r["start_s"], end_s=r["end_s"],
                   sample_times=tuple(json.loads(r["sample_times"])))


def _segment_light(r: sqlite3.Row) -> Segment:
    """A segment without its sample times (not needed to list it, and costly to parse in bulk)."""
    return Segment(segment_id=r["segment_id"], clip_id=r["clip_id"], index=r["idx"], k=r["k"],
                   start_s=r["start_s"], end_s=r["end_s"], sample_times=())


def _description(r: sqlite3.Row) -> Description:
    return Description(segment_id=r["segment_id"], text=r["text"], describer=r["describer"],
                       prompt_id=r["prompt_id"], seconds=r["seconds"])


def _score(r: sqlite3.Row) -> SegmentScore:
    return SegmentScore(segment_id=r["segment_id"], score=r["score"], written=r["written"],
                        raw=r["raw"], scorer=r["scorer"], prompt_id=r["prompt_id"], seconds=r["seconds"])
