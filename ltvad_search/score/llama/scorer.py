"""Stage-2 scorer on a GGUF model through llama-cpp-python (the default on CPU).

The answer is read from the model's next-token probabilities instead of sampled: after the chat
prompt and a forced "[", the probabilities of "0" and "1" are read, then after "[0." those of the ten
digits. That gives the model's whole distribution over the 11 grid values in two short evaluations,
hence a continuous expected-value score, and the greedy grid answer as the written score.

The rubric is the same for every description and comes first, so its KV cache is kept and only the
description and the closing instruction are evaluated per item. Yes/no answers (the checklist) are
read the same way, as P(Yes) against P(No); a checklist's questions follow the description, so the
description is evaluated once and all its questions then go through the model in one batch
(`llama_branches`), each only adding its own few dozen tokens; `engine=int8` runs that batch on the
same weights as int8 matrices in torch instead (`gguf_int8`, about twice as fast on x86 CPUs with VNNI).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ltvad_search.config import ScorerConfig, batches_yes_no
from ltvad_search.extras import require
from ltvad_search.models import gguf, llama_model
from ltvad_search.prompts import Prompt
from ltvad_search.records import SegmentScore
from ltvad_search.score.base import ScorerCaps, ScoreRequest, chat, question_prompts
from ltvad_search.score.llama.branches import BranchingContext
from ltvad_search.score.parsing import DIGITS, expected_value, greedy_value, grid_distribution, softmax_subset


class LlamaCppScorer:
    caps = ScorerCaps(logprobs=True, prefix_reuse=True)
    crash_hint = ("--set scorer.llamacpp.extra_buffers=off if it is on (llama.cpp's repacked and AMX kernels), or "
                  "--set scorer.llamacpp.engine=int8 (the checklist's questions in torch instead of llama.cpp)")

    def __init__(self, model_path: Path, *, n_ctx: int = 4096, n_threads: int | None = None,
                 reuse_prefix: bool = True, answer: str = "grid", questions: str = "batch",
                 engine: str = "llamacpp", extra_buffers: str = "off") -> None:
        llama_cpp = require("llama_cpp", extra="model", backend="llamacpp")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if questions not in ("batch", "serial"):
            raise ValueError(f"questions={questions!r}: 'batch' or 'serial'")
        if engine not in ENGINES:
            raise ValueError(f"engine={engine!r}: one of {', '.join(ENGINES)}")
        if engine != "llamacpp" and not batches_yes_no(questions, answer):
            raise ValueError(f"engine={engine!r} batches yes/no questions; questions=serial and grid answers "
                             "run on llama.cpp's own context")
        self.reuse_prefix = reuse_prefix
        self.answer = answer
        self.questions = questions
        self.engine = engine
        self.model_path = model_path
        self.n_threads = n_threads
        self._llama_cpp = llama_cpp
        # prompt evaluation (n_threads_batch) is most of scoring; it must respect the limit too, or
        # two scorers sharing a node each spin up a thread per core. Flash attention: without it, a
        # sequence's answer in a batch of several (the checklist's questions) changed with the other
        # sequences in it (measured on the test model); with it, it does not (tests/.../test_llama_branches)
        threads = n_threads or os.cpu_count() or 1
        if extra_buffers not in EXTRA_BUFFERS:
            raise ValueError(f"extra_buffers={extra_buffers!r}: one of {', '.join(EXTRA_BUFFERS)}")
        self._load: dict[str, Any] = dict(
            extra_buffer_types=EXTRA_BUFFERS[extra_buffers], n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
            n_batch=512, logits_all=False, verbose=False, flash_attn=True)
        # Another engine runs the model's weights itself: llama.cpp then holds only the vocabulary (for the
        # tokenizer and the chat template), so the weights are in memory once; `generate` loads them if asked.
        self._vocab_only = engine != "llamacpp"
        self._llm: Any = llama_model.load(model_path, vocab_only=self._vocab_only, **self._load)
        self.name = scorer_label(model_path.stem, answer=answer, questions=questions, engine=engine,
                                 extra_buffers=extra_buffers)
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise gguf.ModelError(f"{model_path}: the GGUF carries no chat template")
        special = lambda tid: self._llm.detokenize([tid], special=True).decode(errors="replace")  # noqa: E731
        self._format = Jinja2ChatFormatter(template=template, eos_token=special(self._llm.token_eos()),
                                           bos_token=special(self._llm.token_bos()))
        self._digit_ids = {d: self._single_token(d) for d in DIGITS}
        self._point_id = self._single_token(".")
        self._yes_no = {"Yes": self._single_token("Yes"), "No": self._single_token("No")} if answer != "grid" else {}
        self._shared: dict[str, int] = {}
        self._branches: QuestionBatches | None = None  # made on the first yes/no question
        self._evaluated = 0

    @property
    def evaluated(self) -> int:
        """Prompt tokens run through the model so far: where stage 2's time goes."""
        return self._evaluated + (self._branches.evaluated if self._branches else 0)

    @staticmethod
    def name_for(cfg: ScorerConfig) -> str:
        """The name `from_config(cfg)` gives, from the config alone: no model is assembled or loaded."""
        local = cfg.llamacpp
        return scorer_label(gguf.stem_for(cfg.model), answer=cfg.answer, questions=local.questions,
                            engine=resolve_engine(local.engine, local.questions, cfg.answer),
                            extra_buffers=local.extra_buffers)

    @classmethod
    def from_config(cls, cfg: ScorerConfig) -> LlamaCppScorer:
        local = cfg.llamacpp
        return cls(gguf.resolve(cfg.model), n_ctx=local.n_ctx, n_threads=local.n_threads, answer=cfg.answer,
                   questions=local.questions, engine=resolve_engine(local.engine, local.questions, cfg.answer),
                   extra_buffers=local.extra_buffers)

    def _single_token(self, text: str) -> int:
        ids = self._llm.tokenize(text.encode(), add_bos=False, special=False)
        if len(ids) != 1:
            raise gguf.ModelError(f"{self.name}: {text!r} is not one token, so grid probabilities "
                                  "cannot be read; use a scorer backend that generates text")
        return ids[0]

    def prompt_tokens(self, prompt_text: str, system: str = "") -> list[int]:
        """Chat-formatted prompt, with the assistant's answer opened by '[' for grid answers."""
        text = self._format(messages=chat(prompt_text, system)).prompt  # type: ignore[arg-type]  # plain role/content dicts
        text += "[" if self.answer == "grid" else ""
        return self._llm.tokenize(text.encode(), add_bos=True, special=True)

    def shared_prefix(self, prompt: Prompt) -> int:
        """How many leading tokens every description's prompt shares: the rubric's KV state."""
        if prompt.id not in self._shared:
            a, b = (self.prompt_tokens(question_prompts(prompt, t)[0], prompt.system) for t in ("a", "b"))
            self._shared[prompt.id] = _common_prefix([a, b])
        return self._shared[prompt.id]

    def question_tokens(self, prompt: Prompt, text: str) -> tuple[list[list[int]], int]:
        """Each question's prompt about `text`, and how many leading tokens they share (the rubric
        and the description), short of each one's last token so that every question adds one."""
        sequences = [self.prompt_tokens(p, prompt.system) for p in question_prompts(prompt, text)]
        return sequences, min(_common_prefix(sequences), min(len(t) for t in sequences) - 1)

    def _logits_after(self, tokens: list[int], bounds: Sequence[int], *, reuse: bool = True) -> np.ndarray:
        """Logits after `tokens`, evaluated in passes that end at each of `bounds`, then at the end.

        The cache supplies the longest of those passes it already holds (when `reuse`). Splitting at
        the same places whether or not the cache is used makes scores identical in both modes, and
        independent of which description or question came before.
        """
        llm = self._llm
        if len(tokens) > llm.n_ctx():
            raise ValueError(f"prompt of {len(tokens)} tokens exceeds the context of {llm.n_ctx()}")
        cuts = sorted({b for b in bounds if 0 < b < len(tokens)})
        have = 0
        if reuse:
            held = [b for b in cuts if llm.n_tokens >= b and np.array_equal(llm.input_ids[:b], tokens[:b])]
            have = held[-1] if held else 0
        llm.n_tokens = have
        for a, b in itertools.pairwise([have, *(c for c in cuts if c > have), len(tokens)]):
            llm.eval(tokens[a:b])
            self._evaluated += b - a
        ptr = self._llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()

    def distribution(self, prompt: Prompt, text: str) -> tuple[dict[str, float], dict[str, float]]:
        """P('0'), P('1') after '[', and P(digit) after '[0.'."""
        tokens = self.prompt_tokens(prompt.render(text))
        logits = self._logits_after(tokens, [self.shared_prefix(prompt)], reuse=self.reuse_prefix)
        first = softmax_subset(logits, {"0": self._digit_ids["0"], "1": self._digit_ids["1"]})
        cont = [*tokens, self._digit_ids["0"], self._point_id]
        digit = softmax_subset(self._logits_after(cont, [len(tokens)]), self._digit_ids)
        return first, digit

    def yes_probabilities(self, prompt: Prompt, texts: Sequence[str]) -> list[list[float]]:
        """One text after another, each text's questions in one batch (unless `serial`): on a CPU,
        evaluating several descriptions at once costs the same time per token (their prompts are
        already batches of hundreds of tokens), while a question alone is a batch of a few dozen,
        which runs slower."""
        return [self._yes_one(prompt, text) for text in texts]

    def _yes_one(self, prompt: Prompt, text: str) -> list[float]:
        """P(Yes) / (P(Yes) + P(No)) as the first answer token, for each question about `text`.

        Passes end where the rubric ends and where the description ends (the questions' common
        beginning); then every question's own tokens go through the model together, or (`serial`,
        the scorer before the batch) one question after another on the plain context.
        """
        if self.answer == "grid":
            raise ValueError(f"{self.name}: yes/no answers need scorer.answer=yesno or checklist")
        sequences, common = self.question_tokens(prompt, text)
        bounds = [self.shared_prefix(prompt)]
        rows: list[np.ndarray] | np.ndarray  # one logits row per question
        if self.questions == "serial":
            rows = [self._logits_after(t, [*bounds, common], reuse=self.reuse_prefix) for t in sequences]
        else:
            if self._branches is None:
                self._branches = ENGINES[self.engine](self)
            rows = self._branches.logits(sequences[0][:common], bounds, [t[common:] for t in sequences],
                                         reuse=self.reuse_prefix)
        out = []
        for row in rows:
            probs = softmax_subset(row, self._yes_no)
            out.append(probs["Yes"] / (probs["Yes"] + probs["No"]))
        return out

    def generate(self, prompts: Sequence[str], *, max_tokens: int, grammar: str | None = None) -> list[str]:
        """Greedy answers, held to `grammar` (GBNF) when given, so a small model cannot ramble."""
        if self._vocab_only:  # the int8 engine answers questions, not prompts to complete: llama.cpp's turn
            self._llm = llama_model.load(self.model_path, **self._load)
            self._vocab_only = False
        rules = self._llama_cpp.LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
        out = []
        for text in prompts:
            formatted = self._format(messages=[{"role": "user", "content": text}]).prompt
            result = self._llm.create_completion(formatted, max_tokens=max_tokens, temperature=0.0, grammar=rules)
            out.append(result["choices"][0]["text"].strip())
        return out

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        if self.answer != "grid":
            return [self._score_yes_no(r) for r in batch]
        out = []
        for request in batch:
            start = time.perf_counter()
            first, digit = self.distribution(request.prompt, request.text)
            dist = grid_distribution(first, digit)
            written = greedy_value(first, digit)
            out.append(SegmentScore(
                segment_id=request.segment_id,
                score=None if dist is None else round(expected_value(dist), 6),
                written=written,
                raw="" if written is None else f"[{written:.1f}]",
                scorer=self.name, prompt_id=request.prompt.id,
                seconds=time.perf_counter() - start,
            ))
        return out

    def _score_yes_no(self, request: ScoreRequest) -> SegmentScore:
        start = time.perf_counter()
        [[p]] = self.yes_probabilities(request.prompt, [request.text])
        return SegmentScore(segment_id=request.segment_id, score=round(p, 6), written=1.0 if p >= 0.5 else 0.0,
                            raw="Yes" if p >= 0.5 else "No", scorer=self.name, prompt_id=request.prompt.id,
                            seconds=time.perf_counter() - start)


class QuestionBatches(Protocol):
    """Where a description's questions go through the model together (see `BranchingContext.logits`)."""

    evaluated: int

    def logits(self, shared: Sequence[int], bounds: Sequence[int], continuations: Sequence[Sequence[int]],
               *, reuse: bool = True) -> np.ndarray: ...


def _int8(scorer: LlamaCppScorer) -> QuestionBatches:
    from ltvad_search.score.llama.int8 import Int8Transformer

    return Int8Transformer.load(scorer.model_path, n_threads=scorer.n_threads)


# scorer.llamacpp.engine: what runs the batched questions. llamacpp: a context of its own over the loaded model;
# int8: the same GGUF's weights as int8 matrices in torch (gguf_int8), ~2x faster where the CPU has int8
# dot products (x86 VNNI)
ENGINES: dict[str, Callable[[LlamaCppScorer], QuestionBatches]] = {
    "llamacpp": lambda scorer: BranchingContext(scorer._llama_cpp, scorer._llm),
    "int8": _int8,
}
EXTRA_BUFFERS = {"off": False, "on": True}  # scorer.llamacpp.extra_buffers -> llama_model.load's argument
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")  # /proc/cpuinfo names of x86 int8 dot products


def scorer_label(stem: str, *, answer: str, questions: str, engine: str, extra_buffers: str) -> str:
    """A llama.cpp scorer's name: the model, and every setting that changes its answers (so that their
    cached scores and reference answers never mix)."""
    name = f"llamacpp:{stem}"
    if answer == "yesno":
        name += "+yesno"
    if questions == "serial":  # the same answers to float rounding, not to the bit: cached apart
        name += "+serial"
    if engine != "llamacpp":  # other arithmetic, other answers (to a few hundredths): cached apart
        name += f"+{engine}"
    if EXTRA_BUFFERS.get(extra_buffers):  # repacked weights: other kernels, other answers (bench: up to 0.045)
        name += "+repack"
    return name


def resolve_engine(engine: str, questions: str = "batch", answer: str = "checklist",
                   cpu_flags: str | None = None) -> str:
    """`auto`: int8 for batched yes/no questions where the CPU has int8 dot products, else llama.cpp."""
    if engine != "auto":
        return engine
    if not batches_yes_no(questions, answer):
        return "llamacpp"
    if cpu_flags is None:
        cpu_flags = llama_model.cpu_flags()
    return "int8" if set(cpu_flags.split()) & set(INT8_FLAGS) else "llamacpp"


def _common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix all `sequences` share."""
    n = min(len(t) for t in sequences)
    first = sequences[0]
    return next((i for i in range(n) if any(t[i] != first[i] for t in sequences[1:])), n)
