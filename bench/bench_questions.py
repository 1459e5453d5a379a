"""Checklist engines side by side: the int8 engine, llama.cpp, and kept libraries, on the same tokens.

Every engine answers the same thing: a description's prompt (the rubric, the description) and its
twelve questions, tokenized once by the GGUF's own tokenizer, the questions batched on the shared
part (the scorer's `QuestionBatches`, registered under `scorer.llamacpp.engine`). So speed and
quality differences are the engine's alone. Engines:

- `int8`: the engine written here (`score/llama/int8.py`), what `engine=auto` picks on CPUs with VNNI;
- `llamacpp`: llama.cpp as `make install` builds it, one batch (`score/llama/branches.py`);
  `serial`: the questions one after another on llama.cpp (the old default);
  `repack`: llama.cpp with its extra weight buffers (skipped on AMX CPUs, where they crash);
  `Q8_0`, `Q4_0` (each `+repack` too): the GGUF requantized by llama.cpp (other kernels);
- `ctranslate2`: CTranslate2 int8, from the GGUF dequantized by transformers and converted once;
- `torchao`: transformers' Qwen2 with torchao's int8 dynamic-activation int8-weight linears (W8A8).
(`bench/kept_engines.py`; `pip install -e '.[kept]'`; OpenVINO and ONNX Runtime: see docs/scorers.md.)

Speed (default): `--n` descriptions of primary_dev, engines interleaved in rounds so machine noise hits
all alike; descriptions per second, tokens per description, the largest P(Yes) difference from the
llama.cpp batch. `--auc`: both dev files (`--limit` rows of each), every row scored by each engine in
turn as the default scorer does (the checklist with its reference calibration, fitted per engine
before timing starts, no score cache: cold), then per engine: descriptions per second on each file,
ROC AUC on each, prompt tokens per description, and resident memory (each engine loaded alone in a
child process: resident size after scoring two descriptions, and the peak).
Run: `python bench/bench_questions.py [--n 16] [--rounds 2] [--engines ...]` or
`python bench/bench_questions.py --auc [--limit N] [--engines int8 llamacpp ctranslate2 torchao]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_prefix import SHARED, texts

from ltvad_search import prompts
from ltvad_search.catalog.textset import read_rows
from ltvad_search.evaluation import metrics
from ltvad_search.models import gguf, llama_model
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.llama import scorer as llama_scorer
from ltvad_search.score.llama.scorer import LlamaCppScorer
from ltvad_search.score.scorers.checklist import ChecklistScorer

THREADS = 2
FILES = ("primary_dev", "secondary_dev")


def _kept(kind: str) -> Callable[[LlamaCppScorer], llama_scorer.QuestionBatches]:
    """A kept library as a question-batch engine, registered beside the scorer's own."""
    import kept_engines

    make = {"ctranslate2": kept_engines.CTranslate2Questions, "torchao": kept_engines.TorchaoQuestions}[kind]
    return lambda scorer: make(kept_engines.converted(scorer.model_path), scorer.n_threads or THREADS)


def judge(name: str, model: Path) -> LlamaCppScorer:
    """The engine `name` (see the module docstring) as a yes/no judge over `model`."""
    quant, _, extra = name.partition("+")
    if quant in ("Q8_0", "Q4_0"):
        import kept_engines

        return LlamaCppScorer(kept_engines.requantized(model, quant), answer="checklist", n_threads=THREADS,
                              extra_buffers="on" if extra == "repack" else "off")
    if name in ("ctranslate2", "torchao"):
        llama_scorer.ENGINES.setdefault(name, _kept(name))
        return LlamaCppScorer(model, answer="checklist", engine=name, n_threads=THREADS)
    options = {"int8": {"engine": "int8"}, "llamacpp": {}, "serial": {"questions": "serial"},
               "repack": {"extra_buffers": "on"}}[name]
    return LlamaCppScorer(model, answer="checklist", n_threads=THREADS, **options)


def speed(args: argparse.Namespace, model: Path) -> None:
    prompt = prompts.load(args.prompt)
    items = texts(args.n)
    judges = {name: judge(name, model) for name in args.engines}
    for scorer in judges.values():  # warm-up: page the weights in, make the contexts
        scorer.yes_probabilities(prompt, items[:1])
    timing, tokens = dict.fromkeys(judges, 0.0), dict.fromkeys(judges, 0)
    answers: dict[str, list[list[float]]] = {}
    for _ in range(args.rounds):
        for name, scorer in judges.items():
            start, spent = time.perf_counter(), scorer.evaluated
            answers[name] = scorer.yes_probabilities(prompt, items)
            timing[name] += time.perf_counter() - start
            tokens[name] += scorer.evaluated - spent
    n = len(items) * args.rounds
    base = answers.get("llamacpp") or next(iter(answers.values()))
    print(f"model {model.name}; prompt {prompt.id}, {len(prompt.questions)} questions; "
          f"{len(items)} descriptions x {args.rounds} rounds")
    print(f"{'engine':16} {'desc/s':>8} {'s/desc':>8} {'vs llamacpp':>12} {'tokens/desc':>12} {'max |dP(Yes)|':>14}")
    reference = n / timing["llamacpp"] if "llamacpp" in timing else None
    for name in judges:
        rate = n / timing[name]
        diff = max(abs(x - y) for a, b in zip(answers[name], base, strict=True) for x, y in zip(a, b, strict=True))
        ratio = f"{rate / reference:11.2f}x" if reference else f"{'':>12}"
        print(f"{name:16} {rate:8.3f} {1 / rate:8.2f} {ratio} {tokens[name] / n:12.0f} {diff:14.3f}")


def resident(name: str, model: Path, prompt_name: str) -> dict[str, float]:
    """This process's resident size after loading engine `name` and scoring two descriptions (MB)."""
    scorer = judge(name, model)
    scorer.yes_probabilities(prompts.load(prompt_name), texts(2))
    # VmHWM, not getrusage's ru_maxrss: that one survives exec and reports the parent's peak (forked at 12 GB)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024, "peak_mb": int(status["VmHWM"].split()[0]) / 1024}


def measure_resident(name: str, args: argparse.Namespace) -> dict[str, float]:
    """`resident` in a child process of its own, so each engine is measured alone."""
    out = subprocess.run([sys.executable, __file__, "--resident", name, "--model", args.model, "--prompt", args.prompt],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def auc(args: argparse.Namespace, model: Path) -> None:
    prompt = prompts.load(args.prompt)
    if not SHARED.exists():
        sys.exit(f"{SHARED.parent} not present: --auc needs the dev files of ../shared/data")
    files = {f: read_rows(SHARED.parent / f"{f}.jsonl")[: args.limit] for f in FILES}
    with tempfile.TemporaryDirectory() as tmp:
        scorers = {name: ChecklistScorer(judge(name, model), reference=Path(tmp) / name) for name in args.engines}
        for scorer in scorers.values():  # each engine's reference answers, and its weights paged in
            scorer.bias.of(prompt)
        seconds = {(n, f): 0.0 for n in scorers for f in files}
        tokens = dict.fromkeys(scorers, 0)
        scores: dict[tuple[str, str], list[float | None]] = {(n, f): [] for n in scorers for f in files}
        for f, rows in files.items():
            for row in rows:  # every engine on this row, then the next row
                for name, scorer in scorers.items():
                    start, spent = time.perf_counter(), scorer.inner.evaluated
                    [result] = scorer.score([ScoreRequest(row.id, row.text, prompt)])
                    seconds[name, f] += time.perf_counter() - start
                    tokens[name] += scorer.inner.evaluated - spent
                    scores[name, f].append(result.score)
    memory = {name: measure_resident(name, args) for name in scorers}
    total = sum(len(rows) for rows in files.values())
    print(f"model {model.name}; prompt {prompt.id}; rows: " + ", ".join(f"{f} {len(r)}" for f, r in files.items())
          + f"; {THREADS} threads; CPU int8 dot products: {'avx512_vnni' in llama_model.cpu_flags().split()}")
    head = "".join(f" {'desc/s ' + f[:9]:>18} {'AUC ' + f[:9]:>15}" for f in files)
    print(f"{'engine':14}{head} {'tokens/desc':>12} {'RSS MB':>8} {'peak MB':>8}")
    for name in scorers:
        cells = ""
        for f, rows in files.items():
            labels = [int(r.label or 0) for r in rows]
            kept = metrics.clean(scores[name, f], labels)
            cells += f" {len(rows) / seconds[name, f]:18.3f} {metrics.roc_auc(kept.scores, kept.labels):15.3f}"
        print(f"{name:14}{cells} {tokens[name] / total:12.0f} {memory[name]['rss_mb']:8.0f} "
              f"{memory[name]['peak_mb']:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--prompt", default="score_checklist")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--auc", action="store_true", help="both dev files: desc/s, AUC, tokens, memory")
    parser.add_argument("--limit", type=int, default=None, help="rows of each dev file (--auc)")
    parser.add_argument("--engines", nargs="+", default=None)
    parser.add_argument("--resident", default=None, help=argparse.SUPPRESS)  # the child process of --auc
    args = parser.parse_args()
    model = gguf.resolve(args.model)
    if args.resident:
        print(json.dumps(resident(args.resident, model, args.prompt)))
        return
    if args.engines is None:
        args.engines = (["int8", "llamacpp", "ctranslate2", "torchao"] if args.auc else
                        ["serial", "llamacpp", "int8", "ctranslate2", "torchao",  # repacking crashes on AMX
                         *(["Q8_0", "Q4_0"] if llama_model.cpu_has_amx() else
                           ["repack", "Q8_0+repack", "Q4_0+repack"])])
        missing = [e for e in ("ctranslate2", "torchao") if importlib.util.find_spec(e) is None]
        if missing:  # `make bench` runs without the optional libraries
            print(f"not installed, left out: {', '.join(missing)} (pip install -e '.[kept]')")
            args.engines = [e for e in args.engines if e not in missing]
    (auc if args.auc else speed)(args, model)


if __name__ == "__main__":
    main()
