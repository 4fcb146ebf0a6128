"""Sentences and their words: how answers are cut, compared and checked against passages.

Words are BM25's stemmed, stopword-free tokens, so "refunds" in an answer matches "refund"
in a passage exactly as search matched them.
"""

from __future__ import annotations

import re

from core.ports import SparseEncoder

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*•]\s)")
_STOP_THEN_MARKERS = re.compile(r"([.!?])((?:[ \t]*\[\d+\])+)")
_MARKERS = re.compile(r"\s*(\[\d+\])+")
MARKER = re.compile(r"\[(\d+)\]")  # a citation marker, `[n]`


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, trimmed, in order (list items and paragraphs end one too)."""
    parts = (p.strip(" \t\n-*•") for p in _SENTENCE_END.split(text))
    return [" ".join(p.split()) for p in parts if p and p.strip(" \t\n-*•")]


_PROSE_WORD = re.compile(r"[\"'(]?[A-Za-z][A-Za-z'’-]*[\"').,:;!?]*")


def looks_like_code(sentence: str) -> bool:
    """True for a code line or doctest rather than prose (few plain words): not an answer."""
    tokens = sentence.split()
    if not tokens or ">>>" in sentence or sentence.lstrip().startswith(("$ ", "def ", "class ")):
        return True
    prose = sum(1 for token in tokens if _PROSE_WORD.fullmatch(token))
    return prose / len(tokens) < 0.6


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer, each with the markers written after its full stop."""
    return split_sentences(_STOP_THEN_MARKERS.sub(lambda m: f" {m[2].strip()}{m[1]}", text))


def markers_of(sentence: str) -> list[int]:
    """The `[n]` markers in a sentence, in order."""
    return [int(n) for n in MARKER.findall(sentence)]


def without_markers(sentence: str) -> str:
    """A sentence with its `[n]` markers removed."""
    return _MARKERS.sub("", sentence).strip()


def words(encoder: SparseEncoder, text: str) -> set[int]:
    """The BM25 tokens of `text` (stemmed, no stopwords)."""
    return set(encoder.encode_query(text).indices)


def coverage(part: set[int], whole: set[int]) -> float:
    """Share of `part`'s words found in `whole` (1.0 when `part` has none)."""
    return len(part & whole) / len(part) if part else 1.0
