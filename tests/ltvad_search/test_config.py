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
    assert (v1.prompt, v1.llamacpp.questions, default.llamacpp.questions) == ("score_checklist_v1", "serial", "batch")
    assert (v1.llamacpp.engine, default.llamacpp.engine) == ("llamacpp", "auto")
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


def test_each_backend_has_its_own_scorer_section(tmp_path) -> None:
    s = load_settings(None, ["scorer.llamacpp.n_ctx=1024", "scorer.openai.timeout_s=5",
                             "scorer.vllm.max_model_len=8192"])
    assert (s.scorer.llamacpp.n_ctx, s.scorer.openai.timeout_s, s.scorer.vllm.max_model_len) == (1024, 5.0, 8192)
    with pytest.raises(ValueError, match="extra_forbidden|Extra inputs"):
        load_settings(None, ["scorer.llamacpp.base_url=http://x"])  # a server's setting is not llama.cpp's
    with pytest.raises(ValueError, match="vllm.constrain"):
        load_settings(None, ["scorer.vllm.constrain=grammar"])  # vLLM has no grammars


def test_flat_scorer_keys_from_before_the_sections_still_work(tmp_path) -> None:
    """Existing configs, commands and presets name scorer settings flat; each lands in its backend's section."""
    toml = tmp_path / "old.toml"
    toml.write_text('[scorer]\nn_ctx = 2048\nengine = "llamacpp"\nextra_buffers = "on"\nbase_url = "http://gpu:8000/v1"\n')
    s = load_settings(toml, ["scorer.questions=serial", "scorer.timeout_s=9"])
    assert s.scorer.llamacpp.model_dump() == {"n_ctx": 2048, "n_threads": None, "questions": "serial",
                                              "engine": "llamacpp", "extra_buffers": "on"}
    assert (s.scorer.openai.base_url, s.scorer.openai.timeout_s) == ("http://gpu:8000/v1", 9.0)
    on_vllm = load_settings(None, ["scorer.backend=vllm", "scorer.n_ctx=8192", "scorer.constrain=choice"])
    assert (on_vllm.scorer.vllm.max_model_len, on_vllm.scorer.vllm.constrain) == (8192, "choice")
    on_server = load_settings(None, ["scorer.backend=openai", "scorer.constrain=grammar"])
    assert on_server.scorer.openai.constrain == "grammar"
    from ltvad_search.config import ScorerConfig

    assert ScorerConfig(preset="paper", n_ctx=1024).llamacpp.n_ctx == 1024  # keyword arguments too


def test_a_preset_sets_backend_fields_and_what_is_given_wins() -> None:
    v1 = load_settings(None, ["scorer.preset=checklist-v1", "scorer.llamacpp.n_ctx=1024"]).scorer.llamacpp
    assert (v1.questions, v1.engine, v1.n_ctx) == ("serial", "llamacpp", 1024)
    mine = load_settings(None, ["scorer.preset=checklist-v1", "scorer.questions=batch"]).scorer.llamacpp
    assert (mine.questions, mine.engine) == ("batch", "llamacpp")
    with pytest.raises(ValueError, match="expected section.key=value"):
        load_settings(None, ["k=3"])
