"""Stage-2 scorers: how a text backend's answers become one long-tail score per description.

A backend (`ltvad_search.backends`) is a model adapter; a scorer is a configuration around it: the
paper's grid rubric read directly, a checklist of yes/no questions (the default), sentence units,
in-context examples, or the calibrated combination with embedding evidence. `make_scorer` assembles
the configured one; `scorer_name` says what it will be called without loading a model, so a Ray
driver can key its work before any worker starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ltvad_search.backends import make_text_backend, text_backend_name
from ltvad_search.backends.base import Scorer
from ltvad_search.config import ScorerConfig, Settings

if TYPE_CHECKING:
    from ltvad_search.score_cache import ScoreCache


def make_scorer(cfg: ScorerConfig, cache: ScoreCache | None = None) -> Scorer:
    """The configured scorer; with `cache`, behind the text-keyed score cache (scorer.cache)."""
    scorer = _assemble(cfg)
    if cache is None:
        return scorer
    from ltvad_search.scorers.cached import CachedScorer

    return CachedScorer(scorer, cache)


def configured_scorer(settings: Settings) -> Scorer:
    """The scorer a run uses: `make_scorer` with the store's score cache unless scorer.cache is off."""
    from ltvad_search.score_cache import ScoreCache

    return make_scorer(settings.scorer, ScoreCache(settings.store.score_cache) if settings.scorer.cache else None)


def _assemble(cfg: ScorerConfig) -> Scorer:
    scorer = make_text_backend(cfg)
    if cfg.answer == "checklist":
        from ltvad_search.backends.gguf import cache_dir
        from ltvad_search.scorers.checklist import ChecklistScorer

        # it checks the protocol; each question's reference bias is asked once per model and prompt
        scorer = ChecklistScorer(scorer, cfg.threshold, reference=cache_dir() / "reference")  # type: ignore[arg-type]
    if cfg.calibration is not None:
        return _combined(cfg, scorer)
    if cfg.examples is not None:
        from indexer.embed import Embedder
        from ltvad_search.scorers.examples import ExampleBank, ExampleScorer, read_examples

        scorer = ExampleScorer(scorer, ExampleBank(read_examples(cfg.examples), Embedder(), cfg.examples_per_label))
    if cfg.units == "sentences":
        from ltvad_search.scorers.sentences import SentenceScorer

        return SentenceScorer(scorer)
    return scorer


def _combined(cfg: ScorerConfig, llm: Scorer) -> Scorer:
    from indexer.embed import Embedder
    from ltvad_search.scorers.combined import Calibration, CombinedScorer, ExemplarEvidence
    from ltvad_search.scorers.examples import ExampleBank, read_examples

    assert cfg.calibration is not None and cfg.examples is not None  # the config validates both
    calibration = Calibration.read(cfg.calibration)
    if cfg.units == "sentences":
        from ltvad_search.scorers.sentences import SentenceScorer

        llm = SentenceScorer(llm)
    embedder = Embedder()
    bank = ExampleBank(read_examples(cfg.examples), embedder, cfg.examples_per_label)
    return CombinedScorer(llm, bank, ExemplarEvidence(embedder), calibration)


def scorer_name(cfg: ScorerConfig) -> str:
    """What `make_scorer(cfg).name` would be; GPU backends answer without loading their model."""
    name = text_backend_name(cfg)
    if cfg.answer == "checklist":
        name += "+checklist"
    if cfg.calibration is not None:
        from ltvad_search.scorers.combined import Calibration

        llm = f"{name}+sentences" if cfg.units == "sentences" else name
        return f"combined({llm})@{Calibration.read(cfg.calibration).digest}"
    if cfg.examples is not None:
        from ltvad_search.scorers.examples import examples_name, read_examples

        name = examples_name(name, read_examples(cfg.examples), cfg.examples_per_label)
    return f"{name}+sentences" if cfg.units == "sentences" else name
