"""How far to trust a detector class: per-class evidence a track needs before it is named.

SSD-MobileNet-v2 is sure of cars, people and traffic lights on dashcam footage, but its rarer COCO
classes are where it errs: on real clips a scooter with its rider came back as "a horse", and a
shadow on a forest road as "an umbrella". Stage 2 believes what it reads ("most likely: animal"), so
a rare class is named only on more evidence than a common one: more frames, a higher confidence,
and for an animal no person on top of it (a person riding is far likelier a two-wheeler than a
horse in road traffic). Short of that, the paragraph says what is uncertain instead of naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from ltvad_search.describe.vision.tracks import ANIMALS, OBJECTS, Track, iou

# (minimum median confidence, minimum frames) before a class is named; others need two frames or
# one at 0.8 (narrate.object_sentences). Objects on the road are still, so a real one is seen in
# most frames; animals are rare in traffic and the classes the detector confuses with two-wheelers.
ANIMAL_EVIDENCE = (0.6, 3)
OBJECT_EVIDENCE = (0.5, 3)
RIDDEN = 0.3  # box overlap with a person in the same frame above which the "animal" carries a rider


class Trust(Enum):
    NAMED = "named"  # say what the detector says
    UNCERTAIN = "uncertain"  # say there is something, and that the class is uncertain
    DROPPED = "dropped"  # too little evidence to mention


def _ridden(track: Track, others: Sequence[Track]) -> bool:
    people = [(t, b) for o in others if o.label == "person" for t, b in zip(o.times, o.boxes, strict=True)]
    shared = [max((iou(box, b) for t2, b in people if t2 == t), default=0.0)
              for t, box in zip(track.times, track.boxes, strict=True)]
    return bool(shared) and sum(s >= RIDDEN for s in shared) * 2 >= len(shared)


def trust(track: Track, others: Sequence[Track]) -> Trust:
    """How a track of a rare class may be told; common classes are always NAMED here."""
    if track.label in ANIMALS:
        confident = track.confidence >= ANIMAL_EVIDENCE[0] and len(track.times) >= ANIMAL_EVIDENCE[1]
        return Trust.NAMED if confident and not _ridden(track, others) else Trust.UNCERTAIN
    if track.label in OBJECTS:
        enough = track.confidence >= OBJECT_EVIDENCE[0] and len(track.times) >= OBJECT_EVIDENCE[1]
        return Trust.NAMED if enough else Trust.DROPPED
    return Trust.NAMED


UNSURE = "road user of uncertain kind"  # the label an animal track gets without the evidence to name it


def screened(tracks: Sequence[Track]) -> list[Track]:
    """The tracks as they may be told: rare classes without the evidence dropped or, for animals,
    relabelled `UNSURE` (still a road user: it may still cross, appear or fall)."""
    out = []
    for track in tracks:
        verdict = trust(track, tracks)
        if verdict is Trust.UNCERTAIN:
            out.append(Track(UNSURE, track.times, track.boxes, track.scores))
        elif verdict is Trust.NAMED:
            out.append(track)
    return out
