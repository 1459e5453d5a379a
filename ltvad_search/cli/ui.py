"""`ltvad ui`: the Streamlit app on the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ltvad_search.cli.common import app, state

PANEL = "UI"


@app.command(rich_help_panel=PANEL)
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Start the Streamlit UI on the embedded store."""
    import os
    import sys

    app_path = Path(__file__).resolve().parents[2] / "ui" / "app.py"
    args = [f"--set={o}" for o in state.overrides] + ([f"--config={state.config}"] if state.config else [])
    # ui.serve imports the pages and runs the candidate query before serving, so the first visitor
    # waits for neither, and turns Nagle's algorithm off on Streamlit's connections (see its docstring).
    cmd = [sys.executable, "-m", "ui.serve", "run", str(app_path), "--server.address", host,
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "viewer",
           "--server.fileWatcherType", "none",  # users run the app, they do not edit it: no polling
           "--", *args]
    # the server takes this process's place (same PID): stopping `ltvad ui` (a supervisor's or a test's
    # SIGTERM) stops the server; as a child process it was left running, holding its port
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(cmd[0], cmd)
