"""How the description index grows: build time, memory and query latency at 10k, 100k and 1M.

Vectors are synthetic but shaped like sentence embeddings (384-d, unit length, clustered around a
few thousand topics), built with the same `indexer.index.build_faiss` that `ltvad index` uses. Every
approximate index is measured against exact flat search on the same queries, in the same run:
latency ratio (flat / approximate, one query at a time as a user searches) and recall@10.
Run: `python bench/bench_index_scale.py [--sizes 10000 100000 1000000] [--kinds hnsw ivf]`.
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from indexer.index import build_faiss

DIM, TOPICS, SPREAD, QUERIES, K = 384, 4000, 16, 200, 10


def corpus(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors in topic clusters, and QUERIES queries drawn the same way.

    Each topic varies along its own few directions (sentence embeddings have low intrinsic
    dimension), plus a little isotropic noise.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = rng.normal(scale=1 / np.sqrt(DIM), size=(TOPICS, SPREAD, DIM)).astype(np.float32)

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, DIM), dtype=np.float32)
        for start in range(0, m, 50_000):
            size = min(50_000, m - start)
            topic = rng.integers(0, TOPICS, size)
            z = rng.normal(scale=0.15, size=(size, 1, SPREAD)).astype(np.float32)
            v = centres[topic] + (z @ bases[topic])[:, 0] + rng.normal(scale=0.02, size=(size, DIM)).astype(np.float32)
            out[start: start + size] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    return draw(n), draw(QUERIES)


def latency(index, queries: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean seconds per single query, and the ids found."""
    found = np.empty((len(queries), K), dtype=np.int64)
    start = time.perf_counter()
    for i, q in enumerate(queries):
        _, found[i] = index.search(q[None], K)
    return (time.perf_counter() - start) / len(queries), found


def size_mb(index) -> float:
    return len(faiss.serialize_index(index)) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["hnsw", "ivf"])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 32, 64], help="IVF lists visited")
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 128], help="HNSW search breadth")
    parser.add_argument("--hnsw-max", type=int, default=100_000,
                        help="largest n to build HNSW for (its build is the slow part: ~50 s at 100k on 2 cores)")
    args = parser.parse_args()
    faiss.omp_set_num_threads(2)
    params = {"m": 32, "ef_construction": 80}
    print(f"{DIM}-d unit vectors in {TOPICS} topics; {QUERIES} single queries, top-{K}; "
          f"{faiss.omp_get_max_threads()} threads")
    print(f"{'n':>9} {'index':>10} {'build s':>8} {'MB':>7} {'ms/query':>9} {'vs flat':>8} {'recall@10':>9}")
    for n in args.sizes:
        data, queries = corpus(n)
        start = time.perf_counter()
        flat = build_faiss(data, "flat", params)
        flat_build = time.perf_counter() - start
        flat_s, truth = latency(flat, queries)
        print(f"{n:>9} {'flat':>10} {flat_build:8.1f} {size_mb(flat):7.0f} {flat_s * 1e3:9.2f} {'1.0x':>8} {1.0:9.3f}")
        for kind in args.kinds:
            if kind == "hnsw" and n > args.hnsw_max:
                continue
            start = time.perf_counter()
            index = build_faiss(data, kind, params)
            build = time.perf_counter() - start
            for knob in (args.ef if kind == "hnsw" else args.nprobe):
                if kind == "hnsw":
                    index.hnsw.efSearch, label = knob, f"hnsw/ef{knob}"
                else:
                    index.nprobe, label = knob, f"{kind}/np{knob}"
                seconds, found = latency(index, queries)
                recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)])
                print(f"{n:>9} {label:>10} {build:8.1f} {size_mb(index):7.0f} {seconds * 1e3:9.2f} "
                      f"{flat_s / seconds:7.1f}x {recall:9.3f}")
            del index
        del flat, data


if __name__ == "__main__":
    main()
