"""Text search quality and speed: precision@10 and nDCG@10 of category queries on real descriptions,
and query latency at 10k and 100k descriptions, per search configuration.

Quality: the human-written BDD-X paragraphs of ../shared/data/textbench/primary_dev.jsonl (or any
labelled file of the same kind: `--rows FILE`) go into a catalog and an index exactly as `ltvad
index` builds them, scored by the default checklist (through the score cache, so a rerun does not
score again). Each long-tail category present is asked three
paraphrased queries (written before any result was looked at); a hit is relevant when its row
carries that category. "best" is what a perfect ranking reaches (categories with fewer than 10 rows
cannot reach 1.0); "/best" divides each category's P@10 by it and averages over categories.

Latency: 10k and 100k descriptions made of real sentences from both textbench files, recombined,
with random unit vectors standing in for their embeddings (a search's cost does not depend on what
the vectors mean; embedding 500k rows would take half an hour here). The query is embedded for
real. `--adapt` adds the configurations with the embedder adapted to the rows as `ltvad index --adapt`
does it (queries written by the default model, cached across runs; no label read), and its cost.
Run: `python bench/bench_retrieval.py [--rows FILE] [--adapt] [--model ID_OR_PATH] [--sizes 10000 100000]
[--rerank 20] [--skip-latency]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from retrieval_queries import NEGATIONS, QUERIES, SCENES, ndcg, scene_scores
from retrieval_similar import more_like_this

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "textbench"

DESCRIBER = "textbench|describe@0"
ADAPTED = {  # with --adapt: the same configurations again with the adapted embedder (indexer/adapt)
    "dense + sentences, adapted": (True, {"mode": "dense", "category_weight": 0}),
    "hybrid + category, adapted": (True, {}),
}
CONFIGS = {  # name -> (index with sentence rows, search settings)
    "dense (whole descriptions)": (False, {"mode": "dense", "category_weight": 0}),
    "dense + sentences": (True, {"mode": "dense", "category_weight": 0}),
    "lexical (BM25)": (True, {"mode": "lexical", "category_weight": 0}),
    "hybrid": (True, {"mode": "hybrid", "category_weight": 0}),
    # until 2026-12-03: the category guessed from the embedding alone, a boost of 2, fusion constant 60
    "previous default": (True, {"rrf_k": 60, "category_weight": 2, "category_words_weight": 0,
                                "category_feedback_weight": 0}),
    "hybrid + category (default)": (True, {}),
}


def build(rows, texts: dict[str, str], scorer_key: str, scores: dict[str, tuple[float, str]] | None,
          folder: Path, sentences: bool, embedder, vectors: np.ndarray | None = None):
    """A catalog and an index holding `rows` as one-segment clips, as `ltvad run` + `ltvad index` would."""
    from indexer.index import VectorIndex
    from indexer.ranking import passages
    from ltvad_search.catalog import Catalog
    from ltvad_search.config import load_settings
    from ltvad_search.records import Clip, Description, Segment, SegmentScore

    cfg = load_settings(None, [f"store.root={folder}", f"index.sentences={str(sentences).lower()}"])
    cat = Catalog(cfg.store.catalog)
    with cat.transaction() as db:
        for rid in rows:
            clip = Clip(clip_id=rid, source=f"/textbench/{rid}.mp4", duration_s=10, fps=10, frame_count=100,
                        width=8, height=8, size_bytes=1, container="mp4")
            Catalog._put_clip(db, clip, [Segment(segment_id=rid, clip_id=rid, index=0, k=2, start_s=0, end_s=10,
                                                 sample_times=(0.0,))], replace=True)
        Catalog._put_descriptions(db, [Description(segment_id=rid, text=texts[rid], describer=DESCRIBER,
                                                   prompt_id="describe@0", seconds=0) for rid in rows])
        if scores:
            Catalog._put_scores(db, DESCRIBER, [SegmentScore(segment_id=rid, score=scores[rid][0], written=None,
                                                             raw=scores[rid][1], scorer=scorer_key, prompt_id="p",
                                                             seconds=0) for rid in rows])
    units = [u for rid in rows for u in passages(rid, texts[rid], sentences)]
    index = VectorIndex.empty(embedder.name, embedder.dim, DESCRIBER)
    if vectors is None:
        vectors = embedder.encode([t for _, t in units])
    index.add([u for u, _ in units], vectors[: len(units)], [t for _, t in units])
    index.save(cfg.store.index)
    return cfg, cat, index


def checklist_scores(rows, cache_file: Path):
    """The default checklist's score and stored answer per row, through the score cache."""
    from ltvad_search import prompts
    from ltvad_search.config import ScorerConfig
    from ltvad_search.score import make_scorer
    from ltvad_search.score.base import ScoreRequest, scorer_key
    from ltvad_search.score.cache import ScoreCache

    scorer = make_scorer(ScorerConfig(), ScoreCache(cache_file))
    prompt = prompts.load(ScorerConfig().prompt)
    results = []
    for start in range(0, len(rows), 8):  # a few rows per call: each call's scores reach the cache
        results += scorer.score([ScoreRequest(r.id, r.text, prompt) for r in rows[start: start + 8]])
    return scorer_key(scorer, prompt), {r.segment_id: (r.score, r.raw) for r in results}, scorer


def adapt(rows, folder: Path):
    """The default embedder adapted to these rows as `ltvad index --adapt` does it (queries written by
    the default scorer's model, cached across runs; default index.adapt settings), with its cost."""
    from indexer.adapt import adapted_model
    from indexer.adapt.queries import QueryCache
    from ltvad_search.config import Settings
    from ltvad_search.models.embed import DEFAULT_MODEL, Embedder
    from ltvad_search.models.gguf import cache_dir
    from ltvad_search.score import make_text_backend

    settings = Settings()
    cache = QueryCache(cache_dir() / "bench-query-cache.sqlite")
    texts = list(dict.fromkeys(r.text for r in rows))
    writer = make_text_backend(settings.scorer)
    print(f"writing {settings.index.adapt.queries} search queries per description with {writer.name} (cached), "
          "fine-tuning ...", flush=True)
    adapted, generated, _ = adapted_model(texts, writer, cache, settings.index.adapt, DEFAULT_MODEL,
                                          folder / "embedders")
    per_text = statistics.mean(s for t in texts if (s := cache.seconds(writer.name, t)) is not None)
    used = sum(1 for q in generated.queries.values() if q)
    print(f"adapted: {adapted.pairs} pairs from {used} descriptions; writing queries {per_text:.1f} s per "
          f"description when first written ({per_text * 1000 / 60:.0f} min per 1k), fine-tuning "
          f"{adapted.seconds:.0f} s ({adapted.seconds * 1000 / max(used, 1) / 60:.1f} min per 1k)", flush=True)
    return Embedder(str(adapted.path))


def quality(rows, embedder, folder: Path, rerank: int, file_name: str = "primary_dev.jsonl",
            adapted=None) -> None:
    from indexer.search import Searcher
    from ltvad_search.config import load_settings
    from ltvad_search.models.gguf import cache_dir

    texts = {r.id: r.text for r in rows}
    category = {r.id: r.category for r in rows}
    in_category = Counter(category.values())
    print("scoring the rows with the default checklist (cached after the first run) ...", flush=True)
    key, scores, scorer = checklist_scores(rows, cache_dir() / "bench-score-cache.sqlite")
    results: dict[str, dict[int, list[tuple[float, float]]]] = {}
    built = {}
    for sentences in (False, True):
        built[sentences, False] = build([r.id for r in rows], texts, key, scores, folder / f"s{int(sentences)}",
                                        sentences, embedder)
    configs = {name: (sentences, search, False) for name, (sentences, search) in CONFIGS.items()}
    if adapted is not None:
        built[True, True] = build([r.id for r in rows], texts, key, scores, folder / "adapted", True, adapted)
        configs |= {name: (sentences, search, True) for name, (sentences, search) in ADAPTED.items()}
    if rerank:
        configs[f"hybrid + category + rerank {rerank}"] = (True, {"rerank": rerank}, False)
    seconds: dict[str, list[float]] = {}
    scene = json.loads(SCENES.read_text()) if SCENES.exists() else {}
    scene_queries = scene.get("queries", {}) if scene.get("file") == file_name else {}
    scene_results: dict[str, list[tuple[float, float, float, float]]] = {}
    for name, (sentences, search, with_adapted) in configs.items():
        cfg, cat, index = built[sentences, with_adapted]
        settings = load_settings(None, [f"store.root={cfg.store.root}", f"index.sentences={str(sentences).lower()}",
                                        *(f"search.{k}={v}" for k, v in search.items() if k != "rerank")])
        searcher = Searcher(cat, settings, DESCRIBER, key, adapted if with_adapted else embedder, index)
        results[name] = {}
        for cat_id, queries in QUERIES.items():
            for query in queries:
                start = time.perf_counter()
                hits = searcher.text(query, 10, rerank_top=search.get("rerank", 0),
                                     judge=getattr(scorer, "inner", scorer).inner if search.get("rerank") else None,
                                     cache=getattr(scorer, "cache", None))
                seconds.setdefault(name, []).append(time.perf_counter() - start)
                relevant = [category[h.segment_id] == cat_id for h in hits]
                results[name].setdefault(cat_id, []).append((sum(relevant) / 10, ndcg(relevant, in_category[cat_id])))
        for query, judged in scene_queries.items():
            ids = [h.segment_id for h in searcher.text(query, 10)]
            scene_results.setdefault(name, []).append(scene_scores(ids, set(judged)))
    names = list(configs)
    print(f"\n{file_name}: {len(rows)} rows, {sum(len(q) for q in QUERIES.values())} "
          "queries; mean P@10 per category over its paraphrases")
    cap = {c: min(in_category[c], 10) / 10 for c in QUERIES}  # the P@10 a perfect ranking reaches
    print(f"{'cat':>3} {'rows':>4} " + " ".join(f"{short(n):>9}" for n in names) + f" {'best':>5}")
    for cat_id in QUERIES:
        values = [statistics.mean(p for p, _ in results[name][cat_id]) for name in names]
        print(f"{cat_id:>3} {in_category[cat_id]:>4} " + " ".join(f"{v:9.2f}" for v in values) + f" {cap[cat_id]:5.2f}")
    best = statistics.mean(cap[cat_id] for cat_id, qs in QUERIES.items() for _ in qs)
    print(f"\n{'configuration':40} {'P@10':>6} {'/best':>6} {'nDCG@10':>8} {'s/query':>8}")
    for name in names:
        every = [x for per in results[name].values() for x in per]
        # each category's precision over what a perfect ranking reaches there, averaged over categories
        relative = statistics.mean(statistics.mean(p for p, _ in per) / cap[c]
                                   for c, per in results[name].items() if cap[c])
        print(f"{name:40} {statistics.mean(p for p, _ in every):6.3f} {relative:6.2f} "
              f"{statistics.mean(d for _, d in every):8.3f} {statistics.median(seconds[name]):8.3f}")
    print(f"{'best possible':40} {best:6.3f} {1.0:6.2f} {1.0:8.3f}")
    if scene_queries:
        print(f"\nscene-level queries: {len(scene_queries)} (bench/scene_queries.json), each one concrete scene with "
              "the rows that show it judged by reading; best = a perfect ranking's P@10")
        print(f"{'configuration':40} {'P@10':>6} {'/best':>6} {'nDCG@10':>8} {'MRR':>6}")
        for name in names:
            got = scene_results[name]
            print(f"{name:40} {statistics.mean(g[0] for g in got):6.3f} {statistics.mean(g[1] for g in got):6.2f} "
                  f"{statistics.mean(g[2] for g in got):8.3f} {statistics.mean(g[3] for g in got):6.3f}")
    cfg, cat, index = built[True, False]
    searcher = Searcher(cat, load_settings(None, [f"store.root={cfg.store.root}"]), DESCRIBER, key, embedder, index)
    as_words = Searcher(cat, load_settings(None, [f"store.root={cfg.store.root}", "search.parse=false"]),
                        DESCRIBER, key, embedder, index)
    negation(searcher, as_words, index.lexical_index())
    more_like_this(rows, index, cat, cfg, DESCRIBER, key, embedder, built.get((True, True)), adapted)


def negation(searcher, as_words, lexical) -> None:
    """Per query: the share of top-10 hits holding the negated words, read as a bag of words and parsed."""
    from indexer.query import parse
    from indexer.ranking import base_id

    print(f"\nnegation: share of the top 10 holding the negated words ({len(NEGATIONS)} queries)")
    print(f"{'query':62} {'words':>6} {'parsed':>7}")
    halved = 0
    for query in NEGATIONS:
        holding = {base_id(r) for phrase in parse(query).without for r in lexical.containing(phrase)}
        before, after = (sum(h.segment_id in holding for h in s.text(query, 10)) / 10 for s in (as_words, searcher))
        halved += before > 0 and after <= before / 2
        print(f"{query:62} {before:6.1f} {after:7.1f}")
    print(f"queries whose share drops by at least half: {halved} of {len(NEGATIONS)}")


def short(name: str) -> str:
    return {"dense (whole descriptions)": "dense", "dense + sentences": "dense+sent", "previous default": "previous",
            "lexical (BM25)": "lexical", "hybrid": "hybrid", "hybrid + category (default)": "hyb+cat",
            "dense + sentences, adapted": "d+s adapt", "hybrid + category, adapted": "h+c adapt"}.get(
        name, "+rerank")


def latency(embedder, folder: Path, sizes: list[int]) -> None:
    """Median query latency of each configuration at each collection size."""
    from indexer.search import Searcher
    from ltvad_search import prompts
    from ltvad_search.catalog.textset import read_rows
    from ltvad_search.config import load_settings
    from ltvad_search.score.scorers.checklist import answers
    from ltvad_search.score.units import split_sentences

    sentences = [s for f in ("primary_dev", "secondary_dev") for r in read_rows(SHARED / f"{f}.jsonl")
                 for s in split_sentences(r.text)]
    rng = np.random.default_rng(0)
    checklist = prompts.load("score_checklist")
    key = f"llamacpp:m+checklist|{checklist.id}"  # the checklist's own prompt id: the category boost applies
    queries = [q for qs in QUERIES.values() for q in qs]
    print(f"\nquery latency (median over {len(queries)} queries, after one warm-up query), flat exact index")
    print(f"{'configuration':40} " + " ".join(f"{n:>10,}" for n in sizes))
    table: dict[str, list[float]] = {}
    for n in sizes:
        ids = [f"d{i:06d}" for i in range(n)]
        texts = {rid: " ".join(rng.choice(sentences, size=int(rng.integers(1, 6)))) for rid in ids}
        scores = {}
        for rid in ids:
            p = rng.uniform(0.0, 1.0, len(checklist.questions)).round(3).tolist()
            scores[rid] = (max(p), json.dumps(answers(checklist, p)))
        rows = sum(len(split_sentences(t)) + (len(split_sentences(t)) > 1) for t in texts.values())
        vectors = rng.normal(size=(rows, embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cfg, cat, index = build(ids, texts, key, scores, folder / f"n{n}", True,
                                embedder, vectors)
        for name, (_, search) in CONFIGS.items():
            if name.startswith("dense (whole"):
                continue
            settings = load_settings(None, [f"store.root={cfg.store.root}",
                                            *(f"search.{k}={v}" for k, v in search.items())])
            searcher = Searcher(cat, settings, DESCRIBER, key, embedder, index)
            searcher.text("warm-up query about a deer", 10)
            times = []
            for q in queries:
                start = time.perf_counter()
                searcher.text(q, 10)
                times.append(time.perf_counter() - start)
            table.setdefault(name, []).append(statistics.median(times) * 1000)
        cat.close()
    for name, values in table.items():
        print(f"{name:40} " + " ".join(f"{v:8.1f}ms" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--rerank", type=int, default=20, help="Also measure re-ranking the top N (0: skip).")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--model", default=None, help="Embedding model id or path (index.model); default MiniLM.")
    parser.add_argument("--adapt", action="store_true",
                        help="Also measure the embedder adapted to the rows (`ltvad index --adapt`, label-free).")
    parser.add_argument("--rows", type=Path, default=SHARED / "primary_dev.jsonl",
                        help="Labelled JSONL rows to search (id, text, label, category); default the dev file.")
    args = parser.parse_args()
    path = args.rows
    if not path.exists():
        sys.exit(f"{path} not present" + (": this benchmark needs ../shared/data" if path.parent == SHARED else ""))
    from ltvad_search.catalog.textset import read_rows
    from ltvad_search.models.embed import Embedder

    embedder = Embedder(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        rows = read_rows(path)
        adapted = adapt(rows, Path(tmp)) if args.adapt else None
        quality(rows, embedder, Path(tmp), args.rerank, path.name, adapted)
        if not args.skip_latency and args.sizes:
            latency(embedder, Path(tmp), args.sizes)


if __name__ == "__main__":
    main()
