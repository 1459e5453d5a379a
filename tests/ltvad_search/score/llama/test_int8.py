from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from question_batches import assert_held_prefix_reused

from ltvad_search.models import gguf, llama_model
from ltvad_search.score.llama.int8 import Int8Transformer, _hadamard, _rotate, read_shape
from ltvad_search.score.llama.scorer import resolve_engine

llama_cpp = pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8")


@pytest.fixture(scope="module")
def engine(smollm2: Path, cache: Path) -> Int8Transformer:
    return Int8Transformer.load(smollm2, n_threads=2, cache=cache)


@pytest.fixture(scope="module")
def llm(smollm2: Path):  # noqa: ANN201
    return llama_model.load(smollm2, n_ctx=1024, n_threads=2, verbose=False, flash_attn=True)


def _tokens(llm, text: str, bos: bool = False) -> list[int]:  # noqa: ANN001
    return llm.tokenize(text.encode(), add_bos=bos, special=False)


def test_the_rotation_is_orthonormal_and_leaves_products_unchanged() -> None:
    import torch

    h = _hadamard(64)
    torch.testing.assert_close(h @ h.T, torch.eye(64), rtol=0, atol=1e-6)
    x, w = torch.randn(5, 576), torch.randn(7, 576)  # 576 = 9 blocks of 64
    torch.testing.assert_close(_rotate(x) @ _rotate(w).T, x @ w.T, rtol=1e-4, atol=1e-4)
    # an outlier channel is spread over its block, so one int8 scale per row no longer flattens the rest
    spike = torch.zeros(1, 576)
    spike[0, 3] = 100.0
    assert _rotate(spike).abs().max() < 100.0 / 7


def test_the_engine_answers_as_llama_cpp_does_on_the_same_gguf(engine: Int8Transformer, llm) -> None:  # noqa: ANN001
    from ltvad_search.score.llama.branches import BranchingContext

    shared = _tokens(llm, "Log: a deer runs across the road in front of the car.", bos=True)
    asks = [" Question: is there an animal? Answer:", " Question: is it snowing? Answer:",
            " Question: does the car stop at a red light? Answer:"]
    continuations = [_tokens(llm, a) for a in asks]
    ours = engine.logits(shared, [], continuations)
    theirs = BranchingContext(llama_cpp, llm).logits(shared, [], continuations)
    assert ours.shape == theirs.shape == (3, llm.n_vocab())
    # the same next-token distribution to within quantization (this 135M model's are flat, its top
    # tokens a few tenths apart): logits that move together, the likeliest tokens' log-probabilities close
    for a, b in zip(ours, theirs, strict=True):
        assert np.corrcoef(a, b)[0, 1] > 0.99
        top = np.argsort(b)[-5:]
        la, lb = a - np.logaddexp.reduce(a), b - np.logaddexp.reduce(b)
        np.testing.assert_allclose(la[top], lb[top], atol=0.5)
    # each continuation saw only the shared part and itself: alone, it answers the same
    for row, c in zip(ours, continuations, strict=True):
        np.testing.assert_array_equal(engine.logits(shared, [], [c], reuse=False)[0], row)


def test_held_prefix_is_reused_with_identical_results(smollm2: Path, cache: Path, llm) -> None:  # noqa: ANN001
    engine = Int8Transformer.load(smollm2, n_threads=2, cache=cache)
    assert_held_prefix_reused(engine, llm)  # as llama.cpp's branches do (test_llama_branches)
    with pytest.raises(ValueError, match="at least one token"):
        engine.logits(_tokens(llm, "A log.", bos=True), [], [[5, 6], []])


def test_the_converted_weights_are_cached_once_per_model(smollm2: Path, cache: Path,
                                                          engine: Int8Transformer) -> None:
    [stored] = cache.glob("*.safetensors")
    assert stored.name.startswith(smollm2.stem)
    stamp = stored.stat().st_mtime_ns
    again = Int8Transformer.load(smollm2, n_threads=2, cache=cache)
    assert stored.stat().st_mtime_ns == stamp  # read back, not converted again
    asks = [[5, 6, 7], [8, 9]]
    expected = engine.logits([1, 2, 3, 4], [], asks, reuse=False)
    np.testing.assert_array_equal(again.logits([1, 2, 3, 4], [], asks), expected)
    # a damaged file (a disk error, a copy cut short) is made again rather than read
    stored.write_bytes(b"\0" * 64)
    mended = Int8Transformer.load(smollm2, n_threads=2, cache=cache)
    np.testing.assert_array_equal(mended.logits([1, 2, 3, 4], [], asks), expected)
    assert stored.stat().st_size > 1_000_000


def test_what_the_engine_cannot_run_is_refused_by_name(tmp_path: Path) -> None:
    import gguf as gguf_py

    other = tmp_path / "gpt2.gguf"
    writer = gguf_py.GGUFWriter(str(other), "gpt2")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(gguf.ModelError, match=r"gpt2\.gguf: architecture 'gpt2'.*engine=llamacpp"):
        read_shape(other)
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(gguf.ModelError, match="notes.gguf: not a readable GGUF"):
        read_shape(text)


def test_auto_picks_int8_where_the_cpu_has_int8_dot_products() -> None:
    assert resolve_engine("auto", cpu_flags="fpu sse avx2 avx512f avx512_vnni") == "int8"
    assert resolve_engine("auto", cpu_flags="fpu sse avx2 avx_vnni") == "int8"
    assert resolve_engine("auto", cpu_flags="fpu sse avx2") == "llamacpp"
    assert resolve_engine("auto", cpu_flags="") == "llamacpp"  # not Linux, or flags unknown
    assert resolve_engine("auto", "serial", cpu_flags="avx512_vnni") == "llamacpp"
    assert resolve_engine("auto", answer="grid", cpu_flags="avx512_vnni") == "llamacpp"  # the engine asks yes/no
    assert resolve_engine("llamacpp", cpu_flags="avx512_vnni") == "llamacpp"
    assert resolve_engine("int8", cpu_flags="") == "int8"


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def tiny(request: pytest.FixtureRequest, smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tiny_gguf

    return tiny_gguf.write(tmp_path_factory.mktemp("tiny") / f"tiny-{request.param}.gguf", request.param, smollm2)


def test_each_architecture_the_engine_accepts_answers_as_llama_cpp_does(tiny: Path, tmp_path: Path) -> None:
    """Random weights of both layouts (qwen2: biases on Q, K and V and the rotary halves; llama: no
    biases, adjacent pairs), the same tokens through both: the same logits and the same P(Yes)."""
    from ltvad_search.score.llama.branches import BranchingContext
    from ltvad_search.score.parsing import softmax_subset

    llm = llama_model.load(tiny, n_ctx=512, n_threads=2, verbose=False, flash_attn=True)
    engine = Int8Transformer.load(tiny, n_threads=2, cache=tmp_path)
    assert engine.shape.arch == read_shape(tiny).arch == tiny.stem.split("-")[1]
    shared = _tokens(llm, "Log: a deer runs across the road in front of the car.", bos=True)
    continuations = [_tokens(llm, q) for q in (" Is there an animal? Answer:", " Is it snowing? Answer:")]
    ours = engine.logits(shared, [len(shared) // 2], continuations)
    theirs = BranchingContext(llama_cpp, llm).logits(shared, [len(shared) // 2], continuations)
    yes_no = {"Yes": _tokens(llm, "Yes")[0], "No": _tokens(llm, "No")[0]}
    for a, b in zip(ours, theirs, strict=True):
        assert np.corrcoef(a, b)[0, 1] > 0.999  # int8 against f32: the same function of the tokens
        np.testing.assert_allclose(a, b, atol=0.05 * np.abs(b).max())
        pa, pb = softmax_subset(a, yes_no), softmax_subset(b, yes_no)
        assert abs(pa["Yes"] - pb["Yes"]) < 0.01


@pytest.mark.parametrize(("fields", "tensors", "biases", "refused"), [
    ({"qwen2.rope.scaling.type": "linear"}, {}, None, r"qwen2\.rope\.scaling\.type = 'linear'"),
    ({"qwen2.rope.scaling.factor": 4.0}, {}, None, r"qwen2\.rope\.scaling\.factor = 4\.0"),
    ({"qwen2.attention.key_length": 32}, {}, None, r"qwen2\.attention\.key_length = 32 .*heads are .* 16"),
    ({"qwen2.attention.sliding_window": 256}, {}, None, r"metadata qwen2\.attention\.sliding_window = 256"),
    ({}, {"rope_freqs.weight": np.ones(8, np.float32)}, None, r"tensor rope_freqs\.weight"),
    ({}, {"blk.0.attn_q_norm.weight": np.ones(16, np.float32)}, None, r"tensor blk\.N\.attn_q_norm\.weight"),
    ({}, {}, ("q", "k"), r"biases on only some of Q, K and V \(attn_k\.bias, attn_q\.bias\)"),
])
def test_metadata_and_tensors_the_engine_does_not_implement_are_refused_by_name(
        smollm2: Path, tmp_path: Path, fields: dict, tensors: dict, biases: tuple | None, refused: str) -> None:
    import tiny_gguf

    path = tiny_gguf.write(tmp_path / "odd.gguf", "qwen2", smollm2, extra_fields=fields, extra_tensors=tensors,
                           biases=biases)
    with pytest.raises(gguf.ModelError, match=refused + r".*engine=llamacpp"):
        read_shape(path)
    neutral = tiny_gguf.write(tmp_path / "plain.gguf", "qwen2", smollm2, extra_fields={
        "qwen2.rope.scaling.type": "none", "qwen2.rope.dimension_count": 16})
    assert read_shape(neutral).head_dim == 16
