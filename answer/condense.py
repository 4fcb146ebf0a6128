"""A follow-up question made standalone, deterministically, before retrieval.

The recent user turns are put before the question, so "still locked out" is searched with
what came before. Only the last few turns count, so the query stays bounded however long
the conversation grows. A question that leans on something never said ("Are those the only
steps?" opening a conversation) is under-specified: it gets a clarifying question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.answer import ConversationTurn

_REFERS_BACK = re.compile(
    r"\b(it|its|this|that|these|those|they|them|their|there|he|she|his|her|the same|"
    r"again|also|else|other|still|more)\b",
    re.IGNORECASE,
)
_FUNCTION_WORDS_TEXT = """
a an and are as at be been but by can could do does did for from has have how i if in
into is it its me my no not of on only or our so that the their them then there these
they this those to too was we were what when where which who why will with would you
your again also else other still more same any all just please ok okay yes thanks
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())


@dataclass(frozen=True)
class Condensed:
    """The standalone query, how many earlier turns went into it, and whether it is clear."""

    query: str
    history_turns: int
    underspecified: bool
    by: str = "rules"  # or "model": an LLM wrote the query (the condense prompt)


def condense(
    question: str, history: list[ConversationTurn], *, user_turns: int = 2, max_words: int = 120
) -> Condensed:
    """The query to search for `question`, given the conversation so far."""
    earlier = [t.text for t in history if t.role == "user"][-user_turns:]
    if not earlier:
        return Condensed(question, 0, is_underspecified(question))
    words = " ".join([*earlier, question]).split()
    return Condensed(" ".join(words[-max_words:]), len(earlier), False)


def is_underspecified(question: str) -> bool:
    """True for a question that refers back to something and names almost nothing itself."""
    content = [w for w in re.findall(r"[a-z0-9']+", question.lower()) if w not in _FUNCTION_WORDS]
    return bool(_REFERS_BACK.search(question)) and len(content) <= 2


def bounded_history(
    history: list[ConversationTurn],
    *,
    recent: int = 6,
    turn_words: int = 60,
    summary_words: int = 80,
) -> list[str]:
    """The conversation as lines a model can read, bounded however long it grows: the last
    `recent` turns (each cut to `turn_words`), after one line summarising the earlier ones
    (the user's earlier questions, newest kept first when the line runs out of room)."""
    older, latest = history[:-recent] if recent else history, history[-recent:] if recent else []
    lines = [f"{t.role}: {_cut(t.text, turn_words)}" for t in latest]
    asked = [_cut(t.text, 15) for t in older if t.role == "user"]
    if asked:
        kept: list[str] = []
        for question in reversed(asked):
            if sum(len(q.split()) for q in kept) + len(question.split()) > summary_words:
                break
            kept.insert(0, question)
        skipped = len(asked) - len(kept)
        more = f" (and {skipped} earlier)" if skipped else ""
        lines.insert(0, f"summary: earlier the user asked{more}: " + " | ".join(kept))
    return lines


def _cut(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
