"""Where an excerpt starts and ends in its passage, and how it is written out.

Pure functions over a passage's units: the span opens where the best sentence's chunk opens
(when the sentence is near) or at the sentence a leading "It…"/"However…" leans on, keeps the best
sentence's strong neighbours, reads on to a minimum length taking the code block, table or
list each sentence it reads introduces ("…this command:"), and never ends on an introduction
with nothing after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from answer.passages import BULLET, Unit

#: Version notes and cross-references: true, but an answer never runs on into them.
ASIDE = re.compile(r"^(?:New in version|Changed in version|Deprecated since version|See also:)")
_SHORT_CODE_LINES = 12
#: A sentence opening like this leans on the one before it.
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|them|such|here|however|therefore|thus|"
    r"also|another|but|so|then|otherwise|instead|likewise|similarly|alternatively|"
    r"additionally|furthermore|moreover|finally|in this case|in that case|in addition|"
    r"for example|for instance|as a result|to do (?:this|so)|this way|second|third|or|and)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SpanRules:
    """How long an excerpt may grow, in words of prose (code it introduces aside)."""

    min_words: int = 100  # read on past the best sentence until this long (the passage allowing)
    max_words: int = 160
    from_start: bool = True  # open where the best sentence's chunk opens, when it is near


def span(
    passage: list[Unit], best: int, neighbours: list[int], rules: SpanRules
) -> tuple[int, int]:
    """First and last unit of the excerpt around unit `best`; `neighbours` are other strong
    sentences (closest first) it may take in while within `rules.max_words`."""
    low = high = best
    opening = next(
        i
        for i, u in enumerate(passage)
        if u.kind == "sentence" and u.marker == passage[best].marker
    )  # where the best sentence's chunk opens
    if rules.from_start and _prose(passage, opening, best) <= rules.max_words:
        low = opening
    for other in neighbours:
        wider = (min(low, other), max(high, other))
        if _prose(passage, *wider) <= rules.max_words:
            low, high = wider
    for _ in range(2):
        first = passage[low]
        if low == 0 or not _LEANS_BACK.match(first.text) or first.bullet:
            break
        if passage[low - 1].kind != "sentence" or _prose(passage, low - 1, high) > rules.max_words:
            break
        low -= 1
    high = _introduced(passage, high, rules.max_words)
    while (  # an answer often follows the sentence that matches the question best
        high + 1 < len(passage)
        and _prose(passage, low, high) < rules.min_words
        and _prose(passage, low, high + 1) <= rules.max_words
        and _reads_on(passage[high + 1])
    ):
        high = _introduced(passage, high + 1, rules.max_words)
    if high > best and _dangling(passage, high):
        high -= 1  # "…three other methods:" with nothing after it in the passage
    return low, high


def _reads_on(unit: Unit) -> bool:
    """Whether an excerpt may run on into `unit`: prose or a short code block, not an aside."""
    if unit.kind == "sentence":
        return not ASIDE.match(unit.text)
    return unit.kind == "code" and unit.text.count("\n") <= _SHORT_CODE_LINES + 1


def _dangling(passage: list[Unit], high: int) -> bool:
    """The excerpt's last sentence introduces something the passage does not hold."""
    last = passage[high]
    return last.kind == "sentence" and last.text.rstrip().endswith(":") and high + 1 == len(passage)


def _introduced(passage: list[Unit], high: int, max_words: int) -> int:
    """Past the span's last sentence when it introduces something ("…this command:"): the code
    block or table after it, or the list items after it (as many as fit, and what the last
    item taken introduces in turn)."""
    if not passage[high].text.rstrip().endswith(":") or high + 1 >= len(passage):
        return high
    if passage[high + 1].kind in ("code", "table"):
        return high + 1
    end, end_paragraph = high, passage[high].paragraph
    budget = max_words
    for position in range(high + 1, len(passage)):
        unit = passage[position]
        if unit.kind != "sentence" or (
            not unit.bullet and (position == high + 1 or unit.paragraph != end_paragraph)
        ):
            break  # not a list item, nor an item's next sentence
        budget -= len(unit.text.split())
        if budget < 0 and end > high:
            break
        end, end_paragraph = position, unit.paragraph
    return _introduced(passage, end, budget) if end > high else end


def _prose(passage: list[Unit], low: int, high: int) -> int:
    return sum(len(u.text.split()) for u in passage[low : high + 1] if u.kind == "sentence")


def excerpt(units: list[Unit]) -> str:
    """The units as Markdown, each prose paragraph (a run of list items is one) ending with its
    chunk's `[marker]`; a code block or table follows the paragraph that introduces it."""
    blocks: list[str] = []
    paragraph: list[str] = []
    current: tuple[int, int] | None = None
    marker = units[0].marker if units else 1
    for unit in units:
        if unit.kind != "sentence":  # cited by the paragraph introducing it (and its chunk)
            _close(blocks, paragraph, marker, also=unit.marker)
            blocks.append(unit.text)
            current = None
            continue
        where = (unit.marker, unit.paragraph)
        if paragraph and (where != current or unit.bullet):
            if unit.bullet and BULLET.match(paragraph[0]) and unit.marker == marker:
                paragraph.append("\n")  # the next item of one list: one paragraph
            else:
                _close(blocks, paragraph, marker)
        current, marker = where, unit.marker
        paragraph.append(f"{unit.bullet} {unit.text}" if unit.bullet else unit.text)
    _close(blocks, paragraph, marker)
    return "\n\n".join(blocks)


def _close(blocks: list[str], paragraph: list[str], marker: int, also: int | None = None) -> None:
    if paragraph:
        text = " ".join(paragraph).replace(" \n ", "\n")
        extra = f"[{also}]" if also is not None and also != marker else ""
        blocks.append(f"{text} [{marker}]{extra}")
        paragraph.clear()
