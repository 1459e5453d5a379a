"""Stage-2 scorer configurations on real human descriptions, with two non-LLM references.

One table per file (../shared/data/textbench/primary_dev.jsonl, then secondary_dev.jsonl as a
cross-source check): configuration, ROC AUC with a bootstrap 95% interval, recall and precision at
tau, seconds per description. References: the keyword regex of keywords.json (tuned on this data,
so it flatters itself here) and an embedding kNN that, for each row, compares it only with rows of
other videos (leave-one-video-out). Under each LLM configuration, a threshold sweep; after each file,
speed side by side in the same run: descriptions per second with every text new to the model (cold),
prompt tokens the model evaluated per description, descriptions per second when the same texts come
again (score-cache hits), and the one-time cost of the checklist's reference calibration; with
`checklist` and `checklist-v1` (the previous default as it ran: raw P(Yes), the questions one after
another on llama.cpp) or `checklist-llamacpp` (the default's checklist and calibration with its
questions batched on llama.cpp instead of the int8 engine), the default's speed-up over each. Run:
`python bench/bench_scorers.py [--configs checklist checklist-llamacpp checklist-v1] [--limit N]
[--files primary_dev]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltvad_search import prompts
from ltvad_search.catalog.textset import TextRow, read_rows
from ltvad_search.config import ScorerConfig
from ltvad_search.evaluation import metrics
from ltvad_search.score import make_scorer
from ltvad_search.score.base import ScoreRequest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "textbench"

CONFIGS = {  # name -> scorer settings; the same with `--set scorer.preset=NAME` (plus examples=FILE)
    "checklist": {"preset": "checklist"},  # the default (engine auto: int8 where the CPU has VNNI)
    "checklist-llamacpp": {"preset": "checklist", "engine": "llamacpp"},  # the default on llama.cpp
    "checklist-v1": {"preset": "checklist-v1"},  # the previous default as it ran, for speed and quality
    "paper": {"preset": "paper"},
    "paper-noexamples": {"preset": "paper", "prompt": "score_description-examples"},
    "sentences": {"preset": "sentences"},
    "yesno": {"preset": "yesno"},
    # the scored file is also the labelled set; the bank leaves out each row's own video (LOVO)
    "examples": {"preset": "examples", "examples": "{file}"},
}
# "combined" is measured from yesno's scores and the two embedding signals (see combined_scores)
COMBINED = "yesno"  # the LLM configuration the calibrated combination uses, when it is run


def keyword_scores(rows: list[TextRow]) -> list[float]:
    patterns = json.loads((DATA / "keywords.json").read_text()).values()
    return [float(sum(bool(re.search(p, r.text, re.IGNORECASE)) for p in patterns)) for r in rows]


def knn_scores(rows: list[TextRow]) -> list[float]:
    """Mean similarity to the 10 nearest long-tail rows minus that to the 10 nearest routine rows,
    never looking at the row itself or any row of the same video (the combined scorer's signal)."""
    from ltvad_search.models.embed import Embedder
    from ltvad_search.score.scorers.examples import Example, ExampleBank

    bank = ExampleBank([Example(r.id, r.text, int(r.label or 0), r.group) for r in rows], Embedder())
    return [bank.neighbour_margin(r.id, r.text) for r in rows]


def exemplar_scores(rows: list[TextRow]) -> list[float]:
    """Embedding evidence without labels: for the best sentence, its similarity to the nearest
    taxonomy subtype minus its similarity to the nearest routine phrase."""
    from ltvad_search.models.embed import Embedder
    from ltvad_search.score.scorers.combined import ExemplarEvidence

    evidence = ExemplarEvidence(Embedder())
    return [evidence.score(r.text) for r in rows]


def combined_scores(features: list[list[float]], rows: list[TextRow]) -> list[float]:
    """The combined scorer's logistic regression, each row predicted by a model fitted on the other
    videos only (leave-one-video-out), as `ltvad calibrate` reports it."""
    from ltvad_search.score.scorers.combined import lovo_predictions

    return lovo_predictions(np.array(features, dtype=float).T, [int(r.label or 0) for r in rows],
                            [r.group or r.id for r in rows])


@dataclass
class Measured:
    """One LLM configuration on one file: its scores and where the time went."""

    scores: list[float | None]
    cold: float  # seconds per description, every text new to the model
    repeat: float  # seconds per description when the same texts come again (score-cache hits)
    tokens: float  # prompt tokens the model evaluated per description (llama.cpp), cold
    reference: float  # one-time seconds to measure the checklist's reference bias (cached on disk after)
    raws: list[str]  # each row's stored answer
    reference_answers: list[list[float]] | None  # the checklist's raw P(Yes) on its reference logs


def _model(scorer):
    """The llama.cpp model inside a scorer's wrappers (for its evaluated-token count)."""
    while not hasattr(scorer, "evaluated") and hasattr(scorer, "inner"):
        scorer = scorer.inner
    return scorer


def llm_scores(rows: list[TextRow], settings: dict[str, str], dump: Path | None = None) -> Measured:
    """Scores, seconds per description cold and with repeats (through a fresh score cache), and tokens
    evaluated per description; with `dump`, one JSON line per row (id, label, score, raw) is appended
    there, to study answers without scoring again."""
    import tempfile

    from ltvad_search.score.cache import ScoreCache

    cfg = ScorerConfig(**settings)
    prompt = prompts.load(cfg.prompt)
    with tempfile.TemporaryDirectory() as tmp:
        scorer = make_scorer(cfg, ScoreCache(Path(tmp) / "cache.sqlite"))
        start = time.perf_counter()
        bias = getattr(getattr(scorer, "inner", None), "bias", None)
        if bias is not None:
            bias.of(prompt)  # measured (or read back) once per model and prompt, not per description
        reference = time.perf_counter() - start
        reference_answers = bias.reference_answers(prompt) if bias is not None and prompt.references else None
        model = _model(scorer)
        before = getattr(model, "evaluated", 0)
        start = time.perf_counter()
        results = [scorer.score([ScoreRequest(r.id, r.text, prompt)])[0] for r in rows]
        cold = (time.perf_counter() - start) / len(rows)
        tokens = (getattr(model, "evaluated", 0) - before) / len(rows)
        start = time.perf_counter()
        again = [scorer.score([ScoreRequest(f"{r.id}-again", r.text, prompt)])[0] for r in rows]
        repeat = (time.perf_counter() - start) / len(rows)
        assert [a.score for a in again] == [r.score for r in results]  # a hit is the model's own answer
    if dump is not None:
        with dump.open("a") as f:
            for row, result in zip(rows, results, strict=True):
                f.write(json.dumps({"id": row.id, "label": row.label, "scorer": result.scorer,
                                    "prompt_id": result.prompt_id, "score": result.score, "raw": result.raw}) + "\n")
    return Measured([r.score for r in results], cold, repeat, tokens, reference, [r.raw for r in results],
                    reference_answers)


def line(name: str, scores: list[float | None], labels: list[int], seconds: float, tau: float | None) -> str:
    r = metrics.report(scores, labels, tau if tau is not None else 0.5, rounds=1000)
    at = f"{r.recall:6.3f} {r.precision:6.3f}" if tau is not None else f"{'-':>6} {'-':>6}"
    return f"{name:40} {r.auc:6.3f} [{r.auc_low:.2f}, {r.auc_high:.2f}] {at} {seconds:7.2f}"


def sweep(scores: list[float | None], labels: list[int], taus: list[float]) -> str:
    """Recall, precision and the share of routine rows flagged at each threshold: what raising
    scorer.threshold buys."""
    data = metrics.clean(scores, labels)
    return "\n".join(f"    tau={pt.threshold:.2f}: recall {pt.recall:.3f} precision {pt.precision:.3f} "
                     f"routine flagged {pt.routine_flagged:.2f}"
                     for pt in metrics.operating_points(data.scores, data.labels, taus))


def bias_rules(rows: list[TextRow], m: Measured, prompt_name: str, labels: list[int], tau: float) -> str:
    """The checklist's raw answers under each Yes-bias rule (constant; a centre that follows length;
    centre and spread that follow length, the `length_aware` rule) at 2 standard deviations, the
    prompt's own spread and 2.5, recomputed from what this run stored: what each choice buys, on the
    same answers."""
    from ltvad_search.score.scorers.checklist import answers, fit_bias

    prompt = prompts.load(prompt_name)
    shorts = [q.short for q in prompt.questions]
    p_yes = [[json.loads(raw)["p_yes"][s] for s in shorts] for raw in m.raws]
    out = []
    for rule, length_aware, widen in (("constant", False, False), ("length: centre", True, False),
                                      ("length: centre+spread", True, True)):
        for spread in sorted({2.0, prompt.spread, 2.5}):
            fitted = fit_bias(m.reference_answers or [], prompt.references, length_aware=length_aware,
                              spread=spread, widen=widen)
            scores = [max(answers(prompt, p, fitted.offsets(r.text))["calibrated"].values())
                      for r, p in zip(rows, p_yes, strict=True)]
            out.append(line(f"  bias: {rule}, +{spread:g} sd", scores, labels, m.cold, tau))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--files", nargs="+", default=["primary_dev", "secondary_dev"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tau", type=float, default=0.5)
    parser.add_argument("--sweep", type=float, nargs="*", default=[0.5, 0.56, 0.62],
                        help="Also print recall/precision at these thresholds for each LLM configuration.")
    parser.add_argument("--dump", type=Path, default=None, help="Append every row's score and raw answer here.")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} not present: this benchmark needs ../shared/data")
    for name in args.files:
        rows = read_rows(DATA / f"{name}.jsonl")[: args.limit]
        labels = [int(r.label) for r in rows]  # type: ignore[arg-type]
        print(f"\n{name}: {len(rows)} rows ({sum(labels)} long-tail); recall/precision at tau={args.tau}")
        print(f"{'configuration':40} {'AUC':>6} {'95% CI':>12} {'recall':>6} {'prec':>6} {'s/desc':>7}")
        print(line("reference: keyword regex", keyword_scores(rows), labels, 0.0, None))
        knn, exemplars = knn_scores(rows), exemplar_scores(rows)
        print(line("reference: embedding kNN (LOVO)", knn, labels, 0.0, None))
        print(line("embedding exemplars (no labels)", exemplars, labels, 0.0, None))
        speed = {}
        for config in args.configs:
            settings = {k: v.format(file=DATA / f"{name}.jsonl") for k, v in CONFIGS[config].items()}
            m = llm_scores(rows, settings, args.dump)
            speed[config] = m
            print(line(config, m.scores, labels, m.cold, args.tau), flush=True)
            if args.sweep:
                print(sweep(m.scores, labels, args.sweep), flush=True)
            if m.reference_answers is not None:
                print(bias_rules(rows, m, ScorerConfig(**settings).prompt, labels, args.tau), flush=True)
            if config == COMBINED:
                llm = [0.0 if s is None else s for s in m.scores]
                print(line("combined: yesno+kNN+exemplars (LOVO)", combined_scores([llm, knn, exemplars], rows),
                           labels, m.cold, args.tau), flush=True)
        print(f"\n{'speed on ' + name:40} {'desc/s cold':>11} {'tokens/desc':>11} {'desc/s repeats':>14} "
              f"{'reference, once':>15}")
        for config, m in speed.items():
            print(f"{config:40} {1 / m.cold:11.3f} {m.tokens:11.0f} {1 / max(m.repeat, 1e-9):14.0f} "
                  f"{m.reference:13.1f} s")
        for other, label in (("checklist-v1", "previous default"), ("checklist-llamacpp", "default on llama.cpp")):
            if "checklist" in speed and other in speed:
                new, old = speed["checklist"], speed[other]
                print(f"default vs {label}: {old.cold / new.cold:.2f}x descriptions per second cold, "
                      f"{new.tokens / max(old.tokens, 1):.2f}x the tokens per description", flush=True)


if __name__ == "__main__":
    main()
