"""Stage-2 throughput with the rubric's KV cache reused vs every prompt evaluated in full.

One process, one model, the same descriptions, the two modes interleaved in rounds so machine noise
hits both alike. Prints descriptions per second for each, the ratio, and the largest score
difference between the modes. Descriptions come from ../shared/data/textbench/primary_dev.jsonl
when present, else from the demo clips' CPU descriptions.
Run: `python bench/bench_prefix.py [--model qwen2.5-coder-1.5b|smollm2-135m] [--n 24]`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ltvad_search import prompts
from ltvad_search.models import gguf
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.llama.scorer import LlamaCppScorer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "textbench" / "primary_dev.jsonl"


def texts(n: int) -> list[str]:
    if SHARED.exists():
        from ltvad_search.catalog.textset import read_rows

        return [r.text for r in read_rows(SHARED)[:n]]
    from ltvad_search.describe.cpu_basic import compose, measure
    from ltvad_search.video.decode import Frames
    from ltvad_search.video.demo_clips import SCENES, render

    out = []
    for i, scene in enumerate(SCENES):
        frames = render(scene, i)[::5]
        m = measure(Frames(pixels=__import__("numpy").stack(frames), times=tuple(j * 0.5 for j in range(len(frames))),
                           fps=2.0))
        out.append(compose(m, 0.0, scene.seconds))
    return (out * (n // len(out) + 1))[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    prompt = prompts.load("score_description")
    items = [ScoreRequest(segment_id=str(i), text=t, prompt=prompt) for i, t in enumerate(texts(args.n))]
    scorer = LlamaCppScorer(gguf.resolve(args.model))
    scorer.score(items[:1])  # warm-up: page the weights in
    timing = {True: 0.0, False: 0.0}
    results: dict[bool, list[float | None]] = {}
    for _ in range(args.rounds):
        for reuse in (False, True):
            scorer.reuse_prefix = reuse
            start = time.perf_counter()
            results[reuse] = [s.score for s in scorer.score(items)]
            timing[reuse] += time.perf_counter() - start
    n = len(items) * args.rounds
    full, reused = n / timing[False], n / timing[True]
    diff = max(abs(a - b) for a, b in zip(results[True], results[False], strict=True))  # type: ignore[operator]
    tokens = len(scorer.prompt_tokens(prompt.render(items[0].text)))
    print(f"model {scorer.name}; {len(items)} descriptions x {args.rounds} rounds; ~{tokens} prompt tokens each")
    print(f"{'mode':28} {'desc/s':>8} {'s/desc':>8}")
    print(f"{'full prompt every time':28} {full:8.2f} {1 / full:8.2f}")
    print(f"{'rubric KV cache reused':28} {reused:8.2f} {1 / reused:8.2f}")
    print(f"speed-up {reused / full:.2f}x; largest score difference {diff:.2e}")


if __name__ == "__main__":
    main()
