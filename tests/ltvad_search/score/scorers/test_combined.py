from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ltvad_search.cli import app
from ltvad_search.score.scorers.combined import FEATURES, Calibration, exemplar_margin, fit, lovo_predictions

LONG_TAIL = ["A deer jumps onto the road and the car brakes hard.", "Heavy snow covers the road.",
             "A police officer directs traffic through the dark intersection.",
             "Orange cones close the right lane for road work.", "A cyclist swerves into the car's lane."]
ROUTINE = ["The car waits at a red light, then drives on.", "The car keeps its lane on a dry highway.",
           "The car turns right at the intersection.", "The car slows for traffic ahead.",
           "The car accelerates as the light turns green."]


def test_exemplar_margin_takes_the_best_sentence() -> None:
    long_tail, routine = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    sentences = np.array([[0.0, 1.0], [0.8, 0.6]])  # a routine sentence, then one nearer the long tail
    assert exemplar_margin(sentences, long_tail, routine) == pytest.approx(0.2)


def test_fit_and_probability_agree_with_scikit_learn() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)) * [1.0, 5.0, 0.1]
    y = (x[:, 0] + x[:, 1] / 5 + rng.normal(scale=0.5, size=60) > 0).astype(int)
    mean, scale, coef, intercept = fit(x, y.tolist())
    cal = Calibration(FEATURES, tuple(mean), tuple(scale), tuple(coef), intercept, "s", "b", 60, 0.0)
    reference = LogisticRegression().fit((x - x.mean(0)) / x.std(0), y)
    expected = reference.predict_proba((x[:5] - x.mean(0)) / x.std(0))[:, 1]
    assert [cal.probability(row) for row in x[:5]] == pytest.approx(expected.tolist(), abs=1e-9)


def test_lovo_predictions_never_fit_on_their_own_video() -> None:
    # two rows per video that share a value nobody else has: a model fitted with its own video would
    # separate them; leave-one-video-out cannot
    x = np.array([[0.0], [0.0], [1.0], [1.0], [2.0], [2.0], [3.0], [3.0]])
    y = [0, 1, 0, 1, 0, 1, 0, 1]
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    p = lovo_predictions(x, y, groups)
    assert [p[0], p[2], p[4], p[6]] == [p[1], p[3], p[5], p[7]]  # same video, same prediction
    with pytest.raises(ValueError, match="both classes"):
        lovo_predictions(np.zeros((2, 1)), [0, 1], ["a", "b"])


def test_calibration_file_round_trip_and_errors(tmp_path: Path) -> None:
    cal = Calibration(FEATURES, (0.1, 0.2, 0.3), (1.0, 2.0, 3.0), (0.5, -0.5, 1.0), -0.2, "scorer", "bank", 10, 0.8)
    cal.write(tmp_path / "c.json")
    assert Calibration.read(tmp_path / "c.json") == cal
    with pytest.raises(ValueError, match="missing.json: no such calibration"):
        Calibration.read(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"features": 1}')
    with pytest.raises(ValueError, match="bad.json: not a calibration"):
        Calibration.read(tmp_path / "bad.json")


def test_llm_settings_of_a_combined_scorer(tmp_path: Path) -> None:
    from ltvad_search.config import ScorerConfig
    from ltvad_search.score.scorers.combined import llm_settings

    default = llm_settings(ScorerConfig())
    assert (default.prompt, default.units, default.answer) == ("score_sentence_yesno", "sentences", "yesno")
    combined = llm_settings(ScorerConfig(preset="combined", examples=tmp_path / "l.jsonl",
                                         calibration=tmp_path / "c.json", model="m"))
    assert (combined.prompt, combined.units, combined.examples, combined.calibration, combined.model) == (
        "score_sentence_yesno", "sentences", None, None, "m")
    paper = llm_settings(ScorerConfig(prompt="score_description"))
    assert (paper.prompt, paper.units, paper.answer) == ("score_description", "description", "grid")


def test_calibrate_then_score_with_the_combined_scorer(tmp_path: Path, smollm2: Path) -> None:
    rows = [{"id": f"p{i}", "video": f"vp{i}", "label": 1, "text": t} for i, t in enumerate(LONG_TAIL)]
    rows += [{"id": f"r{i}", "video": f"vr{i}", "label": 0, "text": t} for i, t in enumerate(ROUTINE)]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = ["--set", "scorer.model=smollm2-135m", "--set", "scorer.n_ctx=2048"]
    runner = CliRunner()
    result = runner.invoke(app, [*model, "calibrate", str(labelled), "--out", str(tmp_path / "cal.json")])
    assert result.exit_code == 0, result.output
    assert "leave-one-video-out: ROC AUC" in result.output
    cal = Calibration.read(tmp_path / "cal.json")
    assert cal.rows == 10 and cal.features == FEATURES and cal.scorer.endswith("+sentences")

    combined = [*model, "--set", "scorer.preset=combined", "--set", f"scorer.examples={labelled}",
                "--set", f"scorer.calibration={tmp_path / 'cal.json'}"]
    out = tmp_path / "scores.jsonl"
    result = runner.invoke(app, [*combined, "score-text", str(labelled), "--out", str(out)])
    assert result.exit_code == 0, result.output
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(0.0 <= s["score"] <= 1.0 and s["scorer"].startswith("combined(") for s in scored)
    first = json.loads(scored[0]["raw"])
    assert set(FEATURES) <= set(first)
    assert first["llm"] <= 1.0  # the yes/no probability of the best sentence

    # scores of another LLM configuration would not match the fitted weights: refused by name
    result = runner.invoke(app, [*combined, "--set", "scorer.units=description", "score-text", str(labelled),
                                 "--out", str(out)])
    assert result.exit_code != 0 and "calibration was fitted on scores of" in result.output
