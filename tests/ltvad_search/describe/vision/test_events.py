"""Each event on boxes with a known motion, and the ordinary motions that must not be mistaken for one."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ltvad_search.describe.vision.detector import Detection
from ltvad_search.describe.vision.events import (
    abrupt_stops,
    appearances,
    clearance_m,
    cut_ins,
    events,
    falls,
    looms,
    meetings,
)
from ltvad_search.describe.vision.tracks import Track, follow

Box = tuple[float, float, float, float]


def car(cx: float, width: float, bottom: float = 0.8, aspect: float = 0.75) -> Box:
    """A vehicle-shaped box (height = aspect x width) standing on `bottom`, centred at `cx`."""
    return (cx - width / 2, bottom - aspect * width, cx + width / 2, bottom)


def track(label: str, boxes: Sequence[Box], start: float = 0.0, score: float = 0.9) -> Track:
    return Track(label, tuple(start + 0.5 * i for i in range(len(boxes))), tuple(boxes), (score,) * len(boxes))


def test_a_close_car_sliding_into_our_lane_is_a_cut_in_with_its_time() -> None:
    sliding = track("car", [car(c, 0.16) for c in (0.22, 0.3, 0.42, 0.5)])
    [event] = cut_ins([sliding])
    assert event.at == 1.0 and "from the left moves into our lane close ahead" in event.sentence
    assert event.sure == "likely"  # the change rests on two boxes
    keeping_its_lane = track("car", [car(0.22, 0.16)] * 4)
    far_away = track("car", [car(c, 0.05) for c in (0.22, 0.3, 0.42, 0.5)])
    assert cut_ins([keeping_its_lane, far_away]) == []


def test_two_road_users_meeting_at_the_same_distance_is_a_possible_collision() -> None:
    a = track("car", [car(c, 0.12) for c in (0.24, 0.3, 0.36, 0.42)])
    b = track("motorcycle", [car(c, 0.12, aspect=1.2) for c in (0.76, 0.69, 0.62, 0.47)])
    [event] = meetings([a, b])
    assert event.at == 1.5 and event.rank == 0
    assert "a car and a motorcycle" in event.sentence and "possibly a collision between them" in event.sentence
    # one passing behind the other (its bottom higher up: further away) is not a meeting
    behind = track("motorcycle", [car(c, 0.05, bottom=0.62, aspect=1.2) for c in (0.76, 0.69, 0.62, 0.42)])
    # nor a rider on their own motorcycle
    rider = track("person", [car(c, 0.06, aspect=2.0) for c in (0.76, 0.69, 0.62, 0.47)])
    assert meetings([a, behind]) == [] and meetings([b, rider]) == []


def test_a_person_going_from_upright_to_lying_falls_and_a_walker_does_not() -> None:
    upright, lying = (0.45, 0.62, 0.51, 0.8), (0.42, 0.75, 0.57, 0.81)
    [event] = falls([track("person", [upright, upright, lying, lying])])
    assert event.kind == "fall" and event.at == 1.0 and "appears to fall" in event.sentence
    walking = track("person", [(0.3 + 0.05 * i, 0.62, 0.36 + 0.05 * i, 0.8) for i in range(4)])
    assert falls([walking]) == []


def test_a_car_box_turning_from_wide_to_tall_is_tipping() -> None:
    [event] = falls([track("car", [car(0.5, 0.15), car(0.5, 0.15), (0.44, 0.6, 0.56, 0.79)])])
    assert event.kind == "tipping" and "tipping over or rolling" in event.sentence
    cut_by_the_edge = track("car", [(0.0, 0.6, 0.15, 0.71), (0.0, 0.6, 0.08, 0.73)])
    assert falls([cut_by_the_edge]) == []


def test_a_car_appearing_close_and_moving_towards_our_path_pulls_out() -> None:
    other = track("car", [car(0.5, 0.05)] * 4)
    out = track("car", [car(0.25, 0.22), car(0.33, 0.2)], start=1.0)
    [event] = appearances([other, out], first=0.0)
    assert event.kind == "pull-out" and event.at == 1.0 and "pulls out in front of us from the left" in event.sentence
    entering_from_the_edge = track("car", [(0.0, 0.6, 0.24, 0.8), (0.0, 0.6, 0.26, 0.8)], start=1.0)
    there_from_the_start = track("car", [car(0.25, 0.22), car(0.33, 0.2)])
    assert appearances([entering_from_the_edge, there_from_the_start], first=0.0) == []


def test_a_box_doubling_in_our_path_comes_at_us_and_an_oncoming_car_in_its_lane_does_not() -> None:
    [event] = looms([track("car", [car(0.5, 0.1), car(0.5, 0.25)])])
    assert event.rank == 0 and "on a collision course" in event.sentence and "contact in about 0.5 s" in event.sentence
    # oncoming, 3.5 m to our left: its near side 2.6 m beside our heading, however fast it grows
    lane = 3.5 / 1.8
    oncoming = track("car", [car(0.5 - lane * w, w) for w in (0.1, 0.25)])
    assert clearance_m(oncoming.last) == pytest.approx(2.6, abs=0.01) and looms([oncoming]) == []
    grazing = track("car", [car(0.5 + (1.2 / 1.8 + 0.5) * w, w) for w in (0.12, 0.3)])  # 1.2 m beside
    [near_miss] = looms([grazing])
    assert "only just misses us" in near_miss.sentence and "on the right" in near_miss.sentence


def test_the_tracker_follows_a_box_that_grows_threefold_towards_its_focus_of_expansion() -> None:
    boxes = [car(0.62, 0.1, bottom=0.62), car(0.75, 0.3, bottom=0.86)]  # scaled about (0.5, horizon)
    [one] = follow([[Detection("car", 0.9, b)] for b in boxes], (0.0, 0.5))
    assert len(one.times) == 2


def test_a_car_ahead_that_kept_its_distance_and_then_closes_in_stopped_abruptly() -> None:
    widths = (0.15, 0.15, 0.151, 0.18, 0.22)
    [event] = abrupt_stops([track("car", [car(0.5, w) for w in widths])])
    assert event.at == 1.5 and "stops abruptly" in event.sentence
    steady_approach = (0.15, 0.16, 0.17, 0.18, 0.19)
    assert abrupt_stops([track("car", [car(0.5, w) for w in steady_approach])]) == []


def test_events_come_most_unusual_first_then_in_time_order() -> None:
    cut_in = track("car", [car(c, 0.16) for c in (0.22, 0.3, 0.42, 0.5)])
    collision_course = track("truck", [car(0.5, 0.1), car(0.5, 0.25)], start=1.5)
    found = events([cut_in, collision_course], first=0.0)
    assert [e.kind for e in found] == ["sudden approach", "cut-in"]


def test_the_bench_cue_patterns_find_every_event_sentence() -> None:
    from ltvad_search.describe.vision.narrate import cues_in, event_sentences

    found = [
        *cut_ins([track("car", [car(c, 0.16) for c in (0.22, 0.3, 0.42, 0.5)])]),
        *meetings([track("car", [car(c, 0.12) for c in (0.24, 0.3, 0.36, 0.42)]),
                   track("bus", [car(c, 0.12) for c in (0.76, 0.69, 0.62, 0.47)])]),
        *falls([track("person", [(0.45, 0.62, 0.51, 0.8), (0.42, 0.75, 0.57, 0.81)])]),
        *falls([track("car", [car(0.5, 0.15), (0.44, 0.6, 0.56, 0.79)])]),
        *appearances([track("car", [car(0.25, 0.22), car(0.33, 0.2)], start=1.0)], first=0.0),
        *appearances([track("car", [car(0.5, 0.22), car(0.5, 0.22)], start=1.0)], first=0.0),
        *looms([track("car", [car(0.5, 0.1), car(0.5, 0.25)])]),
        *abrupt_stops([track("car", [car(0.5, w) for w in (0.15, 0.15, 0.151, 0.18, 0.22)])]),
    ]
    kinds = {"cut-in": "event: cut-in", "road users meeting": "event: road users meeting", "fall": "event: fall",
             "tipping": "event: tipping or rolling", "pull-out": "event: pull-out",
             "sudden appearance": "event: sudden appearance", "sudden approach": "event: sudden approach",
             "abrupt stop": "event: abrupt stop"}
    assert {e.kind for e in found} == set(kinds)
    for event, sentence in zip(found, event_sentences(found, limit=len(found)), strict=True):
        assert cues_in(sentence) == {kinds[event.kind]}, sentence


def test_nothing_is_told_across_a_cut_where_two_shots_meet() -> None:
    out = track("car", [car(0.25, 0.22), car(0.33, 0.2)], start=1.0)
    assert events([out], first=0.0) and events([out], first=0.0, cuts=(1.0,)) == []
    assert events([out], first=0.0, cuts=(3.0,))  # a cut later on says nothing about this one
