"""Instruction-like content in documents: text that speaks to an assistant ("ignore all
previous instructions") or asks the customer for secrets ("give your card number").

A document holding such text may have been planted to steer answers. Ingest records each
finding as a warning on the version (owners and admins see it); an answer that would quote
such a passage is held for review with the warning, never served as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
    r"(?:previous|prior|above|earlier|preceding|other|original)\s+"
    r"(?:instructions?|prompts?|directions?|rules|guidelines)"
    r"|\b(?:new|updated|real)\s+(?:system\s+)?instructions?\s*:"
    r"|\byour\s+system\s+prompt\b|\bsystem\s+prompt\s*:"
    r"|\bas\s+an?\s+(?:ai\s+)?(?:assistant|ai|language\s+model)\s*,?\s+you\s+(?:must|should|will)\b",
    re.IGNORECASE,
)
_SECRETS = (
    r"(?:full\s+)?(?:credit\s+|debit\s+|bank\s+)?card(?:\s+number|\s+details)?|cvv|cvc"
    r"|security\s+code|pin(?:\s+code)?|passwords?|passcodes?|one[-\s]time\s+(?:code|password)"
    r"|login\s+(?:details|credentials)|credentials|social\s+security\s+number|ssn"
    r"|bank\s+account\s+(?:number|details)"
)
_VERB = r"\b(?:give|tell|send|share|provide|read\s+out|reveal|confirm|disclose|email|text)"
#: Someone else's secret ("give their card number"), or yours handed to us ("send us your
#: password"); "provide your card to pay" in a sign-up guide is the reader's own business.
_ASKS_FOR_SECRETS = re.compile(
    rf"{_VERB}(?:\s+(?:us|me|the\s+agent|them|him|her))?"
    rf"\s+(?:their|his|her|the\s+customer'?s|the\s+user'?s|the\s+caller'?s)\s+(?:{_SECRETS})\b"
    rf"|{_VERB}\s+(?:us|me|the\s+agent)\s+(?:your|the)\s+(?:{_SECRETS})\b",
    re.IGNORECASE,
)
#: Advice against it ("never share your PIN with …") is not a request.
_NEGATED = re.compile(r"\b(?:never|not|no\s+one|nobody)\b|n't\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One instruction-like phrase: `kind` (`instructions` or `asks_for_secrets`) and the
    words found."""

    kind: str
    phrase: str


def find_instructions(text: str) -> list[Finding]:
    """The instruction-like phrases in `text` (empty: none)."""
    found = [Finding("instructions", m.group(0)) for m in _OVERRIDE.finditer(text)]
    found += [
        Finding("asks_for_secrets", m.group(0))
        for m in _ASKS_FOR_SECRETS.finditer(text)
        if not _NEGATED.search(text[max(0, m.start() - 30) : m.start()])
    ]
    return found
