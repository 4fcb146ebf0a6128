"""A `Block`: one paragraph, list item or table of a parsed document, and where it sits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """Text of one element, the headings above it (outermost first) and its page (PDF).

    `code`: the text is a fenced code block (Markdown), cut only between lines.
    """

    text: str
    heading_path: tuple[str, ...]
    page: int | None = None
    code: bool = False

    @property
    def words(self) -> int:
        """Word count, the unit chunk sizes are measured in."""
        return len(self.text.split())
