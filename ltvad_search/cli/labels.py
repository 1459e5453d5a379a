"""`ltvad labels import|export`: human labels into the catalog, and a labelled set out of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ltvad_search.cli.common import labels_app, open_catalog, settings


@labels_app.command("import")
def labels_import(
    file: Annotated[Path, typer.Argument(help="CSV (clip,label[,category]) or JSONL with the same keys.")],
) -> None:
    """Store labels; the whole file is checked first and nothing lands unless all of it is valid."""
    from ltvad_search.evaluation.evaluate import LabelError, read_labels

    cfg = settings()
    with open_catalog(cfg) as catalog:
        try:
            labels = read_labels(file, catalog)
        except LabelError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
        catalog.put_labels(labels)
    positives = sum(lb.label for lb in labels)
    typer.echo(f"imported {len(labels)} labels ({positives} long-tail, {len(labels) - positives} routine)")


@labels_app.command("export")
def labels_export(
    out: Annotated[Path, typer.Argument(help="Where to write: .csv or .jsonl (what `labels import` reads).")],
    balanced: Annotated[bool, typer.Option(help="As many routine as long-tail clips (sampled with label.seed).")]
    = True,
) -> None:
    """Write the human-reviewed labels as a labelled set."""
    from ltvad_search.dataset import labeling

    cfg = settings()
    with open_catalog(cfg, readonly=True) as catalog:
        labels = catalog.labels("human")
    chosen = labeling.balanced(labels, cfg.label.seed) if balanced else labels
    if not chosen:
        typer.secho("no human labels to export" + (" with both classes present" if labels else "")
                    + ": review pseudo-labels with `ltvad review` or import labels first", fg="red", err=True)
        raise typer.Exit(2)
    labeling.write_labels(out, chosen)
    positives = sum(lab.label for lab in chosen)
    typer.echo(f"exported {len(chosen)} labels ({positives} long-tail, {len(chosen) - positives} routine) to {out}")
