"""Stage 2's settings: what every backend shares, one section per backend, the named presets, and
the flat names from before the sections (still accepted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from ltvad_search.config.sections import _Section

SCORER_PRESETS: dict[str, dict[str, str]] = {
    # the default: one yes/no question per taxonomy category, each calibrated on routine reference logs, the
    # highest calibrated P(Yes) (ltvad_search/score/scorers/checklist.py); the questions batched, on the int8
    # engine where the CPU has int8 dot products (scorer.llamacpp.engine=auto)
    "checklist": {"prompt": "score_checklist", "units": "description", "answer": "checklist"},
    # the previous default: the same questions, raw P(Yes) (no reference logs), asked one after another on
    # llama.cpp as before the batch, so one bench run can measure the two side by side
    "checklist-v1": {"prompt": "score_checklist_v1", "units": "description", "answer": "checklist",
                     "questions": "serial", "engine": "llamacpp"},
    # the paper's stage 2: its rubric, one score on the 11-point grid per description
    "paper": {"prompt": "score_description", "units": "description", "answer": "grid"},
    "sentences": {"prompt": "score_sentence", "units": "sentences", "answer": "grid"},
    "yesno": {"prompt": "score_sentence_yesno", "units": "sentences", "answer": "yesno"},
    "examples": {"prompt": "score_examples_yesno", "units": "description", "answer": "yesno"},
    # yesno's LLM score combined with two embedding signals; needs examples= and calibration=
    "combined": {"prompt": "score_sentence_yesno", "units": "sentences", "answer": "yesno"},
}


def _answer_for(prompt: str) -> str:
    """The answer form a stage-2 prompt asks for, as the prompt's .toml declares it."""
    from ltvad_search.prompts import answer_form

    answer = answer_form(prompt)
    if answer is None:
        raise ValueError(f"scorer.prompt {prompt!r}: its .toml declares no answer form (answer = \"grid\", "
                         "\"yesno\" or \"checklist\"), so it is not a stage-2 prompt")
    return answer


def batches_yes_no(questions: str, answer: str) -> bool:
    """Whether a llama.cpp scorer with these settings asks yes/no questions in one batch per
    description: the only work the int8 engine does (serial questions and grid answers run on
    llama.cpp's own context). The config, the scorer and `auto` all decide by this."""
    return questions != "serial" and answer != "grid"


class LlamaCppSettings(_Section):
    """`scorer.llamacpp.*`: the local GGUF scorer (the default backend)."""

    n_ctx: int = Field(4096, ge=256, description="Context window.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads for llama.cpp and the int8 engine "
                                  "(default: all).")
    questions: Literal["batch", "serial"] = Field(
        "batch", description="Yes/no answers: 'batch' puts a description's questions through the model together, "
        "'serial' one after another as stage 2 did before (slower, the same answers to float rounding; kept for "
        "side-by-side speed measures).")
    engine: Literal["auto", "llamacpp", "int8"] = Field(
        "auto", description="Batched yes/no questions: what runs them. llamacpp: llama.cpp; int8: the same GGUF "
        "weights as int8 matrices in torch (about 2x faster on x86 CPUs with VNNI; converted once and cached; "
        "answers within a few hundredths of llama.cpp's, cached apart); auto: int8 where the CPU has int8 dot "
        "products, else llamacpp.")
    extra_buffers: Literal["off", "on"] = Field(
        "off", description="llama.cpp's extra weight buffers (CPU repacking, Intel AMX tiles). off: plain buffers "
        "(faster for our batches on AVX-512 x86, and ggml's AMX kernels crash there); on: repacked weights (may "
        "help on other CPUs; other arithmetic, cached apart; refused on CPUs with AMX).")


class OpenAISettings(_Section):
    """`scorer.openai.*`: any OpenAI-compatible server (vLLM's, llama.cpp's)."""

    base_url: str | None = Field(None, description="Server URL, e.g. http://gpu:8000/v1.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    timeout_s: float = Field(120.0, gt=0, description="Per-request timeout.")
    constrain: Literal["off", "choice", "grammar"] = Field(
        "off", description="Constrain answers to the 11 grid strings, by vLLM's structured-output choice or by a "
        "llama.cpp server grammar.")


class VLLMSettings(_Section):
    """`scorer.vllm.*`: vLLM in this process (a GPU box)."""

    max_model_len: int = Field(4096, ge=256, description="Context window.")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per model.")
    constrain: Literal["off", "choice"] = Field(
        "off", description="Constrain answers to the 11 grid strings by structured-output choice.")


# Flat `scorer.KEY` names from before the per-backend sections: still accepted (configs, --set, presets)
# and moved into the section of the backend they concern. n_ctx and constrain concerned two backends.
_LEGACY_SCORER_KEYS: dict[str, tuple[str, str]] = {
    "n_threads": ("llamacpp", "n_threads"), "questions": ("llamacpp", "questions"),
    "engine": ("llamacpp", "engine"), "extra_buffers": ("llamacpp", "extra_buffers"),
    "base_url": ("openai", "base_url"), "api_key_env": ("openai", "api_key_env"),
    "timeout_s": ("openai", "timeout_s"), "tensor_parallel_size": ("vllm", "tensor_parallel_size"),
}


_BACKEND_SECTIONS = ("llamacpp", "openai", "vllm")


def _plain(section: Any) -> dict[str, Any]:
    """A backend section as the fields given for it (a dict, or a model built earlier)."""
    return section.model_dump(exclude_unset=True) if isinstance(section, BaseModel) else dict(section)


def _nest_legacy_keys(data: dict[str, Any]) -> dict[str, Any]:
    """{"n_ctx": 2048, "engine": "int8"} -> {"llamacpp": {"n_ctx": 2048, "engine": "int8"}} (and so on)."""
    out = {k: v for k, v in data.items() if k not in _LEGACY_SCORER_KEYS and k not in ("n_ctx", "constrain")}
    moves = [(_LEGACY_SCORER_KEYS[k], v) for k, v in data.items() if k in _LEGACY_SCORER_KEYS]
    on_vllm = data.get("backend") == "vllm"
    if "n_ctx" in data:
        moves.append((("vllm", "max_model_len") if on_vllm else ("llamacpp", "n_ctx"), data["n_ctx"]))
    if "constrain" in data:
        moves.append((("vllm" if on_vllm else "openai", "constrain"), data["constrain"]))
    for (section, key), value in moves:
        out[section] = {**_plain(out.get(section, {})), key: value}
    return out


class ScorerConfig(_Section):
    """Stage 2: settings every backend shares, then one section per backend (`scorer.llamacpp.n_ctx`)."""

    preset: str | None = Field(None, description=f"Named configuration: {', '.join(SCORER_PRESETS)} "
                               "(sets prompt, units, answer and the like unless given).")
    backend: str = Field("llamacpp", description="Stage-2 backend: llamacpp, openai, vllm, hf.")
    model: str | None = Field(None, description="Model id, GGUF path, or default when unset.")
    prompt: str = Field("score_checklist", description="Stage-2 prompt template id in prompts/.")
    threshold: float = Field(0.5, ge=0, le=1, description="Clip is long-tail when score >= threshold.")
    answer: Literal["checklist", "grid", "yesno"] = Field(
        "checklist", description="checklist: max P(Yes) over the questions of a checklist prompt (score_checklist); "
        "grid: the 11-point grid; yesno (llamacpp): P(Yes) for a yes/no prompt (score_*_yesno). A prompt named "
        "alone brings the form its .toml declares.")
    units: Literal["description", "sentences"] = Field(
        "description", description="Score each description whole, or each sentence and keep the highest.")
    examples: Path | None = Field(
        None, description="JSONL of labelled descriptions (id, text, label; optional video, reason): show "
        "the most similar of each class before every description (needs prompt score_examples_yesno).")
    examples_per_label: int = Field(2, ge=1, description="In-context examples of each class per description.")
    calibration: Path | None = Field(
        None, description="JSON from `ltvad calibrate`: combine the LLM score with embedding evidence and the "
        "labelled neighbours of scorer.examples (preset combined).")
    cache: bool = Field(True, description="Answer a description text already scored under the same scorer and "
                        "prompt from <store.root>/score_cache.sqlite instead of the model.")
    llamacpp: LlamaCppSettings = LlamaCppSettings()
    openai: OpenAISettings = OpenAISettings()
    vllm: VLLMSettings = VLLMSettings()

    @model_validator(mode="before")
    @classmethod
    def _expand_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("preset") is None:
            if "prompt" in data and "answer" not in data:  # a prompt named alone brings its answer form
                data = {**data, "answer": _answer_for(str(data["prompt"]))}
            return _nest_legacy_keys(data)
        preset = SCORER_PRESETS.get(str(data["preset"]))
        if preset is None:
            raise ValueError(f"scorer.preset {data['preset']!r}: unknown (known: {', '.join(SCORER_PRESETS)})")
        base, given = _nest_legacy_keys(dict(preset)), _nest_legacy_keys(data)
        merged = {**base, **given}
        for section in _BACKEND_SECTIONS:  # what was given wins over the preset, field by field
            if section in base and section in given:
                merged[section] = {**base[section], **_plain(given[section])}
        return merged

    @model_validator(mode="after")
    def _int8_batches_yes_no_questions(self) -> ScorerConfig:
        local = self.llamacpp
        if local.engine == "int8" and not batches_yes_no(local.questions, self.answer):
            raise ValueError(f"scorer.llamacpp.engine=int8 batches yes/no questions; with "
                             f"scorer.llamacpp.questions={local.questions} and scorer.answer={self.answer} "
                             "use engine=llamacpp or auto")
        return self

    @model_validator(mode="after")
    def _checklist_needs_its_prompt(self) -> ScorerConfig:
        if (self.answer == "checklist") != (_answer_for(self.prompt) == "checklist"):
            raise ValueError(f"scorer.answer={self.answer} with scorer.prompt={self.prompt}: the checklist answer "
                             "and a checklist prompt (score_checklist) go together; name a preset "
                             f"({', '.join(SCORER_PRESETS)}) to set both")
        return self

    @model_validator(mode="after")
    def _examples_need_their_prompt(self) -> ScorerConfig:
        if self.calibration is not None or self.preset == "combined":
            if self.examples is None:
                raise ValueError("the combined scorer needs scorer.examples (the labelled set it was calibrated "
                                 "with) and scorer.calibration (from `ltvad calibrate`)")
            return self
        if self.examples is not None and not self.prompt.startswith("score_examples"):
            raise ValueError(f"scorer.examples needs an examples prompt (scorer.preset=examples, or "
                             f"scorer.prompt=score_examples_yesno), not {self.prompt!r}")
        return self
