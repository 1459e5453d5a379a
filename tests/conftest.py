"""Shared fixtures: real clips made on the spot, the shared evaluation data when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.demo import SCENES, encode, render

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a clean skip on machines without it (its licence keeps it out of git)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def demo_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three short real H.264 clips rendered by the demo generator, keyed by scene name."""
    folder = tmp_path_factory.mktemp("clips")
    chosen = [s for s in SCENES if s.name in {
        "routine_highway_day", "longtail_emergency_lights", "longtail_hard_brake_crash"}]
    return {s.name: encode(render(s, seed=i), folder / f"{s.name}.mp4") for i, s in enumerate(chosen)}


@pytest.fixture()
def clip_path(demo_clips: dict[str, Path]) -> Path:
    return demo_clips["routine_highway_day"]
