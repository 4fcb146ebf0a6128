"""The plain-English word lists the conversation rules share: words that carry no topic
(function words), words that name nothing in particular (vague words), and a question's
content words (lowercase, a plural's final s dropped)."""

from __future__ import annotations

import re

FUNCTION_WORDS = frozenset(
    """a an and are as at be been but by can could do does did for from has have how i if in
    into is it its me my no not of on only or our so that the their them then there these
    they this those to too was we were what when where which who why will with would you
    your again also else other still more same any all just please ok okay yes thanks
    should shall may might must get got us one ones i'm it's what's that's there's we're
    they're don't doesn't can't isn't how's i've we've here now very really thing
    after before about above below over under between through during without within up down
    out off each every some many much few lot lots via per than""".split()  # noqa: SIM905
)
#: Words that name no particular thing: a question made of these and a reference is vague.
VAGUE_WORDS = frozenset(
    """say says said stop stops stopped work works working worked break breaks broke broken
    fail fails failing failed happen happens happened update updated upgrade upgraded fix
    fixed help problem problems issue issues error errors value values size max maximum min
    minimum limit limits default defaults setting settings option options name number way
    control controls controlled change changed use used need needed wrong right thing things
    stuff one part step steps mean meant try tried see look new old first last next""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z0-9][a-z0-9_'.-]*")


def singular(word: str) -> str:
    """`word` without a plural's final s ("settings" → "setting"; "class" stays)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def content_words(text: str) -> set[str]:
    """The words of `text` that carry meaning (lowercase, singular)."""
    found = (w.strip(".'-") for w in _WORD.findall(text.lower()))
    return {singular(w) for w in found if w and w not in FUNCTION_WORDS and len(w) > 1}


VAGUE = frozenset(singular(w) for w in VAGUE_WORDS)
