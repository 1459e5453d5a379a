"""Stage 1, describe: the describer registry. A name maps to a dotted path, imported only when chosen.

A describer turns a segment's sampled frames into text (`base.Describer`). Adding one is a module
with a `from_config` classmethod and one line here; `engines/` holds the adapters that serve both
stages (an OpenAI-compatible server, vLLM, transformers).
"""

from __future__ import annotations

from ltvad_search.config import DescriberConfig
from ltvad_search.describe.base import Describer, DescriberCaps
from ltvad_search.extras import Registry

DESCRIBERS = Registry("describer", {
    "cpu": "ltvad_search.describe.cpu_vision:VisionDescriber",
    "cpu-basic": "ltvad_search.describe.cpu_basic:CpuDescriber",
    "import": "ltvad_search.describe.imported:ImportedDescriber",
    "openai": "ltvad_search.engines.openai_api:OpenAIDescriber",
    "vllm": "ltvad_search.engines.vllm:VLLMDescriber",
    "hf": "ltvad_search.engines.hf:HFDescriber",
})


def make_describer(cfg: DescriberConfig) -> Describer:
    describer: Describer = DESCRIBERS.make(cfg)
    return describer


def describer_name(cfg: DescriberConfig) -> str:
    """What `make_describer(cfg).name` would be; GPU backends answer without loading their model."""
    return DESCRIBERS.name_for(cfg)


def describer_needs_frames(cfg: DescriberConfig) -> bool:
    """Whether the describer looks at pixels (an importer of stored text does not), without building it."""
    caps = getattr(DESCRIBERS.load(cfg.backend), "caps", None)
    return caps.needs_frames if isinstance(caps, DescriberCaps) else True
