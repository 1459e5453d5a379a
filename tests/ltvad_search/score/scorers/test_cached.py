"""The text-keyed score cache in front of a real scorer, alone and inside the local runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.config import load_settings
from ltvad_search.describe.cpu_basic import CpuDescriber
from ltvad_search.run import pipeline
from ltvad_search.run.ingest import ingest
from ltvad_search.score import configured_scorer
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.cache import ScoreCache
from ltvad_search.score.llama.scorer import LlamaCppScorer
from ltvad_search.score.scorers.cached import CachedScorer


def test_same_text_is_scored_once_across_two_runs_and_two_clips(demo_clips, smollm2, tmp_path: Path) -> None:
    """Two copies of one clip describe word for word alike; a third copy in a later run is answered
    from the cache; the scores in the catalog are the model's own."""
    cfg = load_settings(None, [f"store.root={tmp_path / 'store'}", "scorer.model=smollm2-135m", "scorer.n_ctx=2048",
                               "scorer.preset=paper"])
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b"):
        shutil.copy(demo_clips["routine_highway_day"], folder / f"{name}.mp4")
    with Catalog(cfg.store.catalog) as cat:
        ingest([folder], cat, cfg.video)
        first = configured_scorer(cfg)
        assert isinstance(first, CachedScorer)
        report = pipeline.run(cat, cfg, CpuDescriber(), first)
        assert report.score.done == 4 and (first.stats.scored, first.stats.hits) == (2, 2)
        shutil.copy(demo_clips["routine_highway_day"], folder / "c.mp4")
        ingest([folder], cat, cfg.video)
        second = configured_scorer(cfg)  # a new run: a new scorer, the same cache file
        report = pipeline.run(cat, cfg, CpuDescriber(), second)
        assert report.score.done == 2 and (second.stats.scored, second.stats.hits) == (0, 2)
        rows = cat.scores(report.describer, report.scorer)
        by_clip: dict[str, list[float]] = {}
        for seg, s in zip(cat.segments(k=2), rows, strict=True):
            by_clip.setdefault(seg.clip_id, []).append(s.score)
        assert len(by_clip) == 3 and len({tuple(v) for v in by_clip.values()}) == 1
        cached = [s for s in rows if s.seconds == 0.0]
        assert len(cached) == 4  # the model's answers cost time once; each repeat costs nothing


def test_a_changed_prompt_or_model_is_scored_again(smollm2: Path, tmp_path: Path) -> None:
    cache = ScoreCache(tmp_path / "cache.sqlite")
    text = "The car brakes hard because a deer runs onto the road."
    wording = tmp_path / "prompts"
    shutil.copytree(prompts.PROMPTS_DIR, wording)
    (wording / "score_description.txt").write_text(
        (wording / "score_description.txt").read_text().replace("Analyze", "Carefully analyze"))
    original, edited = prompts.load("score_description"), prompts.load("score_description", wording)
    assert original.id != edited.id
    model = CachedScorer(LlamaCppScorer(smollm2, n_ctx=2048), cache)
    model.score([ScoreRequest("a", text, original)])
    model.score([ScoreRequest("b", text, original), ScoreRequest("c", text, edited)])
    assert (model.stats.scored, model.stats.hits) == (2, 1)
    renamed = tmp_path / "another-model.gguf"
    shutil.copy(smollm2, renamed)
    other = CachedScorer(LlamaCppScorer(renamed, n_ctx=2048), cache)
    [result] = other.score([ScoreRequest("d", text, original)])
    assert (other.stats.scored, other.stats.hits) == (1, 0) and result.scorer == "llamacpp:another-model"


def test_repeats_within_a_batch_go_to_the_model_once(smollm2: Path, tmp_path: Path) -> None:
    inner = LlamaCppScorer(smollm2, n_ctx=2048)
    model = CachedScorer(inner, ScoreCache(tmp_path / "cache.sqlite"))
    p = prompts.load("score_description")
    texts = ["The car stops at a red light.", "A deer runs onto the road.", "The car stops at a red light."]
    results = model.score([ScoreRequest(f"s{i}", t, p) for i, t in enumerate(texts)])
    assert [r.segment_id for r in results] == ["s0", "s1", "s2"]
    assert results[0].score == results[2].score and results[2].seconds == 0.0 < results[0].seconds
    assert (model.stats.scored, model.stats.hits) == (2, 1)
    alone = inner.score([ScoreRequest("x", texts[1], p)])[0]
    assert results[1].score == pytest.approx(alone.score)
