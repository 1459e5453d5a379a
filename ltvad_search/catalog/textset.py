"""Descriptions given as text (JSONL), for scoring and evaluating stage 2 on its own.

Each line is `{"id": ..., "text": ...}`, optionally with `label` (0/1), `category` (1-10) and a
grouping key (`video`) that keeps rows of the same source together when folds are made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TextRow:
    id: str
    text: str
    label: int | None = None
    category: int | None = None
    group: str | None = None
    reason: str | None = None  # why a person gave the label, when the file says


def read_rows(path: str | Path) -> list[TextRow]:
    """Rows of a JSONL file; a bad line is an error naming the file and line number."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    rows, seen = [], set()
    with p.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                row = TextRow(id=str(raw["id"]), text=str(raw["text"]),
                              label=None if raw.get("label") is None else int(raw["label"]),
                              category=None if raw.get("category") is None else int(raw["category"]),
                              group=None if raw.get("video") is None else str(raw["video"]),
                              reason=str(raw["reason"]) if raw.get("reason") else None)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{p}:{n}: expected a JSON object with 'id' and 'text' ({e})") from None
            if row.label not in (None, 0, 1):
                raise ValueError(f"{p}:{n}: label must be 0 or 1, got {row.label}")
            if row.id in seen:
                raise ValueError(f"{p}:{n}: duplicate id {row.id!r}")
            if not row.text.strip():
                raise ValueError(f"{p}:{n}: empty text for id {row.id!r}")
            seen.add(row.id)
            rows.append(row)
    if not rows:
        raise ValueError(f"{p}: no rows")
    return rows
