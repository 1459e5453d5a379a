"""Pseudo-labels from the taxonomy prompt, the review queue, and balanced exports (the paper's
dataset recipe: a large model proposes, humans confirm).

The model is asked for one line, "Scenario Detected: [Category] - [Subtype]", or "no". The parser is
strict on purpose: the category must be one of prompts/taxonomy.toml's ten (by name, short name or
number, ignoring case and punctuation), and anything else is rejected with its raw text kept, so a
rambling model shows up as rejections instead of quietly becoming labels. Pseudo-labels are stored
with origin "pseudo", apart from human labels; review turns them into human labels.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ltvad_search.catalog import Catalog
from ltvad_search.catalog.textset import TextRow
from ltvad_search.config import Settings
from ltvad_search.describe.base import Describer
from ltvad_search.prompts import Category, Prompt, taxonomy
from ltvad_search.prompts import load as load_prompt
from ltvad_search.records import Description, Failure, Label
from ltvad_search.score.base import Generator

Verdict = Literal["scenario", "no", "rejected"]
_SCENARIO = re.compile(r"^scenario detected:\s*(?P<category>.+?)\s+[-\u2013\u2014]\s+(?P<subtype>.+?)\s*$", re.I)


@dataclass(frozen=True, slots=True)
class LabelAnswer:
    """What a labeling answer says, or why it was rejected; `raw` is always the model's text."""

    verdict: Verdict
    raw: str
    category: int | None = None
    subtype: str | None = None
    reason: str = ""


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).strip()


def _category_names(categories: Sequence[Category]) -> dict[str, int]:
    names: dict[str, int] = {}
    for c in categories:
        for alias in (c.name, c.short, str(c.id), f"{c.id} {c.name}"):
            names[_norm(alias)] = c.id
    return names


def parse_answer(raw: str, categories: Sequence[Category] | None = None) -> LabelAnswer:
    """Map an answer onto the taxonomy. Only an exact "no" or one well-formed scenario line counts."""
    categories = categories or taxonomy()
    text = raw.strip().strip("`").strip()
    if _norm(text) == "no":
        return LabelAnswer(verdict="no", raw=raw)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return LabelAnswer(verdict="rejected", raw=raw, reason="expected one line" if lines else "empty answer")
    match = _SCENARIO.match(lines[0].strip("[]"))
    if not match:
        return LabelAnswer(verdict="rejected", raw=raw,
                           reason="not 'no' and not 'Scenario Detected: [Category] - [Subtype]'")
    category = _category_names(categories).get(_norm(match["category"].strip("[] ")))
    if category is None:
        return LabelAnswer(verdict="rejected", raw=raw, reason=f"unknown category {match['category'].strip()!r}")
    subtype = match["subtype"].strip("[]. ").strip()
    return LabelAnswer(verdict="scenario", raw=raw, category=category, subtype=subtype or None)


def grammar(categories: Sequence[Category] | None = None) -> str:
    """GBNF that admits exactly the answers the parser accepts (with a taxonomy category name)."""
    categories = categories or taxonomy()
    names = " | ".join(json.dumps(c.name) for c in categories)
    return ('root ::= "no" | "Scenario Detected: " category " - " subtype\n'
            f"category ::= {names}\n"
            "subtype ::= [A-Za-z] [A-Za-z0-9 ,/()'-]*\n")


def clip_label(clip_id: str, answers: Sequence[LabelAnswer]) -> Label | None:
    """A clip is long-tail if any segment's answer names a scenario (the first one gives the
    category); routine if every answer is "no"; undecided (None) if some were rejected and none
    named a scenario, so a garbled answer never becomes a confident "no"."""
    for a in answers:
        if a.verdict == "scenario":
            return Label(clip_id=clip_id, label=1, category=a.category, subtype=a.subtype, origin="pseudo")
    if answers and all(a.verdict == "no" for a in answers):
        return Label(clip_id=clip_id, label=0, origin="pseudo")
    return None


@dataclass(frozen=True, slots=True)
class Agreement:
    """How pseudo-labels compare with labelled text rows (the acceptance figures of the recipe)."""

    rows: int
    rejected: int
    long_tail: int
    long_tail_categorized: int  # long-tail rows the labeler gave a category
    routine: int
    routine_categorized: int  # routine rows it wrongly gave a category
    with_category: int  # long-tail rows that carry a labelled category and got one
    category_agree: int

    @property
    def long_tail_share(self) -> float:
        return self.long_tail_categorized / self.long_tail if self.long_tail else 0.0

    @property
    def routine_share(self) -> float:
        return self.routine_categorized / self.routine if self.routine else 0.0

    @property
    def category_agreement(self) -> float:
        return self.category_agree / self.with_category if self.with_category else 0.0


def agreement(rows: Sequence[TextRow], answers: Sequence[LabelAnswer]) -> Agreement:
    long_tail = [(r, a) for r, a in zip(rows, answers, strict=True) if r.label == 1]
    routine = [(r, a) for r, a in zip(rows, answers, strict=True) if r.label == 0]
    both = [(r, a) for r, a in long_tail if r.category is not None and a.verdict == "scenario"]
    return Agreement(
        rows=len(rows), rejected=sum(a.verdict == "rejected" for a in answers),
        long_tail=len(long_tail), long_tail_categorized=sum(a.verdict == "scenario" for _, a in long_tail),
        routine=len(routine), routine_categorized=sum(a.verdict == "scenario" for _, a in routine),
        with_category=len(both), category_agree=sum(r.category == a.category for r, a in both))


def category_confusion(rows: Sequence[TextRow], answers: Sequence[LabelAnswer]) -> list[tuple[tuple[int, int], int]]:
    """(labelled category, answered category) pairs on long-tail rows with both, most frequent first."""
    confusion: dict[tuple[int, int], int] = {}
    for row, a in zip(rows, answers, strict=True):
        if row.label == 1 and row.category and a.category:
            confusion[(row.category, a.category)] = confusion.get((row.category, a.category), 0) + 1
    return sorted(confusion.items(), key=lambda kv: -kv[1])


def label_rows(generator: Generator, prompt: Prompt, rows: Sequence[TextRow], *, max_tokens: int,
               constrain: bool, progress: Callable[[], None] | None = None) -> list[LabelAnswer]:
    """Each text row's taxonomy answer (`ltvad label FILE`), constrained to the taxonomy's grammar if asked."""
    rules = grammar() if constrain else None
    answers = []
    for row in rows:
        [raw] = generator.generate([prompt.render(row.text)], max_tokens=max_tokens, grammar=rules)
        answers.append(parse_answer(raw))
        if progress:
            progress()
    return answers


def write_row_answers(out: Path, rows: Sequence[TextRow], answers: Sequence[LabelAnswer]) -> None:
    """One JSON line per row: the answer (verdict, category, subtype, raw, reason) beside the row's own label."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for row, a in zip(rows, answers, strict=True):
            f.write(json.dumps({"id": row.id, "verdict": a.verdict, "category": a.category, "subtype": a.subtype,
                                "raw": a.raw, "reason": a.reason, "label": row.label,
                                "labelled_category": row.category}) + "\n")


def in_audit(clip_id: str, rate: float, seed: int) -> bool:
    """Whether a pseudo-"no" clip is in the audit sample. A hash, not a random draw, so the sample
    is the same in every review session and grows predictably as clips are added."""
    digest = hashlib.sha256(f"{seed}:{clip_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def review_queue(pseudo: Iterable[Label], reviewed: set[str], rate: float, seed: int) -> list[Label]:
    """Pseudo-positives, then the audit sample of pseudo-negatives, minus what a human already judged."""
    todo = [p for p in pseudo if p.clip_id not in reviewed]
    positives = [p for p in todo if p.label == 1]
    audit = [p for p in todo if p.label == 0 and in_audit(p.clip_id, rate, seed)]
    return positives + audit


def balanced(labels: Sequence[Label], seed: int) -> list[Label]:
    """As many routine as long-tail clips (the larger class sampled down, reproducibly)."""
    pos = sorted((lab for lab in labels if lab.label == 1), key=lambda lab: lab.clip_id)
    neg = sorted((lab for lab in labels if lab.label == 0), key=lambda lab: lab.clip_id)
    n = min(len(pos), len(neg))
    rng = random.Random(seed)
    return sorted(rng.sample(pos, n) + rng.sample(neg, n), key=lambda lab: lab.clip_id)


def write_labels(path: Path, labels: Sequence[Label]) -> None:
    """CSV (clip,label,category,subtype) or JSONL by suffix: the format `ltvad labels import` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        if path.suffix.lower() == ".jsonl":
            for lab in labels:
                f.write(json.dumps({"clip": lab.clip_id, "label": lab.label, "category": lab.category,
                                    "subtype": lab.subtype}) + "\n")
        else:
            writer = csv.writer(f)
            writer.writerow(["clip", "label", "category", "subtype"])
            for lab in labels:
                writer.writerow([lab.clip_id, lab.label, lab.category or "", lab.subtype or ""])
    tmp.replace(path)


# -- labeling the catalog -------------------------------------------------------------------------

@dataclass(slots=True)
class LabelRun:
    long_tail: int = 0
    routine: int = 0
    undecided: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)


def _record(catalog: Catalog, run: LabelRun, clip_id: str, source: str, segment_ids: Sequence[str],
            raws: Sequence[str]) -> None:
    answers = [parse_answer(raw) for raw in raws]
    for segment_id, answer in zip(segment_ids, answers, strict=True):
        if answer.verdict == "rejected":
            failure = Failure(item_id=segment_id, stage="label", source=source,
                              reason=f"{answer.reason}; answer was {answer.raw[:300]!r}")
            catalog.record_failure(failure)
            run.failures.append(failure)
    label = clip_label(clip_id, answers)
    if label is None:
        run.undecided += 1
        return
    catalog.put_labels([label])
    run.long_tail += label.label
    run.routine += 1 - label.label


def label_descriptions(catalog: Catalog, generator: Generator, prompt: Prompt, describer: str, k: int, *,
                       max_tokens: int, constrain: bool, redo: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> LabelRun:
    """Pseudo-label every clip from its stored segment descriptions with a text model."""
    run = LabelRun()
    done = set() if redo else {lab.clip_id for lab in catalog.labels("pseudo")}
    clip_of = {s.segment_id: s.clip_id for s in catalog.segments(k=k)}
    by_clip: dict[str, list[Description]] = {}
    for d in catalog.descriptions(describer, k):
        by_clip.setdefault(clip_of[d.segment_id], []).append(d)
    rules = grammar() if constrain else None
    for n, (clip_id, descriptions) in enumerate(by_clip.items(), 1):
        if clip_id in done:
            run.skipped += 1
            continue
        clip = catalog.clip(clip_id)
        source = clip.source if clip else clip_id
        try:
            raws = generator.generate([prompt.render(d.text) for d in descriptions], max_tokens=max_tokens,
                                      grammar=rules)
        except Exception as e:  # noqa: BLE001 - one clip's backend error is its failure, not the run's
            failure = Failure(item_id=clip_id, stage="label", source=source, reason=f"{type(e).__name__}: {e}")
            catalog.record_failure(failure)
            run.failures.append(failure)
            continue
        _record(catalog, run, clip_id, source, [d.segment_id for d in descriptions], raws)
        if progress:
            progress(n, len(by_clip))
    return run


def label_video(catalog: Catalog, settings: Settings, describer: Describer, *, redo: bool = False,
                progress: Callable[[int, int], None] | None = None) -> LabelRun:
    """Pseudo-label every clip by showing its segments to a multimodal model with the labeling prompt."""
    from ltvad_search.run import pipeline
    from ltvad_search.video.decode import VideoError

    prompt = load_prompt(settings.label.video_prompt)
    run = LabelRun()
    done = set() if redo else {lab.clip_id for lab in catalog.labels("pseudo")}
    every = catalog.clips()
    clips = [c for c in every if c.clip_id not in done]
    run.skipped = len(every) - len(clips)
    for n, clip in enumerate(clips, 1):
        segments = catalog.segments(k=settings.video.k, clip_id=clip.clip_id)
        try:
            sampled = [pipeline.sample(clip, s, settings, describer.caps.needs_frames) for s in segments]
        except (VideoError, OSError, ValueError) as e:
            failure = Failure(item_id=clip.clip_id, stage="label", source=clip.source,
                              reason=f"frames could not be read: {e}")
            catalog.record_failure(failure)
            run.failures.append(failure)
            continue
        result = pipeline.describe_batch(describer, prompt, sampled, settings.run.retries)
        for failure in (dataclasses.replace(f, stage="label") for f in result.failures):
            catalog.record_failure(failure)
            run.failures.append(failure)
        if len(result.results) == len(segments):
            _record(catalog, run, clip.clip_id, clip.source, [d.segment_id for d in result.results],
                    [d.text for d in result.results])
        if progress:
            progress(n, len(clips))
    return run

