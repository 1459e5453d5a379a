"""A tiny real store shared by the indexer tests: five clips of two described segments each."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.catalog import Catalog
from ltvad_search.config import load_settings
from ltvad_search.models.embed import Embedder
from ltvad_search.records import Clip, Description, Label, Segment

TEXTS = {
    "deer": ["A deer runs across the highway at dusk.", "The car keeps its lane on the highway."],
    "cones": ["Orange cones close the right lane at a construction site.", "The car waits at a light."],
    "police": ["A police officer directs traffic at the intersection.", "The car turns right."],
    "snow": ["Snow covers the road and the car slides.", "The car drives slowly on a snowy street."],
    "plain": ["The car drives straight on a sunny road.", "The car stops behind a truck at a red light."],
}


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture()
def store(tmp_path: Path):
    cfg = load_settings(None, [f"store.root={tmp_path}"])
    cat = Catalog(cfg.store.catalog)
    for name, texts in TEXTS.items():
        clip = Clip(clip_id=name, source=f"/v/{name}.mp4", duration_s=4, fps=10, frame_count=40, width=8, height=8,
                    size_bytes=1, container="mp4")
        segs = [Segment(segment_id=f"{name}-{i}", clip_id=name, index=i, k=2, start_s=2.0 * i, end_s=2.0 * i + 2,
                        sample_times=(2.0 * i,)) for i in range(2)]
        cat.add_clip(clip, segs)
        cat.add_descriptions([Description(segment_id=s.segment_id, text=t, describer="d", prompt_id="p", seconds=0)
                              for s, t in zip(segs, texts, strict=True)])
    cat.put_labels([Label(clip_id="deer", label=1, category=7), Label(clip_id="cones", label=1, category=4)])
    yield cfg, cat
    cat.close()
