"""Model files and their loaders, shared by the stages and the index: the GGUFs that ship in packages
(found and checked by sha256), llama.cpp loading and its OpenAI-compatible server, the sentence embedder."""
