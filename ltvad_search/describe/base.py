"""Stage 1's protocol: a describer turns the sampled frames of a segment into text.

Each describer declares what it can do, so the runner asks rather than guesses (a describer without
video input gets frames as images; an importer of stored text needs no frames). Describers raise on
failure; the runner turns failures into per-item records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ltvad_search.prompts import Prompt
from ltvad_search.records import Description, Segment
from ltvad_search.video.decode import Frames


@dataclass(frozen=True, slots=True)
class DescribeRequest:
    segment: Segment
    frames: Frames
    prompt: Prompt


@dataclass(frozen=True, slots=True)
class DescriberCaps:
    video_input: bool = False  # takes frames as one video with fps, not as separate images
    needs_frames: bool = True  # False for describers that look text up (import)
    max_frames: int = 32


@runtime_checkable
class Describer(Protocol):
    name: str
    caps: DescriberCaps

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]: ...


def describer_key(describer: Describer, prompt: Prompt) -> str:
    """What descriptions are stored under: the backend and model, and the exact prompt wording."""
    return f"{describer.name}|{prompt.id}"
