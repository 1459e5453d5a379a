"""The retrieval bench's "more like this" measure (bench/bench_retrieval.py): every row as the
reference, the share of its top 10 that a user would call alike, per way of comparing two segments."""

from __future__ import annotations

import statistics
from collections import Counter


def more_like_this(rows, index, cat, cfg, describer: str, key: str, embedder, adapted_store=None,
                   adapted=None) -> None:
    """For each long-tail row, the share of its top 10 "more like this" hits in its category; for each
    routine row, the share routine. Per way of comparing two segments."""
    from indexer.ranking import rows_by_segment
    from indexer.search import Searcher
    from ltvad_search.config import load_settings

    label = {r.id: r.label for r in rows}
    category = {r.id: r.category for r in rows}
    searcher = Searcher(cat, cfg, describer, key, embedder, index)  # descriptions and checklist answers
    text_only = Searcher(cat, load_settings(None, [f"store.root={cfg.store.root}", "search.similar_answers_weight=0"]),
                         describer, key, embedder, index)
    segments = rows_by_segment(index)
    vectors = index.vectors

    def by_sentences(sid: str) -> list[str]:  # each sentence's best match in the other, averaged both ways
        own = vectors[segments[sid][1:] or segments[sid][:1]]
        scored = []
        for other, where in segments.items():
            if other == sid:
                continue
            theirs = vectors[where[1:] or where[:1]]
            sims = own @ theirs.T
            scored.append((other, 0.5 * (sims.max(1).mean() + sims.max(0).mean())))
        return [o for o, _ in sorted(scored, key=lambda it: -it[1])[:10]]

    ways = {"descriptions + answers (default)": lambda sid: [h.segment_id for h in searcher.similar(sid, 10)],
            "whole descriptions alone": lambda sid: [h.segment_id for h in text_only.similar(sid, 10)],
            "sentence to sentence": by_sentences}
    if adapted_store is not None:
        acfg, acat, aindex = adapted_store
        other = Searcher(acat, acfg, describer, key, adapted, aindex)
        ways["descriptions + answers, adapted"] = lambda sid: [h.segment_id for h in other.similar(sid, 10)]
    print("\nmore like this: P@10 (long-tail rows: same category; routine rows: routine)")
    print(f"{'comparison':32} {'long-tail':>9} {'routine':>8} {'all':>6}")
    for name, top in ways.items():
        tail, plain = [], []
        for r in rows:
            hits = top(r.id)
            if r.label:
                tail.append(sum(category[h] == r.category for h in hits) / 10)
            else:
                plain.append(sum(label[h] == 0 for h in hits) / 10)
        print(f"{name:32} {statistics.mean(tail):9.3f} {statistics.mean(plain):8.3f} "
              f"{statistics.mean(tail + plain):6.3f}")
    # a perfect "more like this": every other row of the category (at most 10), every routine row
    count = Counter(r.category for r in rows if r.label)
    routine = sum(1 for r in rows if not r.label)
    cap_tail = [min(count[r.category] - 1, 10) / 10 for r in rows if r.label]
    cap_plain = [min(routine - 1, 10) / 10 for r in rows if not r.label]
    print(f"{'best possible':32} {statistics.mean(cap_tail):9.3f} {statistics.mean(cap_plain):8.3f} "
          f"{statistics.mean(cap_tail + cap_plain):6.3f}")
