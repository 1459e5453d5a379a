from __future__ import annotations

import pytest

from ltvad_search.config import DescriberConfig, ScorerConfig
from ltvad_search.describe import DESCRIBERS, make_describer
from ltvad_search.describe.base import Describer
from ltvad_search.extras import MissingExtra, require
from ltvad_search.score import SCORERS, make_text_backend


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: cpu, cpu-basic, hf, import, openai, vllm"):
        make_describer(DescriberConfig(backend="nope"))
    with pytest.raises(ValueError, match="unknown scorer backend"):
        make_text_backend(ScorerConfig(backend="nope"))


def test_every_registered_path_points_at_a_class() -> None:
    import importlib

    for dotted in [*DESCRIBERS.values(), *SCORERS.values()]:
        module, _, attr = dotted.partition(":")
        assert hasattr(importlib.import_module(module), attr), dotted


def test_cpu_describer_from_registry_satisfies_the_protocol() -> None:
    assert isinstance(make_describer(DescriberConfig()), Describer)


def test_missing_optional_package_names_the_extra() -> None:
    with pytest.raises(MissingExtra, match=r"pip install 'ltvad-search\[gpu\]'"):
        require("surely_not_installed_pkg", extra="gpu", backend="vllm")


def test_vllm_backend_without_vllm_says_what_to_install() -> None:
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    with pytest.raises(MissingExtra, match="gpu"):
        make_text_backend(ScorerConfig(backend="vllm"))
