"""The `ltvad` command, one module per group of subcommands.

Only typer is imported at start-up; each subcommand imports what it needs when it runs, so
`ltvad --help` is instant even though the pipeline pulls in torch, OpenCV and llama.cpp.
Importing the command modules registers their commands on the one `app`.
"""

# import order is the order of the panels in `ltvad --help`
from ltvad_search.cli import clips, search, evaluation, dataset, labels, ui  # noqa: F401, I001  (registers commands)
from ltvad_search.cli.common import app

__all__ = ["app"]
