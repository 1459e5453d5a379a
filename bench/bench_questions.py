"""Checklist throughput: a description's questions one at a time, in one llama.cpp batch, and in one int8 pass.

One process, one scorer per mode over the same GGUF, the same descriptions and passes (the rubric,
the description, then the questions), the modes interleaved in rounds so machine noise hits all
alike. "One at a time" runs each question as its own pass on the model's plain context, as stage 2
did before the batch (`scorer.llamacpp.questions=serial`, as in the `checklist-v1` preset); "one batch" puts
them through llama.cpp together (`score/llama/branches.py`, `scorer.llamacpp.engine=llamacpp`); "int8"
runs that batch on the same weights as int8 matrices in torch (`score/llama/int8.py`,
`scorer.llamacpp.engine=int8`, what `auto` picks on CPUs with VNNI). The llama.cpp modes load the model
without llama.cpp's extra weight buffers (`scorer.llamacpp.extra_buffers=off`, the default: AMX CPUs crash
with them, `models/llama_model.py`); "repacked" is the same batch with them on, as llama.cpp
loaded the model before ("repack": skipped on CPUs with AMX, where it crashes). Prints descriptions per second for each,
the speed-up over one at a time, the prompt tokens per description (the same in all) and the largest
difference in P(Yes) from the llama.cpp batch (float rounding for one at a time; quantization for int8).
Descriptions come from ../shared/data/textbench/primary_dev.jsonl when present, else from the demo
clips' CPU descriptions. Run: `python bench/bench_questions.py [--model ...] [--n 16] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import time

from bench_prefix import texts

from ltvad_search import prompts
from ltvad_search.models import gguf, llama_model
from ltvad_search.score.llama.scorer import LlamaCppScorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--prompt", default="score_checklist")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    prompt = prompts.load(args.prompt)
    items = texts(args.n)
    path = gguf.resolve(args.model)
    modes = {"one question at a time": LlamaCppScorer(path, answer="checklist", questions="serial"),
             "one llama.cpp batch": LlamaCppScorer(path, answer="checklist")}
    if not llama_model.cpu_has_amx():
        modes["llama.cpp batch, repack"] = LlamaCppScorer(path, answer="checklist", extra_buffers="on")
    modes["one int8 pass"] = LlamaCppScorer(path, answer="checklist", engine="int8")
    for scorer in modes.values():  # warm-up: page the weights in, make the contexts
        scorer.yes_probabilities(prompt, items[:1])
    timing = dict.fromkeys(modes, 0.0)
    tokens = dict.fromkeys(modes, 0)
    answers: dict[str, list[list[float]]] = {}
    for _ in range(args.rounds):
        for name, scorer in modes.items():
            start, spent = time.perf_counter(), scorer.evaluated
            answers[name] = scorer.yes_probabilities(prompt, items)
            timing[name] += time.perf_counter() - start
            tokens[name] += scorer.evaluated - spent
    n = len(items) * args.rounds
    rate = {name: n / timing[name] for name in modes}
    batch = answers["one llama.cpp batch"]
    print(f"model {path.name}; prompt {prompt.id}, {len(prompt.questions)} questions; "
          f"{len(items)} descriptions x {args.rounds} rounds")
    print(f"{'mode':24} {'desc/s':>8} {'s/desc':>8} {'speed-up':>9} {'tokens/desc':>12} {'max |dP(Yes)|':>14}")
    first = next(iter(rate.values()))
    for name in modes:
        diff = max(abs(x - y) for a, b in zip(answers[name], batch, strict=True) for x, y in zip(a, b, strict=True))
        print(f"{name:24} {rate[name]:8.3f} {1 / rate[name]:8.2f} {rate[name] / first:8.2f}x "
              f"{tokens[name] / n:12.0f} {diff:14.3f}")


if __name__ == "__main__":
    main()
