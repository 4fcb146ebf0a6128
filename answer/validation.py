"""The trust layer's business rules for a draft answer (the schema is pydantic's job).

A draft marked answered must say something; every claim must be cited (a marker cites the
sentences before it in its paragraph; a code block is cited by the paragraph introducing
it); every citation must name a passage retrieved for this request; and each claim must be
backed by what it cites: most of its words appear in the cited passages. A closing "See
also:" line only lists passages, each of which must have been retrieved.
"""

from __future__ import annotations

from dataclasses import dataclass

from answer.sentences import Claim, claims, coverage, words
from core.ports import SparseEncoder
from schemas.answer import Draft
from schemas.index import SearchHit

MIN_SUPPORT = 0.6  # share of a claim's words found in the passages it cites


@dataclass(frozen=True)
class Problem:
    """One broken rule, said so that a repair prompt can fix it."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def check_draft(draft: Draft, hits: list[SearchHit], sparse: SparseEncoder) -> list[Problem]:
    """Every rule `draft` breaks against the passages `hits` (numbered from 1)."""
    if draft.error:
        return [Problem("malformed_output", draft.error)]
    if draft.status == "declined":
        return []
    found = claims(draft.text)
    if not any(c.text for c in found if c.kind != "see_also"):
        return [Problem("empty_answer", "the answer is empty but marked answered")]
    problems: list[Problem] = []
    for number, claim in enumerate(found, start=1):
        problems.extend(_check_claim(number, claim, hits, sparse))
    return problems


def _check_claim(
    number: int, claim: Claim, hits: list[SearchHit], sparse: SparseEncoder
) -> list[Problem]:
    what = "the code block" if claim.kind == "code" else "sentence"
    if not claim.markers:
        return [Problem("uncited_claim", f"{what} {number} cites nothing: {claim.text!r}")]
    unknown = sorted({m for m in claim.markers if not 1 <= m <= len(hits)})
    if unknown:
        listed = ", ".join(f"[{m}]" for m in unknown)
        return [
            Problem(
                "unknown_citation",
                f"{what} {number} cites {listed}, not one of the {len(hits)} passages "
                "retrieved for this question",
            )
        ]
    if claim.kind == "see_also":
        return []
    cited: set[int] = set()
    for marker in claim.markers:
        cited |= words(sparse, hits[marker - 1].payload.text)
    share = coverage(words(sparse, claim.text), cited)
    if share < MIN_SUPPORT:
        return [
            Problem(
                "unsupported_claim",
                f"{what} {number}: only {share:.0%} of its words are in the passages it cites",
            )
        ]
    return []
