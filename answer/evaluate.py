"""Answer-level evaluation: every dev question through the answer service, then how well it
declined what it should not answer, whether its citations hold a relevant page, and whether
they cite the current version of it.

A question whose `answerable` is false is the positive class of declining; a decline, an
escalation or a clarifying question all count as not answering.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from answer.service import AnswerService
from retrieve.evaluate import EvalQuestion, percentile
from schemas.answer import Answer, AnswerStatus, ChatRequest, SearchFilters


@dataclass(frozen=True)
class Asked:
    """One dev question and the answer it got."""

    question: EvalQuestion
    answer: Answer

    @property
    def answered(self) -> bool:
        return self.answer.status is AnswerStatus.ANSWERED

    def cites(self, paths: set[str]) -> bool:
        """True when a citation is one of `paths` (relative to the corpus folder)."""
        return any(c.path in paths for c in self.answer.citations)


def ask_all(
    service: AnswerService, questions: Sequence[EvalQuestion], source: str | None
) -> list[Asked]:
    """Ask every question, its earlier turns stored first as its conversation."""
    asked = []
    for question in questions:
        conversation = None
        if question.turns:
            conversation = uuid.uuid4().hex
            for turn in question.turns:
                service.catalog.conversations.append(conversation, turn.role, turn.text)
        request = ChatRequest(
            question=question.question,
            conversation_id=conversation,
            filters=SearchFilters(source=source),
        )
        asked.append(Asked(question, service.ask(request)))
    return asked


def decline_figures(asked: Sequence[Asked]) -> dict[str, float]:
    """Precision, recall and F1 of not answering, against `answerable` = false."""
    should = [not a.question.answerable for a in asked]
    did = [not a.answered for a in asked]
    precision, recall, f1 = precision_recall_f1(did, should)
    return {
        "questions": len(asked),
        "should_decline": sum(should),
        "declined": sum(did),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def precision_recall_f1(
    predicted: Sequence[bool], truth: Sequence[bool]
) -> tuple[float, float, float]:
    """Precision, recall and F1 of `predicted` against `truth` (0.0 where undefined)."""
    hits = sum(p and t for p, t in zip(predicted, truth, strict=True))
    precision = hits / sum(predicted) if any(predicted) else 0.0
    recall = hits / sum(truth) if any(truth) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def answer_figures(
    asked: Sequence[Asked], current_versions: dict[str, int] | None = None
) -> dict[str, float]:
    """Citations of answered questions, and the latency of every answer.

    With `current_versions` (doc_id → current version, read after all questions were asked):
    `cites_current`, the share of answered questions citing a relevant page at its current
    version, and `cites_stale`, how many answered questions cite a superseded version.
    """
    answered = [a for a in asked if a.answered]
    judged = [a for a in answered if a.question.answerable and a.question.relevant_doc_ids]
    latencies = [a.answer.latency_ms for a in asked]
    figures: dict[str, float] = {
        "answered": len(answered),
        "cites_relevant": _share(a.cites(set(a.question.relevant_doc_ids)) for a in judged),
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else 0.0,
        "p95_ms": round(percentile(latencies, 95), 2) if latencies else 0.0,
    }
    if current_versions is not None:
        figures["cites_current"] = _share(_cites_current(a, current_versions) for a in judged)
        figures["cites_stale"] = sum(
            any(current_versions.get(c.doc_id) != c.version for c in a.answer.citations)
            for a in answered
        )
    return figures


def _cites_current(asked: Asked, current: dict[str, int]) -> bool:
    relevant = set(asked.question.relevant_doc_ids)
    return any(
        c.path in relevant and current.get(c.doc_id) == c.version for c in asked.answer.citations
    )


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(statistics.fmean(values), 4) if values else 0.0
