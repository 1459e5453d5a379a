from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.catalog import Catalog, shards
from ltvad_search.records import Clip, Description, Failure, SegmentScore, to_json
from ltvad_search.video.decode import split

pytest.importorskip("pyarrow")

CLIP = Clip(clip_id="c1", source="/data/a.mp4", duration_s=10.0, fps=30.0, frame_count=300, width=640,
            height=360, size_bytes=1000, container="mp4")
SEGMENTS = split(CLIP, 2, 2.0)


def _row(i: int, *, described: bool = True, scored: bool = True, failure: str = "") -> dict:
    seg = SEGMENTS[i]
    d = Description(segment_id=seg.segment_id, text=f"segment {i}", describer="cpu|d@1", prompt_id="d@1", seconds=0.1)
    s = SegmentScore(segment_id=seg.segment_id, score=0.3 + i / 10, written=0.3, raw="[0.3]", scorer="x|s@1",
                     prompt_id="s@1", seconds=0.2)
    return {"segment_id": seg.segment_id, "clip_id": CLIP.clip_id, "source": CLIP.source, "clip": to_json(CLIP),
            "segment": to_json(seg), "describer": "cpu|d@1", "description": to_json(d) if described else "",
            "score": to_json(s) if scored else "", "failure": failure, "retried": 0, "decode_s": 0.0,
            "describe_s": 0.1, "score_s": 0.2}


def test_a_shard_round_trips_and_merges_once(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    path = shards.write_shard(folder, [_row(0), _row(1)])
    assert shards.write_shard(folder, [_row(1), _row(0)]) == path  # named by what it holds, not by order
    assert {r["segment_id"] for r in shards.read_shard(path)} == {s.segment_id for s in SEGMENTS}
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        first = shards.merge(cat, folder)
        second = shards.merge(cat, folder)
        assert (first.merged, first.rows, second.merged, second.already) == (1, 2, 0, 1)
        assert cat.counts() | {"labels": 0} == {"clips": 1, "segments": 2, "descriptions": 2, "scores": 2,
                                                 "labels": 0, "failures": 0}
        assert [s.score for s in cat.scores("cpu|d@1", "x|s@1")] == [0.3, 0.4]
        assert cat.done_segments("cpu|d@1", "x|s@1", 2) == {s.segment_id for s in SEGMENTS}


def test_a_damaged_shard_is_reported_and_the_rest_merges(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    good = shards.write_shard(folder, [_row(0)])
    (folder / "0000-truncated.parquet").write_bytes(good.read_bytes()[:40])
    (folder / ".half-written.parquet.tmp").write_bytes(b"partial")  # a killed writer's temp file: ignored
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        report = shards.merge(cat, folder)
        assert report.merged == 1 and len(report.unreadable) == 1
        assert "0000-truncated.parquet" in report.unreadable[0] and "not a readable shard" in report.unreadable[0]
        assert cat.counts()["descriptions"] == 1


def test_a_later_success_clears_an_earlier_failure(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    failure = Failure(item_id=SEGMENTS[0].segment_id, stage="score", source=CLIP.source, reason="503")
    shards.write_shard(folder, [_row(0, scored=False, failure=to_json(failure))])
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        shards.merge(cat, folder)
        assert [f.reason for f, _ in cat.failures()] == ["503"]
        shards.write_shard(tmp_path / "later", [_row(0)])
        shards.merge(cat, tmp_path / "later")
        assert cat.failures() == [] and cat.counts()["scores"] == 1


def test_a_parquet_file_that_is_not_a_shard_is_named(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "shards"
    folder.mkdir()
    pq.write_table(pa.table({"uri": ["a.mp4"]}), folder / "manifest.parquet")
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        report = shards.merge(cat, folder)
    assert report.merged == 0 and "missing columns" in report.unreadable[0]
