"""Sentences and their words: how answers are cut, compared and checked against passages.

Words are BM25's stemmed, stopword-free tokens, so "refunds" in an answer matches "refund"
in a passage exactly as search matched them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.ports import SparseEncoder

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*•]\s)")
_STOP_THEN_MARKERS = re.compile(r"([.!?])((?:[ \t]*\[\d+\])+)")
_MARKERS = re.compile(r"\s*(\[\d+\])+")
MARKER = re.compile(r"\[(\d+)\]")  # a citation marker, `[n]`
FENCE = re.compile(r"^\s*(```|~~~)")  # opens or closes a fenced code block
SEE_ALSO = "See also:"  # a closing line that only lists further passages
_SEE_ALSO_LINE = re.compile(rf"^{SEE_ALSO}\s*\[\d+\]")


def paragraphs(text: str) -> list[str]:
    """The blank-line separated blocks of `text`, a fenced code block kept whole."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if FENCE.match(line):
            if not fenced and current:
                blocks.append("\n".join(current))
                current = []
            current.append(line)
            fenced = not fenced
            if not fenced:
                blocks.append("\n".join(current))
                current = []
            continue
        if not fenced and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return [b for b in blocks if b.strip()]


@dataclass(frozen=True)
class Claim:
    """One unit of an answer the trust layer checks, with the markers that cite it.

    A marker cites the sentences before it in its paragraph (back to the previous marker); a
    code block or table is cited by the paragraph that introduces it; a "See also:" line
    only lists passages.
    """

    text: str
    markers: list[int]
    kind: Literal["sentence", "code", "see_also"]


def claims(text: str) -> list[Claim]:
    """The claims of an answer, in order (see `Claim`)."""
    found: list[Claim] = []
    introducing: list[int] = []
    for block in paragraphs(text):
        stripped = block.strip()
        if FENCE.match(stripped) or stripped.startswith("|"):
            body = "\n".join(line for line in stripped.split("\n") if not FENCE.match(line))
            found.append(Claim(body, list(introducing), "code"))
            continue
        if _SEE_ALSO_LINE.match(stripped):
            found.append(Claim(stripped, markers_of(stripped), "see_also"))
            continue
        pending: list[str] = []
        for sentence in answer_sentences(stripped):
            pending.append(sentence)
            markers = markers_of(sentence)
            if markers:
                found.extend(Claim(without_markers(s), markers, "sentence") for s in pending)
                pending, introducing = [], markers
        found.extend(Claim(without_markers(s), [], "sentence") for s in pending)
    return [c for c in found if c.text or c.kind == "see_also"]


def quoted_markers(text: str) -> set[int]:
    """The markers an answer quotes from: every claim's but its "See also" line's."""
    return {m for c in claims(text) if c.kind != "see_also" for m in c.markers}


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, trimmed, in order (list items and paragraphs end one too)."""
    parts = (p.strip(" \t\n-*•") for p in _SENTENCE_END.split(text))
    return [" ".join(p.split()) for p in parts if p and p.strip(" \t\n-*•")]


_PROSE_WORD = re.compile(r"[\"'(]?[A-Za-z][A-Za-z'’-]*[\"').,:;!?]*")


def looks_like_code(sentence: str) -> bool:
    """True for a code line or doctest rather than prose (few plain words): not an answer.
    Inline code (`name`) inside prose is a word of that prose."""
    tokens = _INLINE_CODE.sub("code", sentence).split()
    if not tokens or ">>>" in sentence or sentence.lstrip().startswith(("$ ", "def ", "class ")):
        return True
    prose = sum(1 for token in tokens if _PROSE_WORD.fullmatch(token))
    return prose / len(tokens) < 0.6


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer, each with the markers written after its full stop."""
    return split_sentences(_STOP_THEN_MARKERS.sub(lambda m: f" {m[2].strip()}{m[1]}", text))


_INLINE_CODE = re.compile(r"(`+)[^`\n]*?\1")


def mask_code(text: str) -> str:
    """`text` with fenced blocks and inline code blanked out (same length): a `[1]` in code
    (`args[1]`) is not a citation marker."""
    chars = list(text)
    fenced = False
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        if FENCE.match(line) or fenced:
            chars[start:end] = " " * len(line)
        if FENCE.match(line):
            fenced = not fenced
        start = end + 1
    for found in _INLINE_CODE.finditer(text):
        chars[found.start() : found.end()] = " " * (found.end() - found.start())
    return "".join(chars)


def marker_spans(text: str) -> list[re.Match[str]]:
    """The `[n]` markers of `text` outside code, as matches (positions are `text`'s)."""
    return list(MARKER.finditer(mask_code(text)))


def markers_of(sentence: str) -> list[int]:
    """The `[n]` markers in a sentence (outside code), in order."""
    return [int(m[1]) for m in marker_spans(sentence)]


def without_markers(sentence: str) -> str:
    """A sentence with its `[n]` markers (outside code) removed."""
    masked = mask_code(sentence)
    kept, last = [], 0
    for found in _MARKERS.finditer(masked):
        kept.append(sentence[last : found.start()])
        last = found.end()
    kept.append(sentence[last:])
    return "".join(kept).strip()


def words(encoder: SparseEncoder, text: str) -> set[int]:
    """The BM25 tokens of `text` (stemmed, no stopwords)."""
    return set(encoder.encode_query(text).indices)


def coverage(part: set[int], whole: set[int]) -> float:
    """Share of `part`'s words found in `whole` (1.0 when `part` has none)."""
    return len(part & whole) / len(part) if part else 1.0
