"""Stage 2, score: the text-backend registry, and the scorers assembled around a backend.

A text backend is a model adapter (`SCORERS`: a name maps to a dotted path, imported only when
chosen); a scorer is a configuration around it (`scorers/`): the paper's grid rubric read directly,
a checklist of yes/no questions (the default), sentence units, in-context examples, or the calibrated
combination with embedding evidence. `make_scorer` assembles the configured one; `scorer_name` says
what it will be called without loading a model, so a Ray driver can key its work before any worker
starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ltvad_search.config import ScorerConfig, Settings
from ltvad_search.extras import Registry
from ltvad_search.score.base import Scorer

if TYPE_CHECKING:
    from ltvad_search.score.cache import ScoreCache

SCORERS = Registry("scorer", {
    "llamacpp": "ltvad_search.score.llama.scorer:LlamaCppScorer",
    "openai": "ltvad_search.engines.openai_api:OpenAIScorer",
    "vllm": "ltvad_search.engines.vllm:VLLMScorer",
    "hf": "ltvad_search.engines.hf:HFScorer",
    "parse": "ltvad_search.score.written:WrittenScoreParser",
})


def make_text_backend(cfg: ScorerConfig) -> Scorer:
    """The stage-2 model adapter alone (`make_scorer` builds the configured scorer around it)."""
    backend: Scorer = SCORERS.make(cfg)
    return backend


def text_backend_name(cfg: ScorerConfig) -> str:
    """What `make_text_backend(cfg).name` would be; GPU backends answer without loading their model."""
    return SCORERS.name_for(cfg)


def make_scorer(cfg: ScorerConfig, cache: ScoreCache | None = None) -> Scorer:
    """The configured scorer; with `cache`, behind the text-keyed score cache (scorer.cache)."""
    scorer = _assemble(cfg)
    if cache is None:
        return scorer
    from ltvad_search.score.scorers.cached import CachedScorer

    return CachedScorer(scorer, cache)


def configured_scorer(settings: Settings) -> Scorer:
    """The scorer a run uses: `make_scorer` with the store's score cache unless scorer.cache is off."""
    from ltvad_search.score.cache import ScoreCache

    return make_scorer(settings.scorer, ScoreCache(settings.store.score_cache) if settings.scorer.cache else None)


def _assemble(cfg: ScorerConfig) -> Scorer:
    scorer = make_text_backend(cfg)
    if cfg.answer == "checklist":
        from ltvad_search.models.gguf import cache_dir
        from ltvad_search.score.scorers.checklist import ChecklistScorer

        # it checks the protocol; each question's reference bias is asked once per model and prompt
        scorer = ChecklistScorer(scorer, cfg.threshold, reference=cache_dir() / "reference")  # type: ignore[arg-type]
    if cfg.calibration is not None:
        return _combined(cfg, scorer)
    if cfg.examples is not None:
        from ltvad_search.models.embed import Embedder
        from ltvad_search.score.scorers.examples import ExampleBank, ExampleScorer, read_examples

        scorer = ExampleScorer(scorer, ExampleBank(read_examples(cfg.examples), Embedder(), cfg.examples_per_label))
    if cfg.units == "sentences":
        from ltvad_search.score.scorers.sentences import SentenceScorer

        return SentenceScorer(scorer)
    return scorer


def _combined(cfg: ScorerConfig, llm: Scorer) -> Scorer:
    from ltvad_search.models.embed import Embedder
    from ltvad_search.score.scorers.combined import Calibration, CombinedScorer, ExemplarEvidence
    from ltvad_search.score.scorers.examples import ExampleBank, read_examples

    assert cfg.calibration is not None and cfg.examples is not None  # the config validates both
    calibration = Calibration.read(cfg.calibration)
    if cfg.units == "sentences":
        from ltvad_search.score.scorers.sentences import SentenceScorer

        llm = SentenceScorer(llm)
    embedder = Embedder()
    bank = ExampleBank(read_examples(cfg.examples), embedder, cfg.examples_per_label)
    return CombinedScorer(llm, bank, ExemplarEvidence(embedder), calibration)


def pinned(cfg: ScorerConfig) -> ScorerConfig:
    """`cfg` with its machine-dependent choices decided here (`scorer.llamacpp.engine=auto`, from this
    CPU's flags): a Ray driver pins them before any worker starts, so that every node builds the same
    scorer under the same key, whatever its own CPU."""
    if cfg.backend != "llamacpp" or cfg.llamacpp.engine != "auto":
        return cfg
    from ltvad_search.score.llama.scorer import resolve_engine

    engine = resolve_engine("auto", cfg.llamacpp.questions, cfg.answer)
    return cfg.model_copy(update={"llamacpp": cfg.llamacpp.model_copy(update={"engine": engine})})


def scorer_name(cfg: ScorerConfig) -> str:
    """What `make_scorer(cfg).name` would be; GPU backends answer without loading their model."""
    name = text_backend_name(cfg)
    if cfg.answer == "checklist":
        name += "+checklist"
    if cfg.calibration is not None:
        from ltvad_search.score.scorers.combined import Calibration

        llm = f"{name}+sentences" if cfg.units == "sentences" else name
        return f"combined({llm})@{Calibration.read(cfg.calibration).digest}"
    if cfg.examples is not None:
        from ltvad_search.score.scorers.examples import examples_name, read_examples

        name = examples_name(name, read_examples(cfg.examples), cfg.examples_per_label)
    return f"{name}+sentences" if cfg.units == "sentences" else name
