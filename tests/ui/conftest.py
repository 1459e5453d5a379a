from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ltvad_search.cli import app


@pytest.fixture(scope="session")
def ui_store(demo_clips: dict[str, Path], smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real store: demo clips ingested, described, scored (SmolLM2), indexed, two of them labelled."""
    root = tmp_path_factory.mktemp("ui_store")
    clips = root / "clips"
    clips.mkdir()
    for p in demo_clips.values():
        shutil.copy(p, clips / p.name)
    runner = CliRunner()
    base = ["--set", f"store.root={root / 'store'}", "--set", "scorer.model=smollm2-135m", "--set", "scorer.n_ctx=2048"]
    for args in (["run", str(clips)], ["index"]):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 0, result.output
    (clips / "labels.csv").write_text("clip,label,category\nlongtail_emergency_lights.mp4,1,10\n"
                                      "routine_highway_day.mp4,0,\n")
    for args in (["labels", "import", str(clips / "labels.csv")], ["eval"]):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 0, result.output
    return root / "store"
