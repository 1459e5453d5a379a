"""Detections followed across a segment's sampled frames, and what their boxes say about motion.

Pure functions over boxes in frame fractions. A track is one object seen in several frames (greedy
matching by box overlap, vehicles matched across car/truck/bus since the detector flips between
them). From a track's boxes: where it is (ahead in our lane, left, right; on the road or at its
edge), how near (the box's width), and how it moves relative to the camera: growth of the box is
approach (its inverse rate is the time to contact, the classic looming cue), drift of its centre is
lateral motion (crossing, cutting in).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltvad_search.describe.vision.detector import Detection

VEHICLES = frozenset({"car", "truck", "bus", "motorcycle", "train"})
RIDERS = frozenset({"bicycle"})
ANIMALS = frozenset({"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"})
SIGNALS = frozenset({"traffic light", "stop sign"})
OBJECTS = frozenset({"fire hydrant", "parking meter", "bench", "backpack", "umbrella", "handbag", "suitcase",
                     "sports ball", "skateboard", "bottle", "chair", "potted plant"})

LANE = (0.38, 0.62)  # the horizontal band straight ahead of the camera: our lane near the horizon
HORIZON = 0.5  # boxes whose bottom is above this stand off the road (signs, lights, far buildings)


# Distance from a vehicle's apparent width: a car is about 1.8 m wide (trucks and buses 2.5 m), and a
# dashcam sees about 70 degrees across, so a car spanning a share w of the view is 1.8 / (w * 2 tan 35)
# metres away. An estimate, said as one ("about 4 m").
CAR_WIDTH_M = 1.8
VEHICLE_WIDTH_M = {"car": CAR_WIDTH_M, "truck": 2.5, "bus": 2.5, "motorcycle": 0.8, "train": 3.0}
VIEW_SPAN = 2 * math.tan(math.radians(35))


def metres_away(box: Sequence[float], width_m: float = CAR_WIDTH_M) -> float:
    """The estimated distance to an object `width_m` wide whose box is `box`."""
    return width_m / (max(box[2] - box[0], 1e-3) * VIEW_SPAN)


def where(box: Sequence[float]) -> str:
    """'ahead', or 'on the left' / 'on the right'."""
    return "ahead" if side(box) == "ahead" else f"on the {side(box)}"


def noun(label: str) -> str:
    """A detector label as a sentence says it."""
    return "cyclist" if label == "bicycle" else label


def article(label: str) -> str:
    """The label's noun with its indefinite article ("an umbrella", "a car")."""
    word = noun(label)
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def kind(label: str) -> str:
    """The group a label is matched within (the detector calls one vehicle a car, then a truck)."""
    return "vehicle" if label in VEHICLES else label


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Track:
    """One object over time: its boxes, the frame times they were seen at, and the detector's scores."""

    label: str  # the label it was given most often
    times: tuple[float, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    scores: tuple[float, ...]

    @property
    def confidence(self) -> float:
        return float(np.median(self.scores))

    @property
    def last(self) -> tuple[float, float, float, float]:
        return self.boxes[-1]

    @property
    def biggest(self) -> int:
        """Index of the frame where the object is largest (its best view)."""
        return int(np.argmax([(b[2] - b[0]) * (b[3] - b[1]) for b in self.boxes]))


def near(a: Sequence[float], b: Sequence[float]) -> float:
    """How well two boxes could be one object 0.5 s apart when they do not overlap (a pedestrian
    moves more than their own width between samples): 0 unless the centres are within one box
    width (or 8% of the frame) and the sizes within a factor 1.5, then up to `min_iou`'s scale."""
    height_a, height_b = a[3] - a[1], b[3] - b[1]
    if not 1 / 1.5 <= height_a / max(height_b, 1e-6) <= 1.5:
        return 0.0
    reach = max(a[2] - a[0], b[2] - b[0], 0.08)
    distance = math.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
    return max(0.0, 1 - distance / reach) * 0.2


def looming(a: Sequence[float], b: Sequence[float]) -> float:
    """How well two vehicle boxes 0.5 s apart could be one vehicle closing in (or falling back) fast.

    Its image may grow or shrink up to threefold, so box overlap fails; but a vehicle moving along
    the road, as we do, keeps its bearing from the focus of expansion (the middle of the horizon), so
    its box scales about that point. `a` scaled there by the change in width must land on `b`.
    0 unless it does, else a weak match (below `near`'s) so that any plainer match wins."""
    scale = (b[2] - b[0]) / max(a[2] - a[0], 1e-6)
    if not 1 / 3 <= scale <= 3:
        return 0.0
    focus = (0.5, HORIZON)
    predicted = (focus[0] + scale * (a[0] - focus[0]), focus[1] + scale * (a[1] - focus[1]),
                 focus[0] + scale * (a[2] - focus[0]), focus[1] + scale * (a[3] - focus[1]))
    overlap = iou(predicted, b)
    return 0.05 * overlap if overlap >= 0.3 else 0.0


def follow(frames: Sequence[Sequence[Detection]], times: Sequence[float], min_iou: float = 0.2) -> list[Track]:
    """Tracks from per-frame detections: each detection joins the open track of its kind it overlaps
    most (at least `min_iou`), or failing that the nearest similar-sized one (`near`) or, for a
    vehicle, one its image could have grown into or shrunk from (`looming`),
    strongest detections first; a track that misses a frame stays open for one more, so one dropped
    detection does not split it."""
    open_: list[dict] = []
    done: list[dict] = []
    for i, (dets, t) in enumerate(zip(frames, times, strict=True)):
        taken: set[int] = set()
        for det in sorted(dets, key=lambda d: -d.score):
            best, best_iou = None, min_iou
            for j, tr in enumerate(open_):
                if j in taken or tr["kind"] != kind(det.label):
                    continue
                overlap = iou(tr["boxes"][-1], det.box)
                if overlap >= best_iou:
                    best, best_iou = j, overlap
            if best is None:
                for j, tr in enumerate(open_):
                    if j in taken or tr["kind"] != kind(det.label):
                        continue
                    closeness = near(tr["boxes"][-1], det.box)
                    if closeness == 0 and tr["kind"] == "vehicle":
                        closeness = looming(tr["boxes"][-1], det.box)
                    if closeness > 0 and (best is None or closeness > best_iou):
                        best, best_iou = j, closeness
            if best is None:
                open_.append({"kind": kind(det.label), "labels": [det.label], "times": [t], "boxes": [det.box],
                              "scores": [det.score], "seen": i})
                taken.add(len(open_) - 1)
            else:
                tr = open_[best]
                tr["labels"].append(det.label)
                tr["times"].append(t)
                tr["boxes"].append(det.box)
                tr["scores"].append(det.score)
                tr["seen"] = i
                taken.add(best)
        done += [tr for tr in open_ if tr["seen"] < i - 1]
        open_ = [tr for tr in open_ if tr["seen"] >= i - 1]
    return [Track(label=Counter(tr["labels"]).most_common(1)[0][0], times=tuple(tr["times"]),
                  boxes=tuple(tr["boxes"]), scores=tuple(tr["scores"])) for tr in done + open_]


def _slope(times: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares change per second; 0 for a single observation."""
    if len(times) < 2 or times[-1] - times[0] <= 0:
        return 0.0
    t = np.asarray(times) - times[0]
    return float(np.polyfit(t, np.asarray(values, dtype=float), 1)[0])


def growth(track: Track) -> float:
    """Relative growth of the box per second (d log size / dt, size = sqrt of the area): its
    inverse is the time to contact with an object approaching at constant speed."""
    sizes = [math.log(max(1e-6, math.sqrt((b[2] - b[0]) * (b[3] - b[1])))) for b in track.boxes]
    return _slope(track.times, sizes)


def drift(track: Track) -> float:
    """Horizontal motion of the box centre, in frame widths per second (+ = to the right)."""
    return _slope(track.times, [(b[0] + b[2]) / 2 for b in track.boxes])


def side(box: Sequence[float]) -> str:
    """'ahead' when the box covers the band straight ahead, else 'left' or 'right'."""
    centre = (box[0] + box[2]) / 2
    covers = box[0] < LANE[1] and box[2] > LANE[0]
    if covers and abs(centre - 0.5) < 0.2:
        return "ahead"
    return "left" if centre < 0.5 else "right"


def on_road(box: Sequence[float]) -> bool:
    """Standing on the ground in front of the camera, rather than above the road (lights, signs)."""
    return box[3] > HORIZON


def nearness(box: Sequence[float]) -> str:
    """How near a vehicle-sized object is, from the share of the frame width its box spans."""
    width = box[2] - box[0]
    if width >= 0.3:
        return "very close"
    if width >= 0.15:
        return "close"
    return "at a distance" if width >= 0.05 else "far off"


def crosses(track: Track) -> bool:
    """The box centre moves across the band ahead, or into it from a side."""
    centres = [(b[0] + b[2]) / 2 for b in track.boxes]
    inside = [LANE[0] <= c <= LANE[1] for c in centres]
    return (min(centres) < LANE[0] and max(centres) > LANE[1]) or (not inside[0] and inside[-1])
