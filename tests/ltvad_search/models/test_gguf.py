from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.models import gguf


def test_packaged_test_model_is_verified(smollm2: Path) -> None:
    assert smollm2.stat().st_size == gguf.SMOLLM2_135M.size


def test_a_corrupted_model_is_refused(tmp_path: Path, smollm2: Path) -> None:
    bad = tmp_path / gguf.SMOLLM2_135M.name
    data = bytearray(smollm2.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(gguf.ModelError, match="does not match the pinned"):
        gguf._verified(bad, gguf.SMOLLM2_135M)
    short = tmp_path / "short.gguf"
    short.write_bytes(b"GGUF")
    with pytest.raises(gguf.ModelError, match="bytes, expected"):
        gguf._verified(short, gguf.SMOLLM2_135M)


def test_resolve_names_paths_and_errors(smollm2: Path) -> None:
    assert gguf.resolve("smollm2-135m") == smollm2
    assert gguf.resolve(str(smollm2)) == smollm2
    with pytest.raises(gguf.ModelError, match="no such file"):
        gguf.resolve("/nope/model.gguf")


@pytest.mark.slow
def test_default_model_assembles_and_matches_the_official_hash(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LTVAD_CACHE", str(tmp_path))
    path = gguf.qwen_coder_1_5b()
    assert path.parent == tmp_path and gguf.sha256_of(path) == gguf.QWEN_CODER_1_5B.sha256
