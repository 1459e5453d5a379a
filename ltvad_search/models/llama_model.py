"""The one place this project loads a GGUF into llama.cpp, so that every model it loads is safe on CPUs with AMX.

On Intel CPUs with AMX (Sapphire Rapids and later: `amx_tile`, `amx_int8` in /proc/cpuinfo), a
llama.cpp built from source with `-march=native` repacks the weights into AMX tiles through an
"extra buffer type", and ggml's AMX matrix kernel then crashes (SIGSEGV in
`ggml_backend_amx_mul_mat`) on multi-sequence batches such as the checklist's questions; every
llama.cpp scoring path died the same way there. Loading the model with `use_extra_bufts = False`
keeps the weights in plain CPU buffers, so no AMX kernel is ever reached.

Extra buffer types also carry llama.cpp's CPU repacking (`CPU_REPACK`, e.g. Q4_K as q4_K_8x8). It
is not the fast path for our batches: on a 2-core AVX-512 EPYC the checklist batch ran at 0.255
descriptions/s without extra buffers and 0.178 with them (`bench/bench_questions.py`). So they are
off everywhere by default, which needs no CPU detection (a container may hide /proc/cpuinfo) and
gives every node of a cluster the same arithmetic; `scorer.llamacpp.extra_buffers=on` asks for them where
repacking may win (e.g. ARM), and is refused on a CPU that reports AMX.

`llama_cpp.Llama` builds its model parameters and loads the model in one constructor, with no
argument for this field, so `load` hands it default parameters with the field already set. Nothing
else in the project constructs a `llama_cpp.Llama` (a test walks the sources), and the branch
context and the OpenAI-compatible server (`llama_server`) take their model from here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from ltvad_search.extras import require

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")  # /proc/cpuinfo names of Intel AMX
SETTING = "use_extra_bufts"  # llama_model_params' field: extra buffer types (AMX, CPU repacking)
_LOCK = threading.Lock()  # the default-params hook is process-wide while a model loads


def cpu_flags() -> str:
    """The first 'flags' line of /proc/cpuinfo (Linux); empty elsewhere (no AMX outside Linux x86 servers)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.partition(":")[2] for line in f if line.startswith("flags")), "")
    except OSError:
        return ""


def cpu_has_amx(flags: str | None = None) -> bool:
    """Whether the CPU (or the given /proc/cpuinfo flags) reports Intel AMX, whose ggml kernels crash for us."""
    return bool(set((cpu_flags() if flags is None else flags).split()) & set(AMX_FLAGS))


@contextmanager
def model_params_hook(extra_buffer_types: bool) -> Iterator[None]:
    """While inside, llama.cpp's default model parameters carry `use_extra_bufts=extra_buffer_types`.

    `Llama.__init__` (and llama-cpp-python's server, which calls it) asks for the defaults and then
    loads at once; this is the only point where the field can be set before loading.
    """
    low = require("llama_cpp.llama_cpp", extra="model", backend="llamacpp")
    with _LOCK:
        original = low.llama_model_default_params

        def defaults() -> Any:
            params = original()
            setattr(params, SETTING, extra_buffer_types)
            return params

        low.llama_model_default_params = defaults
        try:
            yield
        finally:
            low.llama_model_default_params = original


def load(model_path: Path, *, extra_buffer_types: bool = False, **settings: Any) -> Any:
    """A `llama_cpp.Llama` for `model_path`, without extra buffer types unless asked (refused on AMX).

    `settings` go to `Llama` as they are. With `vocab_only=True` (a tokenizer and chat template, no
    weights) llama.cpp warns on stderr that the context exceeds a training context of 0, which is
    true and meaningless there, so that load's native output is silenced.
    """
    llama_cpp = require("llama_cpp", extra="model", backend="llamacpp")
    with _native_stderr_silenced() if settings.get("vocab_only") else nullcontext():
        return built(lambda: llama_cpp.Llama(model_path=str(model_path), **settings), model_path,
                     extra_buffer_types=extra_buffer_types)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Standard error to /dev/null while inside: file descriptor 2, where native code writes, and
    `sys.stderr`, where llama-cpp-python's log callback passes llama.cpp's messages on."""
    import contextlib
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def built(build: Callable[[], Any], name: object, *, extra_buffer_types: bool = False) -> Any:
    """The `Llama` that `build` makes (it constructs one, directly or inside a library such as the
    OpenAI-compatible server), loaded with `use_extra_bufts=extra_buffer_types` and checked to be so."""
    if extra_buffer_types and cpu_has_amx():
        raise RuntimeError(f"{SETTING}=True (scorer.llamacpp.extra_buffers=on) is refused on this CPU: it has AMX, and "
                           "ggml's AMX kernels crash on batched questions; use scorer.llamacpp.extra_buffers=off")
    with model_params_hook(extra_buffer_types):
        llm = build()
    if getattr(llm.model_params, SETTING) != extra_buffer_types:
        raise RuntimeError(f"llama.cpp ignored {SETTING}={extra_buffer_types} for {name}: llama-cpp-python "
                           "changed how it builds model parameters, and AMX CPUs would crash")
    return llm


def check(llm: Any) -> None:
    """Refuse a model loaded with extra buffer types on a CPU with AMX: its first batch would crash."""
    if getattr(llm.model_params, SETTING) and cpu_has_amx():
        raise RuntimeError(f"llama.cpp model {getattr(llm, 'model_path', '?')} was loaded with {SETTING}=True on a "
                           "CPU with AMX, where ggml's AMX kernels crash; load it with "
                           "ltvad_search.models.llama_model.load")
