"""Many short continuations of one prompt in one llama.cpp batch: the checklist's questions.

A checklist asks each description about a dozen questions of ~30 tokens that share everything up to
the question. Asked one after another, each question is a small batch, and llama.cpp on a CPU runs
small batches well below its large-batch rate (2 cores, the 1.5B default: 44 tokens/s at 8 tokens,
80 at 32, 92 at 448). Here the shared part is evaluated once, in sequence 0; each continuation then
becomes a sequence of its own that shares those KV cells (`llama_memory_seq_cp` copies no data), and
all of them go through the model together, each token attending only to the shared part and its own
sequence. The passes are cut at fixed places (the caller's bounds, then every continuation at once),
so an answer does not depend on which prompt came before or whether the held prefix was reused.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ltvad_search.models import llama_model

BRANCHES = 32  # continuations per batch; a checklist has about a dozen questions


class BranchingContext:
    """A llama.cpp context of its own over an already loaded model, with room for many sequences."""

    def __init__(self, llama_cpp: Any, llama: Any) -> None:
        """`llama` is a loaded `llama_cpp.Llama`; its model is shared and its context settings copied
        (threads, batch size, attention kind), so answers match what its own context computes. A model
        loaded with extra buffer types on a CPU with AMX is refused: this batch is what crashes there."""
        llama_model.check(llama)
        params = type(llama.context_params).from_buffer_copy(llama.context_params)
        params.n_seq_max = BRANCHES + 1
        params.kv_unified = True  # one pool of n_ctx cells that all sequences draw on
        n_ctx, n_batch, model = params.n_ctx, params.n_batch, llama.model
        ctx = llama_cpp.llama_init_from_model(model, params)
        if not ctx:
            raise RuntimeError("llama.cpp could not create a context for batched questions")
        batch = llama_cpp.llama_batch_init(n_batch, 0, BRANCHES + 1)
        self._finalizer = weakref.finalize(self, _free, llama_cpp, ctx, batch)
        self._lib, self._ctx, self._batch = llama_cpp, ctx, batch
        self._mem = llama_cpp.llama_get_memory(ctx)
        self.n_ctx, self.n_batch = n_ctx, n_batch
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        self._held: list[int] = []  # the tokens sequence 0 holds
        self.evaluated = 0  # tokens run through the model so far

    def logits(self, shared: Sequence[int], bounds: Sequence[int], continuations: Sequence[Sequence[int]],
               *, reuse: bool = True) -> np.ndarray:
        """Next-token logits after `shared` + each continuation, one row per continuation.

        `shared` is evaluated in passes that end at each of `bounds`; with `reuse`, the longest of
        those passes already held is skipped. Every continuation must have at least one token.
        """
        longest = max((len(c) for c in continuations), default=0)
        if len(shared) + longest > self.n_ctx:
            raise ValueError(f"prompt of {len(shared) + longest} tokens exceeds the context of {self.n_ctx}")
        if not continuations or not all(continuations):
            raise ValueError("every continuation needs at least one token")
        lib = self._lib
        have, passes = prefix_passes(shared, bounds, self._held if reuse else [])
        lib.llama_memory_seq_rm(self._mem, -1, have, -1)
        self._held = list(shared[:have])
        try:
            for a, b in passes:
                self._decode([(t, a + i, (0,), False) for i, t in enumerate(shared[a:b])])
                self._held = list(shared[:b])
            rows = []
            for group in _groups(continuations, BRANCHES, self.n_ctx - len(shared)):
                items = []
                for k, tokens in enumerate(group, start=1):
                    lib.llama_memory_seq_cp(self._mem, 0, k, -1, -1)
                    items += [(t, len(shared) + i, (k,), i == len(tokens) - 1) for i, t in enumerate(tokens)]
                rows += self._decode(items)
                for k in range(1, len(group) + 1):
                    lib.llama_memory_seq_rm(self._mem, k, -1, -1)
        except Exception:
            lib.llama_memory_clear(self._mem, True)
            self._held = []
            raise
        return np.stack(rows)

    def _decode(self, items: Sequence[tuple[int, int, tuple[int, ...], bool]]) -> list[np.ndarray]:
        """Run (token, position, sequences, wants logits) items in batches of n_batch; the logits
        rows of the tokens that asked for them, in order."""
        lib, batch, out = self._lib, self._batch, []
        for start in range(0, len(items), self.n_batch):
            chunk = items[start: start + self.n_batch]
            for i, (token, pos, seqs, wanted) in enumerate(chunk):
                batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, pos, len(seqs), wanted
                for j, s in enumerate(seqs):
                    batch.seq_id[i][j] = s
            batch.n_tokens = len(chunk)
            status = lib.llama_decode(self._ctx, batch)
            if status != 0:
                raise RuntimeError(f"llama_decode failed ({status}) on a batch of {len(chunk)} tokens")
            self.evaluated += len(chunk)
            for i, (_, _, _, wanted) in enumerate(chunk):
                if wanted:
                    row = lib.llama_get_logits_ith(self._ctx, i)
                    out.append(np.ctypeslib.as_array(row, shape=(self._n_vocab,)).copy())
        return out


def prefix_passes(shared: Sequence[int], bounds: Sequence[int],
                  held: Sequence[int]) -> tuple[int, list[tuple[int, int]]]:
    """How much of `shared` can be kept from the `held` tokens, and the [start, end) passes that
    evaluate the rest. Passes end at each of `bounds` inside `shared` and at its end, and only a whole
    pass is ever kept, so a prefix gets the same answers whether it was held or evaluated afresh."""
    ends = sorted({b for b in bounds if 0 < b < len(shared)} | {len(shared)})
    have = max((b for b in ends if list(held[:b]) == list(shared[:b])), default=0)
    later = [b for b in ends if b > have]
    return have, list(zip([have, *later], later, strict=False))


def _groups(continuations: Sequence[Sequence[int]], most: int, room: int) -> list[list[Sequence[int]]]:
    """Consecutive runs of at most `most` continuations whose tokens fit in `room` cells together."""
    out: list[list[Sequence[int]]] = [[]]
    used = 0
    for c in continuations:
        if out[-1] and (len(out[-1]) == most or used + len(c) > room):
            out.append([])
            used = 0
        out[-1].append(c)
        used += len(c)
    return out


def _free(llama_cpp: Any, ctx: Any, batch: Any) -> None:
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
