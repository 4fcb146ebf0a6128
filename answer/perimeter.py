"""The competence perimeter: how strongly the evidence backs an answer, and what to do.

The confidence is a weighted mix of evidence signals, each 0-1: the best candidate sentence's
dense similarity to the question, the share of the question's words it holds, whether dense
and BM25 search agree on the top passage, and (a penalty) whether the question names a
setting or product no document mentions. Below `decline_below` the question is declined;
between that and `escalate_below` it is escalated to a person. Calibrated on the dev sets
(`bench/calibrate_perimeter.py`, figures in bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.answer import AnswerStatus

WEIGHTS = {
    "sentence_dense": 0.6,
    "sentence_lexical": 0.3,
    "agreement": 0.1,
    "unknown_name": -0.2,  # the question names a setting or product no document mentions
}


@dataclass(frozen=True)
class Perimeter:
    """Thresholds on the confidence (0-1)."""

    decline_below: float = 0.42
    escalate_below: float = 0.45  # the band between: answered, but a person checks it first

    def confidence(self, signals: dict[str, float]) -> float:
        """The weighted evidence, clipped to 0-1 (a missing signal counts 0)."""
        value = sum(w * signals.get(name, 0.0) for name, w in WEIGHTS.items())
        return round(min(1.0, max(0.0, value)), 4)

    def verdict(self, confidence: float) -> AnswerStatus:
        """Answer, escalate or decline at this confidence."""
        if confidence < self.decline_below:
            return AnswerStatus.DECLINED
        if confidence < self.escalate_below:
            return AnswerStatus.ESCALATED
        return AnswerStatus.ANSWERED
