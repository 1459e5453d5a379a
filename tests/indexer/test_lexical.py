from __future__ import annotations

from pathlib import Path

from indexer.lexical import LexicalIndex, match_expression, terms

ROWS = [("a", "Orange cones close the right lane at a construction site."),
        ("b", "The car waits at a red light behind a truck."),
        ("c", "A pedestrian runs across the street in front of the car."),
        ("d", "Pedestrians wait at the crosswalk while the car turns.")]


def test_terms_drop_stop_words_and_repeats() -> None:
    assert terms("Does the log show a police officer, an officer directing traffic?") == \
        ["log", "police", "officer", "directing", "traffic"]
    assert match_expression("the a of") is None
    assert match_expression('cones "and" debris') == '"cones" OR "debris"'  # quotes cannot break the query


def test_bm25_ranks_rare_exact_words_first_and_stems(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.apply(ROWS, [])
    assert index.search("traffic cones", 2)[0][0] == "a"
    found = [row for row, _ in index.search("a pedestrian running", 4)]
    assert found[0] == "c" and set(found) == {"c", "d"}  # "pedestrians" stems to "pedestrian"
    assert all(score > 0 for _, score in index.search("car", 4))
    assert index.search("the", 4) == []


def test_apply_replaces_and_removes_rows(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.apply(ROWS, [])
    index.apply([("b", "A deer stands on the road.")], ["a", "missing"])
    assert index.ids() == {"b", "c", "d"} and len(index) == 3
    assert index.search("deer", 3) == [("b", index.search("deer", 3)[0][1])]
    assert index.search("cones", 3) == [] and index.search("truck", 3) == []


def test_a_copy_starts_from_the_previous_version(tmp_path: Path) -> None:
    first = LexicalIndex(tmp_path / "v1.sqlite")
    first.apply(ROWS, [])
    first.close()
    second = LexicalIndex.copy(tmp_path / "v1.sqlite", tmp_path / "v2.sqlite")
    second.apply([], ["a"])
    assert len(second) == 3 and len(LexicalIndex(tmp_path / "v1.sqlite", readonly=True)) == 4


def test_words_in_most_rows_are_left_out_of_a_large_index(tmp_path: Path, monkeypatch) -> None:
    import indexer.lexical as lexical

    index = LexicalIndex(tmp_path / "lex.sqlite")
    rows = [(f"r{i}", f"The car drives on a {'wet' if i % 10 == 0 else 'dry'} road past stop {i}.") for i in range(60)]
    index.apply(rows + [("deer", "A deer stands in the road, and the car stops.")], [])
    assert index.stem("stopping") == "stop" and index.rows_with("cars") == 61 and index.rows_with("deer") == 1
    assert index.telling("cars and a deer on the road") == ["cars", "deer", "road"]  # small: every term counts
    monkeypatch.setattr(lexical, "COMMON_MIN_ROWS", 10)
    assert index.telling("cars and a deer on the road") == ["deer"]  # "car" and "road" are in every row
    assert index.telling("wet road") == ["wet"] and index.telling("car road") == ["car", "road"]
    assert index.search("a deer on the road", 3)[0][0] == "deer"
    assert index.telling("car jaywalking") == ["car", "jaywalking"]  # no row has "jaywalk": nothing to drop for


def test_containing_finds_the_rows_with_every_word_of_a_phrase(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.apply(ROWS, [])
    assert index.containing("pedestrian") == {"c", "d"}  # stemmed, as the search matches
    assert index.containing("the red light") == {"b"}  # every word, stop words left out
    assert index.containing("red cones") == set()
    assert index.containing("the") == set()
