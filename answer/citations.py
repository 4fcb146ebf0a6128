"""From a draft's passage markers to the answer's citations, numbered in order of use.

A draft cites `[n]` = the n-th retrieved passage; the answer cites `[1]`, `[2]`... in the
order they first appear, each naming the exact document version, chunk and a snippet.
"""

from __future__ import annotations

from dataclasses import dataclass

from answer.sentences import MARKER, answer_sentences, markers_of, without_markers
from schemas.answer import Citation
from schemas.index import SearchHit

SNIPPET_CHARS = 400


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
    order: dict[int, int] = {}
    for found in MARKER.finditer(text):
        order.setdefault(int(found[1]), len(order) + 1)
    renumbered = MARKER.sub(lambda m: f"[{order[int(m[1])]}]", text)
    sentences = answer_sentences(text)
    citations = [
        _citation(new, hits[old - 1], [s for s in sentences if old in markers_of(s)])
        for old, new in order.items()
    ]
    return Cited(renumbered, citations)


def _citation(marker: int, hit: SearchHit, sentences: list[str]) -> Citation:
    payload = hit.payload
    snippet = " ".join(without_markers(s) for s in sentences) or payload.text
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return Citation(
        marker=marker,
        doc_id=payload.doc_id,
        version=payload.version,
        sha=payload.sha256,
        path=payload.path,
        heading_path=list(payload.heading_path),
        page=payload.page,
        snippet=snippet,
        chunk_id=payload.chunk_id,
        score=hit.score,
    )
