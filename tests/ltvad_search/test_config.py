from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.config import Settings, load_settings


def test_defaults_follow_the_paper() -> None:
    s = Settings()
    assert s.video.k == 2 and s.video.fps == 2.0 and s.scorer.threshold == 0.5


def test_toml_then_overrides(tmp_path: Path) -> None:
    f = tmp_path / "ltvad.toml"
    f.write_text('[video]\nk = 3\nfps = 1.0\n[scorer]\nbackend = "openai"\n')
    s = load_settings(f, ["video.k=1", "store.root=/tmp/x", "scorer.threshold=0.4"])
    assert (s.video.k, s.video.fps, s.scorer.backend) == (1, 1.0, "openai")
    assert s.store.catalog == Path("/tmp/x/catalog.sqlite") and s.scorer.threshold == 0.4


@pytest.mark.parametrize("bad", ["video.k=0", "video.nope=1", "k=2", "video.k"])
def test_bad_overrides_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        load_settings(None, [bad])


def test_missing_config_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nope.toml"):
        load_settings(tmp_path / "nope.toml")


def test_scorer_presets_fill_what_is_not_given() -> None:
    from ltvad_search.config import SCORER_PRESETS, ScorerConfig

    default = ScorerConfig()
    assert {k: getattr(default, k) for k in ("prompt", "units", "answer")} == SCORER_PRESETS["checklist"]
    paper = load_settings(overrides=["scorer.preset=paper"]).scorer
    assert (paper.prompt, paper.units, paper.answer) == ("score_description", "description", "grid")
    yesno = load_settings(overrides=["scorer.preset=yesno"]).scorer
    assert (yesno.prompt, yesno.units, yesno.answer) == ("score_sentence_yesno", "sentences", "yesno")
    mixed = load_settings(overrides=["scorer.preset=yesno", "scorer.units=description"]).scorer
    assert mixed.units == "description" and mixed.prompt == "score_sentence_yesno"
    # the previous default comes whole, engine included, so a bench measures it as it ran
    v1 = load_settings(overrides=["scorer.preset=checklist-v1"]).scorer
    assert (v1.prompt, v1.questions, default.questions) == ("score_checklist_v1", "serial", "batch")
    assert (v1.engine, default.engine) == ("llamacpp", "auto")
    with pytest.raises(ValueError, match="engine=int8.*questions=serial"):
        load_settings(overrides=["scorer.preset=checklist-v1", "scorer.engine=int8"])
    with pytest.raises(ValueError, match="engine=int8.*answer=grid"):
        load_settings(overrides=["scorer.preset=paper", "scorer.engine=int8"])
    with pytest.raises(ValueError, match="unknown.*checklist, checklist-v1, paper, sentences, yesno, examples"):
        load_settings(overrides=["scorer.preset=best"])


def test_a_prompt_named_alone_brings_its_answer_form() -> None:
    from ltvad_search.config import ScorerConfig

    assert ScorerConfig(prompt="score_description-examples").answer == "grid"
    assert ScorerConfig(prompt="score_sentence_yesno").answer == "yesno"
    assert ScorerConfig(prompt="score_checklist").answer == "checklist"
    with pytest.raises(ValueError, match="go together"):
        ScorerConfig(prompt="score_description", answer="checklist")
    with pytest.raises(ValueError, match="go together"):
        load_settings(overrides=["scorer.answer=grid"])  # the default prompt is a checklist
    with pytest.raises(ValueError, match="declares no answer form"):
        ScorerConfig(prompt="describe")  # a stage-1 prompt is no scorer's
