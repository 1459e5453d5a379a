"""What produced a result: installed package versions, recorded on runs and index manifests."""

from __future__ import annotations

import importlib.metadata


def package_versions(*dists: str) -> dict[str, str]:
    """Versions of the named distributions that are installed (absent ones are left out)."""
    out = {}
    for dist in dists:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out
