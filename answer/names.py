"""Names a question mentions: a setting (`CORS_ALLOWED_ORIGINS`, `AWS_*`) or a proper noun
(Salesforce, Celery). A question about a named thing the knowledge base never mentions is
weak evidence however well its other words match: the perimeter weighs it.

Only these two shapes count. A user's own code names (`created_at`, `OrderAdmin`) and words
opening a sentence are never treated as names the documents should hold.
"""

from __future__ import annotations

import re

_SENTENCES = re.compile(r"(?<=[.?!:;])\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_*'-]*")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")
_SETTING = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9*]*)+$")
#: Capitalised words that are not names of things a knowledge base covers.
_COMMON = frozenset(
    """I I'm I've I'd I'll OK Ok Hi Hello Thanks Please Monday Tuesday Wednesday Thursday
    Friday Saturday Sunday January February March April May June July August September
    October November December""".split()  # noqa: SIM905
)


def named_things(question: str) -> list[str]:
    """Setting-like identifiers and proper nouns of `question`, in order, each once. Quoted
    text (an error message, a title) is left to retrieval."""
    found: list[str] = []
    for sentence in _SENTENCES.split(_QUOTED.sub(" ", question)):
        previous = -2
        for position, raw in enumerate(_WORD.findall(sentence)):
            word = re.sub(r"'s$", "", raw.strip("'-"))
            if not word or word in _COMMON:
                continue
            setting = bool(_SETTING.match(word))
            proper = position > 0 and word[0].isupper() and not word.isupper() and "_" not in word
            if proper and previous == position - 1:
                found[-1] = f"{found[-1]} {word}"  # one name of several words: "Mona Lisa"
            elif (setting or proper) and word not in found:
                found.append(word)
            previous = position if proper else -2
    return found


def is_mentioned(name: str, texts: list[str]) -> bool:
    """Whether `name` (a trailing `*` matches any ending) appears in any of `texts`."""
    needle = name.rstrip("*").lower()
    return any(needle in text.lower() for text in texts)
