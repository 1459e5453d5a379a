"""Load the prompt templates in prompts/ and render them, with a stable id for every variant.

A prompt id names the template and its switches and ends with a hash of the rendered template, e.g.
`score_description-examples@1a2b3c4d`: an output always says exactly which wording produced it, and
editing a template changes the id, so stale scores are not mistaken for fresh ones.

Scoring templates put the long shared rubric first and the description last, so backends can reuse
the rubric's computation across descriptions (llama.cpp KV reuse, vLLM prefix caching). A checklist
template (one with a `{question}` slot after `{description}`) takes its questions from the .toml of the
same name; the description then comes before each question, so asking one description many
questions computes it once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(os.environ.get("LTVAD_PROMPTS", Path(__file__).resolve().parents[1] / "prompts"))

# Switches a variant may turn off (name-guidance) or on (name+examples); defaults per template below.
_FRAGMENTS = ("guidance", "examples")
_DEFAULTS = {"score_description": {"guidance": True, "examples": True},
             "score_video": {"guidance": True, "examples": True}}

# A checklist's Yes bias sits this many of the reference logs' standard deviations above their centre
# unless its [calibration] says otherwise (`spread`).
DEFAULT_SPREAD = 2.0
# What `length_aware` fits, named in the prompt id so that scores stored under an earlier rule are
# never served for this one: the references' centre and their spread both follow the log's length.
LENGTH_RULE = "centre+spread"


ANSWER_FORMS = ("grid", "yesno", "checklist")  # what a stage-2 prompt's .toml may declare as `answer`


class PromptError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Category:
    """One of the paper's ten long-tail categories (prompts/taxonomy.toml)."""

    id: int
    name: str
    short: str
    subtypes: tuple[str, ...]


@cache
def taxonomy(directory: Path = PROMPTS_DIR) -> tuple[Category, ...]:
    data = tomllib.loads((directory / "taxonomy.toml").read_text())
    return tuple(Category(id=int(c["id"]), name=c["name"], short=c["short"], subtypes=tuple(c["subtypes"]))
                 for c in data["category"])


@cache
def category_names(directory: Path = PROMPTS_DIR) -> dict[int, str]:
    """Category id -> short name (1 "pedestrian" ... 10 "emergency/accident"), as reports and the UI show them."""
    return {c.id: c.short for c in taxonomy(directory)}


@cache
def routine_phrases(directory: Path = PROMPTS_DIR) -> tuple[str, ...]:
    return tuple(tomllib.loads((directory / "taxonomy.toml").read_text())["routine"]["phrases"])


@dataclass(frozen=True, slots=True)
class Question:
    """One yes/no question of a checklist prompt; `short` names it in answers and the UI, and
    `categories` are the taxonomy categories a Yes stands for (none for, e.g., the driver's own
    evasive action)."""

    short: str
    text: str
    categories: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Checklist:
    """What a checklist prompt's .toml holds besides its template."""

    system: str
    questions: tuple[Question, ...]
    references: tuple[str, ...]  # plainly routine logs that calibrate each question's Yes bias
    length_aware: bool = False  # whether that bias follows the log's length
    spread: float = DEFAULT_SPREAD  # how far above the routine logs' centre the bias sits, in their sd


def _checklist(directory: Path, name: str) -> Checklist:
    path = directory / f"{name}.toml"
    if not path.exists():
        raise PromptError(f"prompt {name!r} has a {{question}} slot but no {path} listing the questions")
    data = tomllib.loads(path.read_text())
    entries = data.get("question", [])
    if not entries:
        raise PromptError(f"{path}: no [[question]] entries")
    questions = []
    for q in entries:
        cats = q.get("category", [])  # one category id, or a list of them
        questions.append(Question(short=q["short"], text=q["text"].strip(),
                                  categories=tuple(int(c) for c in (cats if isinstance(cats, list) else [cats]))))
    calibration = data.get("calibration", {})
    references = tuple(r.strip() for r in calibration.get("routine", ()))
    length_aware = calibration.get("length_aware", False)
    if not isinstance(length_aware, bool):
        raise PromptError(f"{path}: [calibration] length_aware must be true or false, not {length_aware!r}")
    spread = calibration.get("spread", DEFAULT_SPREAD)
    if isinstance(spread, bool) or not isinstance(spread, int | float) or not 0 < spread <= 5:
        raise PromptError(f"{path}: [calibration] spread must be a number of standard deviations in (0, 5], "
                          f"not {spread!r}")
    return Checklist(data.get("system", "").strip(), tuple(questions), references, length_aware, float(spread))


def _taxonomy_text(directory: Path) -> str:
    return "\n".join(f"- {c.name}: {', '.join(c.subtypes)}" for c in taxonomy(directory))


@dataclass(frozen=True, slots=True)
class Prompt:
    """A rendered template: `prefix` + text + `suffix`; `slot` says whether it takes a description.

    A checklist prompt has `questions`, and its suffix a `{question}` slot that each one fills; its
    `system` message, when set, goes before every question as the chat's system turn.
    """

    id: str
    name: str
    prefix: str
    suffix: str
    slot: bool
    questions: tuple[Question, ...] = ()
    system: str = ""
    references: tuple[str, ...] = ()
    length_aware: bool = False
    spread: float = DEFAULT_SPREAD

    @property
    def template(self) -> str:
        """The wording with a visible {description} slot (and its questions), as recorded on each run."""
        text = self.prefix + "{description}" + self.suffix if self.slot else self.prefix
        text = f"[system] {self.system}\n\n{text}" if self.system else text
        return text + "".join(f"\n\n[question {q.short}] {q.text}" for q in self.questions)

    def render(self, text: str | None = None) -> str:
        if self.questions:
            raise PromptError(f"prompt {self.id} is a checklist: render one of its questions (render_questions)")
        if not self.slot:
            return self.prefix
        if text is None:
            raise PromptError(f"prompt {self.id} needs a description")
        return self.prefix + text.strip().rstrip(".") + self.suffix

    def render_questions(self, text: str) -> list[str]:
        """One prompt per question, all beginning with the same rubric and description."""
        if not self.questions:
            raise PromptError(f"prompt {self.id} has no questions")
        body = self.prefix + text.strip().rstrip(".")
        return [body + self.suffix.replace("{question}", q.text) for q in self.questions]


@cache
def answer_form(variant: str, directory: Path = PROMPTS_DIR) -> str | None:
    """The answer a stage-2 prompt asks for, as its .toml declares it (`answer = "grid"`, "yesno" or
    "checklist"); None for a prompt that declares none (describing, labelling). Ids and variants of one
    template ("score_description-guidance", "score_checklist@cd860c9e") share their template's form."""
    name = parse_variant(variant.split("@")[0])[0]
    path = directory / f"{name}.toml"
    answer = tomllib.loads(path.read_text()).get("answer") if path.exists() else None
    if answer is not None and answer not in ANSWER_FORMS:
        raise PromptError(f"{path}: answer = {answer!r}, not one of {', '.join(ANSWER_FORMS)}")
    return answer


def parse_variant(variant: str) -> tuple[str, dict[str, bool]]:
    """'score_description-guidance+examples' -> ('score_description', {'guidance': False, ...})."""
    name, *rest = re.split(r"([+-])", variant)
    switches = {}
    for sign, key in zip(rest[::2], rest[1::2], strict=True):
        if key not in _FRAGMENTS:
            raise PromptError(f"prompt {variant!r}: unknown switch {sign}{key} (known: {', '.join(_FRAGMENTS)})")
        switches[key] = sign == "+"
    return name, switches


@cache
def load(variant: str, directory: Path = PROMPTS_DIR) -> Prompt:
    name, switches = parse_variant(variant)
    path = directory / f"{name}.txt"
    if not path.exists():
        known = sorted(p.stem for p in directory.glob("*.txt"))
        raise PromptError(f"prompt {name!r}: no {path} (known: {', '.join(known)})")
    template = path.read_text()
    fragments = tomllib.loads((directory / "fragments.toml").read_text())
    on = {**_DEFAULTS.get(name, {}), **switches}
    filled = {k: (fragments[k] if on.get(k) else "") for k in _FRAGMENTS}
    if "{taxonomy}" in template:
        filled["taxonomy"] = _taxonomy_text(directory)
    head, slot, tail = template.partition("{description}")
    checklist = _checklist(directory, name) if "{question}" in tail else Checklist("", (), ())
    system, questions = checklist.system, checklist.questions
    if questions:
        filled["question"] = "{question}"  # kept as a slot; render_questions fills it
    prefix = head.format(**filled)
    suffix = tail.format(**filled) if slot else ""
    if not slot:
        prefix = prefix.rstrip("\n")
    suffix = suffix.rstrip("\n")
    wording = "\x00".join([system, prefix, suffix, *(f"{q.short}\x01{q.text}" for q in questions),
                           *(f"\x02{r}" for r in checklist.references),
                           *([f"\x03length-aware:{LENGTH_RULE}"] if checklist.length_aware else []),
                           *([f"\x04spread={checklist.spread:g}"] if checklist.references else [])])
    digest = hashlib.sha256(wording.encode()).hexdigest()[:8]
    canonical = name + "".join(("+" if on[k] else "-") + k for k in _FRAGMENTS if k in switches)
    return Prompt(id=f"{canonical}@{digest}", name=name, prefix=prefix, suffix=suffix, slot=bool(slot),
                  questions=questions, system=system, references=checklist.references,
                  length_aware=checklist.length_aware, spread=checklist.spread)
