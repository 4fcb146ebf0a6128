"""Incremental sync of one collection with the catalog's current versions.

State-based, so it is idempotent and heals whatever an interrupted run left behind:
- chunks of the current version that the collection lacks are embedded (unless the
  embedding cache has their text for this model) and upserted;
- chunks it already holds keep their vectors and get the new version's payload;
- points of chunks no longer current (superseded or deleted versions) are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.ids import sha256_hex
from index.active import Collection
from index.records import IndexRecords
from index.text import indexed_text
from schemas import Chunk
from schemas.index import ChunkPayload, IndexPoint

#: Called with (documents done, documents in all) as a long sync goes.
Progress = Callable[[int, int], None]


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
    """What is embedded and BM25-encoded for a chunk (`index.text.indexed_text`)."""
    return indexed_text(chunk)


def sync_document(catalog: IndexRecords, collection: Collection, doc_id: str) -> IndexChange:
    """Make `collection` hold exactly the current version's chunks of `doc_id`."""
    index = collection.index
    document = catalog.document(doc_id)
    present = index.chunk_versions(doc_id)
    if document is None or document.current_version is None:
        if present:
            index.delete_document(doc_id)
        return IndexChange(removed=len(present))
    version = catalog.version(doc_id, document.current_version)
    assert version is not None
    chunks = catalog.chunks(doc_id, version.version)
    payloads = {
        c.chunk_id: chunk_payload(
            c, version.sha256, document.source, document.rel_path, collection.embedder.model_id
        )
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
    index.upsert(_points(catalog, collection, new, payloads, change))
    index.update_payloads(moved)
    index.delete_chunks(stale)
    return change


def sync_collection(
    catalog: IndexRecords, collection: Collection, progress: Progress | None = None
) -> IndexChange:
    """Sync every document the catalog knows (start-up, rebuild, after a crash or a wipe)."""
    total = IndexChange()
    documents = catalog.documents()
    for done, document in enumerate(documents, start=1):
        if document.current_version is not None or collection.index.count(document.doc_id):
            total.add(sync_document(catalog, collection, document.doc_id))
        if progress is not None:
            progress(done, len(documents))
    return total


def _points(
    catalog: IndexRecords,
    collection: Collection,
    chunks: list[Chunk],
    payloads: dict[str, ChunkPayload],
    change: IndexChange,
) -> list[IndexPoint]:
    if not chunks:
        return []
    texts = [embedding_text(c) for c in chunks]
    shas = [sha256_hex(t.encode()) for t in texts]
    model = collection.embedder.model_id
    cached = catalog.embeddings.get(model, shas)
    missing = sorted(
        {(sha, text) for sha, text in zip(shas, texts, strict=True) if sha not in cached}
    )
    embedded = collection.embedder.embed([t for _, t in missing])
    fresh = dict(zip([s for s, _ in missing], embedded, strict=True))
    catalog.embeddings.put(model, fresh)
    vectors = {**cached, **fresh}
    change.embedded += len(fresh)
    change.from_cache += len(chunks) - len(fresh)
    return [
        IndexPoint(
            payload=payloads[c.chunk_id],
            dense=vectors[sha],
            sparse=collection.sparse.encode_document(text),
        )
        for c, sha, text in zip(chunks, shas, texts, strict=True)
    ]


def chunk_payload(
    chunk: Chunk, sha: str, source: str, rel_path: str, embedding_model: str
) -> ChunkPayload:
    """What the point of `chunk` carries: its version's `sha`, where its document lives."""
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
        embedding_model=embedding_model,
    )
