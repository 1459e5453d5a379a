"""The embedded catalog: one SQLite file that every stage reads from and writes to.

WAL mode lets the UI read while a run writes. Every write that belongs together (a clip and its
segments, a batch of descriptions) is one transaction, so a killed process leaves either all of it or
none of it, and a rerun simply picks up what is missing. Descriptions are keyed by the describer
that wrote them and scores by (describer, scorer), so ablations that change only stage 2 reuse
stored descriptions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ltvad_search.catalog.ledger import LedgerTables
from ltvad_search.catalog.schema import SCHEMA, SCHEMA_VERSION, StoreError


class Catalog(LedgerTables):
    """A connection to the catalog file: every table's reads and writes. Open one per thread or process."""

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
        self._db.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
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
