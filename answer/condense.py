"""Which query a question is searched with, given the conversation: decided per turn.

- *standalone*: no earlier turn, a topic-switch cue ("Different ticket: …"), or nothing in the
  question leans on the conversation (no back-reference, no shared words). Searched alone, so
  an earlier topic never leaks into a new one.
- *follow_up*: the question plainly leans on the previous turn: it opens as one ("And for a
  class-based view?", "Same thing for…", "Sorry, I meant…") or holds a pronoun nothing in the
  question could mean ("How should other models reference it?"; `answer.references`).
  Searched with the previous turn's query before it, and alone too (`alternative`): the two
  searches' hits are merged, so what the question adds ("…from the command line") is found
  as well as the topic it continues.
- *unsure*: it shares words with the previous turn or refers back, but says enough to stand
  alone. The service searches both ways and keeps the stronger evidence.
- *underspecified*: it leans on something never said ("Which setting controls it?" opening a
  conversation, or after a switch cue): it gets a clarifying question.

Only the previous turn's query is ever added, so the query stays bounded however long the
conversation grows; a chain of follow-ups carries its topic through that query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from answer.references import find_references
from answer.vocabulary import VAGUE, content_words
from schemas.answer import ConversationTurn


class TurnKind(StrEnum):
    """How a question relates to the conversation before it."""

    STANDALONE = "standalone"
    FOLLOW_UP = "follow_up"
    UNSURE = "unsure"
    UNDERSPECIFIED = "underspecified"


_REFERS_BACK = re.compile(
    r"\b(it|its|this|that|these|those|they|them|their|there|he|she|his|her|the same|"
    r"again|also|else|other|still|more|both|either)\b",
    re.IGNORECASE,
)
#: A question that opens with one of these continues the previous one.
_CONTINUES = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|right|thanks)[,.!]?\s+)?(?:and|also|or|but|so|then|plus|what about|"
    r"how about|same (?:thing|question|for)|the same|likewise|in that case|sorry|i meant|"
    r"i mean|no,)\b",
    re.IGNORECASE,
)
#: A question that opens with one of these starts a new topic ("Different ticket: …").
_SWITCHES = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|right|thanks|alright|so)[,.!]?\s+)?(?:(?:a|one)\s+)?"
    r"(?:(?:different|new|another|separate|unrelated|next|other)\s+"
    r"(?:ticket|customer|question|topic|issue|case|one|thing|request|subject|client|user)"
    r"(?:\s+now)?|switching (?:topics?|gears)|new topic|unrelated|next)\s*[:.!,;-]+\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Condensed:
    """The query to search, why, and (unsure) the other query worth trying."""

    query: str
    history_turns: int  # earlier turns that went into `query`
    underspecified: bool
    by: str = "rules"  # or "model": an LLM wrote the query (the condense prompt)
    kind: TurnKind = TurnKind.STANDALONE
    reason: str = "first question of the conversation"
    #: unsure: the question with the previous turn's query (searched instead if stronger);
    #: follow-up: the question alone (searched too, the hits merged)
    alternative: str | None = None


def condense(
    question: str,
    history: list[ConversationTurn],
    *,
    previous_query: str | None = None,
    max_words: int = 80,
) -> Condensed:
    """The query to search for `question`, given the conversation so far.

    `previous_query` is what the previous question was searched with (its own text when
    not given), so a follow-up of a follow-up keeps its topic.
    """
    earlier = [t.text for t in history if t.role == "user"]
    own, cue = strip_switch_cue(question)
    if not earlier or cue:
        why = f"a new topic ({cue!r})" if cue else "first question of the conversation"
        return _alone(own, why)
    context = previous_query or earlier[-1]
    joined = " ".join(f"{context} {question}".split()[-max_words:])
    shared = sorted(content_words(question) & content_words(context))
    refs = find_references(question)
    continues = _CONTINUES.match(question)
    if continues or refs.unbound:
        why = (
            "opens as a follow-up"
            if continues
            else f"refers to something said before ({', '.join(refs.unbound)})"
        )
        why += "; searched with the previous turn and alone, the hits merged"
        return Condensed(joined, 1, False, kind=TurnKind.FOLLOW_UP, reason=why, alternative=own)
    if shared or refs.any:
        leans = [*refs.demonstratives, *refs.soft, *(f"shares {w!r}" for w in shared)]
        why = "may lean on the previous turn: " + ", ".join(leans)
        return Condensed(question, 0, False, kind=TurnKind.UNSURE, reason=why, alternative=joined)
    return Condensed(question, 0, False, reason="nothing in it leans on the conversation")


def _alone(question: str, why: str) -> Condensed:
    if is_underspecified(question):
        return Condensed(
            question, 0, True, kind=TurnKind.UNDERSPECIFIED, reason=f"{why}; names nothing"
        )
    return Condensed(question, 0, False, reason=why)


def strip_switch_cue(question: str) -> tuple[str, str]:
    """The question without a leading topic-switch cue, and the cue ("" when none)."""
    found = _SWITCHES.match(question)
    if found is None or found.end() >= len(question):
        return question, ""
    return question[found.end() :], found.group(0).strip(" :.!,;-")


def is_underspecified(question: str) -> bool:
    """True for a question that leans on something unsaid: it refers back and names almost
    nothing itself ("How do I reset it?"), or refers to "the …" with only vague words
    ("What's the default value?")."""
    words = content_words(question)
    pronoun = _REFERS_BACK.search(question)
    if pronoun and len(words) <= 2:
        return True
    definite = pronoun or re.search(r"\bthe\b", question, re.IGNORECASE)
    return bool(definite) and not words - VAGUE


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
