"""The paper's ablation grid on the user's labelled clips.

Each setting is a set of config overrides. Settings run through the ordinary resumable pipeline, so
descriptions are reused wherever the describer settings are unchanged (prompt and scoring ablations
rerun stage 2 only), and a second `ltvad ablate` recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ltvad_search.catalog import Catalog
from ltvad_search.config import Settings, load_settings
from ltvad_search.describe.base import Describer
from ltvad_search.evaluation.evaluate import Evaluation, evaluate_store
from ltvad_search.evaluation.metrics import MetricError
from ltvad_search.run import pipeline
from ltvad_search.score.base import Scorer

PAPER = "scorer.preset=paper"  # the paper's tables ablate the paper's stage 2
BASELINE = ("video.k=1", "describer.prompt=score_video", "scorer.backend=parse", PAPER)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    overrides: tuple[str, ...] = ()
    written: bool = False  # evaluate the written score instead of the expected value


def grid(multimodal: bool) -> dict[str, list[Setting]]:
    prompt = "scorer.prompt=score_description"
    tables = {
        "Stage 2: this tool's default vs the paper's rubric": [
            Setting("checklist (default)", ("scorer.preset=checklist",)), Setting("paper rubric", (PAPER,))],
        "Segments per clip K (paper Table 2)": [Setting(f"K={k}", (PAPER, f"video.k={k}")) for k in (1, 2, 3)],
        "Ranking guidance and in-context examples (paper Tables 3-4)": [
            Setting("guidance + examples", (PAPER, prompt)),
            Setting("guidance, no examples", (PAPER, prompt + "-examples")),
            Setting("examples, no guidance", (PAPER, prompt + "-guidance")),
            Setting("neither", (PAPER, prompt + "-guidance-examples")),
        ],
        "Scoring": [Setting("expected value over the 11-point grid", (PAPER,)),
                    Setting("written score", (PAPER,), written=True)],
    }
    if multimodal:
        tables["Baseline (one multimodal model scores the clip) vs two-stage"] = [
            Setting("two-stage (describe, then score)", (PAPER,)), Setting("baseline (direct scoring)", BASELINE)]
    return tables


Backends = Callable[[Settings], tuple[Describer, Scorer]]


def run_grid(catalog: Catalog, base: list[str], make: Backends, *, multimodal: bool,
             on_setting: Callable[[str, str], None] | None = None) -> dict[str, list[tuple[str, Evaluation | str]]]:
    """Every table of the grid: (setting, evaluation) rows, or (setting, reason) where it could not run."""
    cache: dict[str, tuple[Describer, Scorer]] = {}
    out: dict[str, list[tuple[str, Evaluation | str]]] = {}
    for table, settings in grid(multimodal).items():
        rows: list[tuple[str, Evaluation | str]] = []
        for setting in settings:
            if on_setting:
                on_setting(table, setting.name)
            cfg = load_settings(None, [*base, *setting.overrides])
            key = cfg.describer.model_dump_json() + cfg.scorer.model_dump_json(exclude={"prompt", "threshold"})
            if key not in cache:
                cache[key] = make(cfg)
            describer, scorer = cache[key]
            report = pipeline.run(catalog, cfg, describer, scorer, command="ablate")
            try:
                rows.append((setting.name, evaluate_store(catalog, report.key, cfg.scorer.threshold, setting.name,
                                                          written=setting.written)))
            except MetricError as e:
                rows.append((setting.name, str(e)))
        out[table] = rows
    return out
