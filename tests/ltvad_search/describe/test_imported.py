from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltvad_search import prompts
from ltvad_search.describe.base import DescribeRequest
from ltvad_search.describe.imported import ImportedDescriber
from ltvad_search.records import Segment


def _seg(sid: str) -> Segment:
    return Segment(segment_id=sid, clip_id="c", index=0, k=1, start_s=0, end_s=1, sample_times=(0.0,))


def test_reads_descriptions_by_segment_id(tmp_path: Path) -> None:
    f = tmp_path / "gpu_run.jsonl"
    f.write_text(json.dumps({"segment_id": "s1", "text": "A police officer directs traffic.",
                             "describer": "Qwen2.5-VL-7B"}) + "\n\n")
    d = ImportedDescriber(f)
    [out] = d.describe([DescribeRequest(_seg("s1"), None, prompts.load("describe"))])  # type: ignore[arg-type]
    assert out.text == "A police officer directs traffic." and d.name == "import:Qwen2.5-VL-7B"
    with pytest.raises(KeyError, match="s2"):
        d.describe([DescribeRequest(_seg("s2"), None, prompts.load("describe"))])  # type: ignore[arg-type]


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"segment_id": "s1", "text": "ok"}\n{"text": "no id"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        ImportedDescriber(f)
