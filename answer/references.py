"""Back-references in a question: the words that point at something said before it.

Plain English rules, no model: "it" with no singular noun before it in the question, "they"
with no plural one, "that"/"this" standing alone ("Can that be undone?", "I did that"),
"those"/"these" without a noun ("each of those") point back, and are *unbound*. "that page",
"those mails" point back too, but name their thing (*demonstratives*). Relative "that"
("a command that lists…"), "is it OK…" and "it" after "an object" do not point back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from answer.vocabulary import FUNCTION_WORDS

_TOKEN = re.compile(r"[A-Za-z0-9_]+(?:['’][A-Za-z]+)?|[.?!;:,]")
_END = frozenset(".?!;:")
_PUNCTUATION = frozenset(".?!;:,")
_DETERMINERS = frozenset(
    "a an the this that our my your their his her its each every some one another".split()  # noqa: SIM905
)
_AUXILIARIES = frozenset(
    """is 's was be been being can could will would should does did do has had have works
    work worked happen happens happened mean means means may might must isn't doesn't
    wasn't won't can't last lasts take takes took cost costs apply applies require requires
    matter matters affect affects help helps fix fixes change changes break breaks count
    counts stay stays expire expires include includes need needs""".split()  # noqa: SIM905
)
#: Words after which "that"/"this" is a pronoun or a determiner, not a relative "that".
_BEFORE_DEMONSTRATIVE = frozenset(
    """did do does done undo redo for about like with fix use try tried change of on in at
    from to into after before than once if when while because since until unless but and
    or is was keep make set see can could will would should does did shall may might must
    why how what""".split()  # noqa: SIM905
)
#: "is it OK…", "it's possible…": an "it" that points at nothing.
_EMPTY_IT = frozenset(
    """ok okay possible safe better best fine worth necessary normal true allowed good bad
    hard easy recommended required wise smart enough""".split()  # noqa: SIM905
)
_SOFT = frozenset({"also", "still", "else", "again", "both", "either", "same"})


@dataclass(frozen=True)
class References:
    """What in a question points back: unbound pronouns, demonstratives, soft links."""

    unbound: list[str] = field(default_factory=list)
    demonstratives: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.unbound or self.demonstratives or self.soft)


def find_references(question: str) -> References:
    """The back-references of `question` (see the module docstring)."""
    tokens = [t.lower().replace("’", "'") for t in _TOKEN.findall(question)]
    found = References()
    for index, token in enumerate(tokens):
        before, after = tokens[:index], tokens[index + 1 : index + 3]
        word = token.split("'")[0]
        if word in ("it", "its"):
            if not _empty_it(after) and not _singular_before(before):
                found.unbound.append(token)
        elif word in ("they", "them", "their"):
            if not any(_plural(w) for w in before):
                found.unbound.append(token)
        elif word in ("that", "this", "those", "these"):
            _demonstrative(token, before, after, found)
        elif word in _SOFT:
            found.soft.append(token)
    return found


def _demonstrative(token: str, before: list[str], after: list[str], found: References) -> None:
    previous = before[-1] if before else "."
    following = after[0] if after else "."
    if token.endswith("'s") or following in _AUXILIARIES or following in _PUNCTUATION:
        names_a_thing = False
    else:
        names_a_thing = following not in FUNCTION_WORDS
    if (
        token in ("that", "this")
        and previous not in _END
        and previous not in (_BEFORE_DEMONSTRATIVE)
    ):
        return  # a relative or complement "that" ("a command that lists…")
    if names_a_thing:
        found.demonstratives.append(f"{token} {following}")
    elif not _said_earlier_in_question(before):
        found.unbound.append(token)


def _said_earlier_in_question(before: list[str]) -> bool:
    """A pronoun in a later sentence can point at an earlier sentence of the same question."""
    if not any(t in _END for t in before):
        return False
    last_end = max(i for i, t in enumerate(before) if t in _END)
    return (
        sum(1 for t in before[:last_end] if t not in FUNCTION_WORDS and t not in _PUNCTUATION) >= 3
    )


def _empty_it(after: list[str]) -> bool:
    following = [t for t in after if t not in ("is", "'s")]
    return bool(following) and following[0] in _EMPTY_IT


def _singular_before(before: list[str]) -> bool:
    """A determiner followed by a singular noun-like word (the last of up to two words)."""
    for index, token in enumerate(before):
        if token not in _DETERMINERS:
            continue
        phrase: list[str] = []
        for word in before[index + 1 : index + 3]:
            if word in FUNCTION_WORDS or word in _END:
                break
            phrase.append(word)
        if phrase and not _plural(phrase[-1]):
            return True
    return False


def _plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
