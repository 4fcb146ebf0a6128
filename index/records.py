"""What the index layer needs of the catalog, and nothing more: the documents and their stored
chunks (what is embedded), what changed since a cursor (what a follower syncs), the embedding
cache and the index generation.

`catalog.Catalog` satisfies it; `Indexer`, the sync functions and `IndexFollower` take this
instead, so the index cannot reach answers, keys, jobs or failures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from catalog.index_state import EmbeddingCache, IndexGenerations
from schemas.records import Chunk, DocumentVersion, SourceDocument


class IndexRecords(Protocol):
    """The catalog as the index layer sees it."""

    @property
    def embeddings(self) -> EmbeddingCache: ...

    @property
    def generations(self) -> IndexGenerations: ...

    def documents(self, source: str | None = None) -> list[SourceDocument]:
        """Every document (deleted ones included), ordered by id."""
        ...

    def document(self, doc_id: str) -> SourceDocument | None:
        """The document `doc_id` (any status), if the catalog knows it."""
        ...

    def version(self, doc_id: str, version: int) -> DocumentVersion | None:
        """One stored version of a document."""
        ...

    def chunks(self, doc_id: str, version: int) -> list[Chunk]:
        """The chunks of one version, in order."""
        ...

    def changed_since(self, since: datetime | None) -> tuple[list[str], datetime | None]:
        """Documents changed at or after `since`, and the latest change time seen."""
        ...
