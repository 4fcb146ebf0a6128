"""Ports: the small protocols behind which backends can be swapped."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from schemas.answer import ConversationTurn, Draft
from schemas.index import ChunkPayload, IndexPoint, SearchHit, SparseVector
from schemas.tasks import Task, TaskResult

SearchMode = Literal["hybrid", "dense", "sparse"]
#: Which sources a search reads: one, any of several (a key's scope), or every one (None).
Sources = str | tuple[str, ...] | None


@dataclass(frozen=True)
class Fusion:
    """How hybrid search merges its dense and sparse candidates."""

    method: Literal["rrf", "dbsf", "convex"] = "rrf"
    rrf_k: int = 10
    dense_weight: float = 1.0
    sparse_weight: float = 1.0


class TaskRunner(Protocol):
    """Runs ingestion tasks (in this process, or on Celery workers), calling the same task
    functions either way."""

    def submit(self, task: Task) -> None:
        """Queue one task; returns at once."""

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued task has run; False on timeout."""

    def results(self) -> list[TaskResult]:
        """Results of the tasks run so far, oldest first."""

    def pending(self) -> int:
        """Tasks submitted and not finished yet."""

    def close(self) -> None:
        """Stop accepting work and release resources."""


class Embedder(Protocol):
    """Dense embeddings: texts → unit vectors, from one named model."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalised vector per text, in order."""


class SparseEncoder(Protocol):
    """Lexical side: documents and queries as sparse vectors (BM25 with IDF in the index)."""

    def encode_document(self, text: str) -> SparseVector:
        """Term-frequency weights of a document."""

    def encode_query(self, text: str) -> SparseVector:
        """Query tokens, each weighted 1."""


class VectorIndex(Protocol):
    """A store of chunk points searchable by dense, sparse or fused (hybrid) similarity."""

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points (keyed by chunk id)."""

    def update_payloads(self, payloads: Sequence[ChunkPayload]) -> None:
        """Replace the payload of existing points (a chunk kept in a new version)."""

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        """Remove points by chunk id (missing ones are ignored)."""

    def delete_document(self, doc_id: str) -> None:
        """Remove every point of a document."""

    def search(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        *,
        limit: int,
        mode: SearchMode = "hybrid",
        source: Sources = None,
        doc_id: str | None = None,
    ) -> list[SearchHit]:
        """The best `limit` points, fused in hybrid mode (RRF, DBSF or a convex mix: the
        index's `Fusion`); optional filters (applied inside the index query, so a source
        outside `source` is never read)."""

    def count(self, doc_id: str | None = None) -> int:
        """How many points (of one document, or all)."""

    def chunk_versions(self, doc_id: str) -> dict[str, int]:
        """chunk id → the version its payload names, for every point of a document."""

    def optimize(self) -> bool:
        """Build what makes search fast (HNSW, merged segments); False if there was nothing to do.

        Blocking and possibly long: call it off the query path (searches keep working).
        """

    def close(self) -> None:
        """Flush and release the index."""


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection holds: the model its vectors come from and the BM25 length baked in."""

    name: str
    embedding_model: str
    dimension: int
    bm25_avg_len: float


class CollectionStore(Protocol):
    """Named collections of one backend and the atomic pointer (alias) readers follow."""

    def active(self) -> CollectionSpec | None:
        """The collection the alias points at (None before the first one)."""

    def names(self) -> list[str]:
        """Every collection the store holds, active or not."""

    def new_name(self, model_id: str, generation: int) -> str:
        """An unused name for a collection of `model_id` built at index `generation`."""

    def open(self, spec: CollectionSpec) -> VectorIndex:
        """The collection `spec.name`, created with `spec` recorded in its metadata if missing."""

    def activate(self, name: str) -> None:
        """Point the alias at `name`, atomically: a reader sees the old or the new, never none."""

    def drop(self, name: str) -> None:
        """Delete a collection (closed, not active)."""

    def close(self) -> None:
        """Release the backend."""


class Generator(Protocol):
    """Writes a draft answer from retrieved passages (extractive, or an LLM)."""

    name: str

    def generate(
        self,
        query: str,
        hits: list[SearchHit],
        embedder: Embedder,
        avoid: Collection[str] = (),
    ) -> Draft:
        """A draft whose `[n]` markers cite `hits[n - 1]`, or a decline. `avoid`: chunk ids
        the conversation's previous answer quoted, not to be quoted again if others serve."""
        ...

    def repair(
        self, query: str, hits: list[SearchHit], previous: Draft, problems: list[str]
    ) -> Draft:
        """Another draft, told what was wrong with `previous`."""
        ...


class Condenser(Protocol):
    """Turns a follow-up and its conversation into a standalone query (an LLM)."""

    def condense(self, question: str, history: list[ConversationTurn]) -> str:
        """The standalone query."""
        ...


class GenerationCounter(Protocol):
    """The index generation: bumped by every change the index is told about."""

    def current(self, name: str = ...) -> int:
        """The generation now."""
        ...


class CurrentVersions(Protocol):
    """What a reader needs of the catalog: each document's current version, and the index
    generation it read at (the `Retriever`'s whole view of the catalog)."""

    @property
    def generations(self) -> GenerationCounter: ...

    def current_versions(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each of `doc_ids` that has one."""
        ...
