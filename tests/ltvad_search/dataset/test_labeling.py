from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cli_helpers import SMALL, runner
from cli_helpers import ltvad as _ltvad

from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.catalog.textset import TextRow
from ltvad_search.cli import app
from ltvad_search.dataset import labeling
from ltvad_search.records import Label
from ltvad_search.score.llama.scorer import LlamaCppScorer


@pytest.mark.parametrize(("raw", "verdict", "category", "subtype"), [
    ("no", "no", None, None),
    ("No.", "no", None, None),
    ("Scenario Detected: Adverse Weather - Snow", "scenario", 8, "Snow"),
    ("scenario detected: [Animals on the Road] - [Deer]", "scenario", 7, "Deer"),
    ("Scenario Detected: animal - dog", "scenario", 7, "dog"),  # the short name
    ("Scenario Detected: 10 - Crash or collision", "scenario", 10, "Crash or collision"),
    ("Scenario Detected: Pickup/Drop-off Challenges - Double-parked vehicle", "scenario", 9,
     "Double-parked vehicle"),
    ("Scenario Detected: Alien Encounters - UFO", "rejected", None, None),
    ("Scenario Detected: Adverse Weather", "rejected", None, None),
    ("Scenario Detected: Adverse Weather - Snow\nAlso fog.", "rejected", None, None),
    ("The car drives on a sunny day.", "rejected", None, None),
    ("", "rejected", None, None),
])
def test_answers_map_strictly_onto_the_taxonomy(raw: str, verdict: str, category: int | None,
                                                subtype: str | None) -> None:
    answer = labeling.parse_answer(raw)
    assert (answer.verdict, answer.category, answer.subtype, answer.raw) == (verdict, category, subtype, raw)
    assert bool(answer.reason) == (verdict == "rejected")


def test_the_taxonomy_has_the_papers_ten_categories_in_the_prompt() -> None:
    cats = prompts.taxonomy()
    assert [c.id for c in cats] == list(range(1, 11)) and all(c.subtypes for c in cats)
    rendered = prompts.load("label_description").render("A deer stands on the highway")
    assert all(c.name in rendered for c in cats) and "Scenario Detected: [Category] - [Subtype]" in rendered


def test_the_grammar_holds_a_real_model_to_parseable_answers(smollm2: Path) -> None:
    model = LlamaCppScorer(smollm2, n_ctx=2048)
    prompt = prompts.load("label_description")
    texts = ["A deer jumps onto the highway in front of the car.", "The car drives straight on a dry road.",
             "Snow covers the road and visibility is poor."]
    raws = model.generate([prompt.render(t) for t in texts], max_tokens=32, grammar=labeling.grammar())
    assert all(labeling.parse_answer(r).verdict != "rejected" for r in raws), raws


def test_a_clip_is_long_tail_if_any_segment_names_a_scenario() -> None:
    yes = labeling.parse_answer("Scenario Detected: Adverse Weather - Fog")
    no, bad = labeling.parse_answer("no"), labeling.parse_answer("maybe")
    assert labeling.clip_label("c", [no, yes]) == Label(clip_id="c", label=1, category=8, subtype="Fog",
                                                        origin="pseudo")
    assert labeling.clip_label("c", [no, no]) == Label(clip_id="c", label=0, origin="pseudo")
    assert labeling.clip_label("c", [no, bad]) is None  # a garbled answer is not a confident "no"


def test_audit_sample_is_reproducible_and_near_its_rate() -> None:
    ids = [f"clip-{i}" for i in range(2000)]
    sample = {i for i in ids if labeling.in_audit(i, 0.1, seed=0)}
    assert 150 <= len(sample) <= 250
    assert sample == {i for i in ids if labeling.in_audit(i, 0.1, seed=0)}
    assert sample != {i for i in ids if labeling.in_audit(i, 0.1, seed=1)}
    pseudo = [Label(clip_id=i, label=int(i.endswith("7")), origin="pseudo") for i in ids]
    queue = labeling.review_queue(pseudo, reviewed={"clip-7"}, rate=0.1, seed=0)
    assert [q.label for q in queue] == sorted((q.label for q in queue), reverse=True)  # positives first
    assert "clip-7" not in {q.clip_id for q in queue} and sum(q.label for q in queue) == 199


def test_balanced_sets_have_equal_classes() -> None:
    labels = [Label(clip_id=f"c{i}", label=int(i < 3)) for i in range(10)]
    chosen = labeling.balanced(labels, seed=0)
    assert sorted(lab.label for lab in chosen) == [0, 0, 0, 1, 1, 1] and chosen == labeling.balanced(labels, seed=0)


def test_agreement_counts_categories_on_long_tail_rows() -> None:
    rows = [TextRow(id="a", text="", label=1, category=8, group=None),
            TextRow(id="b", text="", label=1, category=7, group=None),
            TextRow(id="c", text="", label=1, category=None, group=None),
            TextRow(id="d", text="", label=0, category=None, group=None)]
    answers = [labeling.parse_answer(x) for x in ("Scenario Detected: Adverse Weather - Ice",
                                                  "Scenario Detected: Obstacles and Debris - Tire", "no",
                                                  "Scenario Detected: Adverse Weather - Rain")]
    a = labeling.agreement(rows, answers)
    assert (a.long_tail_categorized, a.long_tail, a.with_category, a.category_agree) == (2, 3, 2, 1)
    assert (a.routine_categorized, a.routine) == (1, 1)


def test_label_review_export_import_eval_round_trip(demo_clips: dict[str, Path], smollm2: Path,
                                                    tmp_path: Path) -> None:
    folder = next(iter(demo_clips.values())).parent
    store = tmp_path / "store"
    _ltvad(store, "run", str(folder))
    out = _ltvad(store, "label")
    assert "pseudo-labels:" in out
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        pseudo = cat.labels("pseudo")
        assert len(pseudo) == 3 and cat.labels("human") == []  # the grammar leaves nothing undecided
    assert "labelled before" in _ltvad(store, "label")  # a rerun does not label again
    # review: every pseudo-positive, plus all pseudo-negatives at audit rate 1: answer y (category 7), n, n
    result = runner.invoke(app, ["--set", f"store.root={store}", *SMALL, "review", "--audit-rate", "1"],
                           input="y\n7\nn\nn\n")
    assert result.exit_code == 0, result.output
    assert "reviewed: 1 long-tail, 2 routine" in result.output
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        human = {lab.clip_id: lab for lab in cat.labels("human")}
        assert sorted(lab.label for lab in human.values()) == [0, 0, 1]
        assert {lab.category for lab in human.values() if lab.label} == {7}
        assert len(cat.labels("pseudo")) == 3  # kept apart, unchanged
    assert "nothing to review" in _ltvad(store, "review", "--audit-rate", "1") or \
        "has been reviewed" in _ltvad(store, "review", "--audit-rate", "1")
    exported = tmp_path / "labelled.csv"
    assert "exported 2 labels (1 long-tail, 1 routine)" in _ltvad(store, "labels", "export", str(exported))
    rows = list(csv.DictReader(exported.open()))
    assert sorted(r["label"] for r in rows) == ["0", "1"] and {r["category"] for r in rows} == {"", "7"}
    # a second store over the same clips reads the export: same ids, because ids come from the paths
    other = tmp_path / "other"
    _ltvad(other, "run", str(folder))
    assert "imported 2 labels (1 long-tail, 1 routine)" in _ltvad(other, "labels", "import", str(exported))
    assert "2 items (1 long-tail)" in _ltvad(other, "eval")


def test_rejected_answers_are_kept_with_their_text(demo_clips: dict[str, Path], smollm2: Path, tiny_llm: Path,
                                                   tmp_path: Path) -> None:
    folder = next(iter(demo_clips.values())).parent
    store = tmp_path / "store"
    _ltvad(store, "run", str(folder))
    # a random-weight model (the hf backend cannot enforce the grammar) answers in noise
    out = _ltvad(store, "--set", "scorer.backend=hf", "--set", f"scorer.model={tiny_llm}",
                 "--set", "label.max_tokens=8", "label")
    assert "3 undecided" in out
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        rejected = [f for f, _ in cat.failures("label")]
        assert cat.labels("pseudo") == []  # noise never becomes a label
    assert len(rejected) == 6 and all("answer was '" in f.reason for f in rejected)


def test_export_without_reviewed_labels_is_a_clear_error(tmp_path: Path) -> None:
    Catalog(tmp_path / "catalog.sqlite").close()
    result = runner.invoke(app, ["--set", f"store.root={tmp_path}", "labels", "export", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "ltvad review" in result.output


def test_video_labeling_runs_a_multimodal_describer_on_the_frames(demo_clips: dict[str, Path], smollm2: Path,
                                                                  tiny_vlm: Path, tmp_path: Path) -> None:
    folder = next(iter(demo_clips.values())).parent
    store = tmp_path / "store"
    _ltvad(store, "run", str(folder))
    # a random-weight LLaVA sees each segment's frames with the labeling prompt; its noise is rejected
    out = _ltvad(store, "--set", "describer.backend=hf", "--set", f"describer.model={tiny_vlm}",
                 "--set", "describer.max_tokens=6", "--set", "describer.max_frames=2", "label", "--video")
    assert "3 undecided" in out
    with Catalog(store / "catalog.sqlite", readonly=True) as cat:
        rejected = [f for f, _ in cat.failures("label")]
    assert len(rejected) == 6 and all("answer was '" in f.reason for f in rejected)
