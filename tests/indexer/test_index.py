from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.index import IndexStoreError, VectorIndex


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _index(n: int = 50, kind: str = "flat") -> VectorIndex:
    idx = VectorIndex.empty("model-a", 16, "cpu|describe", kind)  # type: ignore[arg-type]
    idx.add([f"s{i}" for i in range(n)], _unit(n))
    return idx


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_save_load_round_trip(tmp_path: Path, kind: str) -> None:
    idx = _index(kind=kind)
    idx.save(tmp_path / "ix")
    back = VectorIndex.load(tmp_path / "ix", embedding_model="model-a", describer="cpu|describe")
    assert back.ids == idx.ids and np.array_equal(back.vectors, idx.vectors)
    q = _unit(3, seed=9)
    assert back.search(q, 5) == idx.search(q, 5)
    manifest = json.loads(next((tmp_path / "ix").glob("v-*/manifest.json")).read_text())
    assert manifest["count"] == 50 and manifest["dimension"] == 16 and manifest["kind"] == kind
    assert manifest["metric"] == "inner_product" and manifest["normalized"] and "faiss-cpu" in manifest["versions"]


def test_manifest_mismatch_is_refused(tmp_path: Path) -> None:
    _index().save(tmp_path / "ix")
    with pytest.raises(IndexStoreError, match="built with embedding model 'model-a'.*'model-b'"):
        VectorIndex.load(tmp_path / "ix", embedding_model="model-b")
    with pytest.raises(IndexStoreError, match="rebuild"):
        VectorIndex.load(tmp_path / "ix", describer="openai:qwen|describe")
    with pytest.raises(IndexStoreError, match="no index yet"):
        VectorIndex.load(tmp_path / "none")


def test_incremental_add_equals_full_rebuild(tmp_path: Path) -> None:
    vectors = _unit(60)
    ids = [f"s{i}" for i in range(60)]
    step = VectorIndex.empty("m", 16, "d")
    for start in range(0, 60, 17):
        step.add(ids[start: start + 17], vectors[start: start + 17])
        step.save(tmp_path / "ix")
        step = VectorIndex.load(tmp_path / "ix")
    full = VectorIndex.empty("m", 16, "d")
    full.add(ids, vectors)
    q = _unit(5, seed=3)
    assert step.search(q, 10) == full.search(q, 10)


def test_remove_then_search_never_returns_removed(tmp_path: Path) -> None:
    idx = _index()
    assert idx.remove(["s1", "s2", "nope"]) == 2
    hits = {sid for row in idx.search(_unit(20, seed=4), 48) for sid, _ in row}
    assert "s1" not in hits and "s2" not in hits and len(idx) == 48


def test_exact_search_finds_itself_first() -> None:
    idx = _index()
    [[(sid, sim), *_]] = idx.search(idx.vector("s7")[None], 3)
    assert sid == "s7" and sim == pytest.approx(1.0, abs=1e-5)


def test_a_one_thread_search_gives_the_same_hits_and_restores_faiss_threads() -> None:
    import faiss

    idx = _index()
    before = faiss.omp_get_max_threads()
    q = idx.vector("s3")[None]
    assert idx.search(q, 5, one_thread=True) == idx.search(q, 5)
    assert faiss.omp_get_max_threads() == before


def test_ivf_adapts_its_lists_to_small_sets_and_refuses_too_many() -> None:
    small = _index(kind="ivf")  # 50 vectors: one list, which is exact
    assert small.search(small.vector("s3")[None], 1)[0][0][0] == "s3"
    forced = VectorIndex.empty("m", 16, "d", "ivf", {"nlist": 100})
    forced.add([f"s{i}" for i in range(50)], _unit(50))
    with pytest.raises(IndexStoreError, match="needs at least 3900 vectors"):
        forced.search(_unit(1), 3)


def _kill_while_saving(folder: Path, rows: int, *, texts: bool, once_there: str) -> None:
    """Load the index at `folder`, add `rows` rows in a child process and kill it with SIGKILL as
    soon as `once_there` (a glob under `folder`) shows the new version being written."""
    with_texts = ", [f'row {i} text' for i in range(n)]" if texts else ""
    script = (
        "import numpy as np, sys\n"
        "from indexer.index import VectorIndex\n"
        "idx = VectorIndex.load(sys.argv[1])\n"
        f"n = {rows}\n"
        "v = np.random.default_rng(1).normal(size=(n, 16)).astype(np.float32)\n"
        "ids = [f'n{i}' for i in range(n)]\n"
        f"idx.add(ids, v / np.linalg.norm(v, axis=1, keepdims=True){with_texts})\n"
        "print('saving', flush=True)\n"
        "idx.save(sys.argv[1])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[2], text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "saving"
    deadline = time.monotonic() + 60
    while not list(folder.glob(once_there)) and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_a_kill_during_save_leaves_the_previous_index_loadable(tmp_path: Path) -> None:
    _index(50).save(tmp_path / "ix")
    _kill_while_saving(tmp_path / "ix", 400_000, texts=False, once_there="*.partial")
    back = VectorIndex.load(tmp_path / "ix")
    assert len(back) == 50 and back.ids[0] == "s0"  # the old version, whole
    _index(10).save(tmp_path / "ix")  # and the next save cleans up the leftovers
    assert not list((tmp_path / "ix").glob("*.partial")) and len(VectorIndex.load(tmp_path / "ix")) == 10


def _texts(ids: list[str]) -> list[str]:
    return [f"description {i} of a car on a road" for i in ids]


def test_the_lexical_half_travels_with_each_version(tmp_path: Path) -> None:
    idx = VectorIndex.empty("m", 16, "d")
    ids = [f"s{i}" for i in range(30)]
    idx.add(ids, _unit(30), _texts(ids))
    idx.save(tmp_path / "ix")
    back = VectorIndex.load(tmp_path / "ix")
    assert back.lexical_index().ids() == set(ids)
    back.remove(["s0", "s1"])
    back.add(["n0"], _unit(1, seed=5), ["a deer on the road"])
    back.save(tmp_path / "ix")
    again = VectorIndex.load(tmp_path / "ix")
    assert again.lexical_index().ids() == set(again.ids) and again.lexical_index().search("deer", 3)[0][0] == "n0"


def test_an_index_without_texts_says_to_rebuild(tmp_path: Path) -> None:
    _index().save(tmp_path / "ix")  # vectors only (e.g. the scale benchmark's)
    with pytest.raises(IndexStoreError, match="rebuild"):
        VectorIndex.load(tmp_path / "ix").lexical_index()


def test_a_kill_during_save_keeps_dense_and_lexical_in_step(tmp_path: Path) -> None:
    idx = VectorIndex.empty("m", 16, "d")
    ids = [f"s{i}" for i in range(50)]
    idx.add(ids, _unit(50), _texts(ids))
    idx.save(tmp_path / "ix")
    # killed while the lexical half of the new version is being written
    _kill_while_saving(tmp_path / "ix", 200_000, texts=True, once_there="*.partial/lexical.sqlite")
    back = VectorIndex.load(tmp_path / "ix")
    assert len(back) == 50 and back.lexical_index().ids() == set(back.ids)  # the old version, both halves
    back.add(["n0"], _unit(1, seed=2), ["a deer on the road"])  # and the next save (a rebuild) is whole
    back.save(tmp_path / "ix")
    fresh = VectorIndex.load(tmp_path / "ix")
    assert fresh.lexical_index().ids() == set(fresh.ids) and len(fresh) == 51
    assert not list((tmp_path / "ix").glob("*.partial"))
