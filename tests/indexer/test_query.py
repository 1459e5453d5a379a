from __future__ import annotations

import pytest

from indexer.query import Query, TimeSpan, parse


@pytest.mark.parametrize("text", [
    "a deer on the highway", "a car, turning left", "pedestrians crossing at night", "  snow and ice ",
    "a nothing burger",  # "no" only as a whole word opens a negation
    # a "not" or "no" inside a clause describes the scene: nothing is excluded
    "a car that does not stop at the red light", "the traffic light is broken or not working",
    "there is no traffic on the road",
])
def test_plain_queries_are_left_exactly_as_typed(text: str) -> None:
    q = parse(text)
    assert q.plain and q.text == text.strip() and not q.without and not q.filtered


@pytest.mark.parametrize(("text", "positive", "negated"), [
    ("a cyclist at night, not in the rain", "a cyclist at night", ("rain",)),
    ("pedestrians but no crosswalk", "pedestrians", ("crosswalk",)),
    ("snow, no rain or fog", "snow", ("rain", "fog")),
    ("police car without flashing lights", "police car", ("flashing lights",)),
    ("people walking except children", "people walking", ("children",)),
    ("a truck with no trailer", "a truck", ("trailer",)),
    ("construction -cones", "construction", ("cones",)),
    ("not a highway but a city street with a cyclist", "a city street with a cyclist", ("highway",)),
    ("a bus excluding school buses", "a bus", ("school buses",)),
])
def test_negations_are_taken_out_of_the_positive_text(text: str, positive: str, negated: tuple[str, ...]) -> None:
    q = parse(text)
    assert (q.text, q.without) == (positive, negated)
    assert not q.plain and f'not: "{negated[0]}"' in q.explain()


def test_filters_are_read_and_removed_from_the_text() -> None:
    q = parse("a crash involving a truck in the last 5 seconds score>=0.5 category 10 clip:abc.mp4")
    assert q.text == "a crash involving a truck"
    assert (q.min_score, q.category, q.clip, q.span) == (0.5, 10, "abc.mp4", TimeSpan(start=5, from_end=True))
    assert q.explain() == ('looking for "a crash involving a truck"; score >= 0.5; category 10; clip abc.mp4; '
                           "time in clip: the last 5 s")
    assert parse("ambulance between 8 and 3 s").span == TimeSpan(start=3, end=8)
    assert parse("ambulance time:2-6").span == TimeSpan(start=2, end=6)
    assert parse("a cyclist in the first 4 seconds").span == TimeSpan(end=4)
    assert parse("a cyclist after 20 s").span == TimeSpan(start=20)
    assert parse("routine driving score below 0.3").max_score == 0.3
    assert parse("cones in clip road_works-01").clip == "road_works-01"


def test_a_query_of_filters_alone_has_no_positive_text() -> None:
    q = parse("score above 0.7")
    assert q.text == "" and q.min_score == 0.7 and q.explain().startswith("no positive text")


def test_options_beside_the_query_narrow_it() -> None:
    q = parse("cones score>=0.4 category 4").narrowed(min_score=0.6, category=5)
    assert (q.min_score, q.category) == (0.6, 5)
    assert parse("cones score>=0.4").narrowed(min_score=0.2).min_score == 0.4
    assert Query("x", "x").narrowed().plain


@pytest.mark.parametrize(("span", "segment", "inside"), [
    (TimeSpan(start=5, from_end=True), (12.0, 18.0), True),  # a 20 s clip: its last 5 s are 15-20
    (TimeSpan(start=5, from_end=True), (10.0, 15.0), False),  # touching is not overlapping
    (TimeSpan(start=5, from_end=True), (0.0, 10.0), False),
    (TimeSpan(start=3, end=8), (7.5, 10.0), True),
    (TimeSpan(start=3, end=8), (8.0, 10.0), False),
    (TimeSpan(end=4), (0.0, 10.0), True),
    (TimeSpan(start=12), (0.0, 10.0), False),
])
def test_a_time_span_admits_the_segments_that_overlap_it(span: TimeSpan, segment: tuple[float, float],
                                                         inside: bool) -> None:
    assert span.admits(*segment, duration_s=20.0) is inside
