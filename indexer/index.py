"""A FAISS index of description vectors, saved as a directory that is replaced atomically.

Layout of the index directory:

    CURRENT                 the name of the live version (replaced with os.replace)
    v-<time>-<pid>/         one complete version
        manifest.json       model, dimension, metric, normalisation, index type, versions, count
        vectors.npy         the vectors (the source of truth: every index type is rebuilt from them)
        ids.json            row -> segment id
        index.faiss         the search structure
        lexical.sqlite      the same rows' text under BM25 (indexer/lexical.py)

A save writes a new version directory and then switches CURRENT, so a crash at any point leaves
the previous version loadable, and the dense and lexical halves never disagree. Exact
inner-product search is the default; HNSW, IVF and IVF-PQ trade a little recall for speed (and
IVF-PQ memory) on large collections.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from indexer import lexical
from ltvad_search.catalog.provenance import package_versions
from ltvad_search.config import Settings
from ltvad_search.models.embed import Embedder

Kind = Literal["flat", "hnsw", "ivf", "ivfpq"]
REBUILD = "rebuild with `ltvad index --rebuild`"


class IndexStoreError(RuntimeError):
    """The index on disk cannot be used as configured; the message says why and what to run."""


@dataclass(frozen=True, slots=True)
class Manifest:
    embedding_model: str
    dimension: int
    kind: Kind
    describer: str
    count: int
    metric: str = "inner_product"
    normalized: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    built_at: float = 0.0
    lexical: bool = False  # every row's text is in lexical.sqlite too
    embedding_path: str | None = None  # an adapted model's folder, relative to the index folder


def _versions() -> dict[str, str]:
    return package_versions("faiss-cpu", "sentence-transformers", "ltvad-search")


def build_faiss(vectors: np.ndarray, kind: Kind, params: dict[str, Any]) -> Any:
    """A FAISS index of the given kind holding `vectors` (rows in order)."""
    import faiss

    dim = vectors.shape[1]
    index: Any  # faiss's index classes share no typed base the stubs know
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(params.get("m", 32)), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(params.get("ef_construction", 80))
        index.hnsw.efSearch = int(params.get("ef_search", 64))
    elif kind in ("ivf", "ivfpq"):
        # about 4 sqrt(n) lists, but never fewer than 39 training points per list
        nlist = int(params.get("nlist") or max(1, min(4096, int(4 * np.sqrt(len(vectors))), len(vectors) // 39)))
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, int(params.get("pq_m", 48)), 8,
                                     faiss.METRIC_INNER_PRODUCT)
        if len(vectors) < nlist * 39:
            raise IndexStoreError(f"{kind} with {nlist} lists needs at least {nlist * 39} vectors to train, "
                                  f"got {len(vectors)}: use kind=flat or hnsw for collections this small")
        rng = np.random.default_rng(0)  # k-means on a sample: training on millions buys little
        sample = vectors if len(vectors) <= nlist * 64 else vectors[rng.choice(len(vectors), nlist * 64, replace=False)]
        index.train(sample)
        index.nprobe = int(params.get("nprobe", 32))
    else:
        raise IndexStoreError(f"unknown index kind {kind!r} (flat, hnsw, ivf, ivfpq)")
    if len(vectors):
        index.add(vectors)
    return index


class VectorIndex:
    """Vectors keyed by segment id, with exact or approximate inner-product search."""

    def __init__(self, manifest: Manifest, ids: list[str], vectors: np.ndarray, faiss_index: Any = None,
                 lexical: Path | None = None) -> None:
        self.manifest = manifest
        self.ids = ids
        self.vectors = vectors
        self._row = {sid: i for i, sid in enumerate(ids)}
        self._faiss = faiss_index  # None until first needed: built from the vectors
        self.lexical_file = lexical  # the loaded version's lexical.sqlite; changes go to the next version
        self._lexical_add: dict[str, str] = {}
        self._lexical_remove: set[str] = set()

    def _structure(self) -> Any:
        if self._faiss is None:
            self._faiss = build_faiss(self.vectors, self.manifest.kind, self.manifest.params)
        return self._faiss

    @classmethod
    def empty(cls, embedding_model: str, dimension: int, describer: str, kind: Kind = "flat",
              params: dict[str, Any] | None = None, embedding_path: str | None = None) -> VectorIndex:
        manifest = Manifest(embedding_model=embedding_model, dimension=dimension, kind=kind, describer=describer,
                            count=0, params=params or {}, lexical=True, embedding_path=embedding_path)
        return cls(manifest, [], np.empty((0, dimension), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, segment_id: str) -> bool:
        return segment_id in self._row

    def vector(self, segment_id: str) -> np.ndarray:
        return self.vectors[self._row[segment_id]]

    def add(self, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str] | None = None) -> None:
        """Append new rows (ids already present are replaced, as after a re-description). With their
        texts they are searchable by words too; without, the index becomes dense-only."""
        if vectors.shape != (len(ids), self.manifest.dimension):
            raise ValueError(f"expected {len(ids)} x {self.manifest.dimension} vectors, got {vectors.shape}")
        if texts is None:
            self.manifest = _replace(self.manifest, lexical=False)
        elif len(texts) != len(ids):
            raise ValueError(f"{len(ids)} rows but {len(texts)} texts")
        else:
            self._lexical_add.update(zip(ids, texts, strict=True))
        replaced = [sid for sid in ids if sid in self._row]
        if replaced:
            self.remove(replaced)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.ids = [*self.ids, *ids]
        self.vectors = np.concatenate([self.vectors, vectors]) if len(self.vectors) else vectors
        self._row = {sid: i for i, sid in enumerate(self.ids)}
        if self._faiss is not None and self.manifest.kind in ("flat", "hnsw"):
            self._faiss.add(vectors)
        else:
            self._faiss = None  # IVF is trained on the whole set: rebuilt when next needed
        self.manifest = _replace(self.manifest, count=len(self.ids))

    def remove(self, ids: Sequence[str]) -> int:
        """Drop segments (their clips were removed); the search structure is rebuilt from the vectors."""
        gone = {sid for sid in ids if sid in self._row}
        if not gone:
            return 0
        self._lexical_remove |= gone
        for sid in gone:
            self._lexical_add.pop(sid, None)
        keep = [i for i, sid in enumerate(self.ids) if sid not in gone]
        self.ids = [self.ids[i] for i in keep]
        self.vectors = self.vectors[keep]
        self._row = {sid: i for i, sid in enumerate(self.ids)}
        self._faiss = None
        self.manifest = _replace(self.manifest, count=len(self.ids))
        return len(gone)

    def search(self, queries: np.ndarray, k: int, *, one_thread: bool = False) -> list[list[tuple[str, float]]]:
        """Top-k (segment id, cosine similarity) per query row, best first.

        `one_thread` keeps FAISS to one core while something else (the BM25 half of a hybrid query)
        uses the other: a one-query exact scan is bound by memory bandwidth, so a second thread
        barely speeds it up (about 60 ms for 376k rows either way here) but slows the neighbour."""
        import faiss

        if len(self.ids) == 0:
            return [[] for _ in range(len(queries))]
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        threads = faiss.omp_get_max_threads()
        if one_thread:
            faiss.omp_set_num_threads(1)
        try:
            sims, rows = self._structure().search(q, min(k, len(self.ids)))
        finally:
            faiss.omp_set_num_threads(threads)
        return [[(self.ids[r], float(s)) for r, s in zip(row, sim, strict=True) if r >= 0]
                for row, sim in zip(rows, sims, strict=True)]

    # -- persistence --------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        import faiss

        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        version = root / f"v-{time.time_ns()}-{os.getpid()}"
        staging = version.with_name(version.name + ".partial")
        staging.mkdir()
        manifest = _replace(self.manifest, count=len(self.ids), versions=_versions(), built_at=time.time())
        np.save(staging / "vectors.npy", self.vectors)
        (staging / "ids.json").write_text(json.dumps(self.ids))
        faiss.write_index(self._structure(), str(staging / "index.faiss"))
        if manifest.lexical:
            self._write_lexical(staging / lexical.FILE)
        (staging / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2))
        for written in staging.iterdir():
            _fsync(written)
        _fsync(staging)
        staging.rename(version)
        pointer = root / "CURRENT.tmp"
        pointer.write_text(version.name)
        _fsync(pointer)
        os.replace(pointer, root / "CURRENT")  # the switch: atomic on POSIX
        _fsync(root)
        self.manifest = manifest
        self.lexical_file = version / lexical.FILE if manifest.lexical else None
        self._lexical_add, self._lexical_remove = {}, set()
        for old in root.iterdir():  # earlier versions and leftovers of crashed saves
            if old.is_dir() and old.name != version.name:
                shutil.rmtree(old, ignore_errors=True)
        return version

    def attach_texts(self, rows: Sequence[tuple[str, str]]) -> None:
        """Give an index built without texts (or before the lexical half existed) the text of every
        row, so the next save writes its lexical half from scratch."""
        texts = dict(rows)
        missing = [r for r in self.ids if r not in texts]
        if missing:
            raise ValueError(f"no text for {len(missing)} indexed rows (e.g. {missing[0]}); {REBUILD}")
        self._lexical_add = {r: texts[r] for r in self.ids}
        self._lexical_remove = set()
        self.lexical_file = None
        self.manifest = _replace(self.manifest, lexical=True)

    def _write_lexical(self, target: Path) -> None:
        """The loaded version's lexical rows with this session's changes, written beside the vectors."""
        table = lexical.LexicalIndex.copy(self.lexical_file, target)
        try:
            table.apply(self._lexical_add.items(), self._lexical_remove)
            if self.lexical_file is None:
                table.optimize()
            if len(table) != len(self.ids):
                raise IndexStoreError(f"the lexical index has {len(table)} rows but the dense one {len(self.ids)}; "
                                      f"{REBUILD}")
        finally:
            table.close()

    def lexical_index(self) -> lexical.LexicalIndex:
        """The lexical half of this version, read-only; an index built without texts says how to rebuild."""
        if not self.manifest.lexical or self.lexical_file is None or not self.lexical_file.exists():
            raise IndexStoreError(f"this index was built without its text (no {lexical.FILE}); {REBUILD}")
        return lexical.LexicalIndex(self.lexical_file, readonly=True)

    @classmethod
    def load(cls, folder: str | Path, *, embedding_model: str | None = None,
             describer: str | None = None) -> VectorIndex:
        import faiss

        root = Path(folder)
        live = live_version(root)
        if live is None:
            raise IndexStoreError(f"{root}: no index yet (run `ltvad index`)")
        version, manifest = live  # from one read of CURRENT: a save switching it meanwhile cannot mix versions
        if embedding_model is not None and manifest.embedding_model != embedding_model:
            raise IndexStoreError(f"{root}: built with embedding model {manifest.embedding_model!r}, but "
                              f"{embedding_model!r} is configured; rebuild with `ltvad index --rebuild` "
                              "or set index.model to match")
        if describer is not None and manifest.describer != describer:
            raise IndexStoreError(f"{root}: holds descriptions by {manifest.describer!r}, not {describer!r}; "
                              "rebuild with `ltvad index --rebuild`")
        ids = json.loads((version / "ids.json").read_text())
        vectors = np.load(version / "vectors.npy")
        if len(ids) != len(vectors) or vectors.shape[1] != manifest.dimension:
            raise IndexStoreError(f"{version}: ids, vectors and manifest disagree; {REBUILD}")
        return cls(manifest, ids, vectors, faiss_index=faiss.read_index(str(version / "index.faiss")),
                   lexical=version / lexical.FILE if manifest.lexical else None)


def live_version(folder: Path) -> tuple[Path, Manifest] | None:
    """The folder CURRENT names and its manifest; None when there is no index yet."""
    pointer = folder / "CURRENT"
    if not pointer.exists():
        return None
    version = folder / pointer.read_text().strip()
    try:
        return version, Manifest(**json.loads((version / "manifest.json").read_text()))
    except (OSError, ValueError, TypeError) as e:
        raise IndexStoreError(f"{version}: unreadable manifest ({e}); {REBUILD}") from None


def manifest_of(folder: Path) -> Manifest | None:
    """The live version's manifest; None when there is no index yet."""
    live = live_version(folder)
    return None if live is None else live[1]


def configured_model(settings: Settings) -> str | None:
    """The embedding model to load: `index.model` when set; otherwise the adapted model's folder the
    index was built with, if it was (so `ltvad index` and every search keep embedding with what
    `ltvad index --adapt` made); otherwise None, the default."""
    if settings.index.model:
        return settings.index.model
    built = manifest_of(settings.store.index)
    if built is None or not built.embedding_path:
        return None
    location = (settings.store.index / built.embedding_path).resolve()
    if not location.is_dir():
        raise IndexStoreError(f"{settings.store.index}: built with the adapted model {built.embedding_model!r}, "
                              f"but its folder {location} is gone; run `ltvad index --adapt` again, or "
                              "`ltvad index --rebuild` with index.model set")
    return str(location)


def configured_embedder(settings: Settings) -> Embedder:
    return Embedder(configured_model(settings))


def relative_location(embedder: Embedder, folder: Path) -> str | None:
    """Where an adapted embedder lives, relative to the index folder (the store moves as one)."""
    return None if embedder.location is None else os.path.relpath(embedder.location, Path(folder).resolve())


def _replace(manifest: Manifest, **changes: Any) -> Manifest:
    return Manifest(**{**asdict(manifest), **changes})


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
