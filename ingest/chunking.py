"""Chunking: blocks → chunks that keep structure and keep their ids across edits.

Rules, chosen so that an edit to one paragraph changes only the chunks around it:
- A chunk never crosses a heading: each section (same heading path) is chunked alone.
- In a section, a chunk starts at the first block and at every *anchor*: a block of at
  least `min_words`. Shorter blocks (list items, one-liners) join the chunk before them,
  unless that would pass `max_words`. So boundaries depend on nearby blocks only: an
  edit reaches at most the chunk it is in and the one its anchor status touches.
- A code block never starts a chunk unless it must (size): it stays with the text that
  introduces it ("run this command:").
- A block over `max_words` is cut at sentence ends (or, failing that, at words); a code
  block between lines, each piece fenced again.
- Ids hash (document, heading path, page, text, n-th copy): the same text at the same
  place keeps its id whatever happens elsewhere in the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from catalog import NewChunk
from core.ids import chunk_id
from ingest.parsing.blocks import Block

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


@dataclass(frozen=True)
class ChunkPolicy:
    """Size bounds in words (the model truncates near 256 tokens: stay under ~180 words)."""

    max_words: int = 180
    min_words: int = 40

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(f"need 1 <= min_words <= max_words, got {self}")


@dataclass
class _Draft:
    heading_path: tuple[str, ...]
    page: int | None
    parts: list[str] = field(default_factory=list)
    words: int = 0

    def add(self, block: Block) -> None:
        self.parts.append(block.text)
        self.words += block.words


def chunk_blocks(doc_id: str, blocks: Sequence[Block], policy: ChunkPolicy) -> list[NewChunk]:
    """Chunks of one document version, in document order, with stable ids."""
    seen: dict[tuple[tuple[str, ...], int | None, str], int] = {}
    chunks: list[NewChunk] = []
    for draft in _drafts(blocks, policy):
        text = "\n\n".join(draft.parts)
        key = (draft.heading_path, draft.page, text)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        cid = chunk_id(doc_id, draft.heading_path, draft.page, text, occurrence)
        chunks.append(NewChunk(cid, text, draft.heading_path, draft.page))
    return chunks


def _drafts(blocks: Sequence[Block], policy: ChunkPolicy) -> Iterator[_Draft]:
    for heading_path, section in groupby(blocks, key=lambda b: b.heading_path):
        draft: _Draft | None = None
        for block in _split_long(section, policy.max_words):
            starts_chunk = (
                draft is None
                or (block.words >= policy.min_words and not block.code)
                or draft.words + block.words > policy.max_words
            )
            if starts_chunk:
                if draft is not None:
                    yield draft
                draft = _Draft(heading_path, block.page)
            assert draft is not None
            draft.add(block)
        if draft is not None:
            yield draft


def _split_long(blocks: Iterator[Block], max_words: int) -> Iterator[Block]:
    for block in blocks:
        if block.words <= max_words:
            yield block
            continue
        pieces = (
            _code_pieces(block.text, max_words) if block.code else _windows(block.text, max_words)
        )
        for piece in pieces:
            yield Block(piece, block.heading_path, block.page, code=block.code)


def _code_pieces(text: str, max_words: int) -> Iterator[str]:
    """A fenced code block cut between lines into fenced pieces of at most ~`max_words`."""
    lines = text.split("\n")
    opening = lines[0] if lines[0].startswith("```") else "```"
    body = lines[1:-1] if lines[0].startswith("```") and lines[-1] == "```" else lines
    piece: list[str] = []
    count = 0
    for line in body:
        size = len(line.split())
        if piece and count + size > max_words:
            yield "\n".join([opening, *piece, "```"])
            piece, count = [], 0
        piece.append(line)
        count += size
    if piece:
        yield "\n".join([opening, *piece, "```"])


def _windows(text: str, max_words: int) -> Iterator[str]:
    """Pieces of at most `max_words`, cut at sentence ends where possible."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    units: list[str] = []
    for sentence in sentences:
        words = sentence.split()
        units.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
    piece: list[str] = []
    count = 0
    for unit in units:
        size = len(unit.split())
        if piece and count + size > max_words:
            yield " ".join(piece)
            piece, count = [], 0
        piece.append(unit)
        count += size
    if piece:
        yield " ".join(piece)
