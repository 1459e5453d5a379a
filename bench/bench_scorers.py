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

CONFIGS = {  # name -> scorer settings; the same with `--set scorer.preset=NAME` (plus examples=FILE)
    "paper": {"preset": "paper"},
    "paper-noexamples": {"preset": "paper", "prompt": "score_description-examples"},
    "sentences": {"preset": "sentences"},
    "yesno": {"preset": "yesno"},
    # the scored file is also the labelled set; the bank leaves out each row's own video (LOVO)
    "examples": {"preset": "examples", "examples": "{file}"},
}
COMBINED = "yesno"  # the LLM configuration the calibrated combination uses, when it is run


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


def exemplar_scores(rows: list[TextRow]) -> list[float]:
    """Embedding evidence without labels: for the best sentence, its similarity to the nearest
    taxonomy subtype minus its similarity to the nearest routine phrase of the yes/no rubric."""
    from indexer.embed import Embedder
    from ltvad_search.units import split_sentences

    embedder = Embedder()
    long_tail = [f"{c.name}: {s}" for c in prompts.taxonomy() for s in c.subtypes]
    rubric = (prompts.PROMPTS_DIR / "score_sentence_yesno.txt").read_text()
    routine_line = next(line for line in rubric.splitlines() if line.startswith("Routine"))
    routine = [p.strip() for p in routine_line.split(":", 1)[1].split(",") if p.strip()]
    pos, neg = embedder.encode(long_tail), embedder.encode(routine)
    out = []
    for row in rows:
        sentences = embedder.encode(split_sentences(row.text))
        out.append(float(((sentences @ pos.T).max(axis=1) - (sentences @ neg.T).max(axis=1)).max()))
    return out


def combined_scores(features: list[list[float]], rows: list[TextRow]) -> list[float]:
    """A logistic regression over the given signals, each row predicted by a model fitted on the
    other videos only (leave-one-video-out): the calibrated combination, measured honestly."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array(features, dtype=float).T
    y = np.array([r.label for r in rows])
    groups = np.array([r.group or r.id for r in rows], dtype=object)
    out = []
    for i in range(len(rows)):
        train = groups != groups[i]
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[train], y[train])
        out.append(float(model.predict_proba(x[i: i + 1])[0, 1]))
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
        knn, exemplars = knn_scores(rows), exemplar_scores(rows)
        print(line("reference: embedding kNN (LOVO)", knn, labels, 0.0, None))
        print(line("embedding exemplars (no labels)", exemplars, labels, 0.0, None))
        for config in args.configs:
            settings = {k: v.format(file=DATA / f"{name}.jsonl") for k, v in CONFIGS[config].items()}
            scores, seconds = llm_scores(rows, settings)
            print(line(f"llamacpp {config}", scores, labels, seconds, args.tau), flush=True)
            if config == COMBINED:
                llm = [0.0 if s is None else s for s in scores]
                print(line("  + kNN + exemplars, LR (LOVO)", combined_scores([llm, knn, exemplars], rows),
                           labels, seconds, args.tau), flush=True)


if __name__ == "__main__":
    main()
