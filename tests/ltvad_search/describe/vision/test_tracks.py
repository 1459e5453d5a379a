from __future__ import annotations

import math

import pytest

from ltvad_search.describe.vision.detector import Detection
from ltvad_search.describe.vision.tracks import (
    Track,
    crosses,
    drift,
    follow,
    growth,
    iou,
    nearness,
    on_road,
    side,
)


def _box(cx: float, width: float, bottom: float = 0.8) -> tuple[float, float, float, float]:
    return (cx - width / 2, bottom - width, cx + width / 2, bottom)


def test_iou() -> None:
    assert iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    assert iou((0, 0, 2, 1), (1, 0, 3, 1)) == pytest.approx(1 / 3)


def test_follow_links_overlapping_boxes_and_bridges_one_missed_frame() -> None:
    times = [0.0, 0.5, 1.0, 1.5]
    frames = [[Detection("car", 0.9, _box(0.5, 0.2)), Detection("person", 0.8, _box(0.1, 0.05))],
              [Detection("truck", 0.7, _box(0.5, 0.21))],  # the same vehicle, called a truck this time
              [Detection("car", 0.9, _box(0.5, 0.22))],
              [Detection("car", 0.9, _box(0.5, 0.23)), Detection("person", 0.8, _box(0.1, 0.05))]]
    tracks = sorted(follow(frames, times), key=lambda t: t.label)
    car, person, person_again = tracks[0], tracks[1], tracks[2]
    assert car.label == "car" and car.times == (0.0, 0.5, 1.0, 1.5)  # one track, majority label
    assert person.times == (0.0,) and person_again.times == (1.5,)  # two frames missed: a new track


def test_growth_is_the_inverse_time_to_contact() -> None:
    times = (0.0, 0.5, 1.0)
    boxes = tuple(_box(0.5, 0.1 * math.exp(0.5 * t)) for t in times)  # the box grows e-fold every 2 s
    track = Track("car", times, boxes, (0.9, 0.9, 0.9))
    assert growth(track) == pytest.approx(0.5, abs=1e-6) and drift(track) == pytest.approx(0.0, abs=1e-9)


def test_where_a_box_is() -> None:
    assert side(_box(0.5, 0.3)) == "ahead" and side(_box(0.15, 0.1)) == "left" and side(_box(0.9, 0.1)) == "right"
    assert nearness(_box(0.5, 0.35)) == "very close" and nearness(_box(0.5, 0.02)) == "far off"
    assert on_road(_box(0.5, 0.1, bottom=0.8)) and not on_road(_box(0.5, 0.05, bottom=0.3))  # a traffic light


def test_crossing_means_moving_across_the_band_ahead() -> None:
    across = Track("person", (0, 1, 2), (_box(0.2, 0.05), _box(0.5, 0.05), _box(0.8, 0.05)), (0.9,) * 3)
    into = Track("person", (0, 1), (_box(0.2, 0.05), _box(0.45, 0.05)), (0.9,) * 2)
    along = Track("person", (0, 1), (_box(0.1, 0.05), _box(0.15, 0.05)), (0.9,) * 2)
    assert crosses(across) and crosses(into) and not crosses(along)
