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


def load_registered(registry: dict[str, str], role: str, name: str) -> type:
    """The class a registry names by dotted path ("package.module:Class"), imported only now.

    Registries name backends by path so that choosing one imports it alone: a registry in a lower
    layer may name an adapter in a higher one (`engines/` serves both stages) without importing it.
    """
    try:
        dotted = registry[name]
    except KeyError:
        raise ValueError(f"unknown {role} backend {name!r} (known: {', '.join(sorted(registry))})") from None
    module, _, attr = dotted.partition(":")
    cls: type = getattr(importlib.import_module(module), attr)
    return cls
