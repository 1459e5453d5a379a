"""Run `ltvad` in-process against a store, with the small test model as scorer."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ltvad_search.cli import app

runner = CliRunner()
SMALL = ["--set", "scorer.model=smollm2-135m", "--set", "scorer.n_ctx=2048"]


def ltvad(store: Path, *args: str) -> str:
    """Output of a successful command (a failure shows its output in the assertion)."""
    result = runner.invoke(app, ["--set", f"store.root={store}", *SMALL, *args])
    assert result.exit_code == 0, result.output
    return result.output
