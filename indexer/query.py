"""A search query read as what must be there, what must not, and filters, before anything is ranked.

"a cyclist at night, not in the rain" is two requests: find cyclists at night, and push down what
mentions rain. Matched as one vector and one bag of words, the negated words raise exactly the hits
they should exclude. So the query is split here, by a few plain rules a user can predict, and the
parsed form is shown back (`Query.explain`) so a surprising result can be traced to how it was read:

- **Negation**: "without", "except" or "excluding", "not" or "no" opening a clause (at the start, after
  a comma, a semicolon or "but"), "with no", or a "-word", up to the next comma, semicolon, "but" or
  the end; "or" inside it separates several things ("no rain or snow" excludes both). Its leading
  function words are dropped. A "not" or "no" inside a clause describes the scene and stays: "a car
  that does not stop", "a light that is broken or not working", "there is no traffic".
- **Filters** (taken out of the text): `score>=0.5` (also `>`, `<`, `<=`, "score above 0.6",
  "score below 0.3"), `category:10` ("category 10", "cat 10"), `clip:NAME` ("in clip NAME"), and a time
  span in the clip: "in the first 5 seconds", "in the last 10 s", "between 3 and 8 s", "after 20 s",
  "before 15 seconds", `time:3-8`.
- Anything else is the positive text, searched as before: a query without clauses or filters is
  the same query as it always was (`Query.plain`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

_NUM = r"(\d+(?:\.\d+)?)"
_SECONDS = r"\s*(?:s|sec|secs|second|seconds)\b"
# (pattern, what it sets): each matched span is cut out of the query text
_SPANS = [
    (re.compile(rf"\b(?:in|during|within)\s+the\s+first\s+{_NUM}{_SECONDS}", re.I), "first"),
    (re.compile(rf"\b(?:in|during|within)\s+the\s+last\s+{_NUM}{_SECONDS}", re.I), "last"),
    (re.compile(rf"\bbetween\s+{_NUM}(?:{_SECONDS})?\s+and\s+{_NUM}{_SECONDS}", re.I), "between"),
    (re.compile(rf"\btime:\s*{_NUM}\s*-\s*{_NUM}\b", re.I), "between"),
    (re.compile(rf"\bafter\s+{_NUM}{_SECONDS}", re.I), "after"),
    (re.compile(rf"\bbefore\s+{_NUM}{_SECONDS}", re.I), "before"),
]
_SCORE = re.compile(rf"\b(?:long-tail\s+)?score\s*(?::\s*)?(>=|<=|>|<|=|\babove\b|\bbelow\b|\bover\b|\bunder\b)\s*"
                    rf"{_NUM}", re.I)
_CATEGORY = re.compile(r"\b(?:category|cat)\s*:?\s*(\d{1,2})\b", re.I)
_CLIP = re.compile(r"(?:\bin\s+clip\s+|\bclip:\s*)([\w.\-/]+)", re.I)
# an exclusion: "without", "except", "excluding" anywhere; "not" or "no" opening a clause (after a comma, a
# semicolon, "but", or at the start) and "with no". Elsewhere "not"/"no" describe the scene ("a car that does
# not stop", "a light that is broken or not working", "there is no traffic") and stay in the positive text.
_NEGATION = re.compile(r"(?:^\s*|\bbut\s+|\bwith\s+(?=no\b)|(?<=\s)(?=without|except|excluding))"
                       r"(?:not|no|without|except|excluding)\s+(?P<rest>[^,;]+)", re.I)
_MINUS = re.compile(r"(?:^|\s)-(?P<word>[A-Za-z][\w\-]*)")
_CLAUSE_END = re.compile(r"\s+but\s+", re.I)
_LEADING = re.compile(r"^(?:(?:a|an|the|any|in|on|at|of|with|by|from|during|there|is|are|one|ones)\s+)+", re.I)
_TRAILING = re.compile(r"(?:\s+(?:and|or|but|with|in|on|at))+$", re.I)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """Where in the clip a hit's segment must lie: seconds from the start, or from the end when
    `from_end` ("in the last 5 seconds": `start=5, from_end=True`, counted back from the clip's end)."""

    start: float | None = None
    end: float | None = None
    from_end: bool = False

    def admits(self, start_s: float, end_s: float, duration_s: float) -> bool:
        """Whether a segment [start_s, end_s] of a clip `duration_s` long overlaps the span."""
        if self.from_end:
            return end_s > duration_s - (self.start or 0.0)
        lo = self.start if self.start is not None else float("-inf")
        hi = self.end if self.end is not None else float("inf")
        return end_s > lo and start_s < hi

    def __str__(self) -> str:
        if self.from_end:
            return f"the last {self.start:g} s"
        if self.start is not None and self.end is not None:
            return f"{self.start:g}-{self.end:g} s"
        return f"after {self.start:g} s" if self.start is not None else f"before {self.end:g} s"


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search query; `text` is what the dense and lexical halves search for."""

    original: str
    text: str
    without: tuple[str, ...] = ()
    min_score: float | None = None
    max_score: float | None = None
    category: int | None = None
    clip: str | None = None
    span: TimeSpan | None = None

    @property
    def plain(self) -> bool:
        """Nothing taken out: searched exactly as the words were."""
        return self.text == self.original.strip() and not self.filtered and not self.without

    @property
    def filtered(self) -> bool:
        return any(v is not None for v in (self.min_score, self.max_score, self.category, self.clip, self.span))

    def narrowed(self, min_score: float | None = None, category: int | None = None) -> Query:
        """With the filters given beside the query (`--min-score`, `--category`) added: the stricter
        score bound, the option's category over one named in the text."""
        low = max((v for v in (self.min_score, min_score) if v is not None), default=None)
        return dataclasses.replace(self, min_score=low, category=category if category is not None else self.category)

    def explain(self) -> str:
        """How the query was read, in one line: `looking for "..."; not: "rain"; score >= 0.5; ...`."""
        parts = [f'looking for "{self.text}"' if self.text else "no positive text: filters only"]
        if self.without:
            parts.append("not: " + ", ".join(f'"{w}"' for w in self.without))
        if self.min_score is not None:
            parts.append(f"score >= {self.min_score:g}")
        if self.max_score is not None:
            parts.append(f"score < {self.max_score:g}")
        if self.category is not None:
            parts.append(f"category {self.category}")
        if self.clip is not None:
            parts.append(f"clip {self.clip}")
        if self.span is not None:
            parts.append(f"time in clip: {self.span}")
        return "; ".join(parts)


def parse(query: str) -> Query:
    """Split a query into its positive text, negated phrases and filters (see the module docstring)."""
    rest = query.strip()
    span, rest = _span(rest)
    low = high = None
    for m in list(_SCORE.finditer(rest)):
        op, value = m.group(1).lower(), float(m.group(2))
        if op in (">", ">=", "above", "over", "="):
            low = value if op != ">" else value + 1e-9
        else:
            high = value if op != "<=" else value + 1e-9
    rest = _SCORE.sub(" ", rest)
    category = None
    if named := _CATEGORY.search(rest):
        category = int(named.group(1))
        rest = _CATEGORY.sub(" ", rest)
    clip = None
    if which := _CLIP.search(rest):
        clip = which.group(1)
        rest = _CLIP.sub(" ", rest)
    without: list[str] = []
    for m in _MINUS.finditer(rest):
        without.append(m.group("word").lower())
    rest = _MINUS.sub(" ", rest)
    kept = []
    for clause in re.split(r"[,;]", rest):
        found = _NEGATION.search(clause)
        if found is None:
            kept.append(clause)
            continue
        head, negated = clause[: found.start()], found.group("rest")
        tail = ""
        if stop := _CLAUSE_END.search(negated):  # "not on a highway but in a city": the rest is positive
            negated, tail = negated[: stop.start()], negated[stop.end():]
        for thing in re.split(r"\s+(?:or|nor|and)\s+", negated, flags=re.I):
            thing = _TRAILING.sub("", _LEADING.sub("", thing.strip())).strip().lower()
            if thing and thing not in without:
                without.append(thing)
        kept.append(f"{_TRAILING.sub('', head.strip())} {tail}")
    if not without and rest == query.strip():  # nothing taken out: the words exactly as typed
        return Query(original=query, text=rest)
    text = " ".join(" ".join(kept).split()).strip(" ,;")
    text = _TRAILING.sub("", re.sub(r"^(?:but|and)\s+", "", text, flags=re.I)).strip()
    return Query(original=query, text=text, without=tuple(without), min_score=low, max_score=high,
                 category=category, clip=clip, span=span)


def _span(text: str) -> tuple[TimeSpan | None, str]:
    for pattern, kind in _SPANS:
        m = pattern.search(text)
        if m is None:
            continue
        a, *more = (float(g) for g in m.groups())
        match kind:
            case "first" | "before":
                span = TimeSpan(end=a)
            case "last":
                span = TimeSpan(start=a, from_end=True)
            case "after":
                span = TimeSpan(start=a)
            case _:  # between
                span = TimeSpan(start=min(a, *more), end=max(a, *more))
        return span, (text[: m.start()] + " " + text[m.end():]).strip()
    return None, text
