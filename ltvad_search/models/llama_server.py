"""llama-cpp-python's OpenAI-compatible server, with its models loaded as `llama_model.load` loads them.

Run it exactly as `python -m llama_cpp.server` (same flags), but as
`python -m ltvad_search.models.llama_server --model X.gguf --host 127.0.0.1 --port 8000`: the
server then keeps llama.cpp's extra buffer types off, as the scorer does (on CPUs with AMX, ggml's
AMX kernels crash; see `llama_model`). The server builds its `Llama` inside its own model proxy, so the proxy's
loader is wrapped once at start-up; each load prints the setting it used, which the tests read.
"""

from __future__ import annotations

import sys
from typing import Any

from ltvad_search.models import llama_model


def install() -> None:
    """Make the server's model proxy load through the project's rule (idempotent)."""
    from llama_cpp.server.model import LlamaProxy

    original = LlamaProxy.load_llama_from_model_settings
    if getattr(original, "_ltvad_safe", False):
        return

    def load(settings: Any) -> Any:
        llm = llama_model.built(lambda: original(settings), settings.model)
        print(f"ltvad llama_server: {settings.model} loaded with {llama_model.SETTING}="
              f"{getattr(llm.model_params, llama_model.SETTING)}", file=sys.stderr, flush=True)
        return llm

    load._ltvad_safe = True  # type: ignore[attr-defined]
    LlamaProxy.load_llama_from_model_settings = staticmethod(load)  # type: ignore[method-assign]


def main() -> None:
    from llama_cpp.server.__main__ import main as serve

    install()
    serve()


if __name__ == "__main__":
    main()
