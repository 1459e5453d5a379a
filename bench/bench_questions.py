"""Checklist throughput: a description's questions in one llama.cpp batch vs one question at a time.

One process, one model, the same descriptions and passes (the rubric, the description, then the
questions), the two modes interleaved in rounds so machine noise hits both alike. "One at a time"
runs each question as its own pass on the model's plain context, as stage 2 did before the batch
(`backends/llama_branches.py`); "one batch" is what the scorer does now. Prints descriptions per
second for each, the ratio, the prompt tokens per description (the same in both) and the largest
difference in P(Yes) between the modes (the two compute the same thing in different batch shapes).
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
from ltvad_search.prompts import Prompt
from ltvad_search.scoring import softmax_subset


def one_at_a_time(scorer: LlamaCppScorer, prompt: Prompt, text: str) -> list[float]:
    """The questions as separate passes after the held description (the earlier scorer's way)."""
    sequences, common = scorer.question_tokens(prompt, text)
    out = []
    for tokens in sequences:
        probs = softmax_subset(scorer._logits_after(tokens, [scorer.shared_prefix(prompt), common]), scorer._yes_no)
        out.append(probs["Yes"] / (probs["Yes"] + probs["No"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--prompt", default="score_checklist")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    prompt = prompts.load(args.prompt)
    items = texts(args.n)
    scorer = LlamaCppScorer(gguf.resolve(args.model), answer="checklist")
    scorer.yes_probabilities(prompt, items[:1])  # warm-up: page the weights in, make both contexts
    one_at_a_time(scorer, prompt, items[0])
    modes = {"one question at a time": lambda t: one_at_a_time(scorer, prompt, t),
             "all questions in one batch": lambda t: scorer.yes_probabilities(prompt, [t])[0]}
    timing = dict.fromkeys(modes, 0.0)
    tokens = dict.fromkeys(modes, 0)
    answers: dict[str, list[list[float]]] = {}
    for _ in range(args.rounds):
        for name, run in modes.items():
            start, spent = time.perf_counter(), scorer.evaluated
            answers[name] = [run(t) for t in items]
            timing[name] += time.perf_counter() - start
            tokens[name] += scorer.evaluated - spent
    n = len(items) * args.rounds
    rate = {name: n / timing[name] for name in modes}
    a, b = answers.values()
    diff = max(abs(x - y) for row_a, row_b in zip(a, b, strict=True) for x, y in zip(row_a, row_b, strict=True))
    print(f"model {scorer.name}; prompt {prompt.id}, {len(prompt.questions)} questions; "
          f"{len(items)} descriptions x {args.rounds} rounds")
    print(f"{'mode':28} {'desc/s':>8} {'s/desc':>8} {'tokens/desc':>12}")
    for name in modes:
        print(f"{name:28} {rate[name]:8.3f} {1 / rate[name]:8.2f} {tokens[name] / n:12.0f}")
    first, second = rate.values()
    print(f"speed-up {second / first:.2f}x; largest P(Yes) difference {diff:.3f}")


if __name__ == "__main__":
    main()
