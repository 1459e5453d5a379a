"""Scorer configurations around a text backend: the checklist (default), sentence units, in-context
examples, the calibrated combination, and the text-keyed score cache in front of any of them."""
