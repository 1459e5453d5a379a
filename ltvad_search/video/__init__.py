"""Decode: what counts as an input (files, folders, lists, manifests), probing, splitting into K segments,
sampling at 2 fps, and the demo's synthetic clips."""
