"""The trust layer's business rules for a draft answer (the schema is pydantic's job).

A draft marked answered must say something; every sentence must carry a citation; every
citation must name a passage retrieved for this request; and each sentence must be backed by
what it cites: most of its words appear in the cited passages.
"""

from __future__ import annotations

from dataclasses import dataclass

from answer.sentences import answer_sentences, coverage, markers_of, without_markers, words
from core.ports import SparseEncoder
from schemas.answer import Draft
from schemas.index import SearchHit

MIN_SUPPORT = 0.6  # share of a sentence's words found in the passages it cites


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
    sentences = answer_sentences(draft.text)
    if not any(without_markers(s) for s in sentences):
        return [Problem("empty_answer", "the answer is empty but marked answered")]
    problems: list[Problem] = []
    for number, sentence in enumerate(sentences, start=1):
        problems.extend(_check_sentence(number, sentence, hits, sparse))
    return problems


def _check_sentence(
    number: int, sentence: str, hits: list[SearchHit], sparse: SparseEncoder
) -> list[Problem]:
    markers = markers_of(sentence)
    if not markers:
        return [Problem("uncited_claim", f"sentence {number} cites nothing: {sentence!r}")]
    unknown = sorted({m for m in markers if not 1 <= m <= len(hits)})
    if unknown:
        listed = ", ".join(f"[{m}]" for m in unknown)
        return [
            Problem(
                "unknown_citation",
                f"sentence {number} cites {listed}, not one of the {len(hits)} passages "
                "retrieved for this question",
            )
        ]
    cited: set[int] = set()
    for marker in markers:
        cited |= words(sparse, hits[marker - 1].payload.text)
    share = coverage(words(sparse, without_markers(sentence)), cited)
    if share < MIN_SUPPORT:
        return [
            Problem(
                "unsupported_claim",
                f"sentence {number}: only {share:.0%} of its words are in the passages it cites",
            )
        ]
    return []
