"""Model adapters that serve both stages, one module per engine: an OpenAI-compatible HTTP server (vLLM,
llama.cpp's), vLLM in process, transformers. Each holds a describer and a scorer over the same client, so
they sit above `describe/` and `score/` and are named by the registries there, imported only when chosen."""
