"""The one typed configuration of the tool.

Loaded from TOML (`--config ltvad.toml`), then overridden by `--set section.key=value` flags, so the
CLI never restates a field a second time. Every field carries a description, which `ltvad config`
prints.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ltvad_search.config.scorer import (
    SCORER_PRESETS,
    LlamaCppSettings,
    OpenAISettings,
    ScorerConfig,
    VLLMSettings,
    batches_yes_no,
)
from ltvad_search.config.sections import (
    VIDEO_EXTENSIONS,
    AdaptConfig,
    DescriberConfig,
    DistillConfig,
    IndexConfig,
    LabelConfig,
    RayConfig,
    RunConfig,
    SearchConfig,
    StoreConfig,
    VideoConfig,
    _Section,
)

__all__ = ["SCORER_PRESETS", "VIDEO_EXTENSIONS", "AdaptConfig", "DescriberConfig", "DistillConfig", "IndexConfig",
           "LabelConfig", "LlamaCppSettings", "OpenAISettings", "RayConfig", "RunConfig", "ScorerConfig",
           "SearchConfig", "Settings", "StoreConfig", "VLLMSettings", "VideoConfig", "batches_yes_no", "load_settings"]


class Settings(_Section):
    video: VideoConfig = VideoConfig()
    describer: DescriberConfig = DescriberConfig()
    scorer: ScorerConfig = ScorerConfig()
    store: StoreConfig = StoreConfig()
    index: IndexConfig = IndexConfig()
    search: SearchConfig = SearchConfig()
    run: RunConfig = RunConfig()
    label: LabelConfig = LabelConfig()
    distill: DistillConfig = DistillConfig()
    ray: RayConfig = RayConfig()


def load_settings(path: Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Settings:
    """Settings from defaults, then a TOML file, then `section.key=value` overrides (any depth:
    `scorer.llamacpp.n_ctx=2048`), in that order."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ValueError(f"config file {path}: not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"config file {path}: {e}") from None
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise ValueError(f"override {item!r}: expected section.key=value, e.g. video.k=3 or "
                             "scorer.llamacpp.n_ctx=2048")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {part} is a value, not a section")
        node[parts[-1]] = _parse_value(value.strip())
    return Settings.model_validate(data)


def _parse_value(text: str) -> Any:
    """TOML scalar syntax for override values, falling back to a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
