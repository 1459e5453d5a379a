from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ltvad_search import prompts
from ltvad_search.score.base import ScoreRequest
from ltvad_search.score.llama.scorer import LlamaCppScorer

TEXTS = ["The car stops at a red light and waits.", "A deer runs across the highway in front of the car.",
         "The car drives straight in its lane.", "Police cars with flashing lights block the road."]


@pytest.fixture(scope="module")
def scorer(smollm2: Path) -> LlamaCppScorer:
    return LlamaCppScorer(smollm2, n_ctx=2048)


def _requests(variant: str = "score_description") -> list[ScoreRequest]:
    p = prompts.load(variant)
    return [ScoreRequest(segment_id=str(i), text=t, prompt=p) for i, t in enumerate(TEXTS)]


def test_scores_are_continuous_grid_expectations(scorer: LlamaCppScorer) -> None:
    results = scorer.score(_requests())
    for r in results:
        assert r.score is not None and 0.0 <= r.score <= 1.0
        assert r.written is not None and r.raw == f"[{r.written:.1f}]"
        assert r.scorer.startswith("llamacpp:SmolLM2") and r.prompt_id.startswith("score_description@")
    assert len({r.score for r in results}) == len(results)  # no ties between different descriptions


def test_prefix_reuse_changes_nothing_but_speed(scorer: LlamaCppScorer) -> None:
    scorer.reuse_prefix = True
    reused = [r.score for r in scorer.score(_requests())]
    reversed_order = {r.segment_id: r.score for r in scorer.score(_requests()[::-1])}
    scorer.reuse_prefix = False
    fresh = [r.score for r in scorer.score(_requests())]
    scorer.reuse_prefix = True
    assert reused == fresh  # the same passes are computed, the cache only skips the rubric's
    assert reused == [reversed_order[str(i)] for i in range(len(TEXTS))]  # no dependence on order


def test_shared_prefix_is_the_rubric(scorer: LlamaCppScorer) -> None:
    p = prompts.load("score_description")
    shared = scorer.shared_prefix(p)
    tokens = scorer.prompt_tokens(p.render(TEXTS[0]))
    assert 300 < shared < len(tokens)
    rubric = scorer._llm.detokenize(tokens[:shared]).decode()
    assert "Interesting activities" in rubric and TEXTS[0][:10] not in rubric


def test_too_long_a_prompt_is_an_error_not_a_crash(scorer: LlamaCppScorer) -> None:
    p = prompts.load("score_description")
    with pytest.raises(ValueError, match="exceeds the context"):
        scorer.score([ScoreRequest(segment_id="x", text="word " * 5000, prompt=p)])
    assert scorer.score(_requests()[:1])[0].score is not None  # still usable afterwards


def test_registry_builds_it_by_name(smollm2: Path) -> None:
    from ltvad_search.config import ScorerConfig
    from ltvad_search.score import make_scorer

    s = make_scorer(ScorerConfig(backend="llamacpp", model="smollm2-135m", n_ctx=2048))
    assert s.caps.logprobs and s.name.startswith("llamacpp:")


def test_yes_no_answers_read_p_yes(smollm2: Path) -> None:
    scorer = LlamaCppScorer(smollm2, n_ctx=2048, answer="yesno")
    p = prompts.load("score_sentence_yesno")
    results = scorer.score([ScoreRequest("a", TEXTS[1], p), ScoreRequest("b", TEXTS[2], p)])
    for r in results:
        assert r.score is not None and 0 < r.score < 1 and r.raw in ("Yes", "No")
        assert r.written == (1.0 if r.score >= 0.5 else 0.0)
    assert scorer.name.endswith("+yesno") and results[0].score != results[1].score


@pytest.mark.parametrize(("way", "suffix", "tolerance"), [
    ({"questions": "serial"}, "+serial", 0.05),  # one question at a time: float rounding
    ({"engine": "int8"}, "+int8", 0.1),  # the int8 engine: quantization (score/llama/int8.py)
])
def test_other_ways_to_ask_answer_as_the_batch_does_under_a_name_of_their_own(
        smollm2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: dict, suffix: str,
        tolerance: float) -> None:
    monkeypatch.setenv("LTVAD_CACHE", str(tmp_path))  # where the int8 engine keeps its converted weights
    p = prompts.load("score_checklist")
    batch = LlamaCppScorer(smollm2, n_ctx=2048, answer="checklist")
    other = LlamaCppScorer(smollm2, n_ctx=2048, answer="checklist", **way)
    together, apart = batch.yes_probabilities(p, TEXTS), other.yes_probabilities(p, TEXTS)
    assert [len(row) for row in apart] == [len(p.questions)] * len(TEXTS)
    # the same prompts in another batch shape or arithmetic: close answers, the same tokens evaluated
    np.testing.assert_allclose(apart, together, rtol=0, atol=tolerance)
    assert other.evaluated == batch.evaluated
    assert len({round(x, 4) for row in apart for x in row}) > len(TEXTS)  # answers differ by question and text
    # scores from the two are not the same to the bit, so they are never cached as one another's
    assert other.name == batch.name + suffix


def test_unknown_or_mismatched_ways_to_ask_are_refused(smollm2: Path) -> None:
    with pytest.raises(ValueError, match="questions='parallel'"):
        LlamaCppScorer(smollm2, questions="parallel")
    with pytest.raises(ValueError, match="engine='fp8'"):
        LlamaCppScorer(smollm2, engine="fp8")
    with pytest.raises(ValueError, match="questions=serial and grid answers"):
        LlamaCppScorer(smollm2, questions="serial", engine="int8", answer="checklist")
    with pytest.raises(ValueError, match="questions=serial and grid answers"):
        LlamaCppScorer(smollm2, engine="int8")  # the grid


@pytest.mark.parametrize("overrides", [
    [], ["scorer.llamacpp.engine=llamacpp"], ["scorer.llamacpp.questions=serial", "scorer.llamacpp.engine=llamacpp"],
    ["scorer.preset=paper"], ["scorer.answer=yesno", "scorer.prompt=score_sentence_yesno"],
])
def test_the_scorer_key_is_known_without_a_model_and_is_the_built_scorers_name(
        smollm2: Path, overrides: list[str]) -> None:
    from ltvad_search.config import load_settings
    from ltvad_search.score import make_text_backend

    cfg = load_settings(None, ["scorer.model=smollm2-135m", *overrides]).scorer
    assert LlamaCppScorer.name_for(cfg) == make_text_backend(cfg).name


def test_naming_the_default_scorer_loads_and_assembles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from ltvad_search.config import load_settings
    from ltvad_search.models import gguf, llama_model
    from ltvad_search.score import scorer_name

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was touched to name the scorer")

    monkeypatch.setattr(llama_model, "load", refuse)
    monkeypatch.setattr(gguf, "qwen_coder_1_5b", refuse)
    monkeypatch.setattr(llama_model, "cpu_flags", lambda: "fpu avx2 avx512_vnni")
    assert scorer_name(load_settings(None, []).scorer) == "llamacpp:qwen2.5-coder-1.5b-instruct-q4_k_m+int8+checklist"


def test_engine_auto_is_decided_once_on_the_driver_for_every_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver with int8 dot products pins int8; a worker without them still builds the int8 scorer
    under the driver's key (and the other way round), instead of each node choosing for itself."""
    from ltvad_search.config import load_settings
    from ltvad_search.models import llama_model
    from ltvad_search.score import pinned, scorer_name

    cfg = load_settings(None, []).scorer
    assert cfg.llamacpp.engine == "auto"
    for driver, engine in (("avx512_vnni", "int8"), ("avx2", "llamacpp")):
        monkeypatch.setattr(llama_model, "cpu_flags", lambda flags=driver: flags)
        sent = pinned(cfg)
        assert sent.llamacpp.engine == engine
        keys = set()
        for worker in ("avx512_vnni", "avx2", ""):
            monkeypatch.setattr(llama_model, "cpu_flags", lambda flags=worker: flags)
            keys.add(scorer_name(sent))
        assert len(keys) == 1
    assert pinned(load_settings(None, ["scorer.llamacpp.engine=llamacpp"]).scorer).llamacpp.engine == "llamacpp"


def test_with_the_int8_engine_the_weights_are_in_memory_once(smollm2: Path, tmp_path: Path) -> None:
    """Resident memory after scoring with the int8 engine, against the two files: the int8 weights
    plus llama.cpp's vocabulary, not the GGUF's weights as well (llama.cpp holds the vocabulary only)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import resource, torch, llama_cpp
        from pathlib import Path
        from ltvad_search import prompts
        from ltvad_search.score.llama.scorer import LlamaCppScorer
        from ltvad_search.score.llama.int8 import Int8Transformer
        Int8Transformer.load(Path({str(smollm2)!r}), cache=Path({str(tmp_path)!r}))  # convert once, outside
        import gc; gc.collect()
        base = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
        import ltvad_search.score.llama.int8 as int8
        load = int8.Int8Transformer.load
        int8.Int8Transformer.load = classmethod(lambda cls, path, **kw: load(path, cache=Path({str(tmp_path)!r}), **kw))
        scorer = LlamaCppScorer(Path({str(smollm2)!r}), answer="checklist", engine="int8", n_ctx=1024)
        scorer.yes_probabilities(prompts.load("score_checklist"), ["A deer runs across the road."])
        print(int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() - base)
    """)
    grown = int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                               timeout=600).stdout.split()[-1])
    [int8_file] = tmp_path.glob("*.safetensors")
    gguf_size = smollm2.stat().st_size
    assert grown < int8_file.stat().st_size + 0.3 * gguf_size, (grown, int8_file.stat().st_size, gguf_size)
