"""Text search quality on real descriptions: precision@10 of a plain-English query per category.

Embeds ../shared/data/textbench/primary_dev.jsonl (human-written BDD-X paragraphs) into the same
exact index `ltvad search` uses and, for every long-tail category present, asks one query that names
it. A hit is relevant when its row carries that category. Categories with fewer than 10 rows cannot
reach 1.0; the "best possible" column says what they can reach. Run: `python bench/bench_retrieval.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "textbench"

QUERIES = {
    1: "a pedestrian steps into the road in front of the car",
    2: "another car swerves or pulls out suddenly and the car has to brake hard",
    3: "a police officer directs traffic through the intersection",
    4: "construction cones and workers block the lane",
    5: "an obstacle or debris lies in the road",
    6: "a cyclist riding the wrong way in the road",
    8: "snow or ice on the road",
    9: "a double-parked car blocks the lane",
    10: "police cars and emergency vehicles stopped on the road",
}


def main(path: Path = SHARED / "primary_dev.jsonl", k: int = 10) -> None:
    if not path.exists():
        sys.exit(f"{path} not present: this benchmark needs ../shared/data")
    from indexer.embed import Embedder
    from indexer.index import VectorIndex
    from indexer.search import base_id, passages, rerank, rows_by_segment
    from ltvad_search.textset import read_rows

    rows = read_rows(path)
    embedder = Embedder()
    category = {r.id: r.category for r in rows}
    indexes = {}
    for sentences in (False, True):  # what `ltvad index` builds with index.sentences off / on (default)
        units = [u for r in rows for u in passages(r.id, r.text, sentences)]
        index = VectorIndex.empty(embedder.name, embedder.dim, "textbench")
        index.add([u for u, _ in units], embedder.encode([t for _, t in units]))
        indexes[sentences] = (index, rows_by_segment(index))
    print(f"{path.name}: {len(rows)} rows; model {embedder.name}; exact search, re-ranked as `ltvad search` does")
    print(f"{'cat':>3} {'rows':>4} {'whole':>6} {'+sent':>6} {'best':>5}  query")
    values: dict[bool, list[float]] = {False: [], True: []}
    for cat, query in QUERIES.items():
        n = sum(1 for c in category.values() if c == cat)
        if n == 0:
            continue
        q = embedder.encode([query])[0]
        line = []
        for sentences, (index, by_segment) in indexes.items():
            [hits] = index.search(q[None], len(index))
            ranked = rerank(index, by_segment, q, [base_id(h) for h, _ in hits])[:k]
            precision = sum(1 for sid, _ in ranked if category[sid] == cat) / k
            values[sentences].append(precision)
            line.append(precision)
        print(f"{cat:>3} {n:>4} {line[0]:6.2f} {line[1]:6.2f} {min(n, k) / k:5.2f}  {query}")
    for sentences, name in ((False, "whole descriptions"), (True, "with sentences (default)")):
        print(f"mean P@10, {name}: {sum(values[sentences]) / len(values[sentences]):.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "primary_dev.jsonl")
