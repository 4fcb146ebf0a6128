"""Passages that read like instructions (`core.instructions`) are never served as a plain
answer: quoting one holds the answer for review (escalated) with a warning that says which
passage and why, whatever the generator."""

from __future__ import annotations

from core.instructions import find_instructions
from schemas.answer import Citation

_KINDS = {
    "instructions": "speaks to an assistant",
    "asks_for_secrets": "asks for someone's secrets",
}


def instruction_warnings(citations: list[Citation]) -> list[str]:
    """One warning per quoted passage holding instruction-like text (empty: none)."""
    warnings = []
    for citation in citations:
        if citation.see_also:
            continue
        found = find_instructions(citation.snippet)
        if not found:
            continue
        why = "; ".join(f'{_KINDS.get(f.kind, f.kind)} ("{f.phrase}")' for f in found[:2])
        warnings.append(
            f"Passage [{citation.marker}] ({citation.doc_id} v{citation.version}) reads like "
            f"instructions: it {why}. Do not send this answer as it is; check the document "
            "with its owner."
        )
    return warnings
