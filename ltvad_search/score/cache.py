"""Stage-2 answers by (scorer key, description text): a text already scored is never sent again.

Quiet segments often get word-for-word the same description (the CPU describer writes one paragraph
for most routine driving), and ablations, reruns and `ltvad eval-text` score the same texts again.
A score depends only on the scorer configuration, the prompt wording and the text, which is exactly
the key here, so a hit is the answer the model would give. The cache is its own SQLite file beside
the catalog (`<store.root>/score_cache.sqlite`): it outlives a catalog rebuilt from scratch, text
commands use it without a catalog, and losing it costs only time.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from ltvad_search.catalog.schema import in_chunks
from ltvad_search.records import SegmentScore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS score_cache (
    scorer TEXT NOT NULL, text_sha256 TEXT NOT NULL, prompt_id TEXT NOT NULL,
    score REAL NOT NULL, written REAL, raw TEXT NOT NULL, seconds REAL NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (scorer, text_sha256));
"""


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ScoreCache:
    """One connection to the cache file; open one per process (Ray actors each open their own)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, scorer: str, texts: Sequence[str]) -> dict[str, SegmentScore]:
        """Cached answers for those of `texts` scored before under `scorer`, by text; their segment id
        is empty (the caller gives each its own) and their cost is the original one."""
        wanted = {text_digest(t): t for t in texts}
        found: dict[str, SegmentScore] = {}
        for chunk, marks in in_chunks(list(wanted)):
            rows = self._db.execute(f"SELECT * FROM score_cache WHERE scorer = ? AND text_sha256 IN ({marks})",
                                    (scorer, *chunk))
            for r in rows:
                found[wanted[r[1]]] = SegmentScore(segment_id="", score=r[3], written=r[4], raw=r[5], scorer=scorer,
                                                   prompt_id=r[2], seconds=r[6])
        return found

    def put(self, scorer: str, items: Iterable[tuple[str, SegmentScore]]) -> int:
        """Remember (text, score) pairs under `scorer`; answers without a score are not kept, so they
        are asked again. Returns how many were written."""
        rows = [(scorer, text_digest(text), s.prompt_id, s.score, s.written, s.raw, s.seconds, time.time())
                for text, s in items if s.score is not None]
        if rows:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO score_cache VALUES (?,?,?,?,?,?,?,?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM score_cache").fetchone()[0])
