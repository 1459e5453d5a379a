"""Domain adaptation of the embedder: query parsing, the query cache, the model's name and hash in the
index manifest (a mismatch refused), and `adapt_index` end to end with the real 135M GGUF writing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexer.adapt import adapt_index, base_model
from indexer.adapt.queries import QueryCache, grammar, parse_queries
from indexer.adapt.tune import Pair, bm25_negatives, fine_tune, pairs_from, save_adapted
from indexer.index import IndexStoreError, VectorIndex, configured_embedder, manifest_of
from indexer.search import Searcher, update_index
from ltvad_search.config import AdaptConfig, load_settings
from ltvad_search.models.embed import DEFAULT_MODEL, Embedder

PAIRS = [Pair("deer crossing the highway", "A deer runs across the highway at dusk."),
         Pair("lane closed for road works", "Orange cones close the right lane at a construction site."),
         Pair("officer waving cars through", "A police officer directs traffic at the intersection."),
         Pair("sliding on a snowy road", "Snow covers the road and the car slides.")]


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory):
    """A real adaptation of the default model on a few pairs (seconds on a laptop)."""
    model = fine_tune(DEFAULT_MODEL, PAIRS, AdaptConfig(epochs=1, batch_size=4, hard_negatives=False))
    return save_adapted(model, tmp_path_factory.mktemp("embedders"), base=DEFAULT_MODEL, pairs=len(PAIRS),
                        seconds=0.0, trained_on={"test": True})


def test_answers_are_read_into_distinct_queries() -> None:
    answer = "1. deer on the highway\n- Deer on the highway\n\"a deer at dusk\"\nok\n2) car keeps its lane\nfifth one"
    assert parse_queries(answer, 3) == ("deer on the highway", "a deer at dusk", "car keeps its lane")
    assert parse_queries("", 3) == ()
    assert grammar(2).startswith("root ::= line line\n")


def test_the_query_cache_keys_by_generator_and_text(tmp_path: Path) -> None:
    cache = QueryCache(tmp_path / "q.sqlite")
    cache.put("m", "a text", ("q one", "q two"), 1.5)
    assert cache.get("m", "a text") == ("q one", "q two")
    assert cache.get("other model", "a text") is None and cache.get("m", "another text") is None
    cache.close()
    assert QueryCache(tmp_path / "q.sqlite").get("m", "a text") == ("q one", "q two")  # it persists


def test_hard_negatives_are_other_descriptions_sharing_words() -> None:
    queries = {"The car slides on the snowy road.": ["snowy road"], "Snow falls on the parked cars.": ["snow"],
               "A truck waits on the road.": ["road truck"]}
    negatives = bm25_negatives(queries)
    assert negatives["snowy road"] != "The car slides on the snowy road."
    assert "road" in negatives["snowy road"].lower()
    assert pairs_from(queries, negatives)[0] == Pair("snowy road", "The car slides on the snowy road.",
                                                     negatives["snowy road"])


def test_an_adapted_model_is_named_by_its_hash_and_checked_on_load(adapted, tmp_path: Path) -> None:
    info = json.loads((adapted.path / "adapted.json").read_text())
    assert adapted.name == f"{DEFAULT_MODEL}+adapted-{adapted.sha256[:12]}" == info["name"] == adapted.path.name
    assert info["base"] == DEFAULT_MODEL and info["trained_on"] == {"test": True}
    embedder = Embedder(str(adapted.path))
    assert embedder.name == adapted.name and embedder.location == adapted.path.resolve()
    plain = Embedder()
    text = ["a deer runs across the highway"]
    assert float((embedder.encode(text) @ plain.encode(text).T)[0, 0]) < 0.9999  # it did learn something
    tampered = shutil.copytree(adapted.path, tmp_path / "tampered")
    with (tampered / "model.safetensors").open("r+b") as f:
        f.seek(-8, 2)
        f.write(b"\x00" * 8)
    with pytest.raises(ValueError, match="weights changed"):
        Embedder(str(tampered))


def test_an_index_built_with_an_adapted_model_refuses_any_other(store, embedder: Embedder, adapted) -> None:
    cfg, cat = store
    mine = Embedder(str(adapted.path))
    update_index(cat, cfg, mine, "d", 2)
    manifest = manifest_of(cfg.store.index)
    assert manifest is not None and manifest.embedding_model == adapted.name
    assert (cfg.store.index / manifest.embedding_path).resolve() == adapted.path.resolve()
    with pytest.raises(IndexStoreError, match="embedding model"):
        update_index(cat, cfg, embedder, "d", 2)  # the generic model
    with pytest.raises(IndexStoreError, match="embedding model"):
        VectorIndex.load(cfg.store.index, embedding_model=DEFAULT_MODEL)
    # with index.model unset, the index names its model: later updates and searches follow it
    assert configured_embedder(cfg).name == adapted.name
    assert Searcher(cat, cfg, "d", "x").embedder.name == adapted.name
    pinned = load_settings(None, [f"store.root={cfg.store.root}", f"index.model={DEFAULT_MODEL}"])
    with pytest.raises(IndexStoreError, match="embedding model"):
        Searcher(cat, pinned, "d", "x")
    assert base_model(load_settings(None, [f"index.model={adapted.path}"])) == DEFAULT_MODEL  # never stacked


def test_a_missing_adapted_model_is_a_clear_error(store, adapted, tmp_path: Path) -> None:
    cfg, cat = store
    moved = shutil.copytree(adapted.path, tmp_path / adapted.name)
    update_index(cat, cfg, Embedder(str(moved)), "d", 2)
    shutil.rmtree(moved)
    with pytest.raises(IndexStoreError, match="is gone"):
        configured_embedder(cfg)


def test_adapt_index_end_to_end_with_the_real_small_gguf(store, smollm2: Path) -> None:
    """The 135M model writes the queries (under the grammar), the default embedder is fine-tuned on
    them, the index is rebuilt with it and searched; a second run takes every query from the cache
    and, with the same seed, saves the same model."""
    from ltvad_search.score.llama.scorer import LlamaCppScorer

    cfg, cat = store
    cfg = load_settings(None, [f"store.root={cfg.store.root}", "index.adapt.queries=2", "index.adapt.batch_size=8",
                               "index.adapt.hard_negatives=true"])
    writer = LlamaCppScorer(smollm2, n_ctx=2048, answer="checklist")
    first = adapt_index(cat, cfg, writer, "d", 2)
    assert first.descriptions == 10 and first.generated == 10 and first.model.pairs > 0
    assert first.update.total == 10 and first.model.path.parent == cfg.store.embedders
    cache = QueryCache(cfg.store.query_cache)
    written = [cache.get(writer.name, t) for t in {d.text for d in cat.descriptions("d", 2)}]
    assert all(qs is not None and len(qs) <= 2 for qs in written) and any(written)
    assert all(3 <= len(q.split()) <= 10 for qs in written for q in qs or ())  # the grammar held the small model
    manifest = manifest_of(cfg.store.index)
    assert manifest is not None and manifest.embedding_model == first.model.name
    searcher = Searcher(cat, cfg, "d", "x")
    assert searcher.embedder.name == first.model.name
    assert "deer" in {h.clip_id for h in searcher.text("a deer on the highway", k=3)}
    again = adapt_index(cat, cfg, writer, "d", 2)
    assert again.generated == 0 and again.model.sha256 == first.model.sha256
