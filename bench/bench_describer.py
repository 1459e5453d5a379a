"""Where the CPU describer's time goes, per segment, on the real clips; and its share of a whole run.

Part 1 describes every segment (K=2, 2 fps, 448 px) of the real clips in ../shared/data/clips (and
the real street clip that `absolutely-not-scikit-video` ships) with the default `cpu` describer and
prints seconds per segment for each part: decoding the sampled frames, the pixel cues (light,
motion, shake, lights), the object detector, the crop classifier, and tracking plus writing. The
detector runs once per sampled frame at its native 300x300 input; the same table is printed with
the detector on every other frame, which is what halving its cost would give up (tracks are
followed across 1 s instead of 0.5 s).

Part 2 runs `ltvad run` on the same clips with the default scorer into a fresh store and prints
the share of stage 1 (decoding included) in the run's describe + score time, as recorded on the
run. Run: `python bench/bench_describer.py [--skip-run]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips"


def clips() -> list[Path]:
    from ltvad_search.video.demo_clips import packaged_real_clip

    found = sorted(SHARED.iterdir()) if SHARED.is_dir() else []
    street = packaged_real_clip()
    return found + ([street] if street else [])


def parts(paths: list[Path], every: int, texts: dict[str, list[str]] | None = None) -> dict[str, float]:
    """Seconds per segment for each part, with the detector on every `every`-th sampled frame; the
    descriptions go into `texts` (clip name -> one per segment) when given."""
    from ltvad_search import prompts
    from ltvad_search.describe.base import DescribeRequest
    from ltvad_search.describe.cpu_vision import VisionDescriber
    from ltvad_search.video.decode import Frames, probe, read_frames, split

    describer = VisionDescriber()
    detect = describer.detector.detect
    describer.detector.detect = lambda frames: _strided(detect, frames, every)  # type: ignore[method-assign]
    decode: list[float] = []
    frames_seen = 0
    for path in paths:
        clip = probe(path)
        for seg in split(clip, 2, 2.0):
            start = time.perf_counter()
            frames = read_frames(clip, seg.sample_times, 448)
            decode.append(time.perf_counter() - start)
            frames_seen += len(frames.times)
            [d] = describer.describe([DescribeRequest(seg, Frames(frames.pixels, frames.times, frames.fps),
                                                      prompts.load("describe"))])
            if texts is not None:
                texts.setdefault(path.name, []).append(d.text)
    t = describer.times
    n = t.segments
    print(f"  ({frames_seen / n:.1f} frames per segment; detector {t.detect / frames_seen * every:.3f} s per "
          f"frame it runs on; a 30-s clip at K=2, 2 fps has 60 frames)")
    return {"decode": statistics.mean(decode), "cues": t.cues / n, "detect": t.detect / n,
            "classify": t.classify / n, "track + write": t.write / n}


def _strided(detect, frames, every: int):
    """Detections on every `every`-th frame; the frames between get none (tracks bridge one gap)."""
    found = detect(frames[::every])
    return [found[i // every] if i % every == 0 else [] for i in range(len(frames))]


def run_share(paths: list[Path]) -> None:
    from ltvad_search.catalog import Catalog
    from ltvad_search.config import load_settings
    from ltvad_search.describe import make_describer
    from ltvad_search.run import pipeline
    from ltvad_search.run.ingest import ingest
    from ltvad_search.score import make_scorer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_settings(None, [f"store.root={tmp}"])
        with Catalog(cfg.store.catalog) as cat:
            ingest(paths, cat, cfg.video)
            start = time.perf_counter()
            report = pipeline.run(cat, cfg, make_describer(cfg.describer), make_scorer(cfg.scorer))  # no score cache
            wall = time.perf_counter() - start
            top = cat.top_segments(report.describer, report.scorer, cfg.video.k)
        d, s = report.describe.seconds, report.score.seconds
        segments = report.describe.done
        print(f"\n`ltvad run` on {len(paths)} clips ({segments} segments), default describer and scorer, "
              f"no score cache: {wall:.1f} s wall")
        print(f"  stage 1 (decode + describe) {d:6.1f} s  {d / segments:5.2f} s/segment  {d / (d + s):5.1%} of the run")
        print(f"  stage 2 (score)             {s:6.1f} s  {s / segments:5.2f} s/segment  {s / (d + s):5.1%} of the run")
        print("clip ranking (score = max over segments, default scorer):")
        for seg, _ in top:
            print(f"  {seg.score:.3f}  {Path(seg.source).name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-run", action="store_true", help="Only the per-part table.")
    args = parser.parse_args()
    paths = clips()
    if not paths:
        sys.exit("no real clips: this benchmark needs ../shared/data/clips or absolutely-not-scikit-video")
    print(f"{len(paths)} real clips: " + ", ".join(p.name for p in paths))
    print("seconds per segment (K=2, 2 fps, 448 px), 2 threads")
    print(f"{'detector on':22} " + " ".join(f"{k:>13}" for k in ("decode", "cues", "detect", "classify",
                                                                    "track + write", "total")))
    texts: dict[str, list[str]] = {}
    for every, label in ((1, "every sampled frame"), (2, "every other frame")):
        row = parts(paths, every, texts if every == 1 else None)
        print(f"{label:22} " + " ".join(f"{v:13.3f}" for v in row.values()) + f" {sum(row.values()):13.3f}")
    print("\nwhat it writes (detector on every sampled frame):")
    for name, segments in texts.items():
        for i, text in enumerate(segments):
            print(f"  {name} [segment {i}]: {text}")
    if not args.skip_run:
        run_share(paths)


if __name__ == "__main__":
    main()
