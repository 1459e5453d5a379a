"""Tiny random GGUF models that llama.cpp loads: an engine's parity with llama.cpp, per architecture.

The weights are random (seeded) at a width of 64, two layers, four heads sharing two KV heads; the
tokenizer is the 135M test model's (copied field by field), so llama.cpp and the int8 engine see the
same tokens. `extra` adds metadata or tensors the engine must refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

DIM, FF, LAYERS, HEADS, KV_HEADS = 64, 128, 2, 4, 2


def _copy_tokenizer(writer: Any, source: Path) -> int:
    import gguf

    reader = gguf.GGUFReader(str(source))
    fields = reader.fields

    def scalar(key: str) -> Any:
        field = fields[key]
        value = field.parts[field.data[0]]
        return bytes(value).decode() if field.types[0] == gguf.GGUFValueType.STRING else value[0]

    def strings(key: str) -> list[str]:
        field = fields[key]
        return [bytes(field.parts[i]).decode() for i in field.data]

    tokens = strings("tokenizer.ggml.tokens")
    writer.add_tokenizer_model(scalar("tokenizer.ggml.model"))
    writer.add_tokenizer_pre(scalar("tokenizer.ggml.pre"))
    writer.add_token_list(tokens)
    types = fields["tokenizer.ggml.token_type"]
    writer.add_token_types([int(types.parts[i][0]) for i in types.data])
    writer.add_token_merges(strings("tokenizer.ggml.merges"))
    writer.add_bos_token_id(int(scalar("tokenizer.ggml.bos_token_id")))
    writer.add_eos_token_id(int(scalar("tokenizer.ggml.eos_token_id")))
    writer.add_add_bos_token(bool(scalar("tokenizer.ggml.add_bos_token")))
    writer.add_chat_template(scalar("tokenizer.chat_template"))
    return len(tokens)


def write(path: Path, arch: str, tokenizer_from: Path, *, seed: int = 0,
          extra_fields: Mapping[str, Any] | None = None, extra_tensors: Mapping[str, np.ndarray] | None = None,
          biases: tuple[str, ...] | None = None) -> Path:
    """A random `arch` ("llama" or "qwen2") model; qwen2 gets biases on Q, K and V (or on `biases`)."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch)
    vocab = _copy_tokenizer(writer, tokenizer_from)
    writer.add_block_count(LAYERS)
    writer.add_context_length(512)
    writer.add_embedding_length(DIM)
    writer.add_feed_forward_length(FF)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for key, value in (extra_fields or {}).items():
        writer.add_key_value(key, value, gguf.GGUFValueType.FLOAT32 if isinstance(value, float) else
                             gguf.GGUFValueType.UINT32 if isinstance(value, int) else gguf.GGUFValueType.STRING)
    head = DIM // HEADS
    weight = lambda *shape: (rng.standard_normal(shape) * 0.08).astype(np.float32)  # noqa: E731
    writer.add_tensor("token_embd.weight", weight(vocab, DIM))
    writer.add_tensor("output_norm.weight", (1 + weight(DIM)).astype(np.float32))
    writer.add_tensor("output.weight", weight(vocab, DIM))
    with_bias = set(biases if biases is not None else ("q", "k", "v") if arch == "qwen2" else ())
    for i in range(LAYERS):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", (1 + weight(DIM)).astype(np.float32))
        for name, rows in (("q", DIM), ("k", KV_HEADS * head), ("v", KV_HEADS * head)):
            writer.add_tensor(p + f"attn_{name}.weight", weight(rows, DIM))
            if name in with_bias:
                writer.add_tensor(p + f"attn_{name}.bias", weight(rows) * 4)
        writer.add_tensor(p + "attn_output.weight", weight(DIM, DIM))
        writer.add_tensor(p + "ffn_norm.weight", (1 + weight(DIM)).astype(np.float32))
        writer.add_tensor(p + "ffn_gate.weight", weight(FF, DIM))
        writer.add_tensor(p + "ffn_up.weight", weight(FF, DIM))
        writer.add_tensor(p + "ffn_down.weight", weight(DIM, FF))
    for name, data in (extra_tensors or {}).items():
        writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
