"""A passage's display Markdown cut into the units an excerpt is built from.

Paragraphs are separated by blank lines; a fenced code block is one unit however many blank
lines it holds; a table is one unit; every other paragraph (list items included) is cut into
sentences. Each unit knows its paragraph, so an excerpt can keep the passage's layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from answer.sentences import FENCE, paragraphs, split_sentences

UnitKind = Literal["sentence", "code", "table"]


@dataclass(frozen=True)
class Unit:
    """One sentence, code block or table of a passage, and the paragraph it belongs to."""

    kind: UnitKind
    text: str
    paragraph: int
    bullet: str = ""  # a list item's first sentence carries its marker ("-", "1.")


def units_of(text: str) -> list[Unit]:
    """The units of a passage, in order."""
    units: list[Unit] = []
    for number, block in enumerate(paragraphs(text)):
        stripped = block.strip()
        if FENCE.match(stripped):
            units.append(Unit("code", stripped, number))
        elif stripped.startswith("|"):
            units.append(Unit("table", stripped, number))
        else:
            units.extend(_sentences(stripped, number))
    return units


_BULLET = re.compile(r"^([-*+•]|\d{1,3}[.)])\s+")


def _sentences(block: str, number: int) -> list[Unit]:
    bullet = _BULLET.match(block)
    body = block[bullet.end() :] if bullet else block
    found = split_sentences(body)
    return [
        Unit("sentence", sentence, number, bullet[1] if bullet and i == 0 else "")
        for i, sentence in enumerate(found)
    ]
