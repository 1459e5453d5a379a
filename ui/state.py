"""What every page shares: the settings the UI was started with, the catalog, and the cached heavy
objects (candidate lists, the embedding model, the vector index), loaded once per server.

Settings come from `ltvad ui` (argv) or the LTVAD_SET environment variable (`key=value;key=value`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.index import VectorIndex
    from indexer.search import Searcher
    from ltvad_search.models.embed import Embedder

import argparse
import os
import sys
from pathlib import Path

import streamlit as st

from ltvad_search.catalog import Catalog, StoreError
from ltvad_search.config import Settings, load_settings
from ltvad_search.records import RunKey
from ui import data


@st.cache_resource
def settings_from(argv: tuple[str, ...], env: str) -> Settings:
    parser = argparse.ArgumentParser(prog="ltvad ui")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args, _ = parser.parse_known_args(list(argv))
    return load_settings(args.config, [*args.overrides, *(o for o in env.split(";") if o.strip())])


def cfg() -> Settings:
    return settings_from(tuple(sys.argv[1:]), os.environ.get("LTVAD_SET", ""))


def open_catalog() -> Catalog | None:
    try:
        return Catalog(cfg().store.catalog, readonly=True)
    except StoreError:
        return None


@st.cache_resource(show_spinner=False, max_entries=8)  # shared read-only; not pickled per call
def cached_candidates(catalog_path: str, version: str, keys: RunKey,
                      threshold: float) -> list[data.Candidate]:
    del version  # part of the cache key only: a new run or label invalidates the list
    with Catalog(catalog_path, readonly=True) as catalog:
        return data.candidates(catalog, keys, threshold)


def prewarm(argv: list[str]) -> None:
    """Fill the candidate cache while the server starts, so the first visitor does not wait for the
    query (0.4 s at 10,000 clips). `ltvad ui` calls it in the server process before serving."""
    settings = settings_from(tuple(argv), os.environ.get("LTVAD_SET", ""))
    path = settings.store.catalog
    try:
        with Catalog(path, readonly=True) as catalog:
            keys = data.run_keys(catalog)
    except StoreError:
        return
    if keys is not None:
        cached_candidates(str(path), data.data_version(path), keys, float(settings.scorer.threshold))


def candidates(keys: RunKey, threshold: float) -> list[data.Candidate]:
    """The ranked list for the current catalog state (recomputed only when the catalog changes)."""
    catalog = cfg().store.catalog
    return cached_candidates(str(catalog), data.data_version(catalog), keys, threshold)


@st.cache_resource(show_spinner="Loading the embedding model...")
def embedder(model: str | None) -> Embedder:
    from ltvad_search.models.embed import Embedder

    return Embedder(model)


@st.cache_resource(show_spinner=False, max_entries=2)
def vector_index(folder: str, version: str, model: str, describer: str) -> VectorIndex:
    from indexer.index import VectorIndex

    del version
    return VectorIndex.load(folder, embedding_model=model, describer=describer)


def searcher(catalog: Catalog, keys: RunKey) -> Searcher | None:
    from indexer.index import IndexStoreError, configured_model
    from indexer.search import Searcher

    s = cfg()
    current = s.store.index / "CURRENT"
    if not current.exists():
        st.info("No search index yet. Run `ltvad index` to build it.")
        return None
    try:
        model = embedder(configured_model(s))  # index.model, or the adapted model the index names
        index = vector_index(str(s.store.index), current.read_text(), model.name, keys.describer)
    except (IndexStoreError, ValueError) as e:  # ValueError: an adapted model whose weights changed
        st.error(str(e))
        return None
    return Searcher(catalog, s, keys.describer, keys.scorer, embedder=model, index=index)


def needs_run() -> tuple[Catalog, RunKey] | None:
    """The catalog and the latest run, or a message saying which command to run first."""
    catalog = open_catalog()
    if catalog is None:
        st.info(f"No catalog at `{cfg().store.catalog}` yet. Run `ltvad ingest PATH` and then `ltvad run` "
                "(or `make demo`).")
        return None
    keys = data.run_keys(catalog)
    if keys is None:
        counts = catalog.counts()
        st.info(f"{counts['clips']} clips ingested but no finished run yet. Run `ltvad run`.")
        return None
    return catalog, keys
