from __future__ import annotations

import dataclasses
import math

from ltvad_search.describe.vision.classifier import Guess
from ltvad_search.describe.vision.cues import Measurements
from ltvad_search.describe.vision.narrate import (
    CUES,
    NOBODY,
    NOTABLE,
    classes_in,
    closing_sentence,
    cue_sentences,
    cues_in,
    impacts,
    motion_sentence,
    object_sentences,
)
from ltvad_search.describe.vision.tracks import Track


def _track(label: str, centres: list[float], widths: list[float], score: float = 0.9,
           bottom: float = 0.85) -> Track:
    times = tuple(0.5 * i for i in range(len(centres)))
    boxes = tuple((c - w / 2, bottom - w, c + w / 2, bottom) for c, w in zip(centres, widths, strict=True))
    return Track(label, times, boxes, (score,) * len(centres))


def test_a_person_crossing_ahead_is_told_first_with_how_sure() -> None:
    car = _track("car", [0.5] * 4, [0.1] * 4)
    person = _track("person", [0.2, 0.35, 0.5, 0.65], [0.05] * 4, score=0.6)
    text = " ".join(object_sentences([car, person], {}, ego_moving=True, frames=4))
    assert text.index("A person is on the road ahead, crossing in front of the car from the left") == 0
    assert "(likely seen, in 4 of 4 frames)" in text
    assert "A car is ahead in our lane, at a distance" in text


def test_a_vehicle_ahead_closing_in_gives_its_time_to_contact() -> None:
    widths = [0.2 * math.exp(0.5 * 0.5 * i) for i in range(4)]  # grows e-fold every 2 s
    text = " ".join(object_sentences([_track("car", [0.5] * 4, widths)], {}, ego_moving=True, frames=4))
    assert "coming closer fast (time to contact about 2 s)" in text and "very close" in text


def test_a_near_vehicle_ahead_that_keeps_closing_is_a_collision_risk_only_when_clearly_seen() -> None:
    widths = [0.5 * math.exp(0.3 * 0.5 * i) for i in range(4)]  # 3-4 m ahead, the gap closing
    for ego_moving, pace in ((False, "stopped or nearly stopped"), (True, "much slower than us")):
        text = " ".join(object_sentences([_track("car", [0.5] * 4, widths)], {}, ego_moving=ego_moving, frames=4))
        assert f"The car is {pace} in our lane about" in text and "a collision risk" in text
    faint = " ".join(object_sentences([_track("car", [0.5] * 4, widths, score=0.4)], {}, ego_moving=False, frames=4))
    assert "possibly seen" in faint and "collision risk" not in faint


def test_side_traffic_is_counted_and_guesses_are_hedged() -> None:
    left = [_track("car", [0.1] * 3, [0.08] * 3), _track("car", [0.2] * 3, [0.06] * 3)]
    truck = _track("truck", [0.85] * 3, [0.2] * 3)
    text = " ".join(object_sentences([*left, truck], {truck: Guess("fire engine", 0.71)}, ego_moving=True, frames=3))
    assert "3 vehicles on the left" not in text and "2 vehicles on the left" in text
    assert "The classifier thinks the truck on the right may be a fire engine (71%)." in text


def test_one_frame_glimpses_are_not_told_and_nothing_seen_says_so() -> None:
    glimpse = _track("dog", [0.5], [0.05], score=0.5)
    assert object_sentences([glimpse], {}, ego_moving=True, frames=4) == [NOBODY]
    assert object_sentences([], {}, ego_moving=False, frames=4) == [NOBODY]


def test_the_cue_patterns_find_what_the_templates_write() -> None:
    """The bench's cue table reads descriptions; each pattern must match its template's sentence."""
    widths = [0.5 * math.exp(0.3 * 0.5 * i) for i in range(4)]
    risk = " ".join(object_sentences([_track("car", [0.5] * 4, widths)], {}, ego_moving=False, frames=4))
    assert {"collision risk", "coming closer", "time to contact"} <= cues_in(risk)
    crossing = " ".join(object_sentences([_track("person", [0.2, 0.35, 0.5, 0.65], [0.05] * 4)], {},
                                         ego_moving=True, frames=4))
    assert "crossing" in cues_in(crossing) and classes_in(crossing) == {"person"}
    braking = motion_sentence(__import__("numpy").array([4.0, 4.0, 4.0, 0.2, 0.2]), lambda i: f"{i * 0.5:.1f} s")
    assert cues_in(braking) in ({"hard braking"}, {"stopped or creeping"})
    assert classes_in("A dog is at the left edge of the road. There is a traffic light and a stop sign. "
                      "There is a umbrella, a suitcase on the road ahead.") == {
        "dog", "traffic light", "stop sign", "umbrella", "suitcase"}
    assert cues_in("The vehicle moves forward at a steady pace. It is daylight.") == set()
    assert len(CUES) == len({p.pattern for p in CUES.values()})  # no two cues share a pattern


def _measured(**changes: object) -> Measurements:
    base = Measurements(times=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5), brightness=130, contrast=50, saturation=60,
                        speed=(9.0,) * 5, lateral=(0.0,) * 5, shake=(0.3,) * 5, cut=(0.1,) * 5,
                        red=(0.0,) * 6, blue=(0.0,) * 6, people=(0,) * 6, haze=0.2, haze_detail=4.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_an_impact_is_a_jump_followed_by_a_drop_in_speed_and_a_jump_alone_is_not() -> None:
    jump = (0.3, 0.3, 6.0, 0.3, 0.3)
    assert impacts(_measured(shake=jump)) == []  # a pothole or a keyframe: the car drives on
    assert impacts(_measured(shake=jump, speed=(9.0, 9.0, 9.0, 2.0, 1.0))) == [2]
    assert "as from an impact" in " ".join(cue_sentences(_measured(shake=jump, speed=(9.0, 9.0, 9.0, 2.0, 1.0))))


def test_fog_is_a_bright_haze_that_hides_the_texture_around_the_horizon() -> None:
    assert any("likely in fog or mist" in s for s in cue_sentences(_measured(haze=0.6, haze_detail=1.5)))
    pale_sky_with_edges = _measured(haze=0.62, haze_detail=3.8)
    night = _measured(haze=0.0, haze_detail=0.8)
    assert not any("fog" in s for s in cue_sentences(pale_sky_with_edges) + cue_sentences(night))


def test_the_closing_sentence_names_what_was_unusual_or_says_nothing_was() -> None:
    assert closing_sentence("It is daylight. The vehicle moves forward at a steady pace.") == \
        "Nothing unusual was detected."
    text = ("At 1.5 s a car pulls out in front of us from the left: it appears suddenly close (likely seen). "
            "The road ahead is likely in fog or mist, and visibility is reduced.")
    assert closing_sentence(text) == "Unusual: a road user pulling out in front of us, fog or mist."
    assert set(NOTABLE) <= set(CUES)
