"""Both roles on transformers, from a hub id or a local path (any image-text-to-text model for
stage 1, any causal LM with a chat template for stage 2).

The scorer reads the grid distribution in one forward pass: the chat prompt followed by "[0." gives
the next-token logits after "[" (first digit) and after "[0." (decimal digit) at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ltvad_search.config import DescriberConfig, ScorerConfig
from ltvad_search.describe.base import DescriberCaps, DescribeRequest
from ltvad_search.extras import require
from ltvad_search.prompts import Prompt
from ltvad_search.records import Description, SegmentScore
from ltvad_search.score.base import ScorerCaps, ScoreRequest, chat, per_text, question_batch
from ltvad_search.score.parsing import DIGITS, expected_value, greedy_value, grid_distribution, softmax_subset


def _device(torch: Any) -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def vlm_inputs(processor: Any, frames: np.ndarray, prompt_text: str, max_frames: int,
               answer: str | None = None) -> Any:
    """Processor inputs for frames + prompt (+ the answer, when training on it). Describing and
    distillation both build inputs here, so the student is trained on exactly what it will see."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames[:max_frames]]
    content = [*({"type": "image"} for _ in images), {"type": "text", "text": prompt_text}]
    messages = [{"role": "user", "content": content}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    if answer is not None:
        text += answer
    return processor(text=[text], images=[images], return_tensors="pt")


class HFDescriber:
    @staticmethod
    def name_for(cfg: DescriberConfig) -> str:
        """The name without loading the model, so a Ray driver can key its work before workers start."""
        return f"hf:{cfg.model}" + (f"+{cfg.adapter.name}" if cfg.adapter else "")

    def __init__(self, cfg: DescriberConfig) -> None:
        torch = require("torch", extra="gpu", backend="hf")
        transformers = require("transformers", extra="gpu", backend="hf")
        if not cfg.model:
            raise ValueError("the hf describer needs describer.model (a hub id or a local path)")
        self.cfg = cfg
        self._torch = torch
        self.device = _device(torch)
        self.processor = transformers.AutoProcessor.from_pretrained(cfg.model)
        model = transformers.AutoModelForImageTextToText.from_pretrained(cfg.model)
        if cfg.adapter is not None:
            peft = require("peft", extra="train", backend="hf")
            model = peft.PeftModel.from_pretrained(model, str(cfg.adapter))
        self.model = model.to(self.device).eval()
        self.name = self.name_for(cfg)
        self.caps = DescriberCaps(video_input=False, max_frames=cfg.max_frames)

    @classmethod
    def from_config(cls, cfg: DescriberConfig) -> HFDescriber:
        return cls(cfg)

    def inputs(self, frames: np.ndarray, prompt_text: str, answer: str | None = None) -> Any:
        return vlm_inputs(self.processor, frames, prompt_text, self.caps.max_frames, answer)

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]:
        out = []
        for request in batch:
            start = time.perf_counter()
            inputs = self.inputs(request.frames.pixels, request.prompt.render()).to(self.device)
            with self._torch.inference_mode():
                generated = self.model.generate(**inputs, max_new_tokens=self.cfg.max_tokens, do_sample=False)
            new = generated[0, inputs["input_ids"].shape[1]:]
            text = self.processor.tokenizer.decode(new, skip_special_tokens=True).strip()
            out.append(Description(segment_id=request.segment.segment_id, text=text, describer=self.name,
                                   prompt_id=request.prompt.id, seconds=time.perf_counter() - start))
        return out


class HFScorer:
    caps = ScorerCaps(logprobs=True, prefix_reuse=False)

    @staticmethod
    def name_for(cfg: ScorerConfig) -> str:
        return f"hf:{cfg.model}"

    def __init__(self, cfg: ScorerConfig) -> None:
        torch = require("torch", extra="gpu", backend="hf")
        transformers = require("transformers", extra="gpu", backend="hf")
        if not cfg.model:
            raise ValueError("the hf scorer needs scorer.model (a hub id or a local path)")
        self._torch = torch
        self.device = _device(torch)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(cfg.model)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(cfg.model).to(self.device).eval()
        self.name = self.name_for(cfg)
        ids = {d: self.tokenizer.encode(d, add_special_tokens=False) for d in [*DIGITS, "."]}
        if any(len(v) != 1 for v in ids.values()):
            raise ValueError(f"{cfg.model}: digits and '.' must be single tokens to read grid probabilities")
        self._digit_ids = {d: ids[d][0] for d in DIGITS}
        self._point = ids["."][0]
        self._yes_no: dict[str, int] = {}  # token ids of "Yes" and "No", read on the first yes/no question

    @classmethod
    def from_config(cls, cfg: ScorerConfig) -> HFScorer:
        return cls(cfg)

    def generate(self, prompts: Sequence[str], *, max_tokens: int, grammar: str | None = None) -> list[str]:
        """Greedy answers; the GBNF grammar is not enforced here (the label parser is strict)."""
        out = []
        for text in prompts:
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                     return_tensors="pt", return_dict=True).to(self.device)
            with self._torch.inference_mode():
                generated = self.model.generate(**ids, max_new_tokens=max_tokens, do_sample=False)
            answer = generated[0, ids["input_ids"].shape[1]:]
            out.append(self.tokenizer.decode(answer, skip_special_tokens=True).strip())
        return out

    def yes_probabilities(self, prompt: Prompt, texts: Sequence[str]) -> list[list[float]]:
        if not self._yes_no:
            for word in ("Yes", "No"):
                ids = self.tokenizer.encode(word, add_special_tokens=False)
                if len(ids) != 1:
                    raise ValueError(f"{self.name}: {word!r} is not one token, so yes/no probabilities cannot be read")
                self._yes_no[word] = ids[0]
        out = []
        for question in question_batch(prompt, texts):
            formatted = self.tokenizer.apply_chat_template(chat(question, prompt.system), add_generation_prompt=True,
                                                           tokenize=False)
            ids = self.tokenizer.encode(formatted, add_special_tokens=False)
            with self._torch.inference_mode():
                logits = self.model(self._torch.tensor([ids], device=self.device)).logits[0, -1].float().cpu().numpy()
            probs = softmax_subset(logits, self._yes_no)
            out.append(probs["Yes"] / (probs["Yes"] + probs["No"]))
        return per_text(prompt, out)

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        out = []
        for request in batch:
            start = time.perf_counter()
            formatted = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": request.prompt.render(request.text)}],
                add_generation_prompt=True, tokenize=False) + "["
            ids = self.tokenizer.encode(formatted, add_special_tokens=False)
            full = [*ids, self._digit_ids["0"], self._point]
            with self._torch.inference_mode():
                logits = self.model(self._torch.tensor([full], device=self.device)).logits[0].float().cpu().numpy()
            first = softmax_subset(logits[len(ids) - 1], {"0": self._digit_ids["0"], "1": self._digit_ids["1"]})
            digit = softmax_subset(logits[len(ids) + 1], self._digit_ids)
            dist = grid_distribution(first, digit)
            written = greedy_value(first, digit)
            out.append(SegmentScore(segment_id=request.segment_id,
                                    score=None if dist is None else round(expected_value(dist), 6),
                                    written=written, raw="" if written is None else f"[{written:.1f}]",
                                    scorer=self.name, prompt_id=request.prompt.id,
                                    seconds=time.perf_counter() - start))
        return out
