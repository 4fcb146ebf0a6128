"""What a citation points at: one version of one document, its chunks anchored, so an agent
can read the passage an answer rests on (and see whether a newer version replaced it)."""

from __future__ import annotations

from answer.records import AnswerRecords
from core.errors import NotFound
from schemas.answer import VersionChunk, VersionText


def cited_version(catalog: AnswerRecords, doc_id: str, version: int) -> VersionText:
    """The version's text and chunks; `NotFound` for an unknown document or version."""
    document = catalog.document(doc_id)
    found = catalog.version(doc_id, version) if document is not None else None
    if document is None or found is None:
        raise NotFound(f"no version {version} of document {doc_id!r}")
    chunks = catalog.chunks(doc_id, version)
    return VersionText(
        doc_id=doc_id,
        source=document.source,
        path=document.rel_path,
        version=version,
        sha256=found.sha256,
        media_type=found.media_type,
        created_at=found.created_at,
        current=document.current_version == version,
        current_version=document.current_version,
        text="\n\n".join(chunk.text for chunk in chunks),
        chunks=[
            VersionChunk(
                chunk_id=chunk.chunk_id,
                ordinal=chunk.ordinal,
                heading_path=chunk.heading_path,
                page=chunk.page,
                text=chunk.text,
                anchor=f"chunk-{chunk.chunk_id}",
            )
            for chunk in chunks
        ],
        warnings=found.warnings,
    )
