"""Incremental indexing: bring a document's points in line with its current catalog version.

State-based, so it is idempotent and heals whatever an interrupted run left behind:
- chunks of the current version that the index lacks are embedded (unless the embedding
  cache has their text for this model) and upserted;
- chunks the index already holds keep their vectors and get the new version's payload;
- points of chunks no longer current (superseded or deleted versions) are removed.
Every sync that changed something bumps the index generation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from catalog import Catalog
from core.ids import sha256_hex
from core.ports import Embedder, SparseEncoder, VectorIndex
from schemas import Chunk
from schemas.index import ChunkPayload, IndexPoint

log = logging.getLogger(__name__)


@dataclass
class IndexChange:
    """What one sync did."""

    embedded: int = 0
    from_cache: int = 0
    kept: int = 0  # unchanged chunks moved to the new version (payload only)
    removed: int = 0
    generation: int | None = None

    @property
    def changed(self) -> bool:
        """True if the index differs from before."""
        return bool(self.embedded or self.from_cache or self.kept or self.removed)

    def add(self, other: IndexChange) -> None:
        """Add another change's counts to this one."""
        self.embedded += other.embedded
        self.from_cache += other.from_cache
        self.kept += other.kept
        self.removed += other.removed
        self.generation = other.generation or self.generation


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its heading path, then its text."""
    return f"{chunk.heading}\n\n{chunk.text}" if chunk.heading_path else chunk.text


@dataclass
class Indexer:
    """Keeps the vector index equal to the catalog's current versions."""

    catalog: Catalog
    index: VectorIndex
    embedder: Embedder
    sparse: SparseEncoder

    def sync_document(self, doc_id: str) -> IndexChange:
        """Make the index hold exactly the current version's chunks of `doc_id`."""
        document = self.catalog.document(doc_id)
        present = self.index.chunk_versions(doc_id)
        if document is None or document.current_version is None:
            change = IndexChange(removed=len(present))
            if present:
                self.index.delete_document(doc_id)
            return self._commit(change)
        version = self.catalog.version(doc_id, document.current_version)
        assert version is not None
        chunks = self.catalog.chunks(doc_id, version.version)
        payloads = {
            c.chunk_id: self._payload(c, version.sha256, document.source, document.rel_path)
            for c in chunks
        }
        new = [c for c in chunks if c.chunk_id not in present]
        moved = [
            payloads[c.chunk_id]
            for c in chunks
            if c.chunk_id in present and present[c.chunk_id] != version.version
        ]
        stale = sorted(set(present) - set(payloads))
        change = IndexChange(kept=len(moved), removed=len(stale))
        self.index.upsert(self._points(new, payloads, change))
        self.index.update_payloads(moved)
        self.index.delete_chunks(stale)
        return self._commit(change)

    def sync_all(self) -> IndexChange:
        """Sync every document the catalog knows (start-up, after a crash, after a wipe)."""
        total = IndexChange()
        for document in self.catalog.documents():
            if document.current_version is None and not self.index.chunk_versions(document.doc_id):
                continue
            total.add(self.sync_document(document.doc_id))
        return total

    def _points(
        self, chunks: list[Chunk], payloads: dict[str, ChunkPayload], change: IndexChange
    ) -> list[IndexPoint]:
        if not chunks:
            return []
        texts = [embedding_text(c) for c in chunks]
        shas = [sha256_hex(t.encode()) for t in texts]
        model = self.embedder.model_id
        cached = self.catalog.embeddings.get(model, shas)
        missing = sorted(
            {(sha, text) for sha, text in zip(shas, texts, strict=True) if sha not in cached}
        )
        fresh = dict(
            zip([s for s, _ in missing], self.embedder.embed([t for _, t in missing]), strict=True)
        )
        self.catalog.embeddings.put(model, fresh)
        vectors = {**cached, **fresh}
        change.embedded += len(fresh)
        change.from_cache += len(chunks) - len(fresh)
        return [
            IndexPoint(
                payload=payloads[c.chunk_id],
                dense=vectors[sha],
                sparse=self.sparse.encode_document(text),
            )
            for c, sha, text in zip(chunks, shas, texts, strict=True)
        ]

    def _payload(self, chunk: Chunk, sha: str, source: str, rel_path: str) -> ChunkPayload:
        return ChunkPayload(
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            version=chunk.version,
            sha256=sha,
            source=source,
            path=rel_path,
            heading_path=chunk.heading_path,
            page=chunk.page,
            ordinal=chunk.ordinal,
            text=chunk.text,
            embedding_model=self.embedder.model_id,
        )

    def _commit(self, change: IndexChange) -> IndexChange:
        if change.changed:
            change.generation = self.catalog.generations.bump(
                embedding_model=self.embedder.model_id
            )
        return change
