"""A GGUF model's transformer as int8 matrices in torch: the checklist's question batches, twice as fast.

llama.cpp runs the 1.5B default at ~96 tokens/s on 2 cores, its large-batch ceiling, because its
K-quant kernels are dot products over 4-bit blocks. The checklist is prompt evaluation only (a
description and twelve questions, ~480 tokens, no generation), which is one large matrix product per
weight: exactly what a CPU's int8 GEMM (VNNI, through torch's `_int_mm`) does best, at ~1 int8
tera-op/s on the same 2 cores, against ~0.25 for llama.cpp here. So the same GGUF weights are
dequantized once, rotated (`_rotate`), requantized to int8 per output channel and cached in the model
cache (`<cache>/int8/`); activations are rotated and quantized per token as they come (W8A8). The
answers match llama.cpp's to a few hundredths of P(Yes) (llama.cpp itself quantizes activations in
blocks of 32); the scorer gets a name of its own, so its cached scores and reference answers never
mix with llama.cpp's.

Only what stage 2 needs is here: the llama and qwen2 architectures (the default and the test model),
a held prefix, and many continuations sharing it in one packed pass (each attends to the prefix and
its own earlier tokens), with the same `logits(shared, bounds, continuations)` as `BranchingContext`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gguf import GGUFReader, quants
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ltvad_search.models import gguf
from ltvad_search.score.llama.branches import prefix_passes

# llama.cpp's rotary layout per architecture: qwen2 rotates the two halves of each head ("neox"),
# llama adjacent pairs (its GGUF conversion permutes Q and K for that)
ROPE_HALVES = {"qwen2": True, "llama": False}
FORMAT = 1  # of the cached int8 file; bump when what is stored changes


@dataclasses.dataclass(frozen=True)
class Shape:
    """The hyper-parameters a forward pass needs, read from the GGUF's metadata."""

    arch: str
    n_layer: int
    n_head: int
    n_head_kv: int
    dim: int
    ff: int
    eps: float
    rope_base: float

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_head


class Int8Transformer:
    """The model as int8 weights and fp32 norms; `logits` answers what `BranchingContext.logits` does."""

    def __init__(self, shape: Shape, tensors: dict[str, torch.Tensor], *, n_threads: int | None = None) -> None:
        """`tensors` as `convert` makes them; `n_threads` sets torch's thread count (process-wide)."""
        if n_threads:
            torch.set_num_threads(n_threads)
        self.shape = shape
        self._w = tensors
        half = torch.arange(0, shape.head_dim, 2, dtype=torch.float64) / shape.head_dim
        self._inv_freq = 1.0 / shape.rope_base ** half
        self._held: list[int] = []
        # per layer, the held prefix's keys and values, [heads, tokens, head_dim]
        self._kv: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.evaluated = 0

    @classmethod
    def load(cls, model_path: Path, *, n_threads: int | None = None, cache: Path | None = None) -> Int8Transformer:
        """From the int8 file cached for this GGUF (keyed by its name, size and modification time),
        converting it first when there is none or it cannot be read (~40 s for the 1.5B default)."""
        shape = read_shape(model_path)
        stat = model_path.stat()
        name = f"{model_path.stem}-{stat.st_size}-{stat.st_mtime_ns}-v{FORMAT}.safetensors"
        target = (cache or gguf.cache_dir() / "int8") / name
        if target.exists():
            try:
                return cls(shape, load_file(str(target)), n_threads=n_threads)
            except (OSError, SafetensorError):  # damaged: made again below
                pass
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}")  # whole or absent, as others read it
        save_file(convert(model_path, shape), str(partial))
        partial.replace(target)
        return cls(shape, load_file(str(target)), n_threads=n_threads)

    def logits(self, shared: Sequence[int], bounds: Sequence[int], continuations: Sequence[Sequence[int]],
               *, reuse: bool = True) -> np.ndarray:
        """Next-token logits after `shared` + each continuation, one row per continuation.

        `shared` is evaluated in passes that end at each of `bounds` (so the rubric's part can be held
        for the next description); with `reuse`, the longest of those passes already held is skipped.
        """
        if not continuations or not all(continuations):
            raise ValueError("every continuation needs at least one token")
        try:
            with torch.inference_mode():
                self._hold(shared, bounds, reuse=reuse)
                return self._continue(len(shared), continuations).numpy()
        except Exception:
            self._held, self._kv = [], []
            raise

    def _hold(self, shared: Sequence[int], bounds: Sequence[int], *, reuse: bool) -> None:
        """Keys and values of `shared`, computed in passes ending at `bounds` from what is held."""
        have, passes = prefix_passes(shared, bounds, self._held if reuse else [])
        self._held = list(shared[:have])
        self._kv = [(k[:, :have], v[:, :have]) for k, v in self._kv] if have else []
        for a, b in passes:
            _, self._kv = self._forward(shared[a:b], torch.arange(a, b), [b - a], self._kv)
            self._held = list(shared[:b])

    def _continue(self, n_shared: int, continuations: Sequence[Sequence[int]]) -> torch.Tensor:
        """Logits after each continuation of the held prefix, their tokens packed into one pass."""
        lengths = [len(c) for c in continuations]
        pos = torch.cat([torch.arange(n) for n in lengths]) + n_shared
        hidden, _ = self._forward([t for c in continuations for t in c], pos, lengths, self._kv)
        last = torch.tensor(lengths).cumsum(0) - 1
        return self._linear("output", _rms(hidden[last], self._w["output_norm"], self.shape.eps))

    def _forward(self, tokens: Sequence[int], pos: torch.Tensor, lengths: Sequence[int],
                 kv: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, list]:
        """Hidden states of `tokens` (runs of `lengths`, each a continuation of what `kv` holds, the
        keys and values per layer); and, for a single run, the keys and values with its own appended.

        Every linear layer takes all the tokens at once (the big int8 products); attention is done run
        by run, each over the held part and its own earlier tokens. That costs a few small calls, but a
        run then gets bit for bit the answer it gets alone: through int8 rounding, float differences
        from another attention shape would grow to tenths of a logit.
        """
        s, w = self.shape, self._w
        self.evaluated += len(tokens)
        ids = torch.tensor(list(tokens))
        x = w["token_embd.q"][ids].float() * w["token_embd.s"][ids, None]
        n, hd, nq, nk = len(tokens), s.head_dim, s.n_head * s.head_dim, s.n_head_kv * s.head_dim
        angles = pos.to(torch.float64)[:, None] * self._inv_freq[None, :]
        cos, sin = angles.cos().float()[:, None, :], angles.sin().float()[:, None, :]
        held = kv[0][0].shape[1] if kv else 0
        starts = np.cumsum([0, *lengths])
        masks = {m: torch.ones(m, held + m, dtype=torch.bool).tril(diagonal=held) for m in set(lengths)}
        new = []
        for i in range(s.n_layer):
            qkv = self._linear(f"blk.{i}.attn_qkv", _rms(x, w[f"blk.{i}.attn_norm"], s.eps))
            q = _rope(qkv[:, :nq].view(n, s.n_head, hd), cos, sin, ROPE_HALVES[s.arch]).transpose(0, 1)
            k = _rope(qkv[:, nq: nq + nk].view(n, s.n_head_kv, hd), cos, sin, ROPE_HALVES[s.arch]).transpose(0, 1)
            v = qkv[:, nq + nk:].view(n, s.n_head_kv, hd).transpose(0, 1)
            k_held, v_held = kv[i] if kv else (k[:, :0], v[:, :0])
            runs = []
            for a, b in itertools.pairwise(starts):
                keys, values = torch.cat([k_held, k[:, a:b]], dim=1), torch.cat([v_held, v[:, a:b]], dim=1)
                runs.append(torch.nn.functional.scaled_dot_product_attention(
                    q[:, a:b], keys, values, attn_mask=masks[b - a], enable_gqa=True))
            if len(lengths) == 1:
                new.append((keys, values))
            x = x + self._linear(f"blk.{i}.attn_output", torch.cat(runs, dim=1).transpose(0, 1).reshape(n, nq))
            gate_up = self._linear(f"blk.{i}.ffn_gate_up", _rms(x, w[f"blk.{i}.ffn_norm"], s.eps))
            gate, up = gate_up[:, : s.ff], gate_up[:, s.ff:]
            x = x + self._linear(f"blk.{i}.ffn_down", torch.nn.functional.silu(gate) * up)
        return x, new

    def _linear(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """x @ W.T + b with W in int8 per output channel and x rotated, then quantized per row (W8A8)."""
        w = self._w
        xq, scale = _int8_rows(_rotate(x))
        rows = xq.shape[0]
        if rows <= 16:  # the int8 GEMM wants more than 16 rows
            xq = torch.nn.functional.pad(xq, (0, 0, 0, 17 - rows))
        y = torch._int_mm(xq, w[f"{name}.q"])[:rows].float().mul_(w[f"{name}.s"]).mul_(scale[:, None])
        bias = w.get(f"{name}.b")
        return y if bias is None else y.add_(bias)


# What the forward pass implements, and nothing else: a GGUF whose metadata or tensors ask for more
# (rope scaling, a rope_freqs tensor, a head size other than width/heads, sliding windows, soft-capped
# logits, per-head norms, experts) is refused by name instead of answering wrongly.
READ_KEYS = frozenset({"block_count", "context_length", "embedding_length", "feed_forward_length",
                       "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
                       "rope.freq_base", "vocab_size"})
HEAD_KEYS = frozenset({"rope.dimension_count", "attention.key_length", "attention.value_length"})  # = head size
NEUTRAL = {"rope.scaling.type": ("none",), "rope.scaling.factor": (1.0, 0.0)}  # written, but no scaling
LAYER_TENSORS = frozenset({"attn_norm.weight", "ffn_norm.weight", "attn_q.weight", "attn_k.weight",
                           "attn_v.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight",
                           "ffn_down.weight"})
QKV_BIASES = frozenset({"attn_q.bias", "attn_k.bias", "attn_v.bias"})
MODEL_TENSORS = frozenset({"token_embd.weight", "output_norm.weight", "output.weight"})


def read_shape(model_path: Path) -> Shape:
    """The GGUF's hyper-parameters; a clear error, naming the field or tensor, for anything this
    engine does not implement (`READ_KEYS` and friends), so that it never runs a model it would
    get wrong."""
    reader = _reader(model_path)
    arch = _field(reader, "general.architecture")
    if arch not in ROPE_HALVES:
        raise gguf.ModelError(f"{model_path}: architecture {arch!r} is not one the int8 engine runs "
                              f"({', '.join(ROPE_HALVES)}); use scorer.llamacpp.engine=llamacpp")
    get = lambda key, default=None: _field(reader, f"{arch}.{key}", default)  # noqa: E731
    shape = Shape(arch=arch, n_layer=int(get("block_count")), n_head=int(get("attention.head_count")),
                  n_head_kv=int(get("attention.head_count_kv")), dim=int(get("embedding_length")),
                  ff=int(get("feed_forward_length")), eps=float(get("attention.layer_norm_rms_epsilon")),
                  rope_base=float(get("rope.freq_base", 10000.0)))
    refuse = lambda what: gguf.ModelError(  # noqa: E731
        f"{model_path}: {what}, which the int8 engine does not implement; use scorer.llamacpp.engine=llamacpp")
    for key in (k for k in reader.fields if k.startswith(f"{arch}.")):
        name = key.removeprefix(f"{arch}.")
        if name in READ_KEYS:
            continue
        value = _field(reader, key)
        if name in HEAD_KEYS and int(value) != shape.head_dim:
            raise refuse(f"{key} = {value} (this engine's heads are width / heads = {shape.head_dim})")
        if name in NEUTRAL and value not in NEUTRAL[name]:
            raise refuse(f"{key} = {value!r}")
        if name not in HEAD_KEYS and name not in NEUTRAL:
            raise refuse(f"metadata {key} = {value!r}")
    layers = {t.name.split(".", 2)[2] for t in reader.tensors if t.name.startswith("blk.")}
    unknown = sorted({t.name for t in reader.tensors if not t.name.startswith("blk.")} - MODEL_TENSORS) \
        + sorted(f"blk.N.{n}" for n in layers - LAYER_TENSORS - QKV_BIASES)
    if unknown:
        raise refuse(f"tensor {unknown[0]}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    if layers & QKV_BIASES and not layers >= QKV_BIASES:
        raise refuse(f"biases on only some of Q, K and V ({', '.join(sorted(layers & QKV_BIASES))})")
    return shape


def convert(model_path: Path, shape: Shape) -> dict:
    """Every weight dequantized from the GGUF and requantized to int8 per output row (`.q`, stored as
    [in, out] for the GEMM, and `.s`); Q, K and V fused into one matrix, gate and up into another."""
    reader = _reader(model_path)
    tensors = {t.name: t for t in reader.tensors}

    def deq(name: str) -> np.ndarray:
        t = tensors[name]
        return np.array(quants.dequantize(t.data, t.tensor_type), dtype=np.float32)  # a writable copy

    out: dict[str, torch.Tensor] = {}

    def matrix(name: str, parts: Sequence[str], biases: Sequence[str] = ()) -> None:
        q, s = _int8_rows(_rotate(torch.from_numpy(np.concatenate([deq(p) for p in parts]))))
        out[f"{name}.q"], out[f"{name}.s"] = q.t().contiguous(), s
        if biases and all(b in tensors for b in biases):
            out[f"{name}.b"] = torch.from_numpy(np.concatenate([deq(b) for b in biases]))

    for i in range(shape.n_layer):
        p = f"blk.{i}."
        out[p + "attn_norm"] = torch.from_numpy(deq(p + "attn_norm.weight"))
        out[p + "ffn_norm"] = torch.from_numpy(deq(p + "ffn_norm.weight"))
        matrix(p + "attn_qkv", [p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"],
               [p + "attn_q.bias", p + "attn_k.bias", p + "attn_v.bias"])
        matrix(p + "attn_output", [p + "attn_output.weight"])
        matrix(p + "ffn_gate_up", [p + "ffn_gate.weight", p + "ffn_up.weight"])
        matrix(p + "ffn_down", [p + "ffn_down.weight"])
    out["output_norm"] = torch.from_numpy(deq("output_norm.weight"))
    embedding = deq("token_embd.weight")
    out["token_embd.q"], out["token_embd.s"] = _int8_rows(torch.from_numpy(embedding))  # rows looked up
    matrix("output", ["output.weight" if "output.weight" in tensors else "token_embd.weight"])  # or tied
    return out


def _int8_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of `x` as int8 with a scale of its own (its largest magnitude maps to 127): weights
    per output channel when converted, activations per token as they come."""
    scale = x.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    return (x / scale[:, None]).round_().to(torch.int8), scale


def _rotate(x: torch.Tensor) -> torch.Tensor:
    """x times a block-diagonal Hadamard matrix along its last dimension (orthonormal, symmetric).

    A few channels of a transformer's activations are orders of magnitude larger than the rest; with
    one int8 scale per token they would round the others to nothing. x W^T = (x H)(W H)^T for an
    orthogonal H, so the weights are rotated once when converted and the activations on the fly, and
    the rotation spreads each outlier over its block first (the QuaRot idea). Measured on five
    `primary_dev` logs against llama.cpp's P(Yes): mean difference 0.032 without it, 0.014 with it,
    0.015 for the same weights in fp32.
    """
    k = x.shape[-1]
    block = next(b for b in (128, 64, 32, 16, 8, 4, 2, 1) if k % b == 0)
    return (x.reshape(-1, k // block, block) @ _hadamard(block)).reshape(x.shape)


@functools.cache
def _hadamard(n: int) -> torch.Tensor:
    """The n x n Sylvester Hadamard matrix scaled to be orthonormal (n a power of two)."""
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], dim=1), torch.cat([h, -h], dim=1)])
    return h / n**0.5


def _rms(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return x * (x.pow(2).mean(-1, keepdim=True) + eps).rsqrt() * weight


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, halves: bool) -> torch.Tensor:
    """Rotary position embedding of `x` [tokens, heads, head_dim] in llama.cpp's layout."""
    if halves:
        a, b = x.chunk(2, dim=-1)
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)


def _reader(model_path: Path) -> GGUFReader:
    try:
        return GGUFReader(str(model_path))
    except (OSError, ValueError) as exc:
        raise gguf.ModelError(f"{model_path}: not a readable GGUF file ({exc})") from exc


def _field(reader: GGUFReader, key: str, default: Any = None) -> Any:
    field = reader.fields.get(key)
    if field is None:
        if default is None:
            raise gguf.ModelError(f"the GGUF has no {key!r} in its metadata")
        return default
    value = field.parts[field.data[0]]
    return bytes(value).decode() if field.types and field.types[0].name == "STRING" else value[0].item()
