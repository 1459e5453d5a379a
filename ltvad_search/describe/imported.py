"""Descriptions produced elsewhere (a GPU run, another tool), read from JSONL by segment id.

Each line is `{"segment_id": ..., "text": ...}` (optionally "describer" and "seconds"). A segment with
no line is a per-item failure, not an empty description.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ltvad_search.config import DescriberConfig
from ltvad_search.describe.base import DescriberCaps, DescribeRequest
from ltvad_search.records import Description


class ImportedDescriber:
    caps = DescriberCaps(needs_frames=False)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._texts: dict[str, tuple[str, float]] = {}
        origin = None
        with self.path.open() as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    self._texts[str(row["segment_id"])] = (str(row["text"]), float(row.get("seconds", 0.0)))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                    raise ValueError(f"{self.path}:{n}: expected {{'segment_id', 'text'}} JSON ({e})") from None
                origin = origin or row.get("describer")
        self.name = f"import:{origin or self.path.stem}"

    @classmethod
    def from_config(cls, cfg: DescriberConfig) -> ImportedDescriber:
        if cfg.import_path is None:
            raise ValueError("describer.backend=import needs describer.import_path=FILE.jsonl")
        return cls(cfg.import_path)

    def describe(self, batch: Sequence[DescribeRequest]) -> list[Description]:
        out = []
        for request in batch:
            sid = request.segment.segment_id
            if sid not in self._texts:
                raise KeyError(f"segment {sid} has no line in {self.path}")
            text, seconds = self._texts[sid]
            out.append(Description(segment_id=sid, text=text, describer=self.name,
                                   prompt_id=request.prompt.id, seconds=seconds))
        return out
