"""Distillation: LoRA fine-tuning of the small describer on a large teacher's descriptions.

The paper's recipe: descriptions written by a large VLM become supervised pairs (the segment's
sampled frames, the description) and the small describer is fine-tuned with LoRA (rank 64, alpha
64, 2 epochs) on the autoregressive loss of the description tokens only; the prompt and the image
tokens are masked out. The adapter is saved with a manifest naming the base model, a hash of the
training data and every hyperparameter, so a description written by `hf:<base>+<adapter>` can be
traced to what made it. The `hf` and `vllm` describers load base + adapter
(`describer.adapter=<dir>`).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.config import Settings
from ltvad_search.extras import require
from ltvad_search.records import Segment
from ltvad_search.video.decode import VideoError, read_frames

MANIFEST = "ltvad_adapter.json"


class DistillError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Pair:
    """One supervised example: what the student sees (frames + prompt) and what it should write."""

    segment_id: str
    frames: np.ndarray
    text: str


@dataclass(slots=True)
class DistillReport:
    adapter: Path
    pairs: int
    skipped: list[str] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    steps: int = 0
    seconds: float = 0.0


def teacher_texts(catalog: Catalog, teacher: str, k: int) -> dict[str, str]:
    """segment id -> description written by the teacher describer (a key as `ltvad status` lists)."""
    texts = {d.segment_id: d.text for d in catalog.descriptions(teacher, k)}
    if not texts:
        known = ", ".join(catalog.describers()) or "none"
        raise DistillError(f"no descriptions by {teacher!r} at K={k} (describers in the catalog: {known})")
    return texts


def imported_texts(path: Path) -> dict[str, str]:
    """segment id -> text from a JSONL of {"segment_id", "text"} (a teacher run elsewhere)."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["segment_id"])] = str(row["text"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DistillError(f"{path}:{n}: expected {{\"segment_id\", \"text\"}} ({e})") from None
    return out


def pairs(catalog: Catalog, settings: Settings, texts: dict[str, str],
          skipped: list[str] | None = None) -> Iterator[Pair]:
    """Frames sampled exactly as the describer samples them, paired with the teacher's text. A
    segment that is not in the catalog or whose frames will not decode is skipped and named."""
    clips = {c.clip_id: c for c in catalog.clips()}
    for segment_id, text in sorted(texts.items()):
        segment: Segment | None = catalog.segment(segment_id)
        if segment is None or not text:
            if skipped is not None:
                skipped.append(f"{segment_id}: {'not in the catalog' if segment is None else 'empty text'}")
            continue
        clip = clips[segment.clip_id]
        times = segment.sample_times[:: max(1, -(-len(segment.sample_times) // settings.distill.max_frames))]
        try:
            frames = read_frames(clip, times, settings.video.max_side, decoder=settings.video.decoder)
        except (VideoError, OSError, ValueError) as e:
            if skipped is not None:
                skipped.append(f"{clip.source} [{segment.start_s:.1f}-{segment.end_s:.1f} s]: {e}")
            continue
        yield Pair(segment_id=segment_id, frames=frames.pixels, text=text)


def data_hash(examples: Sequence[Pair]) -> str:
    h = hashlib.sha256()
    for p in sorted(examples, key=lambda p: p.segment_id):
        h.update(p.segment_id.encode() + b"\0" + p.text.encode() + b"\0")
        h.update(hashlib.sha256(np.ascontiguousarray(p.frames).tobytes()).digest())
    return h.hexdigest()


def _example(processor: Any, pair: Pair, prompt_text: str, max_frames: int, eos: str) -> Any:
    """Inputs with labels: -100 over the prompt and image tokens, the description's ids after."""
    from ltvad_search.engines.hf import vlm_inputs

    prompt_only = vlm_inputs(processor, pair.frames, prompt_text, max_frames)
    full = vlm_inputs(processor, pair.frames, prompt_text, max_frames, answer=pair.text + eos)
    n = prompt_only["input_ids"].shape[1]
    if full["input_ids"].shape[1] <= n or not bool((full["input_ids"][0, :n] == prompt_only["input_ids"][0]).all()):
        raise DistillError(f"{pair.segment_id}: the description does not tokenize as a continuation of the prompt")
    labels = full["input_ids"].clone()
    labels[0, :n] = -100
    full["labels"] = labels
    return full


def train(examples: Sequence[Pair], settings: Settings, out: Path, *, teacher: str,
          progress: Callable[[int, int, float], None] | None = None) -> DistillReport:
    """LoRA on the student's language model; saves the adapter and its manifest under `out`."""
    torch = require("torch", extra="train", backend="distill")
    transformers = require("transformers", extra="train", backend="distill")
    peft = require("peft", extra="train", backend="distill")
    cfg = settings.distill
    student = cfg.student or settings.describer.model
    if not student:
        raise DistillError("no student model: set distill.student (or describer.model)")
    if not examples:
        raise DistillError("no training pairs")
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    processor = transformers.AutoProcessor.from_pretrained(student)
    base = transformers.AutoModelForImageTextToText.from_pretrained(student)
    lora = peft.LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                           target_modules=cfg.target_modules, task_type="CAUSAL_LM")
    model = peft.get_peft_model(base, lora).to(device)
    model.train()
    prompt = prompts.load(settings.describer.prompt)
    eos = processor.tokenizer.eos_token or ""
    batches = [_example(processor, p, prompt.render(), cfg.max_frames, eos) for p in examples]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)
    report = DistillReport(adapter=out, pairs=len(examples))
    order = list(range(len(batches)))
    rng = random.Random(cfg.seed)
    total = cfg.epochs * len(batches)
    for epoch in range(cfg.epochs):
        rng.shuffle(order)
        losses = []
        for i, j in enumerate(order, 1):
            loss = model(**batches[j].to(device)).loss
            (loss / cfg.grad_accum).backward()
            losses.append(float(loss.detach()))
            if i % cfg.grad_accum == 0 or i == len(order):
                optimizer.step()
                optimizer.zero_grad()
                report.steps += 1
            if progress:
                progress(epoch * len(order) + i, total, losses[-1])
        report.losses.append(float(np.mean(losses)))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    report.seconds = time.perf_counter() - start
    write_manifest(out, {
        "base_model": student, "teacher": teacher, "prompt_id": prompt.id, "pairs": len(examples),
        "data_sha256": data_hash(examples), "hyperparameters": cfg.model_dump(mode="json") | {"student": student},
        "epoch_losses": report.losses, "optimizer_steps": report.steps, "seconds": report.seconds,
        "video": settings.video.model_dump(mode="json"), "created_at": time.time(),
        "versions": _versions()})
    return report


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    tmp.replace(folder / MANIFEST)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DistillError(f"{folder}: no {MANIFEST} (not an adapter made by `ltvad distill`)")
    return json.loads(path.read_text())


def _versions() -> dict[str, str]:
    from ltvad_search.catalog.provenance import package_versions

    return package_versions("ltvad-search", "torch", "transformers", "peft")

