"""Probe clips, split them into K segments, and decode only the frames the sampler asks for.

Probing uses PyAV because it turns every kind of broken file into a Python exception (decord can
abort the process on some corrupt inputs, and one bad clip must never stop a run). It reads packets
without decoding them, so a truncated file is measured by what is really there, not by what its
header promises. Frame sampling uses decord (seek + decode only up to the requested frames) and falls
back to PyAV for containers decord does not handle, such as GIF.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ltvad_search.records import Clip, Segment, clip_id_for, segment_id_for

# decord does not decode GIF; PyAV does.
_PYAV_ONLY = frozenset({".gif"})


class VideoError(ValueError):
    """A clip that cannot be used, with the file and the reason in the message."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Frames:
    """Sampled RGB frames (N, H, W, 3) uint8 and the timestamps they were taken for."""

    pixels: np.ndarray
    times: tuple[float, ...]
    fps: float


def probe(path: str | Path) -> Clip:
    """Measure a clip from its packets and check that its first frame decodes."""
    import av

    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file does not exist")
    if not p.is_file():
        raise VideoError(p, "not a regular file")
    size = p.stat().st_size
    if size == 0:
        raise VideoError(p, "file is empty (0 bytes)")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise VideoError(p, f"not a readable video container ({type(e).__name__}: {e})") from None
    with container:
        if not container.streams.video:
            raise VideoError(p, "container has no video stream")
        stream = container.streams.video[0]
        tb = float(stream.time_base or 0) or 1e-3
        count, first_pts, end_pts = 0, None, None
        try:
            for packet in container.demux(stream):
                # is_discard: before the start of an MP4 edit list (a trimmed clip's pre-roll); players drop it
                if packet.pts is None or packet.size == 0 or packet.is_discard:
                    continue
                count += 1
                first_pts = packet.pts if first_pts is None else min(first_pts, packet.pts)
                end = packet.pts + (packet.duration or 0)
                end_pts = end if end_pts is None else max(end_pts, end)
        except av.error.FFmpegError:
            pass  # a truncated tail: keep what was read before it
        if count == 0 or first_pts is None or end_pts is None:
            raise VideoError(p, "no video packets could be read (truncated or empty stream)")
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        duration = (end_pts - first_pts) * tb
        if duration <= 0 and rate > 0:
            duration = count / rate
        if rate <= 0 and duration > 0:
            rate = count / duration
        if duration <= 0 or rate <= 0:
            raise VideoError(p, "cannot determine duration or frame rate")
        _check_decodes(container, stream, p)
        return Clip(
            clip_id=clip_id_for(str(p.resolve())),
            source=str(p.resolve()),
            duration_s=round(duration, 6),
            fps=round(rate, 6),
            frame_count=count,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            size_bytes=size,
            container=p.suffix.lower().lstrip(".") or container.format.name,
        )


def _check_decodes(container: Any, stream: Any, path: Path) -> None:
    import av

    try:
        container.seek(0, stream=stream)
        for _ in container.decode(stream):
            return
    except av.error.FFmpegError as e:
        raise VideoError(path, f"no frame could be decoded ({e})") from None
    raise VideoError(path, "no frame could be decoded (zero decodable frames)")


def split(clip: Clip, k: int, fps: float) -> list[Segment]:
    """K equal, non-overlapping segments, each with its sample timestamps at `fps`.

    A clip too short to give every segment at least one sampling interval (and one source frame)
    is refused rather than producing segments that all show the same frame.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    needed = k / fps
    if clip.duration_s + 1e-6 < needed or clip.frame_count < k:
        raise VideoError(
            clip.source,
            f"too short for {k} segments at {fps:g} fps: {clip.duration_s:.2f} s and "
            f"{clip.frame_count} frames, need at least {needed:.2f} s and {k} frames",
        )
    length = clip.duration_s / k
    segments = []
    for i in range(k):
        start, end = i * length, (i + 1) * length
        segments.append(
            Segment(
                segment_id=segment_id_for(clip.clip_id, start, end),
                clip_id=clip.clip_id,
                index=i,
                k=k,
                start_s=round(start, 6),
                end_s=round(end, 6),
                sample_times=sample_times(start, end, fps),
            )
        )
    return segments


def sample_times(start_s: float, end_s: float, fps: float) -> tuple[float, ...]:
    """Timestamps every 1/fps seconds from the start of a span, never reaching its end."""
    n = max(1, math.ceil((end_s - start_s) * fps - 1e-9))
    return tuple(round(start_s + i / fps, 6) for i in range(n))


def frame_indices(times: Sequence[float], native_fps: float, frame_count: int) -> list[int]:
    """The source frame shown at each timestamp (constant-rate streams)."""
    return [min(frame_count - 1, max(0, int(math.floor(t * native_fps + 1e-6)))) for t in times]


def target_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) scaled so the longer side is at most max_side, even-sized for codecs."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def read_frames(
    clip: Clip, times: Sequence[float], max_side: int | None = None, *, decoder: str = "pyav"
) -> Frames:
    """Decode the frames at `times` (seconds from the clip start), resized to `max_side`.

    `pyav` (default) plans seeks from the keyframe index and skips frames nothing refers to; in
    bench/bench_decode.py it beats decord's get_batch, which re-seeks per requested frame. `decord`
    stays selectable; it falls back to PyAV on containers it cannot open (GIF).
    """
    if not times:
        raise ValueError("no timestamps to sample")
    w, h = target_size(clip.width, clip.height, max_side)
    pixels = None
    if decoder == "decord" and Path(clip.source).suffix.lower() not in _PYAV_ONLY:
        try:
            pixels = _read_decord(clip, times, w, h)
        except (RuntimeError, ImportError, OSError):
            pixels = None  # decord could not open or seek this file: PyAV below is broader
    if pixels is None:
        pixels = _read_pyav(clip, times, w, h)
    return Frames(pixels=pixels, times=tuple(times), fps=_sampling_fps(times))


def _sampling_fps(times: Sequence[float]) -> float:
    if len(times) < 2:
        return 1.0
    return round((len(times) - 1) / (times[-1] - times[0]), 6)


def _read_decord(clip: Clip, times: Sequence[float], w: int, h: int) -> np.ndarray:
    import decord

    kwargs = {} if (w, h) == (clip.width, clip.height) else {"width": w, "height": h}
    reader = decord.VideoReader(clip.source, ctx=decord.cpu(0), num_threads=1, **kwargs)
    n = len(reader)
    if n == 0:
        raise RuntimeError("decord found no frames")
    idx = frame_indices(times, float(reader.get_avg_fps()), n)
    return reader.get_batch(idx).asnumpy()


# Frames more than this many frame intervals before the next target are decoded only if something
# refers to them (a frame's packet carries its own presentation time, so B-frame reordering needs no
# wider margin); the frame just before a target is always decoded, so it can stand in at a stream end.
_SKIP_MARGIN_FRAMES = 1.5


def _read_pyav(clip: Clip, times: Sequence[float], w: int, h: int) -> np.ndarray:
    """One forward pass with planned seeks: for each target, jump to the keyframe before it unless
    the decoder is already inside that group of pictures, then decode up to it, converting only the
    frame shown at the target."""
    import av

    half_frame = 0.5 / clip.fps
    order = sorted(range(len(times)), key=lambda i: times[i])
    out: list[np.ndarray | None] = [None] * len(times)
    last: np.ndarray | None = None
    with av.open(clip.source) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base or 0) or 1e-3
        start = float(stream.start_time or 0) * tb
        keys = _keyframe_times(container, stream, tb, start)
        ctx = stream.codec_context
        position, cursor = None, None  # time of the last decoded frame; the open decode cursor
        for i in order:
            target = times[i]
            key = max((k for k in keys if k <= target + half_frame), default=0.0)
            if position is None or cursor is None or position < key - half_frame or position > target:
                container.seek(int((key + start) / tb), stream=stream, backward=True, any_frame=False)
                ctx.flush_buffers()
                margin = _SKIP_MARGIN_FRAMES / clip.fps if clip.fps > 0 else 0.3
                cursor, position = _Cursor(container.demux(stream), ctx, tb, start, margin), None
            frame = cursor.until(target - half_frame)
            if frame is None:
                break  # stream ends early (truncated): later targets get the last good frame
            position = float(frame.time or 0.0) - start
            out[i] = last = _to_rgb(frame, w, h)
    if last is None:
        raise VideoError(clip.source, "no frame could be decoded")
    filled = [last if f is None else f for f in out]
    return np.stack(filled)


def _keyframe_times(container: Any, stream: Any, tb: float, start: float) -> list[float]:
    """Keyframe timestamps from packet flags: reading packets costs little next to decoding them."""
    import av

    keys = []
    try:
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                keys.append(packet.pts * tb - start)
    except av.error.FFmpegError:
        pass
    return sorted(keys) or [0.0]


class _Cursor:
    """Frames in presentation order from a demux iterator, decoding only what a target needs."""

    def __init__(self, packets: Iterator[Any], ctx: Any, tb: float, start: float, margin: float) -> None:
        self._packets, self._ctx, self._tb, self._start = packets, ctx, tb, start
        self._margin = margin
        self._pending: deque = deque()
        self._last = None

    def until(self, threshold: float) -> Any:
        """The first frame at or after `threshold`; past the end of the stream, the last frame it
        has (so a time in the last frame's display interval gets that frame); None when nothing
        decodes at all."""
        import av

        while True:
            while self._pending:
                frame = self._last = self._pending.popleft()
                if float(frame.time or 0.0) - self._start >= threshold - 1e-6:
                    return frame
            packet = next(self._packets, None)
            if packet is None:
                return self._last
            far = packet.pts is not None and packet.pts * self._tb - self._start < threshold - self._margin
            self._ctx.skip_frame = "NONREF" if far else "DEFAULT"
            try:
                self._pending.extend(packet.decode())
            except av.error.FFmpegError:
                return self._last  # a broken tail: the last good frame stands in


def _to_rgb(frame: Any, w: int, h: int) -> np.ndarray:
    return frame.to_ndarray(format="rgb24", width=w, height=h)
