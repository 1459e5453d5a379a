"""The default stage-1 describer on CPU (`describer.backend=cpu`): an object detector and pixel cues.

No captioning or vision-language model ships inside an installable package (README, "CPU
describer"), but a COCO detector and an ImageNet classifier do (`ltvad-search[vision]`). On the
sampled frames the detector finds road users and signals, tracks follow them across the segment,
and the box geometry says where each one is and how it moves relative to the car (ahead in our
lane and closing in fast, crossing from the left, at the road's edge) and what happens between
them (a cut-in, two road users meeting, a fall: `vision/events.py`), which the paragraph leads
with. The classifier takes a second look at the largest vehicles and any animal (an ambulance, a
police van, a horse). The pixel cues of the weightless describer add light, fog, ego motion,
braking, swerves, impacts and flashing lights. Everything is written as what the models think they
see, with confidence words; what they do not look for is said at the end, then what was unusual.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltvad_search.config import DescriberConfig
from ltvad_search.describe.base import DescriberCaps, DescribeRequest
from ltvad_search.describe.vision import events, narrate, plausible
from ltvad_search.describe.vision.classifier import CropClassifier, Guess
from ltvad_search.describe.vision.cues import BRISK, cut_times, measure
from ltvad_search.describe.vision.detector import SsdDetector
from ltvad_search.describe.vision.tracks import ANIMALS, VEHICLES, Track, follow
from ltvad_search.records import Description
from ltvad_search.video.decode import Frames

NOT_LOOKED_FOR = "Signs' text, road markings and the road surface were not examined."


@dataclass(slots=True)
class PartTimes:
    """Seconds spent in each part of describing, summed over segments (bench/bench_describer.py)."""

    segments: int = 0
    cues: float = 0.0  # light, motion, shake, lights
    detect: float = 0.0  # the object detector
    classify: float = 0.0  # the crop classifier
    write: float = 0.0  # tracks and sentences


def crops(frames: Frames, tracks: Sequence[Track], limit: int = 3, min_px: int = 24) -> list[tuple[Track, np.ndarray]]:
    """The best view of the largest vehicles and every animal, as pixel crops worth classifying."""
    h, w = frames.pixels.shape[1:3]
    vehicles = sorted((t for t in tracks if t.label in VEHICLES), key=lambda t: -(t.last[2] - t.last[0]))[:limit]
    out = []
    for track in [*vehicles, *(t for t in tracks if t.label in ANIMALS)]:
        i = track.biggest
        x1, y1, x2, y2 = track.boxes[i]
        frame = frames.pixels[frames.times.index(track.times[i])]
        crop = frame[int(y1 * h): int(y2 * h), int(x1 * w): int(x2 * w)]
        if min(crop.shape[:2]) >= min_px:
            out.append((track, crop))
    return out


class VisionDescriber:
    caps = DescriberCaps(video_input=False, needs_frames=True, max_frames=64)
    crash_hint = "--set describer.backend=cpu-basic (pixel cues alone, no detector or classifier)"
    name = f"cpu:{SsdDetector.name}+{CropClassifier.name}-v2"  # v2: events first, fog, calibrated impacts

    def __init__(self, threads: int = 2) -> None:
        self.detector = SsdDetector(threads=threads)
        self.classifier = CropClassifier(threads=threads)
        self.times = PartTimes()

    @classmethod
    def from_config(cls, cfg: DescriberConfig) -> VisionDescriber:
        return cls()

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]:
        return [self._describe_one(request) for request in batch]

    def _describe_one(self, request: DescribeRequest) -> Description:
        frames, segment = request.frames, request.segment
        t0 = time.perf_counter()
        m = measure(frames, detect_people=False)  # the detector finds people far better than HOG
        t1 = time.perf_counter()
        detections = self.detector.detect(frames.pixels)
        t2 = time.perf_counter()
        tracks = plausible.screened(follow(detections, frames.times))
        t3 = time.perf_counter()
        guesses: dict[Track, Guess] = {}
        for track, crop in crops(frames, tracks):
            guess = self.classifier.guess(crop, animal=track.label in ANIMALS)
            if guess is not None:
                guesses[track] = guess
        t4 = time.perf_counter()
        ego_moving = bool(m.speed) and float(np.median(m.speed)) >= BRISK / 2
        sentences = [f"Front-camera footage from {segment.start_s:.1f} s to {segment.end_s:.1f} s.",
                     *narrate.event_sentences(events.events(tracks, frames.times[0], cut_times(m))),
                     *narrate.cue_sentences(m)]
        sentences += narrate.object_sentences(tracks, guesses, ego_moving=ego_moving, frames=len(frames.times))
        sentences.append(NOT_LOOKED_FOR)
        text = " ".join(sentences)
        text += " " + narrate.closing_sentence(text)
        t5 = time.perf_counter()
        self.times.segments += 1
        self.times.cues += t1 - t0
        self.times.detect += t2 - t1
        self.times.classify += t4 - t3
        self.times.write += (t3 - t2) + (t5 - t4)  # tracking and the sentences
        return Description(segment_id=segment.segment_id, text=text, describer=self.name,
                           prompt_id=request.prompt.id, seconds=t5 - t0)
