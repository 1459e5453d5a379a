from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ltvad_search import prompts
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.scorers.examples import (
    Example,
    ExampleBank,
    ExampleScorer,
    pick,
    read_examples,
    render,
)

ROWS = [
    {"id": "a1", "video": "va", "label": 1, "reason": "deer on the road",
     "text": "A deer jumps onto the road and the car brakes hard."},
    {"id": "a2", "video": "va", "label": 0, "text": "The car drives on after the deer has gone."},
    {"id": "b1", "video": "vb", "label": 1, "reason": "deer on the road",
     "text": "A deer stands in the middle of the road, so the car stops."},
    {"id": "c1", "video": "vc", "label": 1, "reason": "snow",
     "text": "Heavy snow covers the road and the car drives slowly."},
    {"id": "d1", "video": "vd", "label": 0, "text": "The car waits at a red light, then drives on."},
    {"id": "e1", "video": "ve", "label": 0, "text": "The car keeps its lane on a dry highway."},
    {"id": "f1", "video": "vf", "text": "An unlabelled row teaches nothing."},
]


@pytest.fixture()
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


@pytest.fixture(scope="module")
def embedder():
    from ltvad_search.models.embed import Embedder

    return Embedder()


def test_read_examples_keeps_labelled_rows_with_reasons(labelled: Path) -> None:
    examples = read_examples(labelled)
    assert [e.id for e in examples] == ["a1", "a2", "b1", "c1", "d1", "e1"]
    assert examples[0] == Example("a1", ROWS[0]["text"], 1, "va", "deer on the road")  # type: ignore[arg-type]
    assert examples[1].reason is None


def test_read_examples_needs_both_classes(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "t", "label": 1}) + "\n")
    with pytest.raises(ValueError, match="one.jsonl.*both classes"):
        read_examples(path)


def test_pick_takes_the_nearest_of_each_label_nearest_last() -> None:
    similarity = np.array([0.9, 0.8, 0.1, 0.7, 0.95, 0.2])
    labels = np.array([1, 1, 1, 0, 0, 0])
    allowed = np.array([True, True, True, True, False, True])  # index 4 is the row itself
    assert pick(similarity, labels, allowed, 2) == [5, 3, 1, 0]
    assert pick(similarity, labels, allowed, 1) == [3, 0]


def test_render_shows_reasons_of_long_tail_examples_only() -> None:
    text = render([Example("n", "The car waits.", 0, reason="routine"), Example("p", "A deer.", 1, reason="deer")],
                  "A moose crosses. ")
    assert text == ("Labelled log: The car waits.\nLong-tail: No\n\n"
                    "Labelled log: A deer.\nLong-tail: Yes (deer)\n\nLog to judge: A moose crosses.")


def test_bank_never_shows_a_row_itself_or_its_video(labelled: Path, embedder) -> None:
    bank = ExampleBank(read_examples(labelled), embedder, per_label=1)
    chosen = bank.select("a1", ROWS[0]["text"])  # type: ignore[arg-type]
    assert {e.group for e in chosen}.isdisjoint({"va"})
    assert [e.id for e in chosen if e.label == 1] == ["b1"]  # the other deer, not the snow
    # a description from outside the set that repeats a labelled text verbatim does not see it
    chosen = bank.select("new-segment", ROWS[2]["text"])  # type: ignore[arg-type]
    assert "b1" not in {e.id for e in chosen}
    # sentence ids ("row#i") are the row's
    assert {e.group for e in bank.select("a1#0", "A deer jumps.")}.isdisjoint({"va"})


def test_example_scorer_asks_the_inner_scorer_with_the_examples(labelled: Path, embedder, smollm2: Path) -> None:
    from ltvad_search.score.llama.scorer import LlamaCppScorer

    inner = LlamaCppScorer(smollm2, n_ctx=2048, answer="yesno")
    bank = ExampleBank(read_examples(labelled), embedder, per_label=1)
    scorer = ExampleScorer(inner, bank)
    prompt = prompts.load("score_examples_yesno")
    text = "A deer walks along the shoulder."
    [r] = scorer.score([ScoreRequest("q", text, prompt)])
    shown = json.loads(r.raw)["examples"]
    assert len(shown) == 2 and r.scorer == scorer.name and r.scorer.startswith(inner.name + "+examples1@")
    expected = render([e for i in shown for e in bank.examples if e.id == i], text)
    assert r.score == pytest.approx(inner.score([ScoreRequest("q", expected, prompt)])[0].score)


def test_config_wires_examples_and_refuses_the_wrong_prompt(labelled: Path, smollm2: Path) -> None:
    from ltvad_search.config import ScorerConfig
    from ltvad_search.score import make_scorer, scorer_name

    with pytest.raises(ValueError, match="score_examples_yesno"):
        ScorerConfig(examples=labelled)
    cfg = ScorerConfig(model="smollm2-135m", n_ctx=2048, preset="examples", examples=labelled, examples_per_label=1)
    scorer = make_scorer(cfg)
    assert isinstance(scorer, ExampleScorer)
    assert scorer.name == scorer_name(cfg)
    text = labelled.read_text()
    labelled.write_text(text.replace('"label": 0, "text": "The car waits', '"label": 1, "text": "The car waits'))
    assert scorer_name(cfg) != scorer.name  # a corrected label makes a different scorer


def test_margin_compares_the_nearest_of_each_label() -> None:
    from ltvad_search.score.scorers.examples import margin

    similarity = np.array([0.9, 0.5, 0.1, 0.6, 0.2, 0.99])
    labels = np.array([1, 1, 1, 0, 0, 0])
    allowed = np.array([True, True, True, True, True, False])
    assert margin(similarity, labels, allowed, 2) == pytest.approx((0.9 + 0.5) / 2 - (0.6 + 0.2) / 2)
    assert margin(similarity, labels, allowed & (labels == 1), 2) == pytest.approx(0.7)  # no routine left
