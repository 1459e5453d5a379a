"""The backend registry: a name maps to a dotted path, imported only when that backend is chosen.

Adding a backend is one module with a `from_config` classmethod and one line here.
"""

from __future__ import annotations

import importlib

from ltvad_search.backends.base import Describer, DescriberCaps, Scorer
from ltvad_search.config import DescriberConfig, ScorerConfig

DESCRIBERS: dict[str, str] = {
    "cpu": "ltvad_search.backends.cpu:CpuDescriber",
    "import": "ltvad_search.backends.imported:ImportedDescriber",
    "openai": "ltvad_search.backends.openai_api:OpenAIDescriber",
    "vllm": "ltvad_search.backends.vllm:VLLMDescriber",
    "hf": "ltvad_search.backends.hf:HFDescriber",
}

SCORERS: dict[str, str] = {
    "llamacpp": "ltvad_search.backends.llamacpp:LlamaCppScorer",
    "openai": "ltvad_search.backends.openai_api:OpenAIScorer",
    "vllm": "ltvad_search.backends.vllm:VLLMScorer",
    "hf": "ltvad_search.backends.hf:HFScorer",
    "parse": "ltvad_search.backends.parse:WrittenScoreParser",
}


def _load(registry: dict[str, str], role: str, name: str) -> type:
    try:
        dotted = registry[name]
    except KeyError:
        raise ValueError(f"unknown {role} backend {name!r} (known: {', '.join(sorted(registry))})") from None
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_describer(cfg: DescriberConfig) -> Describer:
    return _load(DESCRIBERS, "describer", cfg.backend).from_config(cfg)


def make_scorer(cfg: ScorerConfig) -> Scorer:
    scorer = _load(SCORERS, "scorer", cfg.backend).from_config(cfg)
    if cfg.answer == "checklist":
        from ltvad_search.checklist import ChecklistScorer

        scorer = ChecklistScorer(scorer, cfg.threshold)  # type: ignore[arg-type]  # it checks the protocol
    if cfg.calibration is not None:
        return _combined(cfg, scorer)
    if cfg.examples is not None:
        from indexer.embed import Embedder
        from ltvad_search.examples import ExampleBank, ExampleScorer, read_examples

        scorer = ExampleScorer(scorer, ExampleBank(read_examples(cfg.examples), Embedder(), cfg.examples_per_label))
    if cfg.units == "sentences":
        from ltvad_search.units import SentenceScorer

        return SentenceScorer(scorer)
    return scorer


def _combined(cfg: ScorerConfig, llm: Scorer) -> Scorer:
    from indexer.embed import Embedder
    from ltvad_search.calibration import Calibration, CombinedScorer, ExemplarEvidence
    from ltvad_search.examples import ExampleBank, read_examples

    assert cfg.calibration is not None and cfg.examples is not None  # the config validates both
    calibration = Calibration.read(cfg.calibration)
    if cfg.units == "sentences":
        from ltvad_search.units import SentenceScorer

        llm = SentenceScorer(llm)
    embedder = Embedder()
    bank = ExampleBank(read_examples(cfg.examples), embedder, cfg.examples_per_label)
    return CombinedScorer(llm, bank, ExemplarEvidence(embedder), calibration)


def describer_name(cfg: DescriberConfig) -> str:
    """What `make_describer(cfg).name` would be; GPU backends answer without loading their model."""
    cls = _load(DESCRIBERS, "describer", cfg.backend)
    return cls.name_for(cfg) if hasattr(cls, "name_for") else make_describer(cfg).name


def scorer_name(cfg: ScorerConfig) -> str:
    """What `make_scorer(cfg).name` would be; GPU backends answer without loading their model."""
    cls = _load(SCORERS, "scorer", cfg.backend)
    name = cls.name_for(cfg) if hasattr(cls, "name_for") else cls.from_config(cfg).name
    if cfg.answer == "checklist":
        name += "+checklist"
    if cfg.calibration is not None:
        from ltvad_search.calibration import Calibration

        llm = f"{name}+sentences" if cfg.units == "sentences" else name
        return f"combined({llm})@{Calibration.read(cfg.calibration).digest}"
    if cfg.examples is not None:
        from ltvad_search.examples import examples_name, read_examples

        name = examples_name(name, read_examples(cfg.examples), cfg.examples_per_label)
    return f"{name}+sentences" if cfg.units == "sentences" else name


def describer_needs_frames(cfg: DescriberConfig) -> bool:
    """Whether the describer looks at pixels (an importer of stored text does not), without building it."""
    caps = getattr(_load(DESCRIBERS, "describer", cfg.backend), "caps", None)
    return caps.needs_frames if isinstance(caps, DescriberCaps) else True
