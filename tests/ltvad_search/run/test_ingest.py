from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ltvad_search.catalog import Catalog, StoreError
from ltvad_search.config import VideoConfig
from ltvad_search.run.ingest import ingest


def _bad_inputs(folder: Path, good: Path) -> dict[str, str]:
    """One of each kind of bad input, and the reason each must be stored with."""
    (folder / "empty.mp4").touch()
    (folder / "notes.mp4").write_text("not a video at all\n" * 20)
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    return {"empty.mp4": "empty", "notes.mp4": "not a readable video",
            "truncated.mp4": "not a readable video|no video packets"}


def test_batch_goes_on_past_every_bad_input(demo_clips: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for p in demo_clips.values():
        shutil.copy(p, folder / p.name)
    expected = _bad_inputs(folder, next(iter(demo_clips.values())))
    (folder / "readme.txt").write_text("ignored: not a video extension")
    with Catalog(tmp_path / "cat.sqlite") as cat:
        report = ingest([folder, tmp_path / "missing.mp4"], cat, VideoConfig())
        assert report.added == 3
        reasons = {Path(f.source).name: f.reason for f, _ in cat.failures("ingest")}
        assert set(reasons) == {*expected, "missing.mp4"}
        assert "does not exist" in reasons["missing.mp4"]
        import re
        for name, pattern in expected.items():
            assert re.search(pattern, reasons[name]), (name, reasons[name])
        assert cat.counts()["segments"] == 6


def test_rerun_skips_ingested_and_retries_failed(demo_clips: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = next(iter(demo_clips.values()))
    shutil.copy(good, folder / "a.mp4")
    (folder / "b.mp4").touch()
    with Catalog(tmp_path / "cat.sqlite") as cat:
        first = ingest([folder], cat, VideoConfig())
        assert (first.added, first.skipped, len(first.failed)) == (1, 0, 1)
        shutil.copy(good, folder / "b.mp4")  # the user fixes the broken file
        second = ingest([folder], cat, VideoConfig())
        assert (second.added, second.skipped, len(second.failed)) == (1, 1, 0)
        assert cat.failures() == []


def test_too_short_clip_is_recorded_not_raised(tmp_path: Path) -> None:
    from ltvad_search.video.demo_clips import SCENES, encode, render

    encode(render(SCENES[0], 0)[:4], tmp_path / "short.mp4")
    with Catalog(tmp_path / "cat.sqlite") as cat:
        report = ingest([tmp_path / "short.mp4"], cat, VideoConfig(k=2))
        assert report.added == 0 and "too short for 2 segments" in report.failed[0].reason


def _without_root_read_override() -> list[str]:
    """Root reads every folder whatever its mode bits; drop those capabilities for the child."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a folder unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_unreadable_folder_is_recorded(demo_clips: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "open").mkdir(parents=True)
    (root / "locked").mkdir()
    good = next(iter(demo_clips.values()))
    shutil.copy(good, root / "open" / "a.mp4")
    shutil.copy(good, root / "locked" / "b.mp4")
    (root / "locked").chmod(0)
    store = tmp_path / "store"
    cmd = [*_without_root_read_override(), sys.executable, "-m", "ltvad_search.cli",
           "--set", f"store.root={store}", "ingest", str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    (root / "locked").chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    assert "ingested 1" in proc.stdout
    assert "locked" in proc.stderr and "not readable" in proc.stderr
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        [(failure, _)] = cat.failures()
        assert failure.source.endswith("locked")


def test_kill_during_ingest_then_rerun_leaves_no_duplicates_and_nothing_missing(
    demo_clips: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = next(iter(demo_clips.values()))
    total = 60
    for i in range(total):
        shutil.copy(good, folder / f"c{i:02d}.mp4")
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "ltvad_search.cli", "--set", f"store.root={store}", "ingest", str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    catalog = store / "catalog.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with Catalog(catalog, readonly=True) as cat:
                if cat.counts()["clips"] >= 3:
                    break
        except StoreError:
            pass  # not created yet
        time.sleep(0.01)
    # Take the write lock so the ingest stalls on its next clip, then kill it there.
    with Catalog(catalog) as blocker, blocker.transaction():
        done_before_kill = blocker.counts()["clips"]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 3 <= done_before_kill < total
    with Catalog(catalog, readonly=True) as cat:
        assert cat.counts() == {**cat.counts(), "clips": done_before_kill, "segments": 2 * done_before_kill}
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    summary = f"ingested {total - done_before_kill}, already present {done_before_kill}, failed 0"
    assert summary in rerun.stdout, rerun.stdout + rerun.stderr
    with Catalog(catalog, readonly=True) as cat:
        assert cat.counts()["clips"] == total
        segs = cat.segments()
        assert len(segs) == 2 * total and len({s.segment_id for s in segs}) == 2 * total
        for clip in cat.clips():
            assert [s.index for s in cat.segments(clip_id=clip.clip_id)] == [0, 1]
