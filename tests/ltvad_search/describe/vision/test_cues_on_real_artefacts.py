"""Routine footage with what real files carry (a wiper, a burned-in timestamp, night noise, a
duplicated frame) must not read as an impact, a swerve, braking, flashing lights or fog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ltvad_search.describe.vision.cues import measure
from ltvad_search.describe.vision.narrate import NOTABLE, cue_sentences, cues_in
from ltvad_search.video.decode import Frames, probe, read_frames, split


def _wiper(frame: np.ndarray, t: float) -> np.ndarray:
    import cv2

    img = frame.copy()
    h, w = img.shape[:2]
    angle = np.pi * (0.5 + 0.45 * np.sin(2 * np.pi * t / 1.3))  # one sweep every 1.3 s
    tip = (int(w * 0.3 + np.cos(angle) * w * 0.9), int(h - np.sin(angle) * h * 1.2))
    cv2.line(img, (int(w * 0.3), h), tip, (20, 20, 20), max(3, w // 60))
    return img


def _timestamp(frame: np.ndarray, t: float) -> np.ndarray:
    import cv2

    img = frame.copy()
    cv2.putText(img, f"2026/12/03 07:{int(t):02d}:{int(t * 10) % 10}", (10, 30), 0, 0.8, (255, 255, 255), 2)
    return img


def _night_noise(frame: np.ndarray, t: float) -> np.ndarray:
    noise = np.random.default_rng(int(t * 100)).normal(0, 12, frame.shape)
    return np.clip(frame.astype(np.float32) * 0.25 + noise, 0, 255).astype(np.uint8)


ARTEFACTS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "wiper": _wiper, "timestamp": _timestamp, "night noise": _night_noise}


def _notable(frames: Frames) -> set[str]:
    return {cue for cue in cues_in(" ".join(cue_sentences(measure(frames, detect_people=False)))) if cue in NOTABLE}


def _check(path: Path) -> list[str]:
    clip, found = probe(path), []
    for seg in split(clip, 2, 2.0):
        frames = read_frames(clip, seg.sample_times, 448)
        for name, artefact in ARTEFACTS.items():
            pixels = np.stack([artefact(f, t) for f, t in zip(frames.pixels, frames.times, strict=True)])
            found += [f"{path.name} {name}: {cue}" for cue in _notable(Frames(pixels, frames.times, frames.fps))]
        doubled = frames.pixels.copy()
        doubled[2] = doubled[1]  # a duplicated frame, as from a dropped-frame encoder
        found += [f"{path.name} duplicated frame: {cue}" for cue in _notable(Frames(doubled, frames.times, frames.fps))]
    return found


def test_a_synthetic_routine_drive_with_artefacts_reads_routine(clip_path: Path) -> None:
    assert _check(clip_path) == []


def test_the_shared_routine_clips_with_artefacts_read_routine(shared_data: Path) -> None:
    from shared_clips import read_clip_table

    routine = [row.file for row in read_clip_table(shared_data / "README.md") if row.label == 0]
    assert [hit for name in routine for hit in _check(shared_data / "clips" / name)] == []


@pytest.mark.parametrize("name", list(ARTEFACTS))
def test_each_artefact_changes_the_frames(name: str) -> None:
    frame = np.full((252, 448, 3), 120, np.uint8)
    assert not np.array_equal(ARTEFACTS[name](frame, 1.0), frame)
