"""The backend registry: a name maps to a dotted path, imported only when that backend is chosen.

Backends are model adapters and nothing more: a describer turns frames into text, a text backend
reads text (grid scores, yes/no probabilities, free answers). How stage 2 combines those answers
into a long-tail score (a checklist, sentence units, examples, a calibration) lives in
`ltvad_search.scorers`. Adding a backend is one module with a `from_config` classmethod and one line
here.
"""

from __future__ import annotations

import importlib

from ltvad_search.backends.base import Describer, DescriberCaps, Scorer
from ltvad_search.config import DescriberConfig, ScorerConfig

DESCRIBERS: dict[str, str] = {
    "cpu": "ltvad_search.backends.cpu_vision:VisionDescriber",
    "cpu-basic": "ltvad_search.backends.cpu:CpuDescriber",
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


def make_text_backend(cfg: ScorerConfig) -> Scorer:
    """The stage-2 model adapter alone (scorers.make_scorer builds the configured scorer around it)."""
    return _load(SCORERS, "scorer", cfg.backend).from_config(cfg)


def text_backend_name(cfg: ScorerConfig) -> str:
    """What `make_text_backend(cfg).name` would be; GPU backends answer without loading their model."""
    cls = _load(SCORERS, "scorer", cfg.backend)
    return cls.name_for(cfg) if hasattr(cls, "name_for") else cls.from_config(cfg).name


def describer_name(cfg: DescriberConfig) -> str:
    """What `make_describer(cfg).name` would be; GPU backends answer without loading their model."""
    cls = _load(DESCRIBERS, "describer", cfg.backend)
    return cls.name_for(cfg) if hasattr(cls, "name_for") else make_describer(cfg).name


def describer_needs_frames(cfg: DescriberConfig) -> bool:
    """Whether the describer looks at pixels (an importer of stored text does not), without building it."""
    caps = getattr(_load(DESCRIBERS, "describer", cfg.backend), "caps", None)
    return caps.needs_frames if isinstance(caps, DescriberCaps) else True
