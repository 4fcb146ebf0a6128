"""Answers from resolutions: a question that asks what an approved answer answered gets that
answer, while every version it cites is still current.

A question matches a resolution when its embedding is within `threshold` cosine of one of the
resolution's questions (the answer's own, plus the phrasings the admin added). Before one is
served, its pinned versions are confirmed current; one that is not is marked stale (the owners
are alerted) and the question is answered from the index as usual. A key limited to sources
only gets resolutions whose citations all lie in them.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from answer.records import AnswerRecords
from catalog.resolutions import tell_owners
from core.errors import Conflict, InvalidRequest, NotFound
from core.instructions import find_instructions
from core.ports import Embedder
from schemas.answer import AnswerStatus, Citation, SearchFilters
from schemas.resolutions import ApproveRequest, Resolution, ResolutionRequest

#: MiniLM cosine (the default ONNX int8 runtime) at which two questions ask the same thing.
#: Measured (`bench/resolution_match.py`): the 87 distinct agent_sessions dev questions are at
#: most 0.566 apart; rewordings score 0.92-0.93, a looser paraphrase 0.77, "create" vs "delete a
#: superuser" 0.69. High, so only what is plainly the same question is served (admins add other
#: phrasings to a resolution).
MATCH_AT = 0.88


@dataclass(frozen=True)
class Match:
    """A resolution a question matched, and how closely."""

    resolution: Resolution
    similarity: float


@dataclass
class ResolutionBook:
    """Finds the resolution a question asks for, if any."""

    catalog: AnswerRecords
    threshold: float = MATCH_AT
    _vectors: dict[tuple[str, str, str], list[list[float]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def match(self, question: str, filters: SearchFilters, embedder: Embedder) -> Match | None:
        """The closest active resolution within the threshold whose versions are current."""
        candidates = [
            r for r in self.catalog.resolutions.find("active") if readable(r.citations, filters)
        ]
        if not candidates:
            return None
        [asked] = embedder.embed([question])
        scored = sorted(
            ((max(_dot(asked, v) for v in self._questions(r, embedder)), r) for r in candidates),
            key=lambda pair: -pair[0],
        )
        for similarity, resolution in scored:
            if similarity < self.threshold:
                return None
            if self.current(resolution):
                return Match(resolution, round(similarity, 4))
        return None

    def current(self, resolution: Resolution) -> bool:
        """True when every cited version is current; else it is marked stale, owners told."""
        moved = _moved(self.catalog, resolution.citations)
        if not moved:
            return True
        first, now = moved[0]
        for found in self.catalog.resolutions.superseded(first.doc_id, now):
            tell_owners(found)
        return False

    def _questions(self, resolution: Resolution, embedder: Embedder) -> list[list[float]]:
        key = (resolution.resolution_id, resolution.updated_at.isoformat(), embedder.model_id)
        with self._lock:
            known = self._vectors.get(key)
        if known is None:
            known = embedder.embed(resolution.questions)
            with self._lock:
                self._vectors[key] = known
        return known


def readable(citations: list[Citation], filters: SearchFilters) -> bool:
    """True when every cited document lies within the sources and document `filters` allow."""
    allowed = filters.searched()
    for citation in citations:
        source = citation.doc_id.removesuffix(f"/{citation.path}")
        if filters.doc_id is not None and citation.doc_id != filters.doc_id:
            return False
        if isinstance(allowed, tuple) and source not in allowed:
            return False
        if isinstance(allowed, str) and source != allowed:
            return False
    return True


def resolve(
    catalog: AnswerRecords, request: ResolutionRequest, approved_by: str | None
) -> Resolution:
    """A resolution made from an audited answer (its text, or the corrected `text`), its
    citations pinned to the versions the answer cited, which must still be current."""
    record = catalog.answers.audit(request.answer_id)
    if record is None:
        raise NotFound(f"no answer {request.answer_id!r}")
    answer = record.answer
    if answer.status is AnswerStatus.DECLINED or not answer.citations:
        raise Conflict("a declined answer cites nothing to carry forward; correct an answered one")
    text = request.text or answer.text
    citations = _cited_by(text, answer.citations)
    _confirm_current(catalog, citations)
    questions = [record.question, *request.questions]
    return catalog.resolutions.create(answer.answer_id, questions, text, citations, approved_by)


def approve_again(
    catalog: AnswerRecords, resolution_id: str, request: ApproveRequest, approved_by: str | None
) -> Resolution:
    """Approve a (stale) resolution again: each cited passage must still be in its document's
    current version (the same chunk); it is pinned there. A changed passage is a 409."""
    resolution = catalog.resolutions.get(resolution_id)
    text = request.text or resolution.text
    citations = _cited_by(text, resolution.citations)
    current = catalog.current_versions(sorted({c.doc_id for c in citations}))
    pinned = []
    for citation in citations:
        version = current.get(citation.doc_id)
        chunk_ids = (
            {c.chunk_id for c in catalog.chunks(citation.doc_id, version)} if version else set()
        )
        if citation.chunk_id not in chunk_ids:
            raise Conflict(
                f"the passage [{citation.marker}] cites is no longer in {citation.doc_id}; "
                "make a new resolution from a fresh answer"
            )
        pinned.append(citation.model_copy(update={"version": version}))
    return catalog.resolutions.approve(resolution_id, text, pinned, approved_by)


def _cited_by(text: str, citations: list[Citation]) -> list[Citation]:
    """The citations `text`'s [n] markers name (every marker must name one; at least one).
    Text that reads like instructions (a planted passage approved as it was) is refused."""
    planted = find_instructions(text)
    if planted:
        raise InvalidRequest(
            f"the text reads like instructions ({planted[0].phrase!r}): correct it before it "
            "is served to customers"
        )
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    known = {c.marker: c for c in citations}
    unknown = sorted(markers - set(known))
    if unknown:
        raise InvalidRequest(f"markers {unknown} name no citation of the answer")
    if not markers:
        raise InvalidRequest("the text cites nothing: keep at least one [n] marker")
    return [c for c in citations if c.marker in markers]


def _moved(catalog: AnswerRecords, citations: list[Citation]) -> list[tuple[Citation, int | None]]:
    """The citations whose pinned version is no longer current, each with the current one
    (None: the document was deleted)."""
    current = catalog.current_versions(sorted({c.doc_id for c in citations}))
    return [(c, current.get(c.doc_id)) for c in citations if current.get(c.doc_id) != c.version]


def _confirm_current(catalog: AnswerRecords, citations: list[Citation]) -> None:
    moved = _moved(catalog, citations)
    if moved:
        first = moved[0][0]
        raise Conflict(
            f"{first.doc_id} v{first.version} is no longer current; ask again and "
            "resolve the fresh answer"
        )


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))
