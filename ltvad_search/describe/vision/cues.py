"""What pixels alone tell about a segment, no learned weights: light, ego motion, shake, cuts, lights.

Brightness and contrast (day, night, a washed-out view), haze (fog and mist), ego motion from how
much the road region changes between samples (moving, stopping, braking hard), the view's sideways flow (turns,
swerves), vertical jumps of the whole image (a knock or an impact), abrupt colour changes (cuts),
flashing saturated red and blue (emergency lights), and OpenCV's built-in HOG people detector for
describers without a learned one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltvad_search.video.decode import Frames

FLOW_WIDTH = 192  # motion is measured on small frames: motion, not detail, is what matters
STILL = 1.0  # mean grey-level change of the road region between samples below which nothing moves
BRISK = 8.0  # ... and above which the vehicle is clearly under way
JOLT = 3.0  # vertical jump of the whole image (px on FLOW_WIDTH frames) that no driving produces
SURE_SHIFT = 0.3  # phase correlation's peak below which its shift estimate is noise (texture-poor or
# changed views: fog, a winding road, a turn), so the shake measured there is not used
CUT = 0.55  # colour-histogram distance between samples above which the view changed (an edit or a jump)
HAZE_BAND = (0.25, 0.6)  # rows (frame fractions) around the horizon, where fog hides the distance
HAZE_PATCH = 9  # px (on the 448-px frames) over which the darkest channel is taken


@dataclass(frozen=True, slots=True)
class Measurements:
    """Per-segment measurements; each series has one value per sampled frame (or frame pair)."""

    times: tuple[float, ...]
    brightness: float  # mean luma, 0..255
    contrast: float  # luma standard deviation
    saturation: float  # mean HSV saturation, 0..255
    speed: tuple[float, ...]  # mean absolute change of the road region between frames, grey levels
    lateral: tuple[float, ...]  # mean horizontal flow, px/s (sign: + = scene moves right)
    shake: tuple[float, ...]  # vertical global shift between consecutive frames, px (0 where unreliable)
    cut: tuple[float, ...]  # colour-histogram distance between consecutive frames, 0..1
    red: tuple[float, ...]  # share of bright saturated red pixels
    blue: tuple[float, ...]  # share of bright saturated blue pixels
    people: tuple[int, ...]  # HOG person detections per frame
    haze: float = 0.0  # median dark channel around the horizon, 0..1 (He et al.'s haze prior)
    haze_detail: float = 255.0  # mean absolute Laplacian of the luma there (texture), grey levels


def measure(frames: Frames, *, detect_people: bool = True) -> Measurements:
    import cv2

    pix = frames.pixels
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in pix])
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in pix])
    h, w = gray.shape[1:]
    small_h = max(16, round(h * FLOW_WIDTH / w))
    small = [cv2.GaussianBlur(cv2.resize(g, (FLOW_WIDTH, small_h), interpolation=cv2.INTER_AREA), (5, 5), 0)
             for g in gray]
    window = cv2.createHanningWindow((FLOW_WIDTH, small_h), cv2.CV_32F)
    dt = [max(1e-3, b - a) for a, b in zip(frames.times, frames.times[1:], strict=False)]
    speed, lateral, shake, cut = [], [], [], []
    for i in range(len(small) - 1):
        a, b = small[i], small[i + 1]
        # Frames are 1/fps apart (0.5 s by default): too far for dense flow to track road texture
        # at speed, so ego motion is measured as how much the road region changes, and flow is
        # kept for the direction of the view (turns, swerves), where large regions move together.
        road = slice(int(small_h * 0.55), None)
        speed.append(float(np.mean(np.abs(b[road].astype(np.int16) - a[road]))))
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)  # type: ignore[call-overload]  # flow=None: allocate
        lateral.append(float(np.mean(flow[..., 0])) / dt[i])
        # Driving forward or turning barely shifts the whole image vertically; a knock or an
        # impact does. Half a second apart the views of a winding road or a turn share little, and
        # the estimate is then noise (a weak correlation peak): measured as no shake.
        (_, sy), peak = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32), window)
        shake.append(abs(float(sy)) if peak >= SURE_SHIFT else 0.0)
        cut.append(_hist_distance(hsv[i], hsv[i + 1]))
    bright = hsv[..., 2] > 170
    sat = hsv[..., 1] > 150
    hue = hsv[..., 0]
    red = ((hue < 8) | (hue > 170)) & bright & sat
    blue = (hue > 100) & (hue < 130) & bright & sat
    people = tuple(_people(f) for f in pix) if detect_people else tuple(0 for _ in pix)
    haze, haze_detail = _haze(pix, gray)
    return Measurements(
        times=frames.times,
        brightness=float(gray.mean()),
        contrast=float(gray.std(axis=(1, 2)).mean()),
        saturation=float(hsv[..., 1].mean()),
        speed=tuple(speed), lateral=tuple(lateral), shake=tuple(shake), cut=tuple(cut),
        red=tuple(float(r.mean()) for r in red), blue=tuple(float(b.mean()) for b in blue),
        people=people, haze=haze, haze_detail=haze_detail,
    )


def cut_times(m: Measurements) -> tuple[float, ...]:
    """The sampled frames that follow a cut: what is seen there is another shot, not motion."""
    return tuple(m.times[i + 1] for i, c in enumerate(m.cut) if c > CUT)


def _haze(pix: np.ndarray, gray: np.ndarray) -> tuple[float, float]:
    """The dark channel prior (He, Sun and Tang, 2009): in clear air almost every patch of an outdoor
    scene holds a dark pixel in some colour channel (shadow, foliage, a tyre, a saturated colour); fog
    and mist add bright, colourless airlight that lifts every patch. So the median darkest-channel
    value around the horizon, where fog hides the distance first, estimates the haze. A pale sky or a
    sunlit grey road is bright too, but keeps its edges; fog also washes out the texture there, which
    the mean absolute Laplacian measures. Both per frame, the median taken."""
    import cv2

    h = pix.shape[1]
    band = slice(int(h * HAZE_BAND[0]), int(h * HAZE_BAND[1]))
    kernel = np.ones((HAZE_PATCH, HAZE_PATCH), np.uint8)
    dark = [float(np.median(cv2.erode(f[band].min(axis=2), kernel))) for f in pix]
    detail = [float(np.abs(cv2.Laplacian(cv2.GaussianBlur(g[band], (3, 3), 0), cv2.CV_32F)).mean()) for g in gray]
    return float(np.median(dark)) / 255, float(np.median(detail))


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
        _HOG.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
    if frame.shape[0] < 128 or frame.shape[1] < 64:
        return 0
    boxes, weights = _HOG.detectMultiScale(frame, winStride=(8, 8), padding=(8, 8), scale=1.08)
    return int(sum(1 for wgt in np.ravel(weights) if wgt > 0.9)) if len(boxes) else 0


