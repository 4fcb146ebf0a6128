"""Retrieved chunks as the passages an excerpt is cut from, and those passages as units.

Chunks retrieved together that follow each other in one section (same document version and
heading path, consecutive ordinals) are one passage, so an excerpt can read on across the
chunk boundary. Each unit — a sentence, a code block or a table — remembers its paragraph
and the retrieved chunk (`marker`, its 1-based rank) it came from, which it cites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from answer.sentences import FENCE, paragraphs, split_sentences
from schemas.index import SearchHit

UnitKind = Literal["sentence", "code", "table"]
BULLET = re.compile(r"^([-*+•]|\d{1,3}[.)])\s+")  # a list item's marker
_ITEMS = re.compile(r"\n(?=\s*(?:[-*+•]|\d{1,3}[.)])\s)")


@dataclass(frozen=True)
class Unit:
    """One sentence, code block or table of a passage, its paragraph and its chunk."""

    kind: UnitKind
    text: str
    paragraph: int
    bullet: str = ""  # a list item's first sentence carries its marker ("-", "1.")
    marker: int = 1  # the retrieved chunk it comes from (1-based)


@dataclass(frozen=True)
class Passage:
    """One or more retrieved chunks of a section, in reading order, as units."""

    hits: list[SearchHit]
    markers: list[int]
    units: list[Unit]

    @property
    def rank(self) -> int:
        """The best retrieval rank among its chunks."""
        return min(self.markers)

    @property
    def text(self) -> str:
        return "\n\n".join(hit.payload.text for hit in self.hits)

    @property
    def heading_path(self) -> list[str]:
        return self.hits[0].payload.heading_path

    @property
    def chunk_ids(self) -> set[str]:
        return {hit.payload.chunk_id for hit in self.hits}


def passages_of(hits: list[SearchHit]) -> list[Passage]:
    """The hits as passages (adjacent chunks of one section merged), best-ranked first."""
    ordered = sorted(
        enumerate(hits, start=1),
        key=lambda pair: (pair[1].payload.doc_id, pair[1].payload.version, pair[1].payload.ordinal),
    )
    runs: list[list[tuple[int, SearchHit]]] = []
    for marker, hit in ordered:
        if runs and _follows(runs[-1][-1][1], hit):
            runs[-1].append((marker, hit))
        else:
            runs.append([(marker, hit)])
    found = [_passage(run) for run in runs]
    return sorted(found, key=lambda p: p.rank)


def _follows(before: SearchHit, after: SearchHit) -> bool:
    a, b = before.payload, after.payload
    return (a.doc_id, a.version, a.heading_path) == (
        b.doc_id,
        b.version,
        b.heading_path,
    ) and b.ordinal == a.ordinal + 1


def _passage(run: list[tuple[int, SearchHit]]) -> Passage:
    units: list[Unit] = []
    offset = 0
    for marker, hit in run:
        own = units_of(hit.payload.text, marker)
        units.extend(Unit(u.kind, u.text, u.paragraph + offset, u.bullet, u.marker) for u in own)
        offset += 1 + max((u.paragraph for u in own), default=0)
    return Passage([hit for _, hit in run], [marker for marker, _ in run], units)


def units_of(text: str, marker: int = 1) -> list[Unit]:
    """The units of one chunk's text, in order."""
    units: list[Unit] = []
    for number, block in enumerate(paragraphs(text)):
        stripped = block.strip()
        if FENCE.match(stripped):
            units.append(Unit("code", stripped, number, marker=marker))
        elif stripped.startswith("|"):
            units.append(Unit("table", stripped, number, marker=marker))
        else:
            for item in _ITEMS.split(stripped):  # list items of one block: each its own bullet
                units.extend(_sentences(item.strip(), number, marker))
    return units


def _sentences(block: str, number: int, marker: int) -> list[Unit]:
    bullet = BULLET.match(block)
    body = block[bullet.end() :] if bullet else block
    return [
        Unit("sentence", sentence, number, bullet[1] if bullet and i == 0 else "", marker)
        for i, sentence in enumerate(split_sentences(body))
    ]
