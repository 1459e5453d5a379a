"""Typed, frozen records that cross stage boundaries.

Every stage reads and writes these and nothing else, so a stage can run alone, on another machine,
and have its output imported later. Ids are deterministic (uuid5 of the source and the span), so a
rerun on any machine produces the same ids and writes are idempotent.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

# A private namespace keeps our ids from colliding with other tools' uuid5(NAMESPACE_URL, ...) ids.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/ltvad-search/ids")

Stage = Literal["ingest", "segment", "describe", "score", "index", "label"]


def clip_id_for(source: str) -> str:
    """Id of a clip from its source URI (the resolved path, or a remote URI)."""
    return str(uuid.uuid5(ID_NAMESPACE, source))


def segment_id_for(clip_id: str, start_s: float, end_s: float) -> str:
    """Id of a span of a clip. Millisecond rounding absorbs float noise across platforms."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{clip_id}_{start_s:.3f}_{end_s:.3f}"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip:
    """A decodable video file and what probing it found."""

    clip_id: str
    source: str
    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    size_bytes: int
    container: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One of K equal, non-overlapping spans of a clip, with the timestamps sampled from it."""

    segment_id: str
    clip_id: str
    index: int
    k: int
    start_s: float
    end_s: float
    sample_times: tuple[float, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Description:
    """Stage-1 output: free text about one segment, and who wrote it with which prompt."""

    segment_id: str
    text: str
    describer: str
    prompt_id: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentScore:
    """Stage-2 output for one segment.

    `score` is the expected value over the 11-point grid where token probabilities exist, else the
    written value; `written` is what the model wrote. Both are None when nothing parseable came back,
    and `raw` keeps the text so the failure can be read.
    """

    segment_id: str
    score: float | None
    written: float | None
    raw: str
    scorer: str
    prompt_id: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipScore:
    """Max-pooled clip score; the top segment is what a user is shown first."""

    clip_id: str
    score: float
    top_segment_id: str
    long_tail: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Label:
    """A long-tail judgement of a clip: 1 long-tail, 0 routine, with an optional taxonomy category."""

    clip_id: str
    label: int
    category: int | None = None
    subtype: str | None = None
    origin: Literal["human", "pseudo"] = "human"


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A per-item error stored as data, so one bad clip never stops a run of thousands."""

    item_id: str
    stage: Stage
    source: str
    reason: str


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RunKey:
    """What names a run's results: the describer key, the scorer key, and K (segments per clip).

    Descriptions are stored under the describer key, scores under (describer, scorer), and K picks
    the segments; ranking, search, the UI and evaluation all read one run's results by this key.
    """

    describer: str
    scorer: str
    k: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One `ltvad run` (or ablation, or Ray job) as the catalog keeps it; `finished_at` None: it never finished."""

    run_id: str
    command: str
    started_at: float
    finished_at: float | None
    config: dict[str, Any]
    details: dict[str, Any]

    @property
    def key(self) -> RunKey | None:
        """The run's key, once it has recorded one (every run does when it starts)."""
        d = self.details
        if "describer_key" not in d or "scorer_key" not in d:
            return None
        return RunKey(describer=d["describer_key"], scorer=d["scorer_key"], k=int(d["k"]))


def to_dict(record: Any) -> dict[str, Any]:
    """Plain JSON-ready dict of a record (tuples become lists)."""
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def from_dict(cls: type[R], data: dict[str, Any]) -> R:
    """Inverse of `to_dict`; unknown keys are an error so schema drift is caught, not ignored."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    return cls(**{k: _coerce(hints[k], v) for k, v in data.items()})


def _coerce(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        return tuple(value)
    if hint is float and isinstance(value, int):
        return float(value)
    return value


def to_json(record: Any) -> str:
    return json.dumps(to_dict(record), sort_keys=True)


def from_json(cls: type[R], text: str) -> R:
    return from_dict(cls, json.loads(text))
