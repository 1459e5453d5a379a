from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_helpers import ltvad as _ltvad
from cli_helpers import runner

from ltvad_search.cli import app


def test_run_then_top_then_an_adapted_index(demo_clips: dict[str, Path], smollm2: Path, tmp_path: Path) -> None:
    folder = next(iter(demo_clips.values())).parent
    out = _ltvad(tmp_path, "run", str(folder))
    assert "described 6 (0 failed" in out and "scored 6 (0 failed" in out
    ranked = json.loads(_ltvad(tmp_path, "top", "--all", "--json"))
    assert len(ranked) == 3 and ranked[0]["score"] >= ranked[-1]["score"]
    assert {len(r["segments"]) for r in ranked} == {2}
    from ltvad_search import prompts

    shorts = {q.short for q in prompts.load("score_checklist").questions}  # the default scorer says why
    assert all(r["most_likely"]["question"] in shorts and r["most_likely"]["p_yes"] == r["score"] for r in ranked)
    listing = _ltvad(tmp_path, "top", "--all")
    assert "scored clips" in listing and f"most likely: {ranked[0]['most_likely']['question']}" in listing
    # the same store, searched with an embedder adapted to its descriptions (the 135M model writes the queries)
    adapted = _ltvad(tmp_path, "--set", "index.adapt.queries=1", "index", "--adapt")
    assert "adapted all-MiniLM-L6-v2 on " in adapted and "+adapted-" in adapted
    assert "rebuilt with it, 6 segments" in adapted
    hits = json.loads(_ltvad(tmp_path, "search", "a car on the road", "--json"))
    assert len(hits) == 6
    # the category the query was read as is said (on stderr), so a surprising order is explainable
    assert "about category 10 (emergency/accident)" in _ltvad(tmp_path, "search", "an ambulance with flashing lights")
    assert "about category" not in _ltvad(tmp_path, "search", "the car waits at a red light")
    again = _ltvad(tmp_path, "--set", "index.adapt.queries=1", "index", "--adapt")
    assert "(0 newly written" in again  # every description's queries come from the cache


def test_top_on_an_empty_store_says_what_to_run(tmp_path: Path) -> None:
    _ltvad(tmp_path, "status")
    assert "ltvad run" in _ltvad(tmp_path, "ingest", str(tmp_path / "none")) + _ltvad(tmp_path, "top")


def test_score_text_writes_scores_and_reports_auc(smollm2: Path, tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "text": t, "label": lab} for i, (t, lab) in enumerate([
        ("The car waits at a red light.", 0), ("A deer jumps onto the road ahead.", 1),
        ("The car keeps its lane on the highway.", 0), ("An ambulance with sirens passes the car.", 1)])]
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = _ltvad(tmp_path, "score-text", str(f), "--out", str(tmp_path / "scores.jsonl"))
    assert "4 descriptions scored" in out and "ROC AUC" in out
    assert "written score" not in out  # the checklist writes no grid score, so there is no second line
    written = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [w["id"] for w in written] == ["r0", "r1", "r2", "r3"] and all(0 <= w["score"] <= 1 for w in written)
    paper = _ltvad(tmp_path, "--set", "scorer.preset=paper", "score-text", str(f), "--out", str(tmp_path / "p.jsonl"))
    assert "written score" in paper  # the paper's rubric writes one


def test_score_text_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"id": "a", "text": "ok"}\nnot json\n')
    result = runner.invoke(app, ["--set", f"store.root={tmp_path}", "score-text", str(f)])
    assert result.exit_code == 2 and "bad.jsonl:2" in result.output


def test_baseline_scores_whole_clips_directly(demo_clips: dict[str, Path], llama_server: str, tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(demo_clips["routine_highway_day"], folder)
    out = _ltvad(tmp_path, "--set", "describer.backend=openai", "--set", f"describer.base_url={llama_server}",
                 "--set", "describer.max_tokens=8", "baseline", str(folder))
    assert "described 1 (0 failed" in out and "parse:written" in out  # one K=1 segment per clip
    from ltvad_search.catalog import Catalog

    with Catalog(tmp_path / "catalog.sqlite", readonly=True) as cat:
        [seg] = cat.segments(k=1)
        assert seg.start_s == 0 and seg.end_s > 5.9


def test_baseline_refuses_a_describer_without_vision(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--set", f"store.root={tmp_path}", "baseline"])
    assert result.exit_code == 2 and "multimodal describer" in result.output


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--set", f"store.root={tmp_path}", "--set", "scorer.model=/nope/m.gguf", "run"])
    assert result.exit_code == 2 and "cannot start the backends" in result.output and "/nope/m.gguf" in result.output
