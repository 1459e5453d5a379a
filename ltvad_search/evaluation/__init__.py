"""Evaluation: pure metrics, the paper's table over the catalog, stage 2 alone on labelled text, ablations."""
