"""Each page's logic through Streamlit's own test runner (no browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ltvad_search.catalog import Catalog


def _page(name: str) -> None:
    from ui import pages

    getattr(pages, name)()


def _run(store: Path, page: str, monkeypatch: pytest.MonkeyPatch, *settings: str) -> AppTest:
    monkeypatch.setenv("LTVAD_SET", ";".join([f"store.root={store}", *settings]))
    at = AppTest.from_function(_page, args=(page,), default_timeout=60)
    return at.run()


def test_candidates_lists_scored_clips(ui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(ui_store, "candidates_page", monkeypatch)
    assert not at.exception
    assert at.header[0].value == "Long-tail candidates"
    frame = at.dataframe[0].value
    assert len(frame) == 3 and list(frame["score"]) == sorted(frame["score"], reverse=True)
    assert "long-tail" in set(frame["label"]) and "routine" in set(frame["label"])
    assert any("3 of 3 scored clips" in c.value for c in at.caption)


def test_search_shows_results(ui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(ui_store, "search_page", monkeypatch)
    at.text_input(key="search-q").input("flashing emergency lights").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert frame.iloc[0]["clip"] == "longtail_emergency_lights.mp4"


def test_search_shows_how_the_query_was_read_and_the_matching_sentence(ui_store: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(ui_store, "search_page", monkeypatch)
    at.text_input(key="search-q").input("flashing emergency lights, not snow").run()
    assert not at.exception
    read = [c.value for c in at.caption if c.value.startswith("Read as: ")]
    # the negation, and the category the ranking read the query as (its checklist answers lift hits)
    assert read == ['Read as: looking for "flashing emergency lights"; not: "snow"; about 10 emergency/accident: '
                    'segments the checklist put there rank higher'], read
    frame = at.dataframe[0].value
    assert frame.iloc[0]["clip"] == "longtail_emergency_lights.mp4"
    assert all(m in d for m, d in zip(frame["matching sentence"], frame["description"], strict=True))
    at.text_input(key="search-q").input("lights clip:no-such-clip").run()
    assert not at.exception and "no such clip" in at.warning[0].value


def test_search_follows_an_adapted_index(ui_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After `ltvad index --adapt` the index names its own model; the page loads it, not the default."""
    from cli_helpers import ltvad

    store = Path(shutil.copytree(ui_store, tmp_path / "store"))
    assert "+adapted-" in ltvad(store, "--set", "index.adapt.queries=1", "--set", "index.adapt.epochs=1", "index",
                                "--adapt")
    at = _run(store, "search_page", monkeypatch)
    at.text_input(key="search-q").input("flashing emergency lights").run()
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) > 0


def test_a_matched_sentence_is_marked_in_its_escaped_paragraph() -> None:
    from ui.data import highlighted

    text = "The car drives on. A *cyclist* swerves [left]. It rains."
    assert highlighted(text, "A *cyclist* swerves [left].") == \
        r"The car drives on\. :orange-background[A \*cyclist\* swerves \[left\]\.] It rains\."
    assert ":orange-background" not in highlighted(text, "not in it")


def test_more_like_this_from_query_param(ui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Catalog(ui_store / "catalog.sqlite", readonly=True) as cat:
        clip = next(c for c in cat.clips() if c.source.endswith("routine_highway_day.mp4"))
    monkeypatch.setenv("LTVAD_SET", f"store.root={ui_store}")
    at = AppTest.from_function(_page, args=("more_page",), default_timeout=60)
    at.query_params["clip"] = clip.clip_id
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert len(frame) >= 1 and "routine_highway_day.mp4" not in set(frame["clip"])


def test_a_crafted_clip_parameter_opens_nothing(ui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTVAD_SET", f"store.root={ui_store}")
    at = AppTest.from_function(_page, args=("more_page",), default_timeout=60)
    at.query_params["clip"] = "../../../../etc/passwd"
    at.run()
    assert not at.exception
    assert any("no such clip in the catalog" in w.value for w in at.warning)
    assert not at.dataframe


def test_evaluation_shows_the_latest_report(ui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(ui_store, "evaluation_page", monkeypatch)
    assert not at.exception
    assert at.table and "ROC AUC (95% CI)" in at.table[0].value.index


def test_review_saves_a_label_at_once(ui_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = shutil.copytree(ui_store, tmp_path / "store")
    at = _run(store, "review_page", monkeypatch)
    assert not at.exception
    title = at.subheader[0].value
    at.button(key="review-yes").click().run()
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        names = {Path(c.source).name: c.clip_id for c in cat.clips()}
        labelled = {lb.clip_id: lb.label for lb in cat.labels()}
    assert labelled[names[title.split(" · ")[0]]] == 1 and len(labelled) == 3


def test_empty_store_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for page in ("candidates_page", "search_page", "review_page"):
        at = _run(tmp_path, page, monkeypatch)
        assert not at.exception and "ltvad ingest" in at.info[0].value


def test_missing_video_file_is_a_message_not_a_crash(ui_store: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import data

    store = shutil.copytree(ui_store, tmp_path / "store")
    with Catalog(store / "catalog.sqlite") as cat, cat.transaction() as db:
        db.execute("UPDATE clips SET source = '/nowhere/gone.mp4' WHERE source LIKE '%routine_highway_day.mp4'")
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        gone = next(c for c in cat.clips() if c.source == "/nowhere/gone.mp4")
        media = data.playable(cat, gone.clip_id)
    assert media.kind == "missing" and "video file not found" in media.message
    at = _run(store, "candidates_page", monkeypatch)
    assert not at.exception and len(at.dataframe[0].value) == 3


def test_review_confirms_pseudo_labels_with_their_category(ui_store: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from ltvad_search.records import Label

    store = shutil.copytree(ui_store, tmp_path / "store")
    with Catalog(store / "catalog.sqlite") as cat, cat.transaction() as db:
        db.execute("DELETE FROM labels")  # the fixture's human labels would leave nothing to review
    with Catalog(store / "catalog.sqlite") as cat:
        ids = sorted(c.clip_id for c in cat.clips())
        cat.put_labels([Label(clip_id=ids[0], label=1, category=7, subtype="Deer", origin="pseudo"),
                        Label(clip_id=ids[1], label=0, origin="pseudo")])
    at = _run(store, "review_page", monkeypatch, "label.audit_rate=0")
    at.radio(key="review-mode").set_value("Pseudo-labels to confirm").run()
    assert not at.exception and "7 animal - Deer" in at.info[0].value
    assert at.selectbox(key=f"review-cat-pseudo-{ids[0]}").value == 7
    at.button(key="review-yes").click().run()
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        [human] = cat.labels("human")
    assert (human.clip_id, human.label, human.category, human.subtype) == (ids[0], 1, 7, "Deer")
    assert "Every clip in this queue has a label" in at.success[0].value  # the audit rate 0 leaves no "no" clip


def test_candidate_filters_apply_on_the_next_run(ui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(ui_store, "candidates_page", monkeypatch)
    scores = list(at.dataframe[0].value["score"])
    cut = sorted(scores)[1]  # keeps the two best of three
    at.slider(key="cand-range").set_value((cut, 1.0)).run()
    assert not at.exception
    assert list(at.dataframe[0].value["score"]) == [s for s in scores if s >= cut]
    assert at.caption[0].value.startswith("2 of 3 scored clips")
    at.slider(key="cand-threshold").set_value(1.0).run()
    assert "0 at or above 1" in at.caption[0].value
    at.slider(key="cand-range").set_value((1.0, 1.0)).run()
    assert "No clips match these filters." in at.info[0].value


def test_clip_segments_say_which_checklist_question_scored(ui_store: Path) -> None:
    from ltvad_search import prompts
    from ui import data

    shorts = {q.short for q in prompts.load("score_checklist").questions}
    with Catalog(ui_store / "catalog.sqlite", readonly=True) as cat:
        keys = data.run_keys(cat)
        assert keys is not None
        views = [v for c in data.candidates(cat, keys, 0.5) for v in data.segments(cat, keys, c.clip_id)]
    assert views and all(v.most_likely in shorts for v in views)  # the UI store is scored by the default
