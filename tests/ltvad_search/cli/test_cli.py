from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from shared_clips import read_clip_table
from typer.testing import CliRunner

from ltvad_search.cli import app

runner = CliRunner()


def _ltvad(store: Path, *args: str) -> str:
    result = runner.invoke(app, ["--set", f"store.root={store}", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from ltvad_search.cli import app; "
            "heavy = {'torch','cv2','av','decord','llama_cpp','numpy','pydantic','sentence_transformers'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    shown = subprocess.run([sys.executable, "-m", "ltvad_search.cli", "--help"], capture_output=True,
                           text=True, check=True).stdout
    assert "ingest" in shown and "status" in shown


def test_ingest_segments_status(demo_clips: dict[str, Path], tmp_path: Path) -> None:
    folder = next(iter(demo_clips.values())).parent
    assert "ingested 3" in _ltvad(tmp_path, "ingest", str(folder))
    assert "already present 3" in _ltvad(tmp_path, "ingest", str(folder))
    clip = str(demo_clips["longtail_emergency_lights"])
    shown = json.loads(_ltvad(tmp_path, "segments", clip, "--json"))
    assert len(shown["segments"]) == 2
    assert shown["segments"][0]["sample_times"][:3] == [0.0, 0.5, 1.0]
    text = _ltvad(tmp_path, "--set", "video.k=3", "segments", clip)
    assert text.count("samples:") == 3  # computed from the stored probe, as a K=3 run will
    status = json.loads(_ltvad(tmp_path, "status", "--json"))
    assert status["counts"]["clips"] == 3 and status["failures"] == []


def test_status_lists_failures_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "bad.mp4").write_text("nope")
    _ltvad(tmp_path / "store", "ingest", str(tmp_path / "bad.mp4"))
    out = _ltvad(tmp_path / "store", "status")
    assert "bad.mp4" in out and "not a readable video" in out


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--set", "video.k=0", "status"])
    assert result.exit_code == 2
    assert "video.k" in result.output and "greater than or equal to 1" in result.output


def test_real_shared_clips_probe_within_5_percent(shared_data: Path, tmp_path: Path) -> None:
    truth = {row.file: row for row in read_clip_table(shared_data / "README.md")}
    assert truth, "the clips table in ../shared/data/README.md has no rows"
    assert f"ingested {len(truth)}" in _ltvad(tmp_path, "ingest", str(shared_data / "clips"))
    from ltvad_search.catalog import Catalog

    with Catalog(tmp_path / "catalog.sqlite", readonly=True) as cat:
        clips = {Path(c.source).name: c for c in cat.clips()}
    assert set(clips) == set(truth)
    for name, row in truth.items():
        assert clips[name].duration_s == pytest.approx(row.duration_s, rel=0.05), name
        assert clips[name].fps == pytest.approx(row.fps, rel=0.05), name
