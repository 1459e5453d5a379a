"""The catalog's bookkeeping: labels, failures, merged Ray shards, and runs."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from ltvad_search.catalog.results import ResultTables
from ltvad_search.records import Clip, Description, Failure, Label, RunRecord, Segment, SegmentScore


class LedgerTables(ResultTables):

    def put_labels(self, labels: Iterable[Label]) -> None:
        rows = [(lb.clip_id, lb.origin, lb.label, lb.category, lb.subtype, time.time()) for lb in labels]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO labels VALUES (?,?,?,?,?,?)", rows)

    def labels(self, origin: str = "human") -> list[Label]:
        rows = self._db.execute("SELECT * FROM labels WHERE origin = ? ORDER BY clip_id", (origin,))
        return [Label(clip_id=r["clip_id"], label=r["label"], category=r["category"],
                      subtype=r["subtype"], origin=r["origin"]) for r in rows]


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

    def start_run(self, command: str, config: dict[str, Any], details: dict[str, Any]) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self.transaction() as db:
            db.execute("INSERT INTO runs VALUES (?,?,?,NULL,?,?)",
                       (run_id, command, time.time(), json.dumps(config, default=str),
                        json.dumps(details, default=str)))
        return run_id

    def finish_run(self, run_id: str, details: dict[str, Any]) -> None:
        self._merge_details(run_id, details, finished=True)

    def note_run(self, run_id: str, details: dict[str, Any]) -> None:
        """Merge `details` into an unfinished run's (the stage it is in), so a crash leaves them behind."""
        self._merge_details(run_id, details, finished=False)

    def _merge_details(self, run_id: str, details: dict[str, Any], *, finished: bool) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT details FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            merged = json.dumps({**json.loads(row["details"]), **details} if row else details, default=str)
            if finished:
                db.execute("UPDATE runs SET finished_at = ?, details = ? WHERE run_id = ?",
                           (time.time(), merged, run_id))
            else:
                db.execute("UPDATE runs SET details = ? WHERE run_id = ?", (merged, run_id))

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """Every run, newest first; the newest `limit` only, when given."""
        rows = self._db.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?",
                                (-1 if limit is None else limit,))  # SQLite: LIMIT -1 is no limit
        return [RunRecord(run_id=r["run_id"], command=r["command"], started_at=r["started_at"],
                          finished_at=r["finished_at"], config=json.loads(r["config"]),
                          details=json.loads(r["details"])) for r in rows]
