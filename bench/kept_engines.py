"""Kept libraries running the checklist's question batches, for `bench_questions.py --auc`.

Each class answers `logits(shared, bounds, continuations)` as `score/llama/branches.BranchingContext`
and the int8 engine do (the scorer's `QuestionBatches`), from the same GGUF: no hub is reachable, so
the file is dequantized once by transformers' own GGUF loader, saved as a Hugging Face folder, and
converted from there (CTranslate2) or quantized in memory from it (torchao). Both land in the model
cache (`<cache>/kept/`) with a `convert.json` recording the GGUF's and the outputs' sha256, and are
reused while the GGUF is the same file.

Install the libraries with `pip install -e '.[kept]'`; neither is a dependency of the product.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ltvad_search.models import gguf


def converted(model_path: Path) -> Path:
    """The folder holding `hf/` (the GGUF dequantized to bfloat16 safetensors) and `ct2/` (CTranslate2,
    int8), made on first use (~2 min and ~5 GB of disk for the 1.5B default)."""
    source = gguf.sha256_of(model_path)
    folder = gguf.cache_dir() / "kept" / f"{model_path.stem}-{source[:12]}"
    record = folder / "convert.json"
    if record.exists():
        return folder
    import torch
    from ctranslate2.converters import TransformersConverter
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    hf = folder / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(model_path.parent, gguf_file=model_path.name)
    model = AutoModelForCausalLM.from_pretrained(model_path.parent, gguf_file=model_path.name, dtype=torch.float32)
    model = model.to(torch.bfloat16)
    config = model.config
    if hasattr(config, "quantization_config"):  # the GGUF loader's marker; the saved weights are plain
        del config.quantization_config
    config.save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    save_model(model, str(hf / "model.safetensors"))  # save_pretrained refuses a model loaded from GGUF
    del model
    TransformersConverter(str(hf)).convert(str(folder / "ct2"), quantization="int8", force=True)
    record.write_text(json.dumps({
        "gguf": str(model_path), "gguf_sha256": source, "seconds": round(time.perf_counter() - start, 1),
        "hf_sha256": gguf.sha256_of(hf / "model.safetensors"),
        "ct2_sha256": gguf.sha256_of(folder / "ct2" / "model.bin"),
    }, indent=1))
    return folder


class CTranslate2Questions:
    """CTranslate2's int8 generator: the description's prompt is its static prompt, whose state it keeps,
    and each question is forwarded on top of it as a one-token generation whose log-probabilities are
    read. (A batch of questions of different lengths would be stepped token by token past the shortest
    one, and `forward_batch` recomputes the shared part for every question: both slower.) It keeps every
static prompt's state and has no call to drop one (~5 MB per description for the 1.5B): fine for a
bench of a few hundred descriptions, not for a product."""

    def __init__(self, folder: Path, n_threads: int) -> None:
        import ctranslate2

        self._gen = ctranslate2.Generator(str(folder / "ct2"), device="cpu", compute_type="int8",
                                          intra_threads=n_threads)
        self._vocab = json.loads((folder / "ct2" / "vocabulary.json").read_text())
        self._held: tuple[int, ...] = ()
        self.evaluated = 0

    def logits(self, shared: Sequence[int], bounds: Sequence[int], continuations: Sequence[Sequence[int]],
               *, reuse: bool = True) -> np.ndarray:
        if tuple(shared) != self._held:  # a new static prompt: CTranslate2 evaluates and keeps it
            self._held = tuple(shared)
            self.evaluated += len(shared)
        prompt = [self._vocab[t] for t in shared]
        rows = []
        for tokens in continuations:
            [result] = self._gen.generate_batch([[self._vocab[t] for t in tokens]], static_prompt=prompt,
                                                max_length=1, include_prompt_in_result=False,
                                                return_logits_vocab=True)
            rows.append(np.asarray(result.logits[0], dtype=np.float32).reshape(-1))
            self.evaluated += len(tokens)
        return np.stack(rows)


class TorchaoQuestions:
    """transformers' Qwen2 in float32 with torchao's int8 dynamic-activation, int8-weight linears (W8A8,
    as the engine does): the shared part runs once, its KV cache is repeated for every question, and all
    questions go through together, right-padded, the last real token of each read."""

    def __init__(self, folder: Path, n_threads: int) -> None:
        import torch
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
        from transformers import AutoModelForCausalLM

        torch.set_num_threads(n_threads)
        self._torch = torch
        model = AutoModelForCausalLM.from_pretrained(folder / "hf", dtype=torch.float32)
        quantize_(model, Int8DynamicActivationInt8WeightConfig())
        self._model: Any = model.eval()
        self.evaluated = 0

    def logits(self, shared: Sequence[int], bounds: Sequence[int], continuations: Sequence[Sequence[int]],
               *, reuse: bool = True) -> np.ndarray:
        torch, model = self._torch, self._model
        n_shared, longest, count = len(shared), max(len(c) for c in continuations), len(continuations)
        with torch.inference_mode():
            cache = model.model(input_ids=torch.tensor([list(shared)]), use_cache=True).past_key_values
            cache.batch_repeat_interleave(count)
            ids = torch.zeros((count, longest), dtype=torch.long)
            mask = torch.zeros((count, n_shared + longest), dtype=torch.long)
            mask[:, :n_shared] = 1
            for k, tokens in enumerate(continuations):
                ids[k, :len(tokens)] = torch.tensor(list(tokens))
                mask[k, n_shared:n_shared + len(tokens)] = 1
            positions = torch.arange(n_shared, n_shared + longest).expand(count, longest)
            hidden = model.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                 past_key_values=cache, use_cache=True).last_hidden_state
            last = hidden[torch.arange(count), torch.tensor([len(c) - 1 for c in continuations])]
            rows = model.lm_head(last).float().numpy()
        self.evaluated += n_shared + sum(len(c) for c in continuations)
        return rows


def requantized(model_path: Path, kind: str) -> Path:
    """The GGUF requantized by llama.cpp's own `llama_model_quantize` to `kind` (e.g. "Q8_0", "Q4_0"),
    made once into the model cache with its sha256 beside it. From Q4_K_M this adds no precision; it
    changes which of llama.cpp's kernels run (Q8_0 and Q4_0 have x86 paths of their own)."""
    import llama_cpp

    target = gguf.cache_dir() / "kept" / f"{model_path.stem}-{gguf.sha256_of(model_path)[:12]}-{kind.lower()}.gguf"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind.upper()}")
    params.allow_requantize = True
    partial = target.with_suffix(".partial")
    status = llama_cpp.llama_model_quantize(str(model_path).encode(), str(partial).encode(), params)
    if status != 0:
        raise RuntimeError(f"llama_model_quantize to {kind} failed ({status})")
    partial.replace(target)
    target.with_suffix(".gguf.sha256").write_text(f"{gguf.sha256_of(target)}  {target.name}\n")
    return target
