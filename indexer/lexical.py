"""The lexical half of search: BM25 over the same rows as the dense index (SQLite FTS5).

Cones, debris, officer, ambulance: words an engineer types are often exact cues that a small
embedding model blurs ("the car stops for a pedestrian crossing" and "a pedestrian runs out in front
of the car" sit close together in MiniLM's space). FTS5 ranks rows by BM25 with Porter stemming, so
"pedestrians" finds "pedestrian", and a word every description shares ("car") weighs little.

The table is a file inside each index version folder (`lexical.sqlite` beside `vectors.npy`), written
before the version is switched in: the dense and lexical indexes change together atomically, so a
crash at any point leaves both at the previous version and never out of step.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

FILE = "lexical.sqlite"

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS rows USING fts5(text, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS ids (rowid INTEGER PRIMARY KEY, row_id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, rows INTEGER NOT NULL) WITHOUT ROWID;
"""
# Per connection: the vocabulary of `rows` (to fill `terms`), and a scratch table that stems a word
# with the very tokenizer the index used ("stopping" -> "stop").
_TEMP = """
CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary USING fts5vocab(main, 'rows', 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.probe USING fts5(text, tokenize = 'porter unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.probe_terms USING fts5vocab(temp, 'probe', 'row');
"""

# A term found in more than this share of the rows is left out of the match (unless every term is):
# its BM25 weight is small (idf below ln 10) but its posting list is most of a query's work. At
# 100k descriptions, "car" is in 93% of the rows and "stop" in 36%; leaving them out takes a query
# from 165 ms to about 35 ms (bench/bench_retrieval.py measures both speed and precision).
# Small indexes are fast anyway and keep every term.
COMMON_SHARE = 0.1
COMMON_MIN_ROWS = 1000

# Words that carry no cue in a driving query; everything else is a term (BM25 weighs common ones low).
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into", "is", "it",
    "its", "of", "on", "or", "so", "that", "the", "their", "there", "they", "this", "to", "was", "were",
    "while", "with", "does", "do", "did", "show", "shows", "showing", "any", "some",
})
_WORD = re.compile(r"[A-Za-z0-9]+")


def terms(query: str) -> list[str]:
    """The query's searchable words, lowercased, stop words and repeats left out, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def match_expression(query: str) -> str | None:
    """An FTS5 query matching rows with any of the terms (BM25 rewards rows with more, rarer ones)."""
    words = terms(query)
    return " OR ".join(f'"{w}"' for w in words) if words else None


class LexicalIndex:
    """Rows (a description, or one of its sentences) by id, searchable by BM25."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            self._db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
        else:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.executescript(_SCHEMA)
        self._db.executescript(_TEMP)  # the temp schema is writable on a read-only connection too
        self._lock = threading.Lock()  # one query at a time on the connection (the probe table is shared)
        self._size: int | None = None
        self._counted = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'terms'").fetchone() is not None  # older files lack it

    @classmethod
    def in_memory(cls) -> LexicalIndex:
        """A throwaway index held in memory (SQLite's ":memory:"), for small working sets of text."""
        return cls(":memory:")

    @classmethod
    def copy(cls, source: Path | None, target: Path) -> LexicalIndex:
        """A writable index at `target`, starting from `source` (a previous version) when there is one."""
        if source is not None and source.exists():
            shutil.copyfile(source, target)
        return cls(target)

    def close(self) -> None:
        self._db.close()

    def apply(self, add: Iterable[tuple[str, str]], remove: Iterable[str]) -> None:
        """Remove rows, then add (or replace) rows, in one transaction."""
        db = self._db
        db.execute("BEGIN")
        try:
            for row_id in remove:
                found = db.execute("SELECT rowid FROM ids WHERE row_id = ?", (row_id,)).fetchone()
                if found:
                    db.execute("DELETE FROM rows WHERE rowid = ?", found)
                    db.execute("DELETE FROM ids WHERE rowid = ?", found)
            for row_id, text in add:
                found = db.execute("SELECT rowid FROM ids WHERE row_id = ?", (row_id,)).fetchone()
                if found:
                    db.execute("DELETE FROM rows WHERE rowid = ?", found)
                    db.execute("DELETE FROM ids WHERE rowid = ?", found)
                rowid = db.execute("INSERT INTO ids (row_id) VALUES (?)", (row_id,)).lastrowid
                db.execute("INSERT INTO rows (rowid, text) VALUES (?, ?)", (rowid, text))
            db.execute("DELETE FROM terms")
            db.execute("INSERT INTO terms SELECT term, doc FROM temp.vocabulary")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._size, self._counted = None, True

    def optimize(self) -> None:
        """Merge FTS5's segments (after a bulk build, queries touch one b-tree instead of many)."""
        self._db.execute("INSERT INTO rows(rows) VALUES ('optimize')")

    def ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT row_id FROM ids")}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM ids").fetchone()[0])

    def stem(self, word: str) -> str | None:
        """The word as the index stores it (Porter-stemmed, lowercased), or None for no token."""
        self._db.execute("DELETE FROM temp.probe")
        self._db.execute("INSERT INTO temp.probe (text) VALUES (?)", (word,))
        found = self._db.execute("SELECT term FROM temp.probe_terms").fetchone()
        return found[0] if found else None

    def rows_with(self, word: str) -> int:
        """How many rows contain the word (after stemming); 0 when the index has no term counts."""
        term = self.stem(word) if self._counted else None
        found = self._db.execute("SELECT rows FROM terms WHERE term = ?", (term,)).fetchone() if term else None
        return int(found[0]) if found else 0

    def telling(self, query: str, common: float = COMMON_SHARE) -> list[str]:
        """The query's terms that some rows have, without those in more than `common` of the rows
        (and more than COMMON_MIN_ROWS); all of them when no term is left."""
        words = terms(query)
        if self._size is None:
            self._size = len(self)
        limit = max(common * self._size, COMMON_MIN_ROWS)
        if self._size <= limit:
            return words
        rare = [w for w in words if 0 < self.rows_with(w) <= limit]  # a word no row has matches nothing
        return rare or words

    def search(self, query: str, k: int, *, common: float = COMMON_SHARE) -> list[tuple[str, float]]:
        """Up to k (row id, BM25 relevance) pairs, most relevant first; relevance is positive, larger
        is better (FTS5's bm25() is its negative). Terms in more than `common` of the rows are not
        matched on (1.0 keeps every term)."""
        with self._lock:
            expression = match_expression(" ".join(self.telling(query, common)))
            if expression is None:
                return []
            rows = self._db.execute(
                "SELECT ids.row_id, -bm25(rows) FROM rows JOIN ids ON ids.rowid = rows.rowid "
                "WHERE rows MATCH ? ORDER BY bm25(rows) LIMIT ?", (expression, k)).fetchall()
        return [(row_id, float(score)) for row_id, score in rows]

    def containing(self, phrase: str) -> set[str]:
        """Ids of the rows that hold every word of `phrase` (stemmed, stop words left out): what a
        "not ..." clause excludes. Empty for a phrase with no searchable word."""
        words = terms(phrase)
        if not words:
            return set()
        with self._lock:
            found = self._db.execute(
                "SELECT ids.row_id FROM rows JOIN ids ON ids.rowid = rows.rowid WHERE rows MATCH ?",
                (" AND ".join(f'"{w}"' for w in words),)).fetchall()
        return {row_id for (row_id,) in found}
