"""Session evaluation: questions that carry a `session_id` are asked in order in one live
conversation per session, as an agent at the chat page asks them (earlier turns are the
service's own answers, not the file's), and every topic switch is asked alone as well.

Figures (answerable questions unless said): `right` (answered and citing a relevant document),
`key_phrase` (answered and the text holds one of the question's key phrases),
`follow_up_right`, `robust` (topic switches right in session ÷ right alone), `markup_free`
(answers with no reST or heading markup in their text, snippets or heading paths), and the
precision / recall / F1 of declining (positive: expected to decline or ask for clarification).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from answer.evaluate import precision_recall_f1
from answer.service import AnswerService
from retrieve.evaluate import EvalQuestion, percentile
from schemas.answer import Answer, AnswerStatus, ChatRequest, DeclineReason, SearchFilters

#: Markup an agent must never paste to a customer: reST roles, ``literals``, directives and
#: targets, `link <url>`_ references, heading adornments, a paragraph's literal-block `::`.
MARKUP = re.compile(
    r":[a-z][\w-]*(?::[\w-]+)?:`"
    r"|``"
    r"|^\s*\.\.\s+(?:[\w:-]+::|_[^:]*:|\|)"
    r"|`[^`\n]+<[^>\n]+>`__?"
    r"|^\s*([=~^\"'`#*+_-])\1{3,}\s*$"
    r"|\w::\s*$",
    re.MULTILINE,
)
#: What an agent does instead of answering: decline, or ask what the question refers to.
NOT_ANSWERING = ("decline", "ask_clarification")


def markup_in(text: str) -> list[str]:
    """The markup fragments found in `text` (empty: clean). Code in fences is not looked at."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return [m.group(0).strip() for m in MARKUP.finditer(prose)]


@dataclass(frozen=True)
class SessionAsked:
    """One session question, its answer in the session, and (topic switches) asked alone."""

    question: EvalQuestion
    answer: Answer
    alone: Answer | None = None

    @property
    def answered(self) -> bool:
        return answered(self.answer)

    def right(self, answer: Answer | None = None) -> bool:
        """Answered, citing one of the relevant documents."""
        answer = answer or self.answer
        relevant = set(self.question.relevant_doc_ids)
        return answered(answer) and any(c.path in relevant for c in answer.citations)

    @property
    def key_phrase(self) -> bool:
        text = self.answer.text.lower()
        return self.answered and any(p.lower() in text for p in self.question.key_phrases)


def answered(answer: Answer) -> bool:
    """True when the agent got an answer (an escalated one is not: a person checks it first)."""
    return answer.status is AnswerStatus.ANSWERED


def ask_sessions(
    service: AnswerService, questions: Sequence[EvalQuestion], source: str | None
) -> list[SessionAsked]:
    """Ask each session's questions in order in one conversation; topic switches also alone."""
    asked: list[SessionAsked] = []
    ordered = sorted(
        (q for q in questions if q.session_id), key=lambda q: (q.session_id, q.turn_index)
    )
    filters = SearchFilters(source=source)
    for _, session in groupby(ordered, key=lambda q: q.session_id):
        conversation: str | None = None
        for question in session:
            request = ChatRequest(
                question=question.question, conversation_id=conversation, filters=filters
            )
            answer = service.ask(request)
            conversation = answer.conversation_id
            alone = None
            if question.category == "topic_switch":
                alone = service.ask(ChatRequest(question=question.question, filters=filters))
            asked.append(SessionAsked(question, answer, alone))
    return asked


def session_figures(asked: Sequence[SessionAsked]) -> dict[str, object]:
    """The session figures (see the module docstring), with the pollution cases listed."""
    answerable = [a for a in asked if a.question.answerable]
    follow_ups = [a for a in answerable if a.question.category == "follow_up"]
    switches = [a for a in asked if a.alone is not None]
    right_alone = sum(a.right(a.alone) for a in switches)
    right_in = sum(a.right() for a in switches)
    should = [a.question.expected_behavior in NOT_ANSWERING for a in asked]
    did = [not a.answered for a in asked]
    precision, recall, f1 = precision_recall_f1(did, should)
    unclear = [a for a in asked if a.question.category == "underspecified"]
    latencies = [a.answer.latency_ms for a in asked]
    return {
        "sessions": len({a.question.session_id for a in asked}),
        "questions": len(asked),
        "right": _share([a.right() for a in answerable]),
        "key_phrase": _share([a.key_phrase for a in answerable]),
        "follow_up_right": _share([a.right() for a in follow_ups]),
        "topic_switch_right": _share([a.right() for a in switches]),
        "topic_switch_right_alone": _share([a.right(a.alone) for a in switches]),
        "robust": round(right_in / right_alone, 4) if right_alone else 1.0,
        "markup_free": _share([not _markup_of(a.answer) for a in asked if a.answered]),
        "decline": {
            "should": sum(should),
            "declined": sum(did),
            "escalated": sum(a.answer.status is AnswerStatus.ESCALATED for a in asked),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "clarified_underspecified": _share(
                [a.answer.decline_reason is DeclineReason.UNDERSPECIFIED for a in unclear]
            ),
        },
        "polluted": [a.question.id for a in switches if a.right(a.alone) and not a.right()],
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else 0.0,
        "p95_ms": round(percentile(latencies, 95), 2) if latencies else 0.0,
    }


def _markup_of(answer: Answer) -> list[str]:
    texts = [answer.text]
    for citation in answer.citations:
        texts.append(citation.snippet)
        texts.extend(citation.heading_path)
    return [found for text in texts for found in markup_in(text)]


def _share(flags: list[bool]) -> float:
    return round(statistics.fmean(flags), 4) if flags else 0.0
