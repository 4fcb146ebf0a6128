"""Which documents hold chunks of an older chunk format (`Chunk.schema_version`).

Chunk schema 2 stores each chunk's display form (Markdown without reST markup, headings
without adornments). Chunks stored by an older Verity keep their raw text until their
document is re-chunked: any ingest of the file (it is re-parsed although its bytes did not
change), a reconcile (`verity up`, `verity watch`) or `verity reindex` does it.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select, update

from catalog.tables import chunks, documents
from schemas.migrations import CURRENT_VERSIONS

CURRENT_CHUNK_SCHEMA = CURRENT_VERSIONS["chunk"]


class ChunkFormats:
    """Finds current versions whose chunks an older chunker wrote."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def outdated(self, doc_id: str, version: int) -> bool:
        """True when that version's chunks are of an older format."""
        query = select(func.min(chunks.c.schema_version)).where(
            chunks.c.doc_id == doc_id, chunks.c.version == version
        )
        with self.engine.connect() as conn:
            oldest = conn.execute(query).scalar()
        return oldest is not None and oldest < CURRENT_CHUNK_SCHEMA

    def mark_current(self, doc_id: str, version: int) -> None:
        """Re-chunking gave the very same chunks (text without markup already): they are of
        today's format as they stand."""
        with self.engine.begin() as conn:
            conn.execute(
                update(chunks)
                .where(chunks.c.doc_id == doc_id, chunks.c.version == version)
                .values(schema_version=CURRENT_CHUNK_SCHEMA)
            )

    def outdated_paths(self, source: str) -> set[str]:
        """Relative paths of the source's live documents whose current chunks are older."""
        query = (
            select(documents.c.rel_path)
            .select_from(
                documents.join(
                    chunks,
                    (chunks.c.doc_id == documents.c.doc_id)
                    & (chunks.c.version == documents.c.current_version),
                )
            )
            .where(documents.c.source == source, chunks.c.schema_version < CURRENT_CHUNK_SCHEMA)
            .distinct()
        )
        with self.engine.connect() as conn:
            return {row.rel_path for row in conn.execute(query)}
