"""Checklist throughput: a description's questions in one llama.cpp batch vs one question at a time.

One process, one scorer per mode over the same GGUF, the same descriptions and passes (the rubric,
the description, then the questions), the two modes interleaved in rounds so machine noise hits both
alike. "One at a time" runs each question as its own pass on the model's plain context, as stage 2
did before the batch (`scorer.questions=serial`, as in the `checklist-v1` preset); "one batch" is
what the scorer does now (`backends/llama_branches.py`). Prints descriptions per second for each,
the ratio, the prompt tokens per description (the same in both) and the largest difference in
P(Yes) between the modes (the two compute the same thing in different batch shapes).
Descriptions come from ../shared/data/textbench/primary_dev.jsonl when present, else from the demo
clips' CPU descriptions. Run: `python bench/bench_questions.py [--model ...] [--n 16] [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import time

from bench_prefix import texts

from ltvad_search import prompts
from ltvad_search.backends import gguf
from ltvad_search.backends.llamacpp import LlamaCppScorer


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
             "all questions in one batch": LlamaCppScorer(path, answer="checklist")}
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
    a, b = answers.values()
    diff = max(abs(x - y) for row_a, row_b in zip(a, b, strict=True) for x, y in zip(row_a, row_b, strict=True))
    print(f"model {path.name}; prompt {prompt.id}, {len(prompt.questions)} questions; "
          f"{len(items)} descriptions x {args.rounds} rounds")
    print(f"{'mode':28} {'desc/s':>8} {'s/desc':>8} {'tokens/desc':>12}")
    for name in modes:
        print(f"{name:28} {rate[name]:8.3f} {1 / rate[name]:8.2f} {tokens[name] / n:12.0f}")
    first, second = rate.values()
    print(f"speed-up {second / first:.2f}x; largest P(Yes) difference {diff:.3f}")


if __name__ == "__main__":
    main()
