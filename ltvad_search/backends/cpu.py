"""Stage-1 describer for machines without a vision-language model: classical computer vision.

No VLM or captioning model ships in any package this project can install offline, so on CPU the
describer measures what pixels can tell without learned weights and writes it down plainly:
brightness and contrast (day, night, washed-out views), ego motion from dense optical flow (moving,
stopping, braking hard, swerving), camera shake or impact, flashing red and blue lights, people
found by OpenCV's built-in HOG detector, and abrupt cuts. Every sentence names a measurement; the
paragraph ends by saying what was not looked for, so the scorer is never told something the pixels
did not show.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltvad_search.backends.base import DescriberCaps, DescribeRequest
from ltvad_search.config import DescriberConfig
from ltvad_search.records import Description
from ltvad_search.video import Frames

FLOW_WIDTH = 192  # motion is measured on small frames: motion, not detail, is what matters
STILL = 1.0  # mean grey-level change of the road region between samples below which nothing moves
BRISK = 8.0  # ... and above which the vehicle is clearly under way
JOLT = 3.0  # vertical jump of the whole image (px on FLOW_WIDTH frames) that no driving produces


@dataclass(frozen=True, slots=True)
class Measurements:
    """Per-segment measurements; each series has one value per sampled frame (or frame pair)."""

    times: tuple[float, ...]
    brightness: float  # mean luma, 0..255
    contrast: float  # luma standard deviation
    saturation: float  # mean HSV saturation, 0..255
    speed: tuple[float, ...]  # mean absolute change of the road region between frames, grey levels
    lateral: tuple[float, ...]  # mean horizontal flow, px/s (sign: + = scene moves right)
    shake: tuple[float, ...]  # vertical global shift between consecutive frames, px
    cut: tuple[float, ...]  # colour-histogram distance between consecutive frames, 0..1
    red: tuple[float, ...]  # share of bright saturated red pixels
    blue: tuple[float, ...]  # share of bright saturated blue pixels
    people: tuple[int, ...]  # HOG person detections per frame


def measure(frames: Frames, *, detect_people: bool = True) -> Measurements:
    import cv2

    pix = frames.pixels
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in pix])
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in pix])
    h, w = gray.shape[1:]
    small_h = max(16, round(h * FLOW_WIDTH / w))
    small = [cv2.GaussianBlur(cv2.resize(g, (FLOW_WIDTH, small_h), interpolation=cv2.INTER_AREA), (5, 5), 0)
             for g in gray]
    dt = [max(1e-3, b - a) for a, b in zip(frames.times, frames.times[1:], strict=False)]
    speed, lateral, shake, cut = [], [], [], []
    for i in range(len(small) - 1):
        a, b = small[i], small[i + 1]
        # Frames are 1/fps apart (0.5 s by default): too far for dense flow to track road texture
        # at speed, so ego motion is measured as how much the road region changes, and flow is
        # kept for the direction of the view (turns, swerves), where large regions move together.
        road = slice(int(small_h * 0.55), None)
        speed.append(float(np.mean(np.abs(b[road].astype(np.int16) - a[road]))))
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)
        lateral.append(float(np.mean(flow[..., 0])) / dt[i])
        # Driving forward or turning barely shifts the whole image vertically; a knock or an
        # impact does.
        (_, sy), _ = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32))
        shake.append(abs(float(sy)))
        cut.append(_hist_distance(hsv[i], hsv[i + 1]))
    bright = hsv[..., 2] > 170
    sat = hsv[..., 1] > 150
    hue = hsv[..., 0]
    red = ((hue < 8) | (hue > 170)) & bright & sat
    blue = (hue > 100) & (hue < 130) & bright & sat
    people = tuple(_people(f) for f in pix) if detect_people else tuple(0 for _ in pix)
    return Measurements(
        times=frames.times,
        brightness=float(gray.mean()),
        contrast=float(gray.std(axis=(1, 2)).mean()),
        saturation=float(hsv[..., 1].mean()),
        speed=tuple(speed), lateral=tuple(lateral), shake=tuple(shake), cut=tuple(cut),
        red=tuple(float(r.mean()) for r in red), blue=tuple(float(b.mean()) for b in blue),
        people=people,
    )


def _hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    ha = cv2.calcHist([a], [0, 1], None, [16, 8], [0, 180, 0, 256])
    hb = cv2.calcHist([b], [0, 1], None, [16, 8], [0, 180, 0, 256])
    cv2.normalize(ha, ha)
    cv2.normalize(hb, hb)
    return float(cv2.compareHist(ha, hb, cv2.HISTCMP_BHATTACHARYYA))


_HOG = None


def _people(frame: np.ndarray) -> int:
    """Confident HOG person detections (the detector wants people at least ~64x128 px)."""
    import cv2

    global _HOG
    if _HOG is None:
        _HOG = cv2.HOGDescriptor()
        _HOG.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    if frame.shape[0] < 128 or frame.shape[1] < 64:
        return 0
    boxes, weights = _HOG.detectMultiScale(frame, winStride=(8, 8), padding=(8, 8), scale=1.08)
    return int(sum(1 for wgt in np.ravel(weights) if wgt > 0.9)) if len(boxes) else 0


def compose(m: Measurements, start_s: float, end_s: float) -> str:
    """The paragraph: plain sentences, each backed by one of the measurements."""
    at = lambda i: f"{m.times[min(i + 1, len(m.times) - 1)]:.1f} s"  # noqa: E731  (pair i ends at frame i+1)
    sentences = [f"Front-camera footage from {start_s:.1f} s to {end_s:.1f} s."]
    if m.brightness < 55:
        light = "It is dark, as at night or in a tunnel"
    elif m.brightness < 95:
        light = "The light is dim, as at dusk or under heavy cloud"
    else:
        light = "It is daylight"
    if m.contrast < 28:
        light += (", and the image is low in contrast and washed out, so visibility looks reduced "
                  "(fog, snow, rain or glare)")
    sentences.append(light + ".")

    sentences.append(_motion_sentence(np.array(m.speed) if m.speed else np.zeros(1), at))
    lateral = np.array(m.lateral) if m.lateral else np.zeros(1)
    swerves = [i for i in range(1, len(lateral)) if abs(lateral[i] - lateral[i - 1]) > 40]
    if len(swerves) >= 2:
        sentences.append("The view swings left and right quickly, as in a swerve or sudden lane change.")
    elif np.abs(lateral).mean() > 25:
        sentences.append(f"The view pans steadily to the {'left' if lateral.mean() > 0 else 'right'}, as in a turn.")
    typical = float(np.median(m.shake)) if m.shake else 0.0
    jolts = [i for i, s in enumerate(m.shake) if s > JOLT and s > 3 * typical + 1]
    if jolts:
        sentences.append(f"The whole image jumps abruptly around {at(jolts[0])}, as from camera shake or an impact.")
    cuts = [i for i, c in enumerate(m.cut) if c > 0.55]
    if cuts:
        sentences.append(f"The scene changes abruptly around {at(cuts[0])}, as at a cut or a sudden change of view.")
    red, blue = np.array(m.red), np.array(m.blue)
    flashing = (red.max() > 4e-4 and blue.max() > 4e-4
                and (red.max() > 2.5 * red.min() + 1e-4 or blue.max() > 2.5 * blue.min() + 1e-4))
    if flashing:
        sentences.append("Bright red and blue lights flash in the scene, as on an emergency vehicle.")
    elif red.mean() > 2e-3:
        sentences.append("Bright red lights are visible ahead, such as brake or tail lights.")
    with_people = [p for p in m.people if p > 0]
    if len(with_people) >= 2 or (with_people and max(with_people) >= 2):
        sentences.append(f"A people detector finds up to {max(with_people)} person-shaped figure(s), "
                         f"in {len(with_people)} of {len(m.people)} frames; there may be pedestrians near the road.")
    sentences.append("Vehicles, signs, animals and road markings were not identified by this describer.")
    return " ".join(sentences)


def _motion_sentence(speed: np.ndarray, at) -> str:  # type: ignore[no-untyped-def]
    """One sentence on ego motion; a stop needs two still pairs in a row, so one noisy pair is ignored."""
    still = speed < STILL
    if still.all():
        return "The road surface in view hardly changes: the vehicle appears to be stopped or creeping."
    brakes = [i for i in range(1, len(speed)) if speed[i - 1] >= BRISK and still[i:].all() and still[i]]
    if brakes:
        return f"The vehicle moves forward and then slows sharply around {at(brakes[0])}, as in hard braking."
    if len(speed) >= 3 and still[-2:].all():
        return "The vehicle moves forward and comes to a stop."
    if len(speed) >= 3 and still[:2].all():
        return "The vehicle starts from a stop and moves off."
    return "The vehicle moves forward at a steady pace."


class CpuDescriber:
    """No weights: measurements over the sampled frames, written as a paragraph."""

    caps = DescriberCaps(video_input=False, needs_frames=True, max_frames=64)
    name = "cpu:cv-v1"

    def __init__(self, detect_people: bool = True) -> None:
        self.detect_people = detect_people

    @classmethod
    def from_config(cls, cfg: DescriberConfig) -> CpuDescriber:
        return cls()

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]:
        out = []
        for request in batch:
            start = time.perf_counter()
            m = measure(request.frames, detect_people=self.detect_people)
            text = compose(m, request.segment.start_s, request.segment.end_s)
            out.append(Description(segment_id=request.segment.segment_id, text=text, describer=self.name,
                                   prompt_id=request.prompt.id, seconds=time.perf_counter() - start))
        return out
