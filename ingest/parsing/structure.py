"""Turning unstructured's elements into `Block`s with heading paths.

Markdown, HTML and DOCX headings carry a depth. Plain text is often reStructuredText
(the Django docs are): a title is underlined (and maybe overlined) with punctuation, and
levels follow the order in which adornment styles first appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ingest.parsing.blocks import Block

_ADORNMENT = re.compile(r"^([=\-~^*+#\"'`:._])\1{2,}$")
_UNDERLINED = re.compile(r"^(?P<title>.*\S)\s+(?P<rule>([=\-~^*+#\"'`:._])\3{2,})$", re.DOTALL)
_SKIPPED = frozenset({"PageBreak", "Header", "Footer", "Image"})
_MAX_TITLE_WORDS = 25
_MAX_FIRST_LINE_WORDS = 12
_SENTENCE_END = (".", ":", ";", ",", "!", "?")
_FIRST_LINE = ("first line", False)  # the style of a first-line title: always the top level


def to_blocks(elements: Iterable[Any], plain_text: bool) -> list[Block]:
    """Blocks in document order; titles become the heading path of what follows."""
    items = [(e.category, (e.text or "").strip(), e.metadata) for e in elements]
    if plain_text:
        return _rest_blocks(items)
    headings: list[str] = []
    blocks: list[Block] = []
    titles: list[Block] = []
    for category, text, meta in items:
        if not text or category in _SKIPPED:
            continue
        depth = meta.category_depth
        if category == "Title" and depth is not None:
            headings = [*headings[:depth], text]
            titles.append(Block(text, tuple(headings[:-1]), meta.page_number))
            continue
        body = f"- {text}" if category == "ListItem" else text
        blocks.append(Block(body, tuple(headings), meta.page_number))
    return blocks or titles  # a document of headings only still has text


def _rest_blocks(items: list[tuple[str, str, Any]]) -> list[Block]:
    items = [item for item in items if item[1] and item[0] not in _SKIPPED]
    styles: list[tuple[str, bool]] = []
    headings: list[str] = []
    blocks: list[Block] = []
    index = 0
    if _is_first_line_title(items):
        styles.append(_FIRST_LINE)
        headings = [items[0][1]]
        index = 1
    while index < len(items):
        category, text, meta = items[index]
        match = _ADORNMENT.match(text)
        overline = match.group(1) if match else None
        if overline and index + 1 < len(items):
            index += 1  # an overline: the title follows
            category, text, meta = items[index]
        title, rule, used = _title_of(text, items[index + 1 : index + 2])
        index += 1 + used
        if title is not None and rule is not None:
            style = (rule, overline == rule)
            if style not in styles:
                styles.append(style)
            headings = [*headings[: styles.index(style)], title]
            continue
        if _ADORNMENT.match(text):
            continue  # a stray transition line
        body = f"- {text}" if category == "ListItem" else text
        blocks.append(Block(body, tuple(headings), meta.page_number))
    return blocks


def _is_first_line_title(items: list[tuple[str, str, Any]]) -> bool:
    """A plain-text file that opens with one short line and no adornment: the line is its title."""
    if len(items) < 2:
        return False
    first, second = items[0][1], items[1][1]
    return (
        "\n" not in first
        and len(first.split()) <= _MAX_FIRST_LINE_WORDS
        and not first.endswith(_SENTENCE_END)
        and not _ADORNMENT.match(first)
        and not _ADORNMENT.match(second)
        and _title_of(first, items[1:2])[0] is None
    )


def _title_of(
    text: str, following: list[tuple[str, str, Any]]
) -> tuple[str | None, str | None, int]:
    """(title, adornment char, elements consumed after it) if `text` is a reST title."""
    match = _UNDERLINED.match(text)
    if match and len(match["rule"]) >= len(match["title"]) * 0.6:
        title = match["title"]
        if len(title.split()) <= _MAX_TITLE_WORDS * 2 and "\n" not in title:
            return title, match["rule"][0], 0
    after = following[0][1] if following else ""
    if _ADORNMENT.match(after) and len(after) >= len(text) * 0.6 and not _ADORNMENT.match(text):
        return text, after[0], 1
    return None, None, 0
