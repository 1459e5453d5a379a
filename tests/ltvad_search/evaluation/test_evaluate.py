from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import SMALL, runner
from cli_helpers import ltvad as _ltvad

from ltvad_search.catalog import Catalog
from ltvad_search.cli import app
from ltvad_search.config import VideoConfig
from ltvad_search.evaluation.evaluate import LabelError, read_labels
from ltvad_search.run.ingest import ingest


@pytest.fixture()
def catalog(demo_clips: dict[str, Path], tmp_path: Path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for p in demo_clips.values():
        shutil.copy(p, folder / p.name)
    cat = Catalog(tmp_path / "store" / "catalog.sqlite")
    ingest([folder], cat, VideoConfig())
    yield cat, folder
    cat.close()


def test_labels_from_csv_and_jsonl(catalog) -> None:
    cat, folder = catalog
    (folder / "labels.csv").write_text("clip,label,category\nlongtail_emergency_lights.mp4,1,10\n"
                                       "routine_highway_day.mp4,0,\n")
    labels = read_labels(folder / "labels.csv", cat)
    assert [(lb.label, lb.category) for lb in labels] == [(1, 10), (0, None)]
    clip = cat.find_clip(str(folder / "longtail_hard_brake_crash.mp4"))
    (folder / "labels.jsonl").write_text(json.dumps({"clip_id": clip.clip_id, "label": 1}) + "\n")
    assert read_labels(folder / "labels.jsonl", cat)[0].clip_id == clip.clip_id


def test_every_label_problem_is_reported_and_nothing_imported(catalog) -> None:
    cat, folder = catalog
    (folder / "bad.csv").write_text("clip,label,category\nnot_here.mp4,1,\nroutine_highway_day.mp4,yes,\n"
                                    "longtail_emergency_lights.mp4,1,12\nlongtail_hard_brake_crash.mp4,1,\n"
                                    "longtail_hard_brake_crash.mp4,0,\n")
    with pytest.raises(LabelError) as info:
        read_labels(folder / "bad.csv", cat)
    text = str(info.value)
    for expected in ("bad.csv:2: unknown clip 'not_here.mp4'", "bad.csv:3: label must be 0 or 1",
                     "bad.csv:4: category must be 1-10", "bad.csv:6: clip 'longtail_hard_brake_crash.mp4' is "
                     "labelled again (first at line 5)", "4 problem(s), nothing imported"):
        assert expected in text
    assert cat.labels() == []


def test_eval_round_trip_writes_the_report(catalog, smollm2: Path) -> None:
    cat, folder = catalog
    store = cat.path.parent
    (folder / "labels.csv").write_text("clip,label,category\nlongtail_emergency_lights.mp4,1,10\n"
                                       "longtail_hard_brake_crash.mp4,1,10\nroutine_highway_day.mp4,0,\n")
    _ltvad(store, "run")
    assert "imported 3 labels (2 long-tail, 1 routine)" in _ltvad(store, "labels", "import", str(folder / "labels.csv"))
    out = _ltvad(store, "eval")
    assert "Acc" in out and "AUC" in out and "emergency/accident" in out
    report = store / "reports" / "eval"
    assert {p.name for p in report.iterdir()} == {"report.md", "metrics.json", "roc.png", "histogram.png"}
    data = json.loads((report / "metrics.json").read_text())
    assert data["n"] == 3 and 0 <= data["auc"] <= 1 and data["seconds_per_item"] > 0
    assert (report / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_without_labels_says_what_to_do(catalog, smollm2: Path) -> None:
    cat, _ = catalog
    _ltvad(cat.path.parent, "run")
    result = runner.invoke(app, ["--set", f"store.root={cat.path.parent}", *SMALL, "eval"])
    assert result.exit_code == 2 and "labels import" in result.output


def test_eval_text_reports_categories(smollm2: Path, tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "A deer runs onto the road.", "label": 1, "category": 7},
            {"id": "b", "text": "Snow covers the road.", "label": 1, "category": 8},
            {"id": "c", "text": "The car waits at a red light.", "label": 0},
            {"id": "d", "text": "The car keeps its lane.", "label": 0}]
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    out = _ltvad(tmp_path, "eval-text", str(f))
    assert "animal" in out and "adverse weather" in out and "threshold  recall  precision" in out
    assert "written score" not in out  # one evaluation: the checklist writes no grid score
    assert (tmp_path / "reports" / "text-rows" / "histogram.png").exists()
    assert not (tmp_path / "reports" / "text-rows-written").exists()
    report = (tmp_path / "reports" / "text-rows" / "report.md").read_text()
    metrics = json.loads((tmp_path / "reports" / "text-rows" / "metrics.json").read_text())
    assert "| threshold | recall | precision | routine flagged | items flagged |" in report
    assert [p["threshold"] for p in metrics["thresholds"]] == [0.3, 0.5, 0.7, 0.9]
    assert all(0 <= p["routine_flagged"] <= 1 for p in metrics["thresholds"])
    paper = _ltvad(tmp_path, "--set", "scorer.preset=paper", "eval-text", str(f))
    assert "expected value" in paper and "written score" in paper
    assert (tmp_path / "reports" / "text-rows-written" / "roc.png").exists()


def test_ablate_prints_the_tables(catalog, smollm2: Path) -> None:
    cat, folder = catalog
    store = cat.path.parent
    (folder / "labels.csv").write_text("clip,label\nlongtail_emergency_lights.mp4,1\n"
                                       "longtail_hard_brake_crash.mp4,1\nroutine_highway_day.mp4,0\n")
    _ltvad(store, "labels", "import", str(folder / "labels.csv"))
    out = _ltvad(store, "ablate")
    for expected in ("Segments per clip K", "K=1", "K=3", "guidance + examples", "neither", "written score",
                     "Baseline vs two-stage: skipped"):
        assert expected in out
    with Catalog(store / "catalog.sqlite", readonly=True) as c:
        before = c.counts()
    _ltvad(store, "ablate")  # everything is stored: the second pass recomputes nothing
    with Catalog(store / "catalog.sqlite", readonly=True) as c:
        assert c.counts()["descriptions"] == before["descriptions"] and c.counts()["scores"] == before["scores"]
