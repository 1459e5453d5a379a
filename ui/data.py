"""What the UI shows, as plain functions over the catalog (no Streamlit here, so it is testable
and cacheable). Every video the UI plays is looked up by clip id in the catalog: no path a user
types or puts in a URL is ever opened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ltvad_search.catalog import Catalog
from ltvad_search.prompts import category_names
from ltvad_search.records import RunKey
from ltvad_search.run import pipeline
from ltvad_search.score.parsing import is_long_tail
from ltvad_search.score.scorers.checklist import likeliest


@dataclass(frozen=True, slots=True)
class Candidate:
    clip_id: str
    source: str
    name: str
    folder: str
    score: float
    long_tail: bool
    start_s: float
    end_s: float
    description: str
    category: int | None
    label: int | None
    most_likely: str | None = None  # the checklist question behind the score, when the scorer was one


@dataclass(frozen=True, slots=True)
class SegmentView:
    segment_id: str
    index: int
    start_s: float
    end_s: float
    score: float | None
    description: str
    most_likely: str | None = None  # the checklist question that gave the score, when the scorer was one


def run_keys(catalog: Catalog) -> RunKey | None:
    return pipeline.latest_keys(catalog)


def data_version(catalog_path: Path) -> str:
    """Changes whenever the catalog does (WAL writes touch the -wal file), for cache keys."""
    parts = [catalog_path, catalog_path.with_name(catalog_path.name + "-wal")]
    return ";".join(f"{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in parts if p.exists())


def candidates(catalog: Catalog, keys: RunKey, threshold: float) -> list[Candidate]:
    """Every scored clip, best first, with its top segment, category and human label."""
    categories = catalog.categories()
    labels = {lb.clip_id: lb.label for lb in catalog.labels("human")}
    out = []
    for top, clip_id in catalog.top_segments(keys.describer, keys.scorer, keys.k):
        path = Path(top.source)
        out.append(Candidate(clip_id, top.source, path.name, str(path.parent), top.score,  # type: ignore[arg-type]
                             is_long_tail(top.score, threshold),  # type: ignore[arg-type]
                             top.segment.start_s, top.segment.end_s, top.description,
                             categories.get(clip_id), labels.get(clip_id), (likeliest(top.raw) or (None,))[0]))
    return out


def filtered(items: list[Candidate], *, low: float = 0.0, high: float = 1.0, categories: list[int] | None = None,
             folder: str | None = None) -> list[Candidate]:
    return [c for c in items if low <= c.score <= high
            and (not categories or c.category in categories)
            and (not folder or c.folder == folder)]


def page(items: list, number: int, size: int) -> list:
    """Items of page `number` (1-based); out-of-range pages are clamped."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    return items[(number - 1) * size: number * size]


def segments(catalog: Catalog, keys: RunKey, clip_id: str) -> list[SegmentView]:
    rows = catalog.scored_segments(keys.describer, keys.scorer, keys.k)
    return [SegmentView(r.segment.segment_id, r.segment.index, r.segment.start_s, r.segment.end_s, r.score,
                        r.description, (likeliest(r.raw) or (None,))[0])
            for r in rows if r.segment.clip_id == clip_id]


@dataclass(frozen=True, slots=True)
class Playable:
    """A clip's video as the UI may serve it: only ever resolved from the catalog by clip id."""

    path: Path | None
    kind: str  # "video", "image" (GIF), or "missing"
    message: str


def playable(catalog: Catalog, clip_id: str) -> Playable:
    clip = catalog.clip(clip_id)
    if clip is None:
        return Playable(None, "missing", f"{clip_id}: no such clip in the catalog")
    path = Path(clip.source)
    if not path.is_file():
        return Playable(None, "missing", f"video file not found: {path} (moved or deleted since ingest)")
    return Playable(path, "image" if path.suffix.lower() == ".gif" else "video", "")


def category_label(category: int | None) -> str:
    return "" if category is None else f"{category} {category_names().get(category, '?')}"


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    folder: Path
    metrics: dict


def reports(store_root: Path) -> list[Report]:
    """Evaluation reports under the store, newest first."""
    root = store_root / "reports"
    found = []
    for folder in root.glob("*/") if root.is_dir() else []:
        metrics = folder / "metrics.json"
        if metrics.is_file():
            found.append((metrics.stat().st_mtime, Report(folder.name, folder, json.loads(metrics.read_text()))))
    return [r for _, r in sorted(found, key=lambda t: -t[0])]


def highlighted(description: str, sentence: str) -> str:
    """The description as Markdown with `sentence` marked (Streamlit's background colour), its other
    Markdown characters escaped so a description cannot format itself."""
    def escape(text: str) -> str:
        return "".join(f"\\{c}" if c in "\\`*_{}[]()#+-.!|~>:$" else c for c in text)

    at = description.find(sentence)
    if at < 0:
        return escape(description)
    end = at + len(sentence)
    return f"{escape(description[:at])}:orange-background[{escape(sentence)}]{escape(description[end:])}"
