from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ltvad_search.catalog import Catalog
from ltvad_search.config import Settings, load_settings
from ltvad_search.describe.cpu_basic import CpuDescriber
from ltvad_search.records import RunKey
from ltvad_search.run import pipeline
from ltvad_search.run.ingest import ingest
from ltvad_search.score.llama.scorer import LlamaCppScorer
from ltvad_search.score.ranking import rank


@pytest.fixture(scope="module")
def scorer(smollm2: Path) -> LlamaCppScorer:
    return LlamaCppScorer(smollm2, n_ctx=2048)  # the paper's grid scorer: one pass per description, quick


def _settings(store: Path, *extra: str) -> Settings:
    return load_settings(None, [f"store.root={store}", "scorer.model=smollm2-135m", "scorer.n_ctx=2048",
                                "scorer.preset=paper", *extra])


def _clips(demo_clips: dict[str, Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for p in demo_clips.values():
        shutil.copy(p, folder / p.name)
    return folder


def test_run_describes_scores_ranks_and_resumes(demo_clips, scorer, tmp_path: Path) -> None:
    cfg = _settings(tmp_path / "store")
    folder = _clips(demo_clips, tmp_path / "clips")
    with Catalog(cfg.store.catalog) as cat:
        ingest([folder], cat, cfg.video)
        report = pipeline.run(cat, cfg, CpuDescriber(), scorer)
        assert (report.describe.done, report.score.done, report.describe.failed, report.score.failed) == (6, 6, 0, 0)
        ranked = rank(cat, report.key, 0.5)
        assert len(ranked) == 3
        assert [r.clip.score for r in ranked] == sorted((r.clip.score for r in ranked), reverse=True)
        for r in ranked:
            assert r.clip.score == max(s.score for s in r.segments)
            assert r.top.segment.segment_id == r.clip.top_segment_id
        again = pipeline.run(cat, cfg, CpuDescriber(), scorer)
        assert (again.describe.done, again.score.done) == (0, 0)  # nothing pending: nothing redone
        assert cat.counts()["descriptions"] == 6 and cat.counts()["scores"] == 6
        assert pipeline.latest_keys(cat) == RunKey(report.describer, report.scorer, 2) == report.key


def test_stage2_ablation_reuses_stored_descriptions(demo_clips, scorer, tmp_path: Path) -> None:
    cfg = _settings(tmp_path / "store")
    with Catalog(cfg.store.catalog) as cat:
        ingest([_clips(demo_clips, tmp_path / "clips")], cat, cfg.video)
        pipeline.run(cat, cfg, CpuDescriber(), scorer)
        other = _settings(tmp_path / "store", "scorer.prompt=score_description-guidance")
        report = pipeline.run(cat, other, CpuDescriber(), scorer)
        assert report.describe.done == 0 and report.score.done == 6
        k3 = _settings(tmp_path / "store", "video.k=3")
        report = pipeline.run(cat, k3, CpuDescriber(), scorer)
        assert report.describe.done == 9 and report.score.done == 9  # K=3 segments made from stored probes


def test_a_clip_that_vanished_fails_alone(demo_clips, scorer, tmp_path: Path) -> None:
    cfg = _settings(tmp_path / "store")
    folder = _clips(demo_clips, tmp_path / "clips")
    with Catalog(cfg.store.catalog) as cat:
        ingest([folder], cat, cfg.video)
        (folder / "routine_highway_day.mp4").write_bytes(b"overwritten by a broken copy")
        report = pipeline.run(cat, cfg, CpuDescriber(), scorer)
        assert report.describe.done == 4 and report.describe.failed == 2
        reasons = [f.reason for f, _ in cat.failures("describe")]
        assert len(reasons) == 2 and all("frames could not be read" in r for r in reasons)
        shutil.copy(demo_clips["routine_highway_day"], folder / "routine_highway_day.mp4")
        retry = pipeline.run(cat, cfg, CpuDescriber(), scorer)
        assert retry.describe.done == 2 and cat.failures() == []  # a rerun retries only what failed


class _Flaky:
    """A real scorer that raises on chosen calls, as a server under load does."""

    def __init__(self, inner: LlamaCppScorer, fail_first: int) -> None:
        self.inner, self.left = inner, fail_first
        self.name, self.caps = inner.name, inner.caps

    def score(self, batch):
        if self.left > 0:
            self.left -= 1
            raise ConnectionError("server busy")
        return self.inner.score(batch)


def test_transient_scorer_errors_are_retried(demo_clips, scorer, tmp_path: Path) -> None:
    cfg = _settings(tmp_path / "store", "run.batch_size=6")
    with Catalog(cfg.store.catalog) as cat:
        ingest([_clips(demo_clips, tmp_path / "clips")], cat, cfg.video)
        report = pipeline.run(cat, cfg, CpuDescriber(), _Flaky(scorer, fail_first=2))  # type: ignore[arg-type]
        assert report.score.done == 6 and report.score.failed == 0


def test_persistent_scorer_errors_become_failures(demo_clips, scorer, tmp_path: Path) -> None:
    cfg = _settings(tmp_path / "store", "run.retries=1")
    with Catalog(cfg.store.catalog) as cat:
        ingest([_clips(demo_clips, tmp_path / "clips")], cat, cfg.video)
        report = pipeline.run(cat, cfg, CpuDescriber(), _Flaky(scorer, fail_first=10**6))  # type: ignore[arg-type]
        assert report.describe.done == 6 and report.score.failed == 6
        assert {f.reason for f, _ in cat.failures("score")} == {"ConnectionError: server busy"}


def test_kill_during_run_then_rerun_completes_without_duplicates(demo_clips, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(4):
        for p in demo_clips.values():
            shutil.copy(p, folder / f"{i}_{p.name}")
    store = tmp_path / "store"
    base = [sys.executable, "-m", "ltvad_search.cli", "--set", f"store.root={store}",
            "--set", "scorer.model=smollm2-135m", "--set", "scorer.n_ctx=2048", "--set", "run.batch_size=2"]
    subprocess.run([*base, "ingest", str(folder)], check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen([*base, "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    catalog = store / "catalog.sqlite"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with Catalog(catalog, readonly=True) as cat:
            if cat.counts()["scores"] >= 4:
                break
        time.sleep(0.05)
    with Catalog(catalog) as blocker, blocker.transaction():
        scored_before = blocker.counts()["scores"]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 4 <= scored_before < 24
    rerun = subprocess.run([*base, "run"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"scored {24 - scored_before} (0 failed" in rerun.stdout, rerun.stdout
    with Catalog(catalog, readonly=True) as cat:
        counts = cat.counts()
        assert counts["descriptions"] == 24 and counts["scores"] == 24 and counts["failures"] == 0
        keys = pipeline.latest_keys(cat)
        assert keys is not None
        assert len(cat.scores(keys.describer, keys.scorer)) == 24


CRASHING_RUN = """
import ctypes, sys
from pathlib import Path
from ltvad_search.run import pipeline
from ltvad_search.describe.cpu_basic import CpuDescriber
from ltvad_search.score.llama.scorer import LlamaCppScorer
from ltvad_search.config import load_settings
from ltvad_search.records import RunKey
from ltvad_search.run.ingest import ingest
from ltvad_search.score.ranking import rank
from ltvad_search.catalog import Catalog

class NativeCrash(LlamaCppScorer):
    '''The real scorer whose scoring dies in native code, as llama.cpp's AMX kernel did: a real SIGSEGV.'''
    def score(self, requests):
        ctypes.string_at(0)

store, clips, model = map(Path, sys.argv[1:4])
cfg = load_settings(None, [f"store.root={store}", "scorer.n_ctx=2048", "scorer.preset=paper"])
with Catalog(cfg.store.catalog) as cat:
    ingest([clips], cat, cfg.video)
    pipeline.run(cat, cfg, CpuDescriber(), NativeCrash(model, n_ctx=2048))
"""


def test_a_native_crash_is_reported_with_its_backend_and_the_setting_to_try(demo_clips, smollm2: Path,
                                                                             tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ltvad_search.cli import app

    store, clips = tmp_path / "store", _clips(demo_clips, tmp_path / "clips")
    died = subprocess.run([sys.executable, "-X", "faulthandler", "-c", CRASHING_RUN, str(store), str(clips),
                           str(smollm2)], capture_output=True, text=True, timeout=300)
    assert died.returncode == -signal.SIGSEGV, died.stderr[-2000:]
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        stopped = pipeline.interrupted(cat)
        assert cat.counts()["descriptions"] == 6  # stage 1's work survived the crash
    assert stopped is not None and stopped.stage == "score" and stopped.backend.startswith("llamacpp:")
    shown = CliRunner().invoke(app, ["--set", f"store.root={store}", "status"])
    assert shown.exit_code == 0, shown.output
    assert "stage score (llamacpp:SmolLM2" in shown.output and "scorer.llamacpp.extra_buffers=off" in shown.output


def test_a_finished_run_leaves_nothing_to_report(demo_clips, scorer, tmp_path: Path) -> None:
    cfg = _settings(tmp_path / "store")
    with Catalog(cfg.store.catalog) as cat:
        ingest([_clips(demo_clips, tmp_path / "clips")], cat, cfg.video)
        pipeline.run(cat, cfg, CpuDescriber(), scorer)
        assert pipeline.interrupted(cat) is None
