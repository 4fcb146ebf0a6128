"""The scale backend: a Qdrant server or cluster through qdrant-client.

Selected when `VERITY_QDRANT_URL` is set. Tests run it against qdrant-client's local mode
(`QdrantClient(":memory:")`), which speaks the same API (never a default: it is slow).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from qdrant_client import QdrantClient
from qdrant_client import models as m
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from core.errors import VectorIndexError
from core.ports import CollectionSpec, Fusion, SearchMode, Sources
from index.fusion import convex_search
from index.points import DENSE, SPARSE, collection_name, effective_mode, point_id
from schemas.index import ChunkPayload, IndexPoint, SearchHit, SparseVector

_KEYWORD_FIELDS = ("doc_id", "source", "chunk_id")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reachable(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Raise a server that cannot be reached, or fails, as a `VectorIndexError`: a clear line
    from the CLI, 503 from the API, a retried task in a worker; never a transport traceback."""

    @functools.wraps(method)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except ResponseHandlingException as exc:
            raise VectorIndexError(
                f"the Qdrant server (VERITY_QDRANT_URL) cannot be reached: {exc}"
            ) from exc
        except UnexpectedResponse as exc:
            if exc.status_code is None or exc.status_code < 500:
                raise
            raise VectorIndexError(f"the Qdrant server failed: {exc}") from exc

    return call


class ServerIndex:
    """A `VectorIndex` on one collection of a Qdrant server."""

    @_reachable
    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dimension: int,
        *,
        prefetch: int = 50,
        fusion: Fusion | None = None,
        metadata: dict[str, Any] | None = None,
        owns_client: bool = True,
    ) -> None:
        self.client = client
        self.collection = collection
        self.dimension = dimension
        self.prefetch = prefetch
        self.fusion = fusion or Fusion()
        self.owns_client = owns_client
        if not client.collection_exists(collection):
            self._create(metadata or {})

    def _create(self, metadata: dict[str, Any]) -> None:
        self.client.create_collection(
            self.collection,
            vectors_config={DENSE: m.VectorParams(size=self.dimension, distance=m.Distance.COSINE)},
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            metadata={**metadata, "dimension": self.dimension},
        )
        for field in _KEYWORD_FIELDS:
            self.client.create_payload_index(
                self.collection, field, field_schema=m.PayloadSchemaType.KEYWORD
            )

    @_reachable
    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points."""
        if points:
            self.client.upsert(self.collection, [_point(p) for p in points], wait=True)

    @_reachable
    def update_payloads(self, payloads: Sequence[ChunkPayload]) -> None:
        """Replace payloads of existing points."""
        for payload in payloads:
            self.client.overwrite_payload(
                self.collection,
                payload.model_dump(),
                points=[point_id(payload.chunk_id)],
                wait=True,
            )

    @_reachable
    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        """Remove points by chunk id."""
        if chunk_ids:
            self.client.delete(
                self.collection,
                m.PointIdsList(points=[point_id(c) for c in chunk_ids]),
                wait=True,
            )

    @_reachable
    def delete_document(self, doc_id: str) -> None:
        """Remove every point of a document."""
        selector = m.FilterSelector(
            filter=m.Filter(must=[m.FieldCondition(key="doc_id", match=m.MatchValue(value=doc_id))])
        )
        self.client.delete(self.collection, selector, wait=True)

    @_reachable
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
        """Dense, sparse, or both fused as the index was told (RRF, DBSF or a convex mix)."""
        effective = effective_mode(dense, sparse, mode)
        if effective is None:
            return []
        where = _filter(source=source, doc_id=doc_id)
        queries: dict[str, Any] = {
            "dense": dense,
            "sparse": m.SparseVector(indices=sparse.indices, values=sparse.values)
            if sparse is not None
            else None,
        }
        if effective == "hybrid" and self.fusion.method == "convex":
            depth = max(self.prefetch, limit)
            return convex_search(
                self, dense, sparse, depth=depth, limit=limit, source=source, doc_id=doc_id
            )
        names = {"dense": DENSE, "sparse": SPARSE}
        kwargs: dict[str, Any] = {"limit": limit, "with_payload": True}
        if effective == "hybrid":
            depth = max(self.prefetch, limit)
            kwargs.update(
                prefetch=[
                    m.Prefetch(query=queries[side], using=names[side], limit=depth, filter=where)
                    for side in ("dense", "sparse")
                ],
                query=_fusion(self.fusion),
            )
        else:
            kwargs.update(query=queries[effective], using=names[effective], query_filter=where)
        result = self.client.query_points(self.collection, **kwargs)
        # a point being written meanwhile can come back without its payload (qdrant-client's
        # local mode stores a point's vectors and payload in separate steps): nothing to cite
        return [
            SearchHit(score=p.score, payload=ChunkPayload(**p.payload))
            for p in result.points
            if p.payload
        ]

    @_reachable
    def count(self, doc_id: str | None = None) -> int:
        """Points of one document, or all."""
        where = _filter(doc_id=doc_id)
        return int(self.client.count(self.collection, count_filter=where, exact=True).count)

    @_reachable
    def chunk_versions(self, doc_id: str) -> dict[str, int]:
        """chunk id → the version its payload names, for each point of a document."""
        ids: dict[str, int] = {}
        offset = None
        while True:
            records, offset = self.client.scroll(
                self.collection,
                scroll_filter=_filter(doc_id=doc_id),
                limit=256,
                offset=offset,
                with_payload=["chunk_id", "version"],
            )
            for record in records:
                payload = record.payload or {}
                ids[str(payload["chunk_id"])] = int(payload["version"])
            if offset is None:
                return ids

    def optimize(self) -> bool:
        """Nothing to do: a Qdrant server runs its optimizers in the background by itself."""
        return False

    def close(self) -> None:
        """Release the client, unless a `ServerCollections` shares it."""
        if self.owns_client:
            self.client.close()


class ServerCollections:
    """A `CollectionStore` on a Qdrant server: collections `<alias>-<name>`, one alias for readers.

    The swap is one `update_collection_aliases` call (delete + create), atomic on the server.
    """

    def __init__(
        self,
        client: QdrantClient,
        alias: str,
        *,
        prefetch: int = 50,
        fusion: Fusion | None = None,
    ) -> None:
        self.client = client
        self.alias = alias
        self.prefetch = prefetch
        self.fusion = fusion

    @_reachable
    def active(self) -> CollectionSpec | None:
        """The collection the alias points at."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.alias:
                return self.spec(alias.collection_name)
        return None

    @_reachable
    def spec(self, name: str) -> CollectionSpec | None:
        """The spec recorded in a collection's metadata."""
        if not self.client.collection_exists(name):
            return None
        stored = self.client.get_collection(name).config.metadata or {}
        if "embedding_model" not in stored:
            return None
        return CollectionSpec(
            name, stored["embedding_model"], int(stored["dimension"]), stored["bm25_avg_len"]
        )

    @_reachable
    def names(self) -> list[str]:
        """Collections of this service (named after its alias)."""
        prefix = f"{self.alias}-"
        listed = self.client.get_collections().collections
        return sorted(c.name for c in listed if c.name.startswith(prefix))

    def new_name(self, model_id: str, generation: int) -> str:
        """`<alias>-<model>-g<generation>`, unused on the server."""
        return collection_name(model_id, generation, self.names(), prefix=f"{self.alias}-")

    @_reachable
    def open(self, spec: CollectionSpec) -> ServerIndex:
        """The collection `spec.name`, created with its spec if missing."""
        stored = self.spec(spec.name)
        if stored is not None and stored != spec:
            raise VectorIndexError(f"collection {spec.name!r} holds {stored}, not {spec}")
        return ServerIndex(
            self.client,
            spec.name,
            spec.dimension,
            prefetch=self.prefetch,
            fusion=self.fusion,
            metadata={"embedding_model": spec.embedding_model, "bm25_avg_len": spec.bm25_avg_len},
            owns_client=False,
        )

    @_reachable
    def activate(self, name: str) -> None:
        """Move the alias to `name` in one atomic alias operation."""
        if self.spec(name) is None:
            raise VectorIndexError(f"cannot activate {name!r}: no such collection")
        operations: list[m.DeleteAliasOperation | m.CreateAliasOperation] = []
        if self.active() is not None:
            operations.append(
                m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias))
            )
        operations.append(
            m.CreateAliasOperation(
                create_alias=m.CreateAlias(collection_name=name, alias_name=self.alias)
            )
        )
        self.client.update_collection_aliases(operations)

    @_reachable
    def drop(self, name: str) -> None:
        """Delete a collection (never the active one)."""
        active = self.active()
        if active is not None and active.name == name:
            raise VectorIndexError(f"cannot drop {name!r}: it is the active collection")
        self.client.delete_collection(name)

    def close(self) -> None:
        """Release the client."""
        self.client.close()


def _fusion(fusion: Fusion) -> m.RrfQuery | m.FusionQuery:
    if fusion.method == "dbsf":
        return m.FusionQuery(fusion=m.Fusion.DBSF)
    weights = [fusion.dense_weight, fusion.sparse_weight]
    return m.RrfQuery(rrf=m.Rrf(k=fusion.rrf_k, weights=weights))


def _point(point: IndexPoint) -> m.PointStruct:
    vector: dict[str, Any] = {
        DENSE: point.dense,
        SPARSE: m.SparseVector(indices=point.sparse.indices, values=point.sparse.values),
    }
    return m.PointStruct(
        id=point_id(point.payload.chunk_id), vector=vector, payload=point.payload.model_dump()
    )


def _filter(source: Sources = None, doc_id: str | None = None) -> m.Filter | None:
    must: list[Any] = []
    if isinstance(source, tuple):
        must.append(m.FieldCondition(key="source", match=m.MatchAny(any=list(source))))
    elif source is not None:
        must.append(m.FieldCondition(key="source", match=m.MatchValue(value=source)))
    if doc_id is not None:
        must.append(m.FieldCondition(key="doc_id", match=m.MatchValue(value=doc_id)))
    return m.Filter(must=must) if must else None
