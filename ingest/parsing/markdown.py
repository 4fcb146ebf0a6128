"""Markdown read into display blocks that stay Markdown, with heading paths.

unstructured renders Markdown to HTML and back to text, losing inline code, links and code
fences. Here markdown-it (CommonMark + tables) finds the blocks and each block keeps its
own source lines: paragraphs, each list item, tables and quotes verbatim; fenced and
indented code as a fenced block; headings become the heading path of what follows.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest.parsing.blocks import Block

_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n(?:---|\.\.\.)\s*\n", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_PARSER = MarkdownIt("commonmark").enable("table")
_CONTAINERS = {"bullet_list_open", "ordered_list_open"}


def markdown_blocks(text: str) -> list[Block]:
    """The display blocks of a Markdown document, in order, each under its heading path."""
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n"))
    lines = text.split("\n")
    headings: list[tuple[int, str]] = []
    blocks: list[Block] = []
    titles: list[Block] = []
    tokens = _PARSER.parse(text)
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        path = tuple(title for _, title in headings)
        if token.type == "heading_open":
            depth = int(token.tag[1])
            title = tokens[index + 1].content.strip()
            headings = [*(h for h in headings if h[0] < depth), (depth, title)]
            titles.append(Block(title, tuple(t for d, t in headings if d < depth)))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block(_fenced(token), path, None, code=True))
        elif token.type in _CONTAINERS:
            blocks.extend(Block(item, path) for item in _items(tokens, index, lines))
        elif token.type == "html_block":
            shown = _TAG.sub("", token.content).strip()
            if shown and not token.content.lstrip().startswith("<!--"):
                blocks.append(Block(shown, path))
        elif token.type != "hr":
            blocks.append(Block(_source(lines, token.map), path))
    return [b for b in blocks if b.text.strip()] or titles  # titles only: still text


def _source(lines: list[str], span: list[int]) -> str:
    return "\n".join(line.rstrip() for line in lines[span[0] : span[1]]).strip("\n")


def _fenced(token: Token) -> str:
    language = token.info.strip().split(" ")[0] if token.type == "fence" else ""
    return f"```{language}\n{token.content.rstrip()}\n```"


def _items(tokens: list[Token], start: int, lines: list[str]) -> list[str]:
    """Each top-level item of the list opened at `start`, as its own source lines."""
    items = []
    depth = tokens[start].level + 1
    for token in tokens[start + 1 :]:
        if token.level < depth:
            break
        if token.type == "list_item_open" and token.level == depth and token.map:
            items.append(_source(lines, token.map))
    return items
