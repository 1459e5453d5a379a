"""COCO object detection on the sampled frames: SSD-MobileNet-v2 through OpenCV's DNN module.

OpenCV is already a dependency (decoding, optical flow), so the detector adds weights but no
runtime. The network's input is fixed at 300x300 (its anchors are laid out for it); a 448-px sampled
frame is shrunk to that once. Boxes come back in frame fractions, so later stages never care about
resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltvad_search.describe.vision import weights

INPUT = 300  # the SSD's own input size

# The TensorFlow model zoo's COCO label map (ids 1-90 with gaps): the classes a road scene can hold.
COCO = {1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck",
        9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter", 15: "bench",
        16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear",
        24: "zebra", 25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag", 33: "suitcase",
        37: "sports ball", 41: "skateboard", 44: "bottle", 62: "chair", 64: "potted plant"}


@dataclass(frozen=True, slots=True)
class Detection:
    """One object in one frame: a COCO class, the detector's confidence, and its box as fractions of
    the frame (x1, y1, x2, y2), origin top left."""

    label: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def centre(self) -> float:
        return (self.box[0] + self.box[2]) / 2


class SsdDetector:
    """Loaded once per describer; `detect` takes RGB frames and returns their detections."""

    name = "ssd-mobilenet-v2-coco"

    def __init__(self, min_score: float = 0.35, threads: int | None = None) -> None:
        import cv2

        self._net = cv2.dnn.readNetFromTensorflow(str(weights.path(weights.SSD_GRAPH)),
                                                  str(weights.path(weights.SSD_CONFIG)))
        self.min_score = min_score
        if threads:
            cv2.setNumThreads(threads)

    def detect(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[list[Detection]]:
        """One frame per forward pass: OpenCV's SSD runs a batch no faster than frame by frame."""
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: np.ndarray) -> list[Detection]:
        import cv2

        # frames are RGB already, which is what the TensorFlow graph was trained on (no swapRB)
        self._net.setInput(cv2.dnn.blobFromImage(frame, size=(INPUT, INPUT), swapRB=False))
        out = []
        for _, cls, score, x1, y1, x2, y2 in self._net.forward()[0, 0]:  # (class, score, box) rows
            label = COCO.get(int(cls))
            if label is None or score < self.min_score:
                continue
            box = tuple(float(np.clip(v, 0.0, 1.0)) for v in (x1, y1, x2, y2))
            if box[2] > box[0] and box[3] > box[1]:
                out.append(Detection(label, round(float(score), 3), box))  # type: ignore[arg-type]
        return out
