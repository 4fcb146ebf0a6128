"""What is indexed for a chunk: its display Markdown read as plain text, after its headings.

Link targets, image addresses, code fences and emphasis marks are not words a question
uses; left in, a URL's parts would count as BM25 terms. The words themselves, code included,
are all kept.
"""

from __future__ import annotations

import re

from schemas import Chunk

_FENCE = re.compile(r"^\s*(```|~~~)[^\n]*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_EMPHASIS = re.compile(r"(\*{1,3}|(?<!\w)_{1,3})(?=\S)(.+?)(?<=\S)\1(?!\w)")
_INLINE_CODE = re.compile(r"`+([^`]+?)`+")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]*-{3,}[\s:|-]*$", re.MULTILINE)


def plain_text(markdown: str) -> str:
    """`markdown` without its markup, words and code kept (what BM25 and the model read)."""
    text = _FENCE.sub("", markdown)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _INLINE_CODE.sub(r"\1", text)
    return _EMPHASIS.sub(r"\2", text)


def indexed_text(chunk: Chunk) -> str:
    """What is embedded and BM25-encoded for a chunk: its heading path, then its plain text."""
    body = plain_text(chunk.text)
    heading = plain_text(chunk.heading)
    return f"{heading}\n\n{body}" if chunk.heading_path else body
