from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ltvad_search.catalog import Catalog, StoreError
from ltvad_search.records import Clip, Description, Failure, Label, RunKey, Segment, SegmentScore


def _clip(i: int) -> tuple[Clip, list[Segment]]:
    clip = Clip(clip_id=f"c{i}", source=f"/v/{i}.mp4", duration_s=4.0, fps=10.0, frame_count=40,
                width=64, height=48, size_bytes=1, container="mp4")
    segs = [Segment(segment_id=f"c{i}s{j}", clip_id=f"c{i}", index=j, k=2, start_s=2.0 * j,
                    end_s=2.0 * j + 2, sample_times=(2.0 * j, 2.0 * j + 0.5)) for j in range(2)]
    return clip, segs


def test_catalog_is_a_real_wal_sqlite_file(tmp_path: Path) -> None:
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cat.add_clip(*_clip(0))
    db = sqlite3.connect(tmp_path / "cat.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    assert db.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 2


def test_round_trip_of_every_table(tmp_path: Path) -> None:
    with Catalog(tmp_path / "cat.sqlite") as cat:
        clip, segs = _clip(0)
        cat.add_clip(clip, segs)
        assert cat.clip("c0") == clip and cat.segments(clip_id="c0") == segs
        assert [s.segment_id for s in cat.pending_descriptions("cpu", 2)] == ["c0s0", "c0s1"]
        d = Description(segment_id="c0s0", text="a road", describer="cpu", prompt_id="describe", seconds=0.1)
        cat.add_descriptions([d])
        assert cat.descriptions("cpu") == [d]
        assert [s.segment_id for s in cat.pending_descriptions("cpu", 2)] == ["c0s1"]
        assert cat.pending_scores("cpu", "llm", 2) == [d]
        bad = SegmentScore(segment_id="c0s0", score=None, written=None, raw="??", scorer="llm",
                           prompt_id="p", seconds=0.1)
        cat.add_scores("cpu", [bad])
        assert cat.pending_scores("cpu", "llm", 2) == [d]  # an unparsed score is retried
        good = SegmentScore(segment_id="c0s0", score=0.7, written=0.7, raw="[0.7]", scorer="llm",
                            prompt_id="p", seconds=0.1)
        cat.add_scores("cpu", [good])
        assert cat.scores("cpu", "llm") == [good] and cat.pending_scores("cpu", "llm", 2) == []
        assert cat.answers(["c0s0", "c0s1", "gone"], "cpu", "llm") == {"c0s0": "[0.7]"}  # scored ones only
        assert cat.answers(["c0s0"], "cpu", "other scorer") == {}
        cat.put_labels([Label(clip_id="c0", label=1, category=3)])
        assert cat.labels() == [Label(clip_id="c0", label=1, category=3)]
        assert cat.find_clip("/v/0.mp4") == clip and cat.find_clip("nope") is None


def test_failures_count_attempts_and_clear_on_success(tmp_path: Path) -> None:
    with Catalog(tmp_path / "cat.sqlite") as cat:
        f = Failure(item_id="c0", stage="ingest", source="/v/0.mp4", reason="empty")
        cat.record_failure(f)
        cat.record_failure(f)
        assert cat.failures() == [(f, 2)]
        cat.add_clip(*_clip(0))
        assert cat.failures() == []


def test_invalid_label_is_refused_by_the_schema(tmp_path: Path) -> None:
    with Catalog(tmp_path / "cat.sqlite") as cat:
        cat.add_clip(*_clip(0))
        with pytest.raises(sqlite3.IntegrityError):
            cat.put_labels([Label(clip_id="c0", label=2)])
        with pytest.raises(sqlite3.IntegrityError):
            cat.put_labels([Label(clip_id="unknown", label=1)])
        assert cat.labels() == []


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Catalog(tmp_path / "cat.sqlite") as cat:
        clip, segs = _clip(0)
        broken = [segs[0], Segment(segment_id="x", clip_id="missing", index=0, k=2, start_s=0,
                                   end_s=1, sample_times=(0.0,))]
        with pytest.raises(sqlite3.IntegrityError):
            cat.add_clip(clip, broken)
        assert cat.counts()["clips"] == 0 and cat.counts()["segments"] == 0


def test_reader_reads_while_a_writer_holds_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "cat.sqlite"
    with Catalog(path) as first:
        first.add_clip(*_clip(0))
    reader = Catalog(path, readonly=True)
    entered, release = threading.Event(), threading.Event()

    def write() -> None:  # its own connection, as a separate writer process would have
        writer = Catalog(path)
        with writer.transaction() as db:
            db.execute("INSERT INTO clips VALUES ('c1','/v/1.mp4',1,1,1,1,1,1,'mp4',0)")
            entered.set()
            release.wait(10)
        writer.close()

    t = threading.Thread(target=write)
    t.start()
    assert entered.wait(10)
    assert reader.counts()["clips"] == 1  # sees the committed state, not blocked, no half write
    release.set()
    t.join()
    assert reader.counts()["clips"] == 2
    reader.close()


def test_readonly_on_missing_catalog_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="ltvad ingest"):
        Catalog(tmp_path / "none.sqlite", readonly=True)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cat.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Catalog(path)


def test_top_segments_in_sql_agree_with_max_pool(tmp_path: Path) -> None:
    from ltvad_search.score.ranking import rank

    with Catalog(tmp_path / "cat.sqlite") as cat:
        scores = {0: (0.2, 0.9), 1: (0.7, 0.7), 2: (None, 0.4), 3: (None, None)}
        for i, pair in scores.items():
            clip, segs = _clip(i)
            cat.add_clip(clip, segs)
            cat.add_descriptions([Description(segment_id=s.segment_id, text=f"t{s.segment_id}", describer="d",
                                              prompt_id="p", seconds=0) for s in segs])
            cat.add_scores("d", [SegmentScore(segment_id=s.segment_id, score=v, written=v, raw="", scorer="x",
                                              prompt_id="p", seconds=0) for s, v in zip(segs, pair, strict=True)])
        fast = [(clip_id, top.segment.segment_id, top.score) for top, clip_id in cat.top_segments("d", "x", 2)]
        slow = [(r.clip.clip_id, r.top.segment.segment_id, r.clip.score) for r in rank(cat, RunKey("d", "x", 2), 0.5)]
        assert fast == slow == [("c0", "c0s1", 0.9), ("c1", "c1s0", 0.7), ("c2", "c2s1", 0.4)]
