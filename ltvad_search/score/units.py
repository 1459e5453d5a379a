"""Text units finer than a description: its sentences.

Real descriptions are paragraphs in which one sentence may carry the event ("a man steps out of his
car into our path") among several routine ones. The sentence scorer (score/scorers/sentences.py) and the
sentence rows of the search index both start from this split.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (at ., ! or ? followed by white space); the text itself if one."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    return parts or [text.strip()]
