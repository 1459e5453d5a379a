"""Optional dependencies: import one, or say exactly which extra installs it.

Every layer reaches for optional packages (llama.cpp, vLLM, OpenCV's models, Ray), so this sits at
the bottom where all of them can import it.
"""

from __future__ import annotations

import importlib
from typing import Any


class MissingExtra(ImportError):
    """An optional package is missing; the message says which extra installs it."""

    def __init__(self, package: str, extra: str, backend: str) -> None:
        super().__init__(
            f"the {backend!r} backend needs {package!r}: pip install 'ltvad-search[{extra}]'"
        )


def require(module: str, *, extra: str, backend: str) -> Any:
    """Import an optional dependency, or say exactly what to install (typed Any: the package ships no stubs)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtra(module.split(".")[0], extra, backend) from e


class Registry(dict[str, str]):
    """Backends of one role by name, each a dotted path ("package.module:Class") imported only when chosen.

    Registries name backends by path so that choosing one imports it alone: a registry in a lower
    layer may name an adapter in a higher one (`engines/` serves both stages) without importing it.
    Each class has a `from_config(cfg)` constructor and may have `name_for(cfg)`, which names what it
    would build without loading a model (a Ray driver keys its work before any worker starts).
    """

    def __init__(self, role: str, entries: dict[str, str]) -> None:
        super().__init__(entries)
        self.role = role

    def load(self, name: str) -> Any:
        try:
            dotted = self[name]
        except KeyError:
            raise ValueError(f"unknown {self.role} backend {name!r} (known: {', '.join(sorted(self))})") from None
        module, _, attr = dotted.partition(":")
        return getattr(importlib.import_module(module), attr)

    def make(self, cfg: Any) -> Any:
        """The backend `cfg.backend` names, built from `cfg`."""
        return self.load(cfg.backend).from_config(cfg)

    def name_for(self, cfg: Any) -> str:
        """What `make(cfg).name` would be; backends with `name_for` answer without loading their model."""
        cls = self.load(cfg.backend)
        return str(cls.name_for(cfg)) if hasattr(cls, "name_for") else str(self.make(cfg).name)
