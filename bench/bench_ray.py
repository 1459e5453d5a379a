"""Throughput of the local runner vs the Ray engine on the same clips, and Ray from 1 to 2 workers.

All three runs happen in one process, one after another, on fresh stores and the same input
(the demo scenes, copied `--copies` times), so the ratios compare like with like. A "worker" is
one describer actor plus one scorer actor; each scorer uses one llama.cpp thread. The Ray cluster
is started once before timing (a real cluster is long-lived); actor start-up and model loading are
inside the timed runs, as they are for a real job.
Run: `python bench/bench_ray.py [--copies 4] [--scorer-model smollm2-135m|qwen2.5-coder-1.5b]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from ltvad_search.catalog import Catalog
from ltvad_search.config import Settings, load_settings
from ltvad_search.describe import make_describer
from ltvad_search.run import distributed, pipeline
from ltvad_search.run.ingest import ingest
from ltvad_search.score import make_scorer
from ltvad_search.video.demo_clips import write_demo_set


def clips(folder: Path, copies: int) -> tuple[Path, float]:
    scenes = write_demo_set(folder / "scenes")
    out = folder / "input"
    out.mkdir()
    for i in range(copies):
        for p in scenes:
            shutil.copy(p, out / f"{i}_{p.name}")
    with Catalog(folder / "probe.sqlite") as cat:
        ingest([out], cat, load_settings().video)
        return out, sum(c.duration_s for c in cat.clips())


def settings(store: Path, model: str, workers: int, cpu: float) -> Settings:
    return load_settings(None, [
        f"store.root={store}", f"scorer.model={model}", "scorer.llamacpp.n_threads=1", "run.batch_size=4",
        f"ray.describe_workers={workers}", f"ray.score_workers={workers}", f"ray.describe_cpus={cpu}",
        f"ray.score_cpus={cpu}", f"ray.decode_cpus={cpu}"])


def local(cfg: Settings, folder: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    with Catalog(cfg.store.catalog) as cat:
        ingest([folder], cat, cfg.video)
        report = pipeline.run(cat, cfg, make_describer(cfg.describer), make_scorer(cfg.scorer))
    return time.perf_counter() - t0, report.score.done


def on_ray(cfg: Settings, folder: Path) -> tuple[float, int, dict[str, float]]:
    t0 = time.perf_counter()
    with Catalog(cfg.store.catalog) as cat:
        report = distributed.run(cat, cfg, [folder])
    return time.perf_counter() - t0, report.done, report.stage_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="Copies of the demo scenes to process.")
    parser.add_argument("--scorer-model", default="smollm2-135m")
    args = parser.parse_args()

    import ray

    cores = os.cpu_count() or 1
    # Logical CPUs: two workers (4 actors at 0.5 CPU) plus decode tasks fit on the cluster; the
    # physical cores (printed) are what bounds the speed-up.
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder, video_s = clips(root, args.copies)
        n = len(list(folder.iterdir()))
        rows = []
        wall, done = local(settings(root / "local", args.scorer_model, 1, 0.5), folder)
        rows.append(("local runner", wall, done, None))
        for workers in (1, 2):
            wall, done, stages = on_ray(settings(root / f"ray{workers}", args.scorer_model, workers, 0.5), folder)
            rows.append((f"ray, {workers} worker{'s' if workers > 1 else ''}", wall, done, stages))
    ray.shutdown()

    print(f"{n} clips, {video_s / 60:.1f} min of video, K=2, scorer {args.scorer_model}, {cores} physical cores")
    print(f"{'engine':16} {'wall s':>7} {'segments':>8} {'clips/hour':>10} {'video h/day':>11}  "
          "stage s (decode/describe/score)")
    for name, wall, done, stages in rows:
        stage = "" if stages is None else "/".join(f"{stages[k]:.1f}" for k in ("decode", "describe", "score"))
        print(f"{name:16} {wall:7.1f} {done:8d} {n / wall * 3600:10,.0f} {video_s / wall * 24:11.1f}  {stage}")
    local_wall, ray1, ray2 = rows[0][1], rows[1][1], rows[2][1]
    print(f"ray 1 worker vs local runner: {local_wall / ray1:.2f}x throughput")
    print(f"ray 2 workers vs 1 worker:    {ray1 / ray2:.2f}x throughput")


if __name__ == "__main__":
    main()
