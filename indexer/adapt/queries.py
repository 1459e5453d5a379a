"""Search queries written by the local LLM for the store's own descriptions, cached by text.

The embedder never saw driving logs, so two wordings of one scene land apart. The label-free way to
adapt a retriever (GPL, InPars, Promptagator) is to have an LLM write the queries a person would
type for each passage of the collection, and to fine-tune on those (query, passage) pairs. This
module writes the queries; `indexer.adapt.tune` trains on them. No label is ever read.

Generation is the slow part (seconds per description on a laptop), so every answer is kept in a
SQLite file keyed like the score cache, by (generator, prompt version, text): a rerun, a second
store holding the same descriptions, or an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ltvad_search.score.base import Generator
from ltvad_search.score.cache import text_digest

PROMPT_ID = "search-queries@2"  # change it when PROMPT changes: cached answers are keyed by it
PROMPT = (
    "A person searches a large archive of dashcam videos by typing short queries. For each video "
    "description, write {n} different queries (3 to 10 words) that should find that video: the first about "
    "its main event, the others about other things that happen or are visible, each worded differently from "
    "the description. Only name what the description says.\n\n"
    "Description: The car waits at a green light because a long freight train is crossing ahead. The gates "
    "are down and their lights flash.\n"
    "waiting for a train at a railroad crossing\n"
    "crossing gates down with flashing lights\n"
    "stopped at a green light for a passing train\n\n"
    "Description: {text}\n"
)
MAX_TOKENS_PER_QUERY = 30
_LINE = r'''line ::= word (" " word){2,9} "\n"
word ::= [A-Za-z0-9'-]{1,20}'''

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generated_queries (
    generator TEXT NOT NULL, prompt_id TEXT NOT NULL, text_sha256 TEXT NOT NULL,
    queries TEXT NOT NULL, seconds REAL NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (generator, prompt_id, text_sha256));
"""


def grammar(n: int) -> str:
    """GBNF holding a small model to exactly `n` lines of words, so it cannot ramble or number them."""
    return "root ::= " + " ".join(["line"] * n) + "\n" + _LINE


def parse_queries(answer: str, n: int) -> tuple[str, ...]:
    """The distinct usable queries in an answer: numbering and quotes stripped, too short dropped."""
    out: list[str] = []
    for line in answer.splitlines():
        query = re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", line).strip().strip("\"'").strip()
        if len(query.split()) >= 2 and query.lower() not in {q.lower() for q in out}:
            out.append(query)
    return tuple(out[:n])


class QueryCache:
    """Generated queries by (generator, prompt version, text digest); one connection per process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _row(self, generator: str, text: str) -> tuple[str, float] | None:
        key = (generator, PROMPT_ID, text_digest(text))
        return self._db.execute("SELECT queries, seconds FROM generated_queries WHERE generator = ? AND "
                                "prompt_id = ? AND text_sha256 = ?", key).fetchone()

    def get(self, generator: str, text: str) -> tuple[str, ...] | None:
        row = self._row(generator, text)
        return None if row is None else tuple(json.loads(row[0]))

    def seconds(self, generator: str, text: str) -> float | None:
        """What writing a cached answer cost when it was written."""
        row = self._row(generator, text)
        return None if row is None else float(row[1])

    def put(self, generator: str, text: str, queries: Sequence[str], seconds: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO generated_queries VALUES (?,?,?,?,?,?)",
                         (generator, PROMPT_ID, text_digest(text), json.dumps(list(queries)), seconds, time.time()))


@dataclass(frozen=True, slots=True)
class Generated:
    queries: dict[str, tuple[str, ...]]  # distinct text -> its queries (empty: the answer held none)
    new: int  # texts answered by the model in this call; the others came from the cache


def generate_queries(generator: Generator, texts: Sequence[str], cache: QueryCache, *, per_text: int = 3,
                     progress: Callable[[int, int], None] | None = None) -> Generated:
    """Queries for each distinct text, from the cache where it has them; each new answer is cached as
    soon as it is written, so an interrupted run loses at most one description's work.

    A text whose answer holds no usable query maps to an empty tuple (it is cached too, and simply
    contributes no training pair)."""
    distinct = list(dict.fromkeys(texts))
    out: dict[str, tuple[str, ...]] = {}
    new = 0
    for done, text in enumerate(distinct, 1):
        cached = cache.get(generator.name, text)
        if cached is None:
            start = time.perf_counter()
            [answer] = generator.generate([PROMPT.format(text=text, n=per_text)],
                                          max_tokens=MAX_TOKENS_PER_QUERY * per_text, grammar=grammar(per_text))
            cached = parse_queries(answer, per_text)
            cache.put(generator.name, text, cached, time.perf_counter() - start)
            new += 1
        out[text] = cached
        if progress:
            progress(done, len(distinct))
    return Generated(out, new)
