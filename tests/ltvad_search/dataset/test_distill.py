"""Distillation on CPU: a tiny random-weight LLaVA built in a fixture learns a teacher's
descriptions with LoRA; the loss falls and the saved adapter loads back into the hf describer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltvad_search import prompts
from ltvad_search.catalog import Catalog
from ltvad_search.config import DescriberConfig, load_settings
from ltvad_search.dataset import distill
from ltvad_search.describe.base import DescribeRequest
from ltvad_search.engines.hf import HFDescriber
from ltvad_search.run.ingest import ingest
from ltvad_search.video.decode import read_frames

pytest.importorskip("peft")

TEACHER = ["the car brakes as a pedestrian crosses the road", "police cones close the lane on the highway",
           "snow and fog on the road at night", "a deer crosses the lane ahead of the car",
           "the truck stops in the lane", "a cyclist crosses at the red light"]


@pytest.fixture()
def store(demo_clips: dict[str, Path], tmp_path: Path):
    settings = load_settings(None, [f"store.root={tmp_path / 'store'}"])
    with Catalog(settings.store.catalog) as cat:
        ingest([next(iter(demo_clips.values())).parent], cat, settings.video)
        segments = cat.segments(k=2)
    teacher = tmp_path / "teacher.jsonl"
    teacher.write_text("".join(json.dumps({"segment_id": s.segment_id, "text": t}) + "\n"
                               for s, t in zip(segments, TEACHER, strict=True)))
    return settings, teacher


def test_lora_distillation_lowers_the_loss_and_the_adapter_round_trips(store, tiny_vlm: Path, tmp_path: Path) -> None:
    settings, teacher = store
    # A random model's final norm caps its logits near zero; LoRA on lm_head too lets it learn in seconds.
    cfg = settings.model_copy(update={"distill": settings.distill.model_copy(update={
        "student": str(tiny_vlm), "learning_rate": 2e-2, "grad_accum": 1, "max_frames": 4, "epochs": 3,
        "target_modules": f"({settings.distill.target_modules})|lm_head"})})
    with Catalog(cfg.store.catalog, readonly=True) as cat:
        skipped: list[str] = []
        examples = list(distill.pairs(cat, cfg, {**distill.imported_texts(teacher), "no-such-segment": "x"}, skipped))
    assert len(examples) == 6 and skipped == ["no-such-segment: not in the catalog"]
    assert all(1 <= len(p.frames) <= 4 for p in examples)

    out = tmp_path / "adapter"
    report = distill.train(examples, cfg, out, teacher="import:teacher.jsonl")
    assert len(report.losses) == 3 and report.losses[-1] < 0.8 * report.losses[0], report.losses
    manifest = distill.read_manifest(out)
    assert manifest["base_model"] == str(tiny_vlm) and manifest["pairs"] == 6
    assert manifest["hyperparameters"]["rank"] == 64 and manifest["hyperparameters"]["alpha"] == 64
    assert manifest["data_sha256"] == distill.data_hash(examples)
    assert (out / "adapter_config.json").is_file()

    # base + adapter through the describer the pipeline uses: the adapter is what was learned
    tuned = HFDescriber(DescriberConfig(backend="hf", model=str(tiny_vlm), adapter=out, max_tokens=6))
    plain = HFDescriber(DescriberConfig(backend="hf", model=str(tiny_vlm), max_tokens=6))
    assert tuned.name == f"hf:{tiny_vlm}+adapter"
    prompt = prompts.load(cfg.describer.prompt)

    def loss(describer: HFDescriber) -> float:
        import torch

        batch = distill._example(describer.processor, examples[0], prompt.render(), 4,
                                 describer.processor.tokenizer.eos_token)
        with torch.inference_mode():
            return float(describer.model(**batch).loss)

    assert loss(tuned) < 0.9 * loss(plain)
    with Catalog(cfg.store.catalog, readonly=True) as cat:
        segment = cat.segment(examples[0].segment_id)
        clip = cat.clip(segment.clip_id)
    frames = read_frames(clip, segment.sample_times[:4], cfg.video.max_side)
    [description] = tuned.describe([DescribeRequest(segment=segment, frames=frames, prompt=prompt)])
    # the text of a random-weight model is noise (and may be empty: it learned to end with EOS)
    assert description.describer == tuned.name and description.segment_id == segment.segment_id


def test_teacher_descriptions_missing_from_the_catalog_are_a_clear_error(store) -> None:
    settings, _ = store
    with Catalog(settings.store.catalog, readonly=True) as cat, \
            pytest.raises(distill.DistillError, match="no descriptions by 'vllm:big'"):
        distill.teacher_texts(cat, "vllm:big", 2)


def test_a_malformed_teacher_file_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text('{"segment_id": "a", "text": "ok"}\n{"text": "no id"}\n')
    with pytest.raises(distill.DistillError, match="t.jsonl:2"):
        distill.imported_texts(f)


def test_distill_command_writes_an_adapter_the_hf_describer_names(store, tiny_vlm: Path, tmp_path: Path) -> None:
    from cli_helpers import ltvad

    settings, teacher = store
    out = ltvad(settings.store.root, "--set", "distill.rank=4", "--set", "distill.alpha=4", "--set", "distill.epochs=1",
                "--set", "distill.max_frames=2", "distill", str(tmp_path / "lora"), "--teacher-jsonl", str(teacher),
                "--student", str(tiny_vlm))
    assert "adapter in" in out and "6 pairs from import:teacher.jsonl" in out
    assert distill.read_manifest(tmp_path / "lora")["hyperparameters"]["rank"] == 4
