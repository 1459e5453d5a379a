"""Stage-2 scorer configurations on real human descriptions, with two non-LLM references.

One table per file (../shared/data/textbench/primary_dev.jsonl, then secondary_dev.jsonl as a
cross-source check): configuration, ROC AUC with a bootstrap 95% interval, recall and precision at
tau, seconds per description. References: the keyword regex of keywords.json (tuned on this data,
so it flatters itself here) and an embedding kNN that, for each row, compares it only with rows of
other videos (leave-one-video-out). Run:
`python bench/bench_scorers.py [--configs paper sentences yesno] [--limit N] [--files primary_dev]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from ltvad_search import metrics, prompts
from ltvad_search.backends import make_scorer
from ltvad_search.backends.base import ScoreRequest
from ltvad_search.config import ScorerConfig
from ltvad_search.textset import TextRow, read_rows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "textbench"

CONFIGS = {  # name -> scorer settings; each is selectable the same way with `--set scorer.<key>=...`
    "paper": {"prompt": "score_description"},
    "paper-noexamples": {"prompt": "score_description-examples"},
    "sentences": {"prompt": "score_sentence", "units": "sentences"},
    "yesno": {"prompt": "score_sentence_yesno", "units": "sentences", "answer": "yesno"},
}


def keyword_scores(rows: list[TextRow]) -> list[float]:
    patterns = json.loads((DATA / "keywords.json").read_text()).values()
    return [float(sum(bool(re.search(p, r.text, re.IGNORECASE)) for p in patterns)) for r in rows]


def knn_scores(rows: list[TextRow], k: int = 10) -> list[float]:
    """Mean similarity to the k nearest long-tail rows minus that to the k nearest routine rows,
    never looking at the row itself or any row of the same video."""
    from indexer.embed import Embedder

    vectors = Embedder().encode([r.text for r in rows])
    sims = vectors @ vectors.T
    labels = np.array([r.label for r in rows])
    out = []
    for i, row in enumerate(rows):
        allowed = np.array([j != i and (row.group is None or rows[j].group != row.group) for j in range(len(rows))])
        pos = np.sort(sims[i][allowed & (labels == 1)])[::-1][:k]
        neg = np.sort(sims[i][allowed & (labels == 0)])[::-1][:k]
        out.append(float(pos.mean() - neg.mean()))
    return out


def llm_scores(rows: list[TextRow], settings: dict[str, str]) -> tuple[list[float | None], float]:
    cfg = ScorerConfig(**settings)
    scorer = make_scorer(cfg)
    prompt = prompts.load(cfg.prompt)
    start = time.perf_counter()
    results = [scorer.score([ScoreRequest(r.id, r.text, prompt)])[0] for r in rows]
    return [r.score for r in results], (time.perf_counter() - start) / len(rows)


def line(name: str, scores: list[float | None], labels: list[int], seconds: float, tau: float | None) -> str:
    r = metrics.report(scores, labels, tau if tau is not None else 0.5, rounds=1000)
    at = f"{r.recall:6.3f} {r.precision:6.3f}" if tau is not None else f"{'-':>6} {'-':>6}"
    return f"{name:34} {r.auc:6.3f} [{r.auc_low:.2f}, {r.auc_high:.2f}] {at} {seconds:7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--files", nargs="+", default=["primary_dev", "secondary_dev"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tau", type=float, default=0.5)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not present: this benchmark needs ../shared/data")
    for name in args.files:
        rows = read_rows(DATA / f"{name}.jsonl")[: args.limit]
        labels = [int(r.label) for r in rows]  # type: ignore[arg-type]
        print(f"\n{name}: {len(rows)} rows ({sum(labels)} long-tail); recall/precision at tau={args.tau}")
        print(f"{'configuration':34} {'AUC':>6} {'95% CI':>12} {'recall':>6} {'prec':>6} {'s/desc':>7}")
        print(line("reference: keyword regex", keyword_scores(rows), labels, 0.0, None))
        print(line("reference: embedding kNN (LOVO)", knn_scores(rows), labels, 0.0, None))
        for config in args.configs:
            scores, seconds = llm_scores(rows, CONFIGS[config])
            print(line(f"llamacpp {config}", scores, labels, seconds, args.tau), flush=True)


if __name__ == "__main__":
    main()
