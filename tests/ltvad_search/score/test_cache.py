from __future__ import annotations

from pathlib import Path

from ltvad_search.records import SegmentScore
from ltvad_search.score.cache import ScoreCache


def _score(value: float | None, raw: str = "[0.7]") -> SegmentScore:
    return SegmentScore(segment_id="seg-1", score=value, written=None, raw=raw, scorer="s", prompt_id="p@1",
                        seconds=2.5)


def test_answers_come_back_by_scorer_key_and_exact_text(tmp_path: Path) -> None:
    cache = ScoreCache(tmp_path / "cache.sqlite")
    assert cache.put("judge|p@1", [("The car stops.", _score(0.7))]) == 1
    [(text, hit)] = cache.get("judge|p@1", ["The car stops.", "The car stops"]).items()
    assert text == "The car stops." and (hit.score, hit.raw, hit.prompt_id, hit.seconds) == (0.7, "[0.7]", "p@1", 2.5)
    assert hit.segment_id == "" and hit.scorer == "judge|p@1"
    assert cache.get("judge|p@2", ["The car stops."]) == {}  # another prompt id is another key
    assert cache.get("other|p@1", ["The car stops."]) == {}  # another model too


def test_an_answer_without_a_score_is_asked_again(tmp_path: Path) -> None:
    cache = ScoreCache(tmp_path / "cache.sqlite")
    assert cache.put("judge|p@1", [("unreadable", _score(None, "no idea"))]) == 0
    assert cache.get("judge|p@1", ["unreadable"]) == {} and len(cache) == 0


def test_the_file_is_shared_between_connections(tmp_path: Path) -> None:
    first, second = ScoreCache(tmp_path / "c.sqlite"), ScoreCache(tmp_path / "c.sqlite")
    first.put("k", [(f"text {i}", _score(i / 1000)) for i in range(1200)])  # more than one SQL chunk
    found = second.get("k", [f"text {i}" for i in range(1200)])
    assert len(found) == 1200 and found["text 999"].score == 0.999
    first.close()
    second.close()
