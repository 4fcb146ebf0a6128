"""The embedded default index: Qdrant Edge, the Qdrant engine in-process, under the data dir.

One process owns a shard directory (a lock file says who); a second opener gets `IndexBusy`
with what to do. Dense (cosine) and BM25 sparse (IDF modifier) vectors live side by side;
hybrid search fuses the two prefetches with RRF inside the engine.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import qdrant_edge as q

from core.errors import IndexBusy, VectorIndexError
from core.ports import Fusion, SearchMode, Sources
from index.fusion import convex_search
from index.points import DENSE, SPARSE, effective_mode, point_id
from index.shared_lock import SharedLock
from schemas.index import ChunkPayload, IndexPoint, SearchHit, SparseVector

MARKER = "verity-index.json"
_KEYWORD_FIELDS = ("doc_id", "source", "chunk_id")


class EdgeIndex:
    """A `VectorIndex` on a Qdrant Edge shard at `path`."""

    def __init__(
        self,
        path: Path,
        dimension: int,
        *,
        prefetch: int = 50,
        fusion: Fusion | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.dimension = dimension
        self.metadata = metadata or {}
        self.prefetch = prefetch
        self.fusion = fusion or Fusion()
        path.mkdir(parents=True, exist_ok=True)
        self._lock: int | None = _take_lock(path)
        self._shard: Any = self._open()
        self._turns = SharedLock()  # the shard in use, or alone (reloaded, closed)

    def _open(self) -> Any:
        marker = self.path / MARKER
        if marker.exists():
            stored = json.loads(marker.read_text())["dimension"]
            if stored != self.dimension:
                raise VectorIndexError(
                    f"index at {self.path} holds {stored}-d vectors, not {self.dimension}-d; "
                    "rebuild it for the new model"
                )
            with engine_errors("load the shard"):
                return q.EdgeShard.load(str(self.path))
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=self.dimension, distance=q.Distance.Cosine)},
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        with engine_errors("create the shard"):
            shard = q.EdgeShard.create(str(self.path), config)
            for field in _KEYWORD_FIELDS:
                shard.update(
                    q.UpdateOperation.create_field_index(field, q.PayloadSchemaType.Keyword)
                )
        marker.write_text(json.dumps({**self.metadata, "dimension": self.dimension}))
        return shard

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points."""
        if points:
            with self._using("upsert points"):
                self._shard.update(q.UpdateOperation.upsert_points([_point(p) for p in points]))

    def update_payloads(self, payloads: Sequence[ChunkPayload]) -> None:
        """Replace payloads of existing points."""
        with self._using("update payloads"):
            for payload in payloads:
                self._shard.update(
                    q.UpdateOperation.overwrite_payload(
                        [point_id(payload.chunk_id)], payload.model_dump()
                    )
                )

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        """Remove points by chunk id."""
        if chunk_ids:
            with self._using("delete points"):
                self._shard.update(
                    q.UpdateOperation.delete_points([point_id(c) for c in chunk_ids])
                )

    def delete_document(self, doc_id: str) -> None:
        """Remove every point of a document."""
        with self._using("delete a document's points"):
            self._shard.update(q.UpdateOperation.delete_points_by_filter(_filter(doc_id=doc_id)))

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
        queries = {
            "dense": q.Query.Nearest(dense, using=DENSE) if dense is not None else None,
            "sparse": q.Query.Nearest(q.SparseVector(sparse.indices, sparse.values), using=SPARSE)
            if sparse is not None
            else None,
        }
        if effective == "hybrid" and self.fusion.method == "convex":
            depth = max(self.prefetch, limit)
            return convex_search(
                self, dense, sparse, depth=depth, limit=limit, source=source, doc_id=doc_id
            )
        if effective == "hybrid":
            depth = max(self.prefetch, limit)
            prefetches = [
                q.Prefetch(limit=depth, query=queries[side], filter=where)
                for side in ("dense", "sparse")
            ]
            request = q.QueryRequest(
                limit=limit, prefetches=prefetches, query=_fusion(self.fusion), with_payload=True
            )
        else:
            request = q.QueryRequest(
                limit=limit, query=queries[effective], filter=where, with_payload=True
            )
        with self._using("search"):
            found = self._shard.query(request)
        return [SearchHit(score=p.score, payload=ChunkPayload(**p.payload)) for p in found]

    def count(self, doc_id: str | None = None) -> int:
        """Points of one document, or all."""
        with self._using("count points"):
            return int(self._shard.count(q.CountRequest(filter=_filter(doc_id=doc_id), exact=True)))

    def chunk_versions(self, doc_id: str) -> dict[str, int]:
        """chunk id → the version its payload names, for each point of a document."""
        ids: dict[str, int] = {}
        offset = None
        while True:
            with self._using("scroll points"):
                records, offset = self._shard.scroll(
                    q.ScrollRequest(
                        limit=256,
                        offset=offset,
                        filter=_filter(doc_id=doc_id),
                        with_payload=["chunk_id", "version"],
                    )
                )
            ids.update((r.payload["chunk_id"], int(r.payload["version"])) for r in records)
            if offset is None:
                return ids

    def optimize(self) -> bool:
        """Build HNSW and merge segments (blocking; tens of seconds per 100k points), then
        load the shard again if anything was merged.

        Searches work before and during it (on plain segments); run it off the query path.
        The engine keeps the segments an optimization replaced in memory until the shard is
        loaded again (measured: about 10 MB per optimization of 1,500 points, every one kept),
        so the shard is flushed, closed and loaded while no other call uses it.
        """
        with self._using("optimize"):
            optimized = bool(self._shard.optimize())
        if optimized:
            with self._turns.exclusive(), engine_errors("load the optimized shard again"):
                self._shard.flush()
                self._shard.close()
                self._shard = q.EdgeShard.load(str(self.path))
        return optimized

    def close(self) -> None:
        """Flush to disk, close the shard, release the directory."""
        if self._shard is not None:
            with self._turns.exclusive(), engine_errors("flush and close"):
                self._shard.flush()
                self._shard.close()
            self._shard = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @contextmanager
    def _using(self, action: str) -> Iterator[None]:
        """The shard in use beside other calls (not while it is reloaded or closed), its
        errors mapped."""
        with self._turns.shared(), engine_errors(action):
            if self._shard is None:
                raise VectorIndexError(f"Qdrant Edge could not {action}: the index is closed")
            yield


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Qdrant Edge raises a bare `Exception` for everything (a missing or damaged shard, a bad
    request): mapped here to `VectorIndexError`, which the API answers with a 503."""
    try:
        yield
    except VectorIndexError:
        raise
    except Exception as exc:  # the engine's only exception type
        raise VectorIndexError(f"Qdrant Edge could not {action}: {exc}") from exc


def _fusion(fusion: Fusion) -> Any:  # the stubs type the nested classes apart from Fusion
    if fusion.method == "dbsf":
        return q.Fusion.Dbsf()
    return q.Fusion.Rrf(k=fusion.rrf_k, weights=[fusion.dense_weight, fusion.sparse_weight])


def _take_lock(path: Path) -> int:
    handle = os.open(path / "verity.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(handle, 64, 0).decode(errors="replace").strip() or "another process"
        os.close(handle)
        raise IndexBusy(
            f"the index at {path} is open in process {owner} (a running `verity up`?); "
            "stop that process, or ask the running service instead"
        ) from None
    os.ftruncate(handle, 0)
    os.pwrite(handle, str(os.getpid()).encode(), 0)
    return handle


def _point(point: IndexPoint) -> Any:
    vector: dict[str, list[float] | q.SparseVector | list[list[float]]] = {
        DENSE: point.dense,
        SPARSE: q.SparseVector(point.sparse.indices, point.sparse.values),
    }
    return q.Point(
        id=point_id(point.payload.chunk_id), vector=vector, payload=point.payload.model_dump()
    )


def _filter(source: Sources = None, doc_id: str | None = None) -> Any:
    must: list[Any] = []
    if isinstance(source, tuple):
        must.append(q.FieldCondition(key="source", match=q.MatchAny(list(source))))
    elif source is not None:
        must.append(q.FieldCondition(key="source", match=q.MatchValue(source)))
    if doc_id is not None:
        must.append(q.FieldCondition(key="doc_id", match=q.MatchValue(doc_id)))
    return q.Filter(must=must) if must else None
