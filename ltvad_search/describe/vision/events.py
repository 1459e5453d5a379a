"""What happens between road users in a segment, from the tracks' boxes: the events a paragraph leads with.

A single box says what is where; events are changes over time that routine driving does not
produce: a vehicle entering our lane close ahead, a road user appearing suddenly close where nothing
was, a box that closes in on us within a second, two road users' boxes meeting at the same distance,
a person or two-wheeler going from upright to lying, a vehicle's box turning on its side, a vehicle
ahead that stops abruptly. Each is measured from the boxes alone (no learned notion of an event), so
each comes with its time, the evidence in numbers and a certainty word from how many frames and how
confident the detector was. Thresholds were set on real routine footage (docs/describer.md, the cue
table) so that each fires on few routine segments; they are stated in frame fractions and seconds so
that they do not depend on resolution or frame rate.

Pure functions over `Track`s: the same boxes always give the same events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from ltvad_search.describe.vision.plausible import UNSURE
from ltvad_search.describe.vision.tracks import (
    ANIMALS,
    CAR_WIDTH_M,
    HORIZON,
    LANE,
    RIDERS,
    VEHICLES,
    Track,
    article,
    metres_away,
    noun,
    side,
    where,
)

ROAD_USERS = VEHICLES | RIDERS | ANIMALS | {"person", UNSURE}
TWO_WHEELERS = frozenset({"bicycle", "motorcycle"})
CLOSE = 0.18  # a vehicle box this wide (share of the frame) is within about 7 m
EDGE = 0.03  # a box this near the frame's side is entering or leaving the view, not appearing
SUDDEN_LOOM = 1.8  # a box this many times wider half a second later: time to contact under a second
WINDOW_S = 1.6  # the longest an event's change may take
OUR_HALF_WIDTH_M = 0.9  # a box whose near side is closer than this to our heading is in our path
NEAR_MISS_M = 1.8  # ... and one within a car's width beside it only just misses us


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, at a time in the clip, told as one sentence.

    `rank` orders events by how unusual they are (0 first); `sure` is the certainty word.
    """

    kind: str
    at: float
    rank: int
    sure: str
    sentence: str


def certainty(track: Track, support: int) -> str:
    """How sure an event measured on `support` frames of `track` is: the detector's confidence
    and whether the change rests on more than two boxes."""
    if track.confidence >= 0.75 and support >= 3:
        return "clearly"
    return "likely" if track.confidence >= 0.55 and support >= 2 else "possibly"


def _centre(box: Sequence[float]) -> float:
    return (box[0] + box[2]) / 2


def _width(box: Sequence[float]) -> float:
    return box[2] - box[0]


def _height(box: Sequence[float]) -> float:
    return box[3] - box[1]


def _at_edge(box: Sequence[float]) -> bool:
    return box[0] <= EDGE or box[2] >= 1 - EDGE


def _in_lane(box: Sequence[float]) -> bool:
    return LANE[0] <= _centre(box) <= LANE[1]


def _metres(box: Sequence[float]) -> str:
    """A rough distance for a car-sized box, as words."""
    return f"about {max(1, round(metres_away(box)))} m away"


def cut_ins(tracks: Sequence[Track]) -> list[Event]:
    """A close vehicle whose box moves from beside our lane into it within `WINDOW_S`."""
    out = []
    for t in tracks:
        if t.label not in VEHICLES or len(t.times) < 2:
            continue
        for i, j in _pairs(t):
            a, b = t.boxes[i], t.boxes[j]
            toward = abs(_centre(a) - 0.5) - abs(_centre(b) - 0.5)
            if not _in_lane(a) and _in_lane(b) and toward >= 0.1 and _width(b) >= CLOSE * 0.7 and not _at_edge(b):
                origin = "left" if _centre(a) < 0.5 else "right"
                out.append(Event("cut-in", t.times[j], 1, certainty(t, j - i + 1),
                                 f"At {t.times[j]:.1f} s {article(t.label)} from the {origin} moves into our lane "
                                 f"close ahead ({_metres(b)}), cutting in"))
                break
    return out


def appearances(tracks: Sequence[Track], first: float) -> list[Event]:
    """A road user first seen already close, away from the frame's sides, after the segment began:
    it came out from behind something or from a side road, not in from the edge of the view."""
    out = []
    for t in tracks:
        if t.label not in ROAD_USERS or t.times[0] <= first or len(t.times) < 2 or t.scores[0] < 0.6:
            continue
        box = t.boxes[0]
        big = _width(box) >= CLOSE if t.label in VEHICLES else _height(box) >= 0.3
        if not big or _at_edge(box) or box[3] < HORIZON + 0.1:
            continue
        place = where(box)
        then = t.boxes[-1]
        across = (abs(_centre(box) - 0.5) - abs(_centre(then) - 0.5)) >= 0.08
        metres = f", {_metres(box)}" if t.label in VEHICLES else ""
        if across and place != "ahead":
            verb = "steps out" if t.label == "person" else "runs out" if t.label in ANIMALS else "pulls out"
            out.append(Event("pull-out", t.times[0], 1, certainty(t, len(t.times)),
                             f"At {t.times[0]:.1f} s {article(t.label)} {verb} in front of us from the {side(box)}: it "
                             f"appears suddenly close{metres}, where nothing was seen before, and moves across "
                             "towards our path"))
        else:
            out.append(Event("sudden appearance", t.times[0], 2, certainty(t, len(t.times)),
                             f"At {t.times[0]:.1f} s {article(t.label)} appears suddenly close {place}{metres}, where "
                             "nothing was seen before"))
    return out


def clearance_m(box: Sequence[float]) -> float:
    """How far beside our path a car-sized box is, in metres: the gap between its near side and the
    camera's heading, in units of its own width (a car is about 1.8 m wide); 0 when it spans the
    heading. Our own car reaches about 0.9 m either side of that line."""
    if box[0] <= 0.5 <= box[2]:
        return 0.0
    near = box[0] if box[0] > 0.5 else box[2]
    return abs(near - 0.5) / max(_width(box), 1e-3) * CAR_WIDTH_M


def looms(tracks: Sequence[Track]) -> list[Event]:
    """A vehicle box that grows `SUDDEN_LOOM`-fold or more between two samples and ends close, in or
    right beside our path: it comes at us within about a second. One passing further to the side (an
    oncoming car in its own lane) is ordinary traffic, however fast its image grows."""
    out = []
    for t in tracks:
        if t.label not in VEHICLES:
            continue
        for k in range(1, len(t.times)):
            a, b = t.boxes[k - 1], t.boxes[k]
            dt = t.times[k] - t.times[k - 1]
            gap = clearance_m(b)
            if dt > 0.75 or _width(b) < CLOSE or _width(b) < SUDDEN_LOOM * _width(a) or gap >= NEAR_MISS_M:
                continue
            contact = dt / math.log(_width(b) / _width(a))
            beside = side(b)
            how = ("straight ahead, on a collision course" if gap < OUR_HALF_WIDTH_M and beside == "ahead"
                   else f"partly in our path, on the {beside}: a near collision" if gap < OUR_HALF_WIDTH_M
                   else f"on the {side(b)} and only just misses us, passing within about {max(1, round(gap))} m: "
                        "a near miss")
            out.append(Event("sudden approach", t.times[k], 0, certainty(t, 2),
                             f"At {t.times[k]:.1f} s {article(t.label)} comes at us very fast {how} (its image grows "
                             f"{_width(b) / _width(a):.1f}-fold within {dt:.1f} s: contact in about {contact:.1f} s)"))
            break
    return out


def meetings(tracks: Sequence[Track]) -> list[Event]:
    """Two road users' boxes, apart and at the same distance from us, that come to overlap: a
    collision between them (or a very close shave). Boxes at different depths overlap whenever one
    passes behind the other, so the two must stand on the same ground line, near enough to judge."""
    out = []
    users = [t for t in tracks if t.label in ROAD_USERS and len(t.times) >= 2 and t.confidence >= 0.5]
    for p, q in combinations(users, 2):
        if {p.label, q.label} <= {"person"} | TWO_WHEELERS and "person" in {p.label, q.label}:
            continue  # a rider and their own bike or motorcycle; people walking together
        common = sorted(set(p.times) & set(q.times))
        boxes = [(t, p.boxes[p.times.index(t)], q.boxes[q.times.index(t)]) for t in common]
        for (t0, a0, b0), (t1, a1, b1) in zip(boxes, boxes[1:], strict=False):
            if t1 - t0 > 0.75 or _overlap(a0, b0) > 0.05 or _overlap(a1, b1) < 0.35:
                continue
            ground = (a1[3] + b1[3]) / 2 - HORIZON  # how far below the horizon: nearer is lower
            if min(_width(a1), _width(b1)) < 0.05 or ground < 0.08 or abs(a1[3] - b1[3]) > 0.25 * ground:
                continue  # too far to judge, or not on the same ground line (one passes behind the other)
            two = " and ".join(sorted({article(p.label), article(q.label)})) if p.label != q.label \
                else f"two {noun(p.label)}s"
            support = min(len(p.times), len(q.times))
            out.append(Event("road users meeting", t1, 0, certainty(min(p, q, key=lambda t: t.confidence), support),
                             f"At {t1:.1f} s {two} {where(a1)} come together at "
                             "the same distance from us, their boxes merging: possibly a collision between them"))
            break
    return out


def falls(tracks: Sequence[Track]) -> list[Event]:
    """A person or two-wheeler whose box goes from upright to lying (height over width falls by
    half and its top drops) within `WINDOW_S`; a vehicle whose box turns from wide to tall at the
    same size (on its side or rolling). Boxes cut by the frame's edge are not read."""
    out = []
    for t in tracks:
        upright = t.label in {"person"} | TWO_WHEELERS
        if not (upright or t.label in VEHICLES) or len(t.times) < 2:
            continue
        for i, j in _pairs(t):
            a, b = t.boxes[i], t.boxes[j]
            if _at_edge(a) or _at_edge(b) or _width(b) < 0.04:
                continue
            ra, rb = _height(a) / _width(a), _height(b) / _width(b)
            if upright and ra >= 1.2 and rb <= ra / 2 and (b[1] - a[1]) >= 0.3 * _height(a):
                out.append(Event("fall", t.times[j], 0, certainty(t, j - i + 1),
                                 f"At {t.times[j]:.1f} s {article(t.label)} {where(b)} goes from upright to lying: "
                                 "it appears to fall"))
                break
            size = (_width(b) * _height(b)) / max(_width(a) * _height(a), 1e-6)
            if not upright and 0.6 <= size <= 1.6 and ra <= 0.9 and rb >= 1.5 and _width(b) >= 0.08 \
                    and min(t.scores[i], t.scores[j]) >= 0.55:
                out.append(Event("tipping", t.times[j], 0, certainty(t, j - i + 1),
                                 f"At {t.times[j]:.1f} s {article(t.label)} changes shape from wide to tall at the "
                                 "same distance: it may be tipping over or rolling"))
                break
    return out


def abrupt_stops(tracks: Sequence[Track]) -> list[Event]:
    """A vehicle ahead in our lane that kept its distance and then closes in fast: it stopped abruptly."""
    out = []
    for t in tracks:
        if t.label not in VEHICLES or len(t.times) < 4 or not _in_lane(t.last):
            continue
        logs = [math.log(max(_width(b), 1e-3)) for b in t.boxes]
        rates = [(logs[k] - logs[k - 1]) / max(t.times[k] - t.times[k - 1], 1e-3) for k in range(1, len(logs))]
        for k in range(2, len(rates)):
            before = sum(rates[:k - 1]) / (k - 1)
            closing = rates[k - 1] >= 0.3 and rates[k] >= 0.3
            if abs(before) <= 0.08 and closing and _width(t.boxes[k + 1]) >= CLOSE * 0.7:
                out.append(Event("abrupt stop", t.times[k], 1, certainty(t, len(t.times)),
                                 f"At {t.times[k]:.1f} s the {noun(t.label)} ahead, which had kept its distance, "
                                 "suddenly closes in: it stops abruptly in front of us"))
                break
    return out


DETECTORS = (looms, meetings, falls, cut_ins, abrupt_stops)


def events(tracks: Sequence[Track], first: float, cuts: Sequence[float] = ()) -> list[Event]:
    """Every event in a segment whose first sampled frame is at `first` s, the most unusual first,
    then in time order; one event per road user and kind. An event measured across a cut (frames
    at `cuts` follow one) compares two different shots, so none is told within `WINDOW_S` after one."""
    found = [e for detect in DETECTORS for e in detect(tracks)] + appearances(tracks, first)
    found = [e for e in found if not any(0 <= e.at - cut <= WINDOW_S for cut in cuts)]
    return sorted(found, key=lambda e: (e.rank, e.at))


def _pairs(t: Track) -> list[tuple[int, int]]:
    """Index pairs (i < j) of a track's frames at most `WINDOW_S` apart, shortest spans first."""
    pairs = [(i, j) for i in range(len(t.times)) for j in range(i + 1, len(t.times))
             if t.times[j] - t.times[i] <= WINDOW_S]
    return sorted(pairs, key=lambda ij: (t.times[ij[1]], ij[1] - ij[0]))


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over the smaller box: 1 when one box lies inside the other."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min(_width(a) * _height(a), _width(b) * _height(b))
    return ix * iy / smaller if smaller > 0 else 0.0
