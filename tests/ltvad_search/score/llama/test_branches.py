from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from question_batches import assert_held_prefix_reused

from ltvad_search.models import llama_model
from ltvad_search.score.llama import branches as llama_branches
from ltvad_search.score.llama.branches import BranchingContext, _groups

llama_cpp = pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def llm(smollm2: Path):  # noqa: ANN201
    """A plain context with the scorer's settings (flash attention, which batches of several
    sequences need to give each sequence the answer it gets alone)."""
    return llama_model.load(smollm2, n_ctx=1024, n_threads=2, verbose=False, flash_attn=True)


def _tokens(llm, text: str, bos: bool = False) -> list[int]:  # noqa: ANN001
    return llm.tokenize(text.encode(), add_bos=bos, special=False)


def _alone(llm, tokens: list[int]) -> np.ndarray:  # noqa: ANN001
    """Logits after `tokens`, evaluated on the Llama's own one-sequence context."""
    llm.n_tokens = 0
    llm.eval(tokens)
    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).copy()


def _p(row: np.ndarray, yes: int, no: int) -> float:
    return float(1 / (1 + np.exp(row[no] - row[yes])))


def test_each_continuation_sees_only_the_shared_part_and_itself(llm) -> None:  # noqa: ANN001
    ctx = BranchingContext(llama_cpp, llm)
    shared = _tokens(llm, "Log: a deer runs across the road in front of the car.", bos=True)
    asks = [" Question: is there an animal? Answer:", " Question: is it snowing? Answer:",
            " Question: does the car stop at a red light? Answer:"]
    continuations = [_tokens(llm, a) for a in asks]
    yes, no = _tokens(llm, " yes")[0], _tokens(llm, " no")[0]
    together = ctx.logits(shared, [], continuations)
    assert together.shape == (3, llm.n_vocab())
    for row, c in zip(together, continuations, strict=True):
        alone = _alone(llm, shared + c)
        # the same prompt on a plain context gives the same logits: no branch read another's tokens
        np.testing.assert_allclose(row, alone, rtol=0, atol=1e-3)
    assert len({round(_p(row, yes, no), 6) for row in together}) == 3
    # asked in another order and from a fresh context, each continuation answers the same
    again = BranchingContext(llama_cpp, llm).logits(shared, [], continuations[::-1])
    np.testing.assert_array_equal(again[::-1], together)


def test_held_prefix_is_reused_with_identical_results(llm) -> None:  # noqa: ANN001
    assert_held_prefix_reused(BranchingContext(llama_cpp, llm), llm)


def test_more_continuations_than_branches_go_in_several_batches(llm, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    ctx = BranchingContext(llama_cpp, llm)
    shared = _tokens(llm, "Log: the car waits at a light.", bos=True)
    asks = [_tokens(llm, f" Question {i}? Answer:") for i in range(5)]
    whole = ctx.logits(shared, [], asks)
    monkeypatch.setattr(llama_branches, "BRANCHES", 2)
    np.testing.assert_array_equal(ctx.logits(shared, [], asks, reuse=False), whole)


def test_a_prompt_longer_than_the_context_is_an_error_and_the_context_stays_usable(llm, smollm2: Path) -> None:  # noqa: ANN001
    small = llama_model.load(smollm2, n_ctx=256, n_threads=2, verbose=False, flash_attn=True)
    ctx = BranchingContext(llama_cpp, small)
    shared = _tokens(llm, "Log: the car waits.", bos=True)
    with pytest.raises(ValueError, match="exceeds the context of 256"):
        ctx.logits(shared, [], [_tokens(llm, " word" * 300)])
    with pytest.raises(ValueError, match="at least one token"):
        ctx.logits(shared, [], [[]])
    assert ctx.logits(shared, [], [_tokens(llm, " Answer:")]).shape[0] == 1


def test_groups_keep_order_and_respect_both_limits() -> None:
    c = [[1] * 3, [2] * 3, [3] * 3, [4] * 5]
    assert _groups(c, most=2, room=100) == [c[:2], c[2:]]
    assert _groups(c, most=10, room=7) == [c[:2], [c[2]], [c[3]]]
    assert _groups([], most=2, room=10) == [[]]
