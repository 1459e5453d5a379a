"""Both roles over any OpenAI-compatible HTTP server: `vllm serve`, llama.cpp's server, a gateway.

Frames travel as JPEG data URLs: as separate image parts (any vision server), or as one video part
with its sampling rate (`describer.frames_as=video`, what vLLM serves Qwen2.5-VL with; Qwen2.5-VL
gets its timing wrong unless fps comes with the frames). Transient errors (refused connections, 5xx,
timeouts) are retried with exponential backoff by the client; what still fails is raised for the
pipeline to record against the item.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

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

GRID_GRAMMAR = 'root ::= "[" ("0." [0-9] | "1.0") "]"'
IN_FLIGHT = 64  # concurrent yes/no requests: enough to fill a vLLM server's batch, few enough for one client


def _client(base_url: str | None, api_key_env: str, timeout: float, retries: int) -> Any:
    openai = require("openai", extra="serve", backend="openai")
    if not base_url:
        raise ValueError("the openai backend needs a server URL: --set describer.base_url=URL (stage 1) or "
                         "--set scorer.openai.base_url=URL (stage 2), e.g. http://127.0.0.1:8000/v1")
    return openai.OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env, "EMPTY"),
                         timeout=timeout, max_retries=retries)


def _served_model(client: Any, model: str | None) -> str:
    """The configured model, or the server's only/first model when none is configured."""
    if model:
        return model
    models = client.models.list().data
    if not models:
        raise ValueError("the server lists no models; set the model name")
    return models[0].id


def jpeg_data_url(frame: np.ndarray, quality: int = 85) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()


def _even_subset(n: int, k: int) -> list[int]:
    """k indices spread evenly over n frames (all of them when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]


class OpenAIDescriber:
    def __init__(self, cfg: DescriberConfig) -> None:
        self.cfg = cfg
        self._client = _client(cfg.base_url, cfg.api_key_env, cfg.timeout_s, 3)
        self.model = _served_model(self._client, cfg.model)
        self.name = f"openai:{self.model}"
        self.caps = DescriberCaps(video_input=cfg.frames_as == "video", max_frames=cfg.max_frames)

    @classmethod
    def from_config(cls, cfg: DescriberConfig) -> OpenAIDescriber:
        return cls(cfg)

    def content(self, request: DescribeRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The user message parts and any server-specific extras for one segment."""
        frames = request.frames
        keep = _even_subset(len(frames.pixels), self.caps.max_frames)
        urls = [jpeg_data_url(frames.pixels[i]) for i in keep]
        text = {"type": "text", "text": request.prompt.render()}
        if self.caps.video_input:
            payload = ",".join(u.split(",", 1)[1] for u in urls)
            fps = frames.fps * len(keep) / max(1, len(frames.pixels))
            video = {"type": "video_url", "video_url": {"url": f"data:video/jpeg;base64,{payload}"}}
            return [video, text], {"mm_processor_kwargs": {"fps": fps, "do_sample_frames": False}}
        return [*({"type": "image_url", "image_url": {"url": u}} for u in urls), text], {}

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]:
        out = []
        for request in batch:
            start = time.perf_counter()
            parts, extra = self.content(request)
            response = self._client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": parts}],
                max_tokens=self.cfg.max_tokens, temperature=0.0, extra_body=extra or None,
            )
            text = (response.choices[0].message.content or "").strip()
            if not text:
                raise ValueError(f"{self.name} returned an empty description")
            out.append(Description(segment_id=request.segment.segment_id, text=text, describer=self.name,
                                   prompt_id=request.prompt.id, seconds=time.perf_counter() - start))
        return out


class OpenAIScorer:
    """Reads the grid distribution from `top_logprobs` where the server returns them; otherwise
    the written answer is the score. `scorer.openai.constrain` keeps the answer on the grid."""

    def __init__(self, cfg: ScorerConfig, retries: int = 3) -> None:
        self.cfg = cfg
        self._client = _client(cfg.openai.base_url, cfg.openai.api_key_env, cfg.openai.timeout_s, retries)
        self.model = _served_model(self._client, cfg.model)
        self.name = f"openai:{self.model}"
        self._logprobs = True
        self._pool: ThreadPoolExecutor | None = None
        self.caps = ScorerCaps(logprobs=True, prefix_reuse=True)

    @classmethod
    def from_config(cls, cfg: ScorerConfig) -> OpenAIScorer:
        return cls(cfg)

    def _ask(self, prompt_text: str) -> Any:
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": 8, "temperature": 0.0,
                                  "messages": [{"role": "user", "content": prompt_text}]}
        if self.cfg.openai.constrain == "choice":
            kwargs["extra_body"] = {"structured_outputs": {"choice": [f"[{v}]" for v in GRID_STRINGS]}}
        elif self.cfg.openai.constrain == "grammar":
            kwargs["extra_body"] = {"grammar": GRID_GRAMMAR}
        if self._logprobs:
            try:
                return self._client.chat.completions.create(logprobs=True, top_logprobs=20, **kwargs)
            except openai.BadRequestError:
                self._logprobs = False  # this server cannot return them: written scores from now on
                self.caps = ScorerCaps(logprobs=False, prefix_reuse=True)
        return self._client.chat.completions.create(**kwargs)

    def generate(self, prompts: Sequence[str], *, max_tokens: int, grammar: str | None = None) -> list[str]:
        """Greedy answers; the grammar is sent only to servers that take one (scorer.openai.constrain=grammar)."""
        extra = {"extra_body": {"grammar": grammar}} if grammar and self.cfg.openai.constrain == "grammar" else {}
        out = []
        for text in prompts:
            response = self._client.chat.completions.create(
                model=self.model, max_tokens=max_tokens, temperature=0.0,
                messages=[{"role": "user", "content": text}], **extra)
            out.append((response.choices[0].message.content or "").strip())
        return out

    def _yes_share(self, messages: list[dict[str, str]]) -> float:
        response = self._client.chat.completions.create(
            model=self.model, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=20,
            messages=messages)
        choice = response.choices[0]
        content = choice.logprobs.content if choice.logprobs else None
        if not content:
            raise ValueError(f"{self.name}: the server returned no log-probs; yes/no answers need them")
        return read_yes(self.name, {a.token: a.logprob for a in content[0].top_logprobs or []},
                        choice.message.content or "")

    def yes_probabilities(self, prompt: Prompt, texts: Sequence[str]) -> list[list[float]]:
        """Every question of every text in flight at once (up to `IN_FLIGHT` requests): a batching
        server (vLLM) answers them together, computing each shared prefix once with its cache."""
        questions = [chat(q, prompt.system) for q in question_batch(prompt, texts)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="ltvad-yesno")
        return per_text(prompt, list(self._pool.map(self._yes_share, questions)))

    def score(self, batch: Sequence[ScoreRequest]) -> list[SegmentScore]:
        out = []
        for request in batch:
            start = time.perf_counter()
            response = self._ask(request.prompt.render(request.text))
            choice = response.choices[0]
            steps = [(t.token, {a.token: a.logprob for a in (t.top_logprobs or [])})
                     for t in (choice.logprobs.content or [])] if choice.logprobs else []
            out.append(score_from_text(request, (choice.message.content or "").strip(), self.name,
                                       time.perf_counter() - start, steps))
        return out
