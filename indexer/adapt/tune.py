"""Fine-tune the sentence embedder on (generated query, description) pairs and save it, versioned.

The loss is sentence-transformers' MultipleNegativesRankingLoss: each query should sit nearer its own
description than every other description in the batch. With `hard_negatives`, each pair also brings
the description BM25 ranks highest for that query among the others (words shared, scene not), the
case in-batch negatives rarely supply. The loop is plain torch: sentence-transformers' trainer needs
the `datasets` package and its machinery for what is a few hundred steps on a laptop.

The saved folder is the sentence-transformers model plus `adapted.json` (base model, the sha256 of
the weights, what it was trained on). Its name carries the hash, so an index built with one
adaptation is refused by any other model, adapted or not (indexer/index.py).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ltvad_search.config import AdaptConfig
from ltvad_search.models import embed

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

@dataclass(frozen=True, slots=True)
class Pair:
    query: str
    passage: str
    negative: str | None = None


@dataclass(frozen=True, slots=True)
class AdaptedModel:
    name: str  # "<base>+adapted-<sha256[:12]>": what the index's manifest records
    path: Path
    sha256: str
    base: str
    pairs: int
    seconds: float


def pairs_from(queries: Mapping[str, Sequence[str]], negatives: Mapping[str, str] | None = None) -> list[Pair]:
    """One pair per (query, the description it was written for); `negatives` maps a query to its hard
    negative description."""
    negatives = negatives or {}
    return [Pair(q, text, negatives.get(q)) for text, qs in queries.items() for q in qs]


def bm25_negatives(queries: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """For each query, the highest-ranked other description under BM25 over the same texts."""
    from indexer.lexical import LexicalIndex

    texts = list(queries)
    out: dict[str, str] = {}
    table = LexicalIndex.in_memory()
    try:
        table.apply([(str(i), t) for i, t in enumerate(texts)], set())
        for text in texts:
            for q in queries[text]:
                other = next((texts[int(r)] for r, _ in table.search(q, 3) if texts[int(r)] != text), None)
                if other is not None:
                    out[q] = other
    finally:
        table.close()
    return out


def fine_tune(base: str, pairs: Sequence[Pair], settings: AdaptConfig, *,
              progress: Callable[[int, int], None] | None = None) -> SentenceTransformer:
    """The base embedder trained on `pairs` in shuffled batches; deterministic for a given seed."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if not pairs:
        raise ValueError("no (query, description) pairs to train on: were any queries generated?")
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    model = embed.load_sentence_transformer(base)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    order = list(pairs)
    steps = settings.epochs * -(-len(order) // settings.batch_size)
    done = 0
    model.train()
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for start in range(0, len(order), settings.batch_size):
            batch = _one_per_passage(order[start: start + settings.batch_size])
            columns = [[p.query for p in batch], [p.passage for p in batch]]
            if settings.hard_negatives and all(p.negative for p in batch):
                columns.append([p.negative or "" for p in batch])
            value = loss([model.preprocess(c) for c in columns], None)
            value.backward()
            optimizer.step()
            optimizer.zero_grad()
            done += 1
            if progress:
                progress(done, steps)
    model.eval()
    return model


def _one_per_passage(batch: Sequence[Pair]) -> list[Pair]:
    """A description's other queries in the same batch would be counted as its negatives: keep one."""
    kept: dict[str, Pair] = {}
    for pair in batch:
        kept.setdefault(pair.passage, pair)
    return list(kept.values())


def save_adapted(model: SentenceTransformer, folder: Path, *, base: str, pairs: int, seconds: float,
                 trained_on: Mapping[str, object]) -> AdaptedModel:
    """Write the model as `<folder>/<base>+adapted-<hash>/`, atomically (a staging folder renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".staging-{time.time_ns()}"
    model.save(str(staging))
    sha = embed.weights_sha256(staging)
    name = f"{Path(base).name}+adapted-{sha[:12]}"
    adapted = AdaptedModel(name=name, path=folder / name, sha256=sha, base=base, pairs=pairs, seconds=seconds)
    info = {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(adapted).items() if k != "path"},
            "trained_on": dict(trained_on), "created_at": time.time()}
    (staging / embed.ADAPTED_INFO).write_text(json.dumps(info, indent=2))
    if adapted.path.exists():  # the same weights again (same queries, same seed): keep the first copy
        shutil.rmtree(staging)
    else:
        staging.rename(adapted.path)
    return adapted
