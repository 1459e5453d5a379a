"""Both roles in-process on vLLM, for GPU boxes (`pip install 'ltvad-search[gpu]'`).

Stage 1 defaults to Qwen2.5-VL-7B-Instruct with the sampled frames passed as one video and their
sampling rate (Qwen2.5-VL's temporal encoding is wrong without it); a LoRA adapter from
`ltvad distill` can ride on the base model. Stage 2 defaults to Qwen2.5-72B-Instruct with tensor
parallelism and automatic prefix caching, so the shared rubric is computed once per GPU.
vLLM is imported only when one of these backends is chosen.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ltvad_search.config import DescriberConfig, ScorerConfig
from ltvad_search.describe.base import DescriberCaps, DescribeRequest
from ltvad_search.extras import require
from ltvad_search.prompts import Prompt
from ltvad_search.records import Description, SegmentScore
from ltvad_search.score.base import (
    ScorerCaps,
    ScoreRequest,
    chat,
    per_text,
    question_batch,
    read_yes,
    score_from_text,
)
from ltvad_search.score.parsing import GRID_STRINGS

DEFAULT_DESCRIBER = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_SCORER = "Qwen/Qwen2.5-72B-Instruct"


class VLLMDescriber:
    @staticmethod
    def name_for(cfg: DescriberConfig) -> str:
        """The name without loading the model, so a Ray driver can key its work before workers start."""
        return f"vllm:{cfg.model or DEFAULT_DESCRIBER}" + (f"+{cfg.adapter.name}" if cfg.adapter else "")

    def __init__(self, cfg: DescriberConfig) -> None:
        vllm = require("vllm", extra="gpu", backend="vllm")
        transformers = require("transformers", extra="gpu", backend="vllm")
        self.cfg = cfg
        self.model = cfg.model or DEFAULT_DESCRIBER
        self.name = self.name_for(cfg)
        self.caps = DescriberCaps(video_input=True, max_frames=cfg.max_frames)
        self._llm = vllm.LLM(model=self.model, tensor_parallel_size=cfg.tensor_parallel_size,
                             limit_mm_per_prompt={"video": 1}, enable_prefix_caching=True,
                             enable_lora=cfg.adapter is not None, max_lora_rank=64)
        self._processor = transformers.AutoProcessor.from_pretrained(self.model)
        self._params = vllm.SamplingParams(temperature=0.0, max_tokens=cfg.max_tokens)
        self._lora = None
        if cfg.adapter is not None:
            from vllm.lora.request import LoRARequest

            self._lora = LoRARequest("describer-adapter", 1, str(cfg.adapter))

    @classmethod
    def from_config(cls, cfg: DescriberConfig) -> VLLMDescriber:
        return cls(cfg)

    def _input(self, request: DescribeRequest) -> dict[str, Any]:
        messages = [{"role": "user", "content": [{"type": "video"},
                                                 {"type": "text", "text": request.prompt.render()}]}]
        prompt = self._processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        frames = request.frames.pixels[: self.caps.max_frames]
        return {"prompt": prompt, "multi_modal_data": {"video": frames},
                "mm_processor_kwargs": {"fps": request.frames.fps}}

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]:
        start = time.perf_counter()
        outputs = self._llm.generate([self._input(r) for r in batch], self._params, lora_request=self._lora)
        each = (time.perf_counter() - start) / max(1, len(batch))
        return [Description(segment_id=r.segment.segment_id, text=o.outputs[0].text.strip(), describer=self.name,
                            prompt_id=r.prompt.id, seconds=each) for r, o in zip(batch, outputs, strict=True)]


class VLLMScorer:
    caps = ScorerCaps(logprobs=True, prefix_reuse=True)

    @staticmethod
    def name_for(cfg: ScorerConfig) -> str:
        return f"vllm:{cfg.model or DEFAULT_SCORER}"

    def __init__(self, cfg: ScorerConfig) -> None:
        vllm = require("vllm", extra="gpu", backend="vllm")
        self.cfg = cfg
        self.model = cfg.model or DEFAULT_SCORER
        self.name = self.name_for(cfg)
        self._llm = vllm.LLM(model=self.model, tensor_parallel_size=cfg.vllm.tensor_parallel_size,
                             enable_prefix_caching=True, max_model_len=cfg.vllm.max_model_len)
        kwargs: dict[str, Any] = {"temperature": 0.0, "max_tokens": 8, "logprobs": 20}
        if cfg.vllm.constrain != "off":
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(choice=[f"[{v}]" for v in GRID_STRINGS])
        self._params = vllm.SamplingParams(**kwargs)

    @classmethod
    def from_config(cls, cfg: ScorerConfig) -> VLLMScorer:
        return cls(cfg)

    def generate(self, prompts: Sequence[str], *, max_tokens: int, grammar: str | None = None) -> list[str]:
        """Greedy answers in one batched call; the GBNF grammar is not passed (the parser is strict)."""
        import vllm

        params = vllm.SamplingParams(temperature=0.0, max_tokens=max_tokens)
        outputs = self._llm.chat([[{"role": "user", "content": t}] for t in prompts], params, use_tqdm=False)
        return [o.outputs[0].text.strip() for o in outputs]

    def yes_probabilities(self, prompt: Prompt, texts: Sequence[str]) -> list[list[float]]:
        """Every question of every text in one call: vLLM schedules them as one batch, and prefix
        caching computes the shared system turn once and each description once for its questions."""
        import vllm

        params = vllm.SamplingParams(temperature=0.0, max_tokens=1, logprobs=20)
        conversations = [chat(q, prompt.system) for q in question_batch(prompt, texts)]
        out = []
        for output in self._llm.chat(conversations, params, use_tqdm=False):
            completion = output.outputs[0]
            first = (completion.logprobs or [{}])[0]
            out.append(read_yes(self.name, {alt.decoded_token or "": alt.logprob for alt in first.values()},
                                completion.text))
        return per_text(prompt, out)

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        start = time.perf_counter()
        conversations = [[{"role": "user", "content": r.prompt.render(r.text)}] for r in batch]
        outputs = self._llm.chat(conversations, self._params, use_tqdm=False)
        each = (time.perf_counter() - start) / max(1, len(batch))
        results = []
        for request, output in zip(batch, outputs, strict=True):
            completion = output.outputs[0]
            steps = [(lp[tid].decoded_token or "", {alt.decoded_token or "": alt.logprob for alt in lp.values()})
                     for tid, lp in zip(completion.token_ids, completion.logprobs or [], strict=False)]
            results.append(score_from_text(request, completion.text.strip(), self.name, each, steps))
        return results
