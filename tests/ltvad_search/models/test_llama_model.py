"""Every llama.cpp model the project loads keeps extra buffer types off on AMX CPUs (issue: SIGSEGV in
ggml_backend_amx_mul_mat). The machines running this may lack AMX, so the rule is checked where it is
applied, not by a run that happens not to crash."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ltvad_search.config import ScorerConfig
from ltvad_search.models import llama_model
from ltvad_search.score.llama.branches import BranchingContext
from ltvad_search.score.llama.scorer import LlamaCppScorer

pytest.importorskip("llama_cpp")

ROOT = Path(__file__).resolve().parents[3]
SAPPHIRE_RAPIDS = "fpu sse avx2 avx512f avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8"
ZEN4 = "fpu sse avx2 avx512f avx512_vnni avx512_bf16"


def test_amx_is_read_from_the_cpu_flags() -> None:
    assert llama_model.cpu_has_amx(SAPPHIRE_RAPIDS) and llama_model.cpu_has_amx("fpu amx_tile")
    assert not llama_model.cpu_has_amx(ZEN4) and not llama_model.cpu_has_amx("")  # "": not Linux, or hidden


def test_load_sets_the_field_and_leaves_llama_cpps_defaults_alone(smollm2: Path) -> None:
    import llama_cpp.llama_cpp as low

    off = llama_model.load(smollm2, n_ctx=256, verbose=False)
    assert off.model_params.use_extra_bufts is False
    assert low.llama_model_default_params().use_extra_bufts is True  # the hook is gone after loading
    if not llama_model.cpu_has_amx():
        on = llama_model.load(smollm2, extra_buffer_types=True, n_ctx=256, verbose=False)
        assert on.model_params.use_extra_bufts is True


@pytest.fixture()
def amx_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process reads the CPU flags of a Sapphire Rapids Xeon (the crashing machine's)."""
    monkeypatch.setattr(llama_model, "cpu_flags", lambda: SAPPHIRE_RAPIDS)


@pytest.mark.parametrize("preset", [None, "checklist-v1", "paper"])
def test_every_scorer_configuration_loads_without_extra_buffers(smollm2: Path, preset: str | None) -> None:
    cfg = ScorerConfig(preset=preset, model=str(smollm2), n_ctx=1024, engine="llamacpp")
    scorer = LlamaCppScorer.from_config(cfg)
    assert scorer._llm.model_params.use_extra_bufts is False
    assert "+repack" not in scorer.name


def test_extra_buffers_on_is_named_apart_and_checked(smollm2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_model, "cpu_flags", lambda: ZEN4)
    scorer = LlamaCppScorer.from_config(ScorerConfig(model=str(smollm2), n_ctx=1024, extra_buffers="on"))
    assert scorer._llm.model_params.use_extra_bufts is True and scorer.name.endswith("+repack")
    with pytest.raises(ValueError, match="extra_buffers='sometimes'"):
        LlamaCppScorer(smollm2, extra_buffers="sometimes")


def test_the_branch_context_refuses_a_model_with_extra_buffers_on_amx(smollm2: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    monkeypatch.setattr(llama_model, "cpu_flags", lambda: ZEN4)
    risky = llama_model.load(smollm2, extra_buffer_types=True, n_ctx=256, verbose=False)
    BranchingContext(llama_cpp, risky)  # fine where there is no AMX
    monkeypatch.setattr(llama_model, "cpu_flags", lambda: SAPPHIRE_RAPIDS)  # the same model on an AMX node
    with pytest.raises(RuntimeError, match="AMX"):
        BranchingContext(llama_cpp, risky)


def test_extra_buffers_on_is_refused_on_amx_rather_than_crashing(smollm2: Path, amx_cpu: None) -> None:
    with pytest.raises(RuntimeError, match="refused on this CPU: it has AMX"):
        LlamaCppScorer(smollm2, n_ctx=256, extra_buffers="on")
    assert LlamaCppScorer(smollm2, n_ctx=256)._llm.model_params.use_extra_bufts is False  # the default loads


def test_the_test_server_loads_its_model_without_extra_buffers(llama_server_run: tuple[str, Path]) -> None:
    _, log = llama_server_run
    assert "loaded with use_extra_bufts=False" in log.read_text()


def _loads_a_model(node: ast.AST) -> bool:
    """A call that builds a llama.cpp model: `Llama(...)`, `x.Llama(...)`, or the C loader."""
    if not isinstance(node, ast.Call):
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name in {"Llama", "llama_model_load_from_file", "llama_load_model_from_file"}


def test_nothing_but_llama_model_constructs_a_llama_cpp_model() -> None:
    """The scorer, the branch context, the test server, the demo (through the configured scorer), the
    benches and the tests: all load through `llama_model.load`, so the AMX rule cannot be skipped."""
    offenders = []
    for folder in ("ltvad_search", "indexer", "ui", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "llama_model.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(tree) if _loads_a_model(n)]
    assert offenders == []


def test_a_vocabulary_only_load_tokenizes_and_says_nothing_on_stderr(smollm2: Path,
                                                                      capfd: pytest.CaptureFixture[str]) -> None:
    llm = llama_model.load(smollm2, vocab_only=True, n_ctx=512, verbose=False)
    assert llm.tokenize(b"Hi") and llm.metadata.get("tokenizer.chat_template")
    assert "n_ctx_train" not in capfd.readouterr().err
