"""Stage-1 describer from pixel cues alone (`describer.backend=cpu-basic`): no learned weights.

For machines without the vision weights package: brightness and contrast (day, night, washed-out
views), ego motion (moving, stopping, braking hard, swerving), camera shake or impact, flashing red
and blue lights, people found by OpenCV's built-in HOG detector, and abrupt cuts. It cannot tell a
car from a deer, and says so at the end of every paragraph; the default `cpu` describer
(describe/cpu_vision.py) adds an object detector.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ltvad_search.config import DescriberConfig
from ltvad_search.describe.base import DescriberCaps, DescribeRequest
from ltvad_search.describe.vision.cues import Measurements, measure
from ltvad_search.describe.vision.narrate import cue_sentences
from ltvad_search.records import Description


def compose(m: Measurements, start_s: float, end_s: float) -> str:
    """The paragraph: plain sentences, each backed by one of the measurements."""
    sentences = [f"Front-camera footage from {start_s:.1f} s to {end_s:.1f} s.", *cue_sentences(m)]
    with_people = [p for p in m.people if p > 0]
    if len(with_people) >= 2 or (with_people and max(with_people) >= 2):
        sentences.append(f"A people detector finds up to {max(with_people)} person-shaped figure(s), "
                         f"in {len(with_people)} of {len(m.people)} frames; there may be pedestrians near the road.")
    sentences.append("Vehicles, signs, animals and road markings were not identified by this describer.")
    return " ".join(sentences)


class CpuDescriber:
    """No weights: measurements over the sampled frames, written as a paragraph."""

    caps = DescriberCaps(video_input=False, needs_frames=True, max_frames=64)
    name = "cpu:cv-v2"  # v2: fog, impacts only with a change in ego motion

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
