"""From a draft's passage markers to the answer's citations, numbered in order of use.

A draft cites `[n]` = the n-th retrieved passage; the answer cites `[1]`, `[2]`... in the
order they first appear (markers in code are code, not citations), each naming the exact
document version and chunk, the passage's own text as its snippet, and the link to read
that version with the chunk marked. A passage named only on the "See also:" line is a
see-also citation.
"""

from __future__ import annotations

from dataclasses import dataclass

from answer.sentences import marker_spans, quoted_markers
from schemas.answer import Citation, citation_url
from schemas.index import SearchHit


@dataclass(frozen=True)
class Cited:
    """The answer text renumbered, its citations, and the (doc_id, version) pairs it rests on."""

    text: str
    citations: list[Citation]

    @property
    def versions(self) -> set[tuple[str, int]]:
        """The document versions cited."""
        return {(c.doc_id, c.version) for c in self.citations}


def cite(text: str, hits: list[SearchHit]) -> Cited:
    """Renumber `text`'s markers by first use and describe each cited passage."""
    spans = marker_spans(text)
    order: dict[int, int] = {}
    for found in spans:
        order.setdefault(int(found[1]), len(order) + 1)
    pieces, last = [], 0
    for found in spans:
        pieces.append(text[last : found.start()] + f"[{order[int(found[1])]}]")
        last = found.end()
    renumbered = "".join([*pieces, text[last:]])
    quoted = quoted_markers(text)
    citations = [
        _citation(new, hits[old - 1], see_also=old not in quoted) for old, new in order.items()
    ]
    return Cited(renumbered, citations)


def _citation(marker: int, hit: SearchHit, *, see_also: bool) -> Citation:
    payload = hit.payload
    return Citation(
        marker=marker,
        doc_id=payload.doc_id,
        version=payload.version,
        sha=payload.sha256,
        path=payload.path,
        heading_path=list(payload.heading_path),
        page=payload.page,
        snippet=payload.text,
        chunk_id=payload.chunk_id,
        score=hit.score,
        url=citation_url(payload.doc_id, payload.version, payload.chunk_id),
        see_also=see_also,
    )
