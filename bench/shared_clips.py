"""The clip table in ../shared/data/README.md, read rather than copied, so the tests follow the data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ROW = re.compile(r"^\|\s*(?P<file>[^|\s]+\.\w+)\s*\|\s*(?P<label>[01]),(?P<what>[^|]*)\|")
_FPS_DURATION = re.compile(r"(?P<fps>\d+(?:\.\d+)?) fps (?P<duration>\d+(?:\.\d+)?) s\b")


@dataclass(frozen=True)
class SharedClip:
    file: str
    label: int
    fps: float
    duration_s: float


def read_clip_table(readme: Path) -> list[SharedClip]:
    """Every row of the README's clips table; a row without 'N fps N s' is a broken table, not a skip."""
    rows = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        row = _ROW.match(line)
        if row is None:
            continue
        figures = _FPS_DURATION.search(row["what"])
        if figures is None:
            raise ValueError(f"{readme}: no 'N fps N s' in the row for {row['file']}")
        rows.append(SharedClip(row["file"], int(row["label"]), float(figures["fps"]), float(figures["duration"])))
    return rows
