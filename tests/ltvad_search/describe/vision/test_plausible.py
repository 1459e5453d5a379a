"""Rare detector classes are named only on enough evidence; short of it, the paragraph says so."""

from __future__ import annotations

from ltvad_search.describe.vision.narrate import object_sentences
from ltvad_search.describe.vision.plausible import UNSURE, Trust, screened, trust
from ltvad_search.describe.vision.tracks import Track


def _track(label: str, n: int, score: float, box: tuple[float, float, float, float] = (0.45, 0.55, 0.55, 0.8)) -> Track:
    return Track(label, tuple(0.5 * i for i in range(n)), (box,) * n, (score,) * n)


def test_a_horse_seen_clearly_in_three_frames_is_named() -> None:
    assert trust(_track("horse", 3, 0.8), []) is Trust.NAMED


def test_a_brief_or_faint_animal_is_uncertain_and_so_is_one_carrying_a_person() -> None:
    assert trust(_track("horse", 2, 0.9), []) is Trust.UNCERTAIN
    assert trust(_track("bear", 4, 0.45), []) is Trust.UNCERTAIN
    horse, rider = _track("horse", 4, 0.9), _track("person", 4, 0.9, (0.46, 0.45, 0.54, 0.7))
    assert trust(horse, [horse, rider]) is Trust.UNCERTAIN  # a scooter and its rider, most likely


def test_an_object_on_the_road_needs_three_frames_and_a_common_class_needs_nothing_more() -> None:
    assert trust(_track("umbrella", 2, 0.9), []) is Trust.DROPPED
    assert trust(_track("umbrella", 3, 0.6), []) is Trust.NAMED
    assert trust(_track("car", 1, 0.4), []) is Trust.NAMED


def test_the_paragraph_says_what_is_uncertain_instead_of_naming_an_animal() -> None:
    tracks = screened([_track("horse", 2, 0.7), _track("umbrella", 1, 0.9)])
    assert [t.label for t in tracks] == [UNSURE]
    text = " ".join(object_sentences(tracks, {}, ego_moving=True, frames=4))
    assert "horse" not in text and "umbrella" not in text
    assert text.startswith("A road user of uncertain kind is on the road ahead, which the detector took for an "
                           "animal but may be a two-wheeler or a person")
