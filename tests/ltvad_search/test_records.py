from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltvad_search.records import (
    Clip,
    ClipScore,
    Description,
    Failure,
    Label,
    Segment,
    SegmentScore,
    clip_id_for,
    from_dict,
    from_json,
    segment_id_for,
    to_json,
)


def test_ids_are_stable_across_runs_and_machines() -> None:
    # Literal values: uuid5 is a pure function, so these hold on every machine forever.
    assert clip_id_for("/data/fleet/a.mp4") == "ef31295e-58eb-599b-a8d2-ef62357fa759"
    cid = clip_id_for("/data/fleet/a.mp4")
    assert segment_id_for(cid, 0.0, 2.5) == segment_id_for(cid, 0.0000001, 2.4999999)
    assert segment_id_for(cid, 0.0, 2.5) != segment_id_for(cid, 2.5, 5.0)
    assert clip_id_for("/data/fleet/a.mp4") != clip_id_for("/data/fleet/b.mp4")


RECORDS = [
    Clip(clip_id="c", source="/x.mp4", duration_s=5.0, fps=10.0, frame_count=50, width=64, height=48,
         size_bytes=10, container="mp4"),
    Segment(segment_id="s", clip_id="c", index=0, k=2, start_s=0.0, end_s=2.5,
            sample_times=(0.0, 0.5, 1.0)),
    Description(segment_id="s", text="A car.\nNew line and ünïcode", describer="cpu", prompt_id="d@1",
                seconds=0.1),
    SegmentScore(segment_id="s", score=None, written=None, raw="no idea", scorer="x", prompt_id="p",
                 seconds=0.2),
    SegmentScore(segment_id="s", score=0.73, written=0.7, raw="[0.7]", scorer="x", prompt_id="p",
                 seconds=0.2),
    ClipScore(clip_id="c", score=0.9, top_segment_id="s", long_tail=True),
    Label(clip_id="c", label=1, category=7, subtype="deer"),
    Failure(item_id="c", stage="ingest", source="/x.mp4", reason="empty"),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_json_round_trip_is_lossless(record: object) -> None:
    assert from_json(type(record), to_json(record)) == record


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fields"):
        from_dict(Label, {"clip_id": "c", "label": 1, "colour": "red"})


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=20))
def test_segment_times_round_trip(times: list[float]) -> None:
    seg = Segment(segment_id="s", clip_id="c", index=0, k=1, start_s=0.0, end_s=1.0,
                  sample_times=tuple(times))
    assert from_json(Segment, to_json(seg)) == seg


def test_records_are_frozen() -> None:
    with pytest.raises(AttributeError):
        RECORDS[0].fps = 1.0  # type: ignore[misc]
