from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search import prompts
from ltvad_search.describe.base import DescribeRequest
from ltvad_search.describe.cpu_basic import CpuDescriber
from ltvad_search.video.decode import probe, read_frames, split


def _describe(path: Path) -> list[str]:
    clip = probe(path)
    describer = CpuDescriber()
    out = []
    for seg in split(clip, 2, 2.0):
        frames = read_frames(clip, seg.sample_times, 448)
        [d] = describer.describe([DescribeRequest(seg, frames, prompts.load("describe"))])
        out.append(d.text)
    return out


def test_flashing_emergency_lights_are_reported(demo_clips: dict[str, Path]) -> None:
    texts = _describe(demo_clips["longtail_emergency_lights"])
    assert all("red and blue lights flash" in t for t in texts)


def test_hard_stop_and_impact_are_reported(demo_clips: dict[str, Path]) -> None:
    first, second = _describe(demo_clips["longtail_hard_brake_crash"])
    assert "hard braking" not in first and "hard braking" in second
    assert "as from an impact" in second


def test_routine_driving_reads_routine(demo_clips: dict[str, Path]) -> None:
    for text in _describe(demo_clips["routine_highway_day"]):
        assert "daylight" in text and "steady pace" in text
        for word in ("braking", "impact", "flash", "pedestrian"):
            assert word not in text


def test_it_never_claims_what_it_cannot_see(demo_clips: dict[str, Path]) -> None:
    for path in demo_clips.values():
        for text in _describe(path):
            assert text.endswith("were not identified by this describer.")
            assert "deer" not in text and "truck" not in text


def test_real_clips_get_a_description(shared_data: Path) -> None:
    for path in sorted((shared_data / "clips").iterdir()):
        texts = _describe(path)
        assert len(texts) == 2 and all(t.startswith("Front-camera footage") for t in texts), path


@pytest.mark.parametrize("night", [True])
def test_night_is_dark(tmp_path: Path, night: bool) -> None:
    from ltvad_search.video.demo_clips import Scene, encode, render

    scene = Scene("dark", 0, None, 2.0, lambda t: 8.0, night=night)
    path = encode([(f * 0.3).astype("uint8") for f in render(scene)], tmp_path / "dark.mp4")
    assert all("dark" in t for t in _describe(path))
