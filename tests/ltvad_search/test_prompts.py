from __future__ import annotations

import pytest

from ltvad_search.prompts import PromptError, load, parse_variant


def test_describe_prompt_is_the_papers() -> None:
    p = load("describe")
    assert p.render() == "Please describe the given video." and not p.slot


def test_stage2_prompt_has_rubric_first_and_description_last() -> None:
    p = load("score_description")
    text = p.render("A deer crosses the road.")
    assert text.index("Interesting activities") < text.index("A deer crosses the road")
    assert "The video has been summarized as follows: A deer crosses the road. Analyze the video summary" in text
    assert "If any of the interesting activity is present, make sure to assign a high score (>= 0.5)" in text
    assert "[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]" in text and "[0.4]" in text
    assert p.prefix in text and text.startswith(p.prefix)  # the shared prefix a cache can keep


def test_variants_switch_fragments_and_get_distinct_ids() -> None:
    full, no_guide, no_ex = load("score_description"), load("score_description-guidance"), load(
        "score_description-examples")
    assert "assign a high score" not in no_guide.prefix and "Examples of" in no_guide.prefix
    assert "Examples of" not in no_ex.prefix and "assign a high score" in no_ex.prefix
    assert len({full.id, no_guide.id, no_ex.id}) == 3
    assert no_guide.id.startswith("score_description-guidance@")
    assert load("score_description-guidance").id == no_guide.id  # stable


def test_baseline_prompt_takes_no_description() -> None:
    p = load("score_video")
    assert not p.slot and "[score]" in p.render()


def test_parse_variant_and_errors() -> None:
    assert parse_variant("score_description-guidance+examples") == (
        "score_description", {"guidance": False, "examples": True})
    with pytest.raises(PromptError, match="unknown switch"):
        load("score_description-colour")
    with pytest.raises(PromptError, match="known:"):
        load("nope")
    with pytest.raises(PromptError, match="needs a description"):
        load("score_description").render()


def test_checklist_prompt_asks_one_question_per_category() -> None:
    from ltvad_search.prompts import taxonomy

    p = load("score_checklist")
    assert {c for q in p.questions for c in q.categories} >= {c.id for c in taxonomy()}  # every category is asked about
    assert len({q.short for q in p.questions}) == len(p.questions)
    asked = p.render_questions("The car stops. Snow covers the road.")
    assert len(asked) == len(p.questions)
    for question, text in zip(p.questions, asked, strict=True):
        assert text.startswith(p.prefix + "The car stops. Snow covers the road.")  # the description is shared
        assert text.endswith(question.text + " Answer Yes or No.") and "{question}" not in text
    assert p.system.startswith("You read a driver's log") and p.system not in asked[0]  # a turn of its own
    assert "[question adverse weather]" in p.template and p.template.startswith("[system] " + p.system)
    with pytest.raises(PromptError, match="checklist"):
        p.render("The car stops.")
    with pytest.raises(PromptError, match="no questions"):
        load("score_description").render_questions("The car stops.")


def test_editing_a_question_changes_the_prompt_id(tmp_path) -> None:
    import shutil

    from ltvad_search.prompts import PROMPTS_DIR

    shutil.copytree(PROMPTS_DIR, tmp_path, dirs_exist_ok=True)
    before = load("score_checklist", tmp_path)
    toml = tmp_path / "score_checklist.toml"
    toml.write_text(toml.read_text().replace("Is there an animal on or near the road?", "Is there a deer?"))
    load.cache_clear()  # templates are read once per process
    after = load("score_checklist", tmp_path)
    assert before.id != after.id and before.id.split("@")[0] == after.id.split("@")[0]
    assert before.id == load("score_checklist").id  # the shipped one is unchanged
    toml.unlink()
    load.cache_clear()
    with pytest.raises(PromptError, match="score_checklist.toml"):
        load("score_checklist", tmp_path)


def test_the_length_switch_is_part_of_the_prompt_id(tmp_path) -> None:
    import shutil

    from ltvad_search.prompts import PROMPTS_DIR

    shutil.copytree(PROMPTS_DIR, tmp_path, dirs_exist_ok=True)
    toml = tmp_path / "score_checklist.toml"
    shipped = load("score_checklist", tmp_path)
    assert shipped.length_aware and shipped.references
    toml.write_text(toml.read_text().replace("length_aware = true", "length_aware = false"))
    load.cache_clear()
    constant = load("score_checklist", tmp_path)
    assert not constant.length_aware and constant.id != shipped.id  # scores under one rule never pass for the other
    toml.write_text(toml.read_text().replace("length_aware = false", 'length_aware = "yes"'))
    load.cache_clear()
    with pytest.raises(PromptError, match="length_aware must be true or false"):
        load("score_checklist", tmp_path)
    load.cache_clear()


def test_the_spread_is_part_of_the_prompt_id_and_checked(tmp_path) -> None:
    import shutil

    from ltvad_search.prompts import DEFAULT_SPREAD, PROMPTS_DIR

    shutil.copytree(PROMPTS_DIR, tmp_path, dirs_exist_ok=True)
    toml = tmp_path / "score_checklist.toml"
    shipped = load("score_checklist", tmp_path)
    assert shipped.spread == 2.2
    toml.write_text(toml.read_text().replace("spread = 2.2\n", ""))
    load.cache_clear()
    unset = load("score_checklist", tmp_path)
    assert unset.spread == DEFAULT_SPREAD and unset.id != shipped.id  # scores under one spread never pass for another
    for bad in ("0", "-1", "9", '"wide"', "true"):
        toml.write_text(toml.read_text().replace("length_aware = true", f"length_aware = true\nspread = {bad}"))
        load.cache_clear()
        with pytest.raises(PromptError, match=r"score_checklist.toml: \[calibration\] spread must be a number of"):
            load("score_checklist", tmp_path)
        toml.write_text(toml.read_text().replace(f"\nspread = {bad}", ""))
    load.cache_clear()
    assert load("score_checklist_v1", tmp_path).spread == DEFAULT_SPREAD  # no references: nothing to spread
    load.cache_clear()


def test_every_stage2_prompt_declares_its_answer_form() -> None:
    from ltvad_search.prompts import PROMPTS_DIR, answer_form

    declared = {p.stem: answer_form(p.stem) for p in PROMPTS_DIR.glob("score_*.txt")}
    assert declared == {"score_checklist": "checklist", "score_checklist_v1": "checklist",
                        "score_description": "grid", "score_sentence": "grid", "score_video": "grid",
                        "score_sentence_yesno": "yesno", "score_examples_yesno": "yesno"}
    assert answer_form("score_description-guidance") == "grid"  # an ablation variant keeps its template's form
    assert answer_form("score_checklist@cd860c9e") == "checklist"  # and so does a stored prompt id
    assert answer_form("describe") is None and answer_form("label_description") is None


def test_a_prompt_file_decides_the_answer_not_its_name(tmp_path) -> None:
    from ltvad_search.prompts import PromptError, answer_form

    (tmp_path / "score_checklist_like.txt").write_text("Rate: {description}")
    (tmp_path / "score_checklist_like.toml").write_text('answer = "grid"\n')
    assert answer_form("score_checklist_like", tmp_path) == "grid"
    (tmp_path / "odd.toml").write_text('answer = "likert"\n')
    with pytest.raises(PromptError, match="likert"):
        answer_form("odd", tmp_path)
