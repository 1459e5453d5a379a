from __future__ import annotations

from pathlib import Path

import pytest

from ltvad_search.config import VIDEO_EXTENSIONS
from ltvad_search.video.inputs import discover


def _found(*paths: Path) -> list[tuple[str, str | None]]:
    return [(f.path.name, f.error) for f in discover(paths, VIDEO_EXTENSIONS)]


@pytest.fixture()
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.mp4", "sub/b.MOV", "notes.txt", ".hidden.mp4"):
        (folder / name).write_bytes(b"x")
    return folder


def test_folders_are_walked_for_video_extensions(clips: Path) -> None:
    assert _found(clips) == [("a.mp4", None), ("b.MOV", None)]


def test_a_text_list_resolves_relative_entries_next_to_itself(clips: Path) -> None:
    listing = clips.parent / "list.txt"
    listing.write_text("# fleet export 2026-11\nclips/a.mp4\n\nclips/sub/b.MOV\nclips/missing.mp4\n")
    assert _found(listing) == [("a.mp4", None), ("b.MOV", None), ("missing.mp4", "path does not exist")]


def test_csv_and_parquet_manifests_read_a_uri_column(clips: Path) -> None:
    csv = clips.parent / "manifest.csv"
    csv.write_text(f"clip,URI\n1,{clips / 'a.mp4'}\n2,file://{clips / 'sub/b.MOV'}\n3,s3://bucket/c.mp4\n")
    assert _found(csv) == [("a.mp4", None), ("b.MOV", None),
                           ("c.mp4", "only local or mounted paths are supported (got a remote URI)")]
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    parquet = clips.parent / "manifest.parquet"
    pq.write_table(pa.table({"path": [str(clips / "a.mp4")]}), parquet)
    assert _found(parquet) == [("a.mp4", None)]


def test_a_manifest_without_a_path_column_is_one_clear_failure(clips: Path) -> None:
    csv = clips.parent / "bad.csv"
    csv.write_text("name,size\na.mp4,1\n")
    [(name, error)] = _found(csv)
    assert name == "bad.csv" and "no column named one of uri, path, source (found name, size)" in error
