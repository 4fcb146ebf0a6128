"""Keeps the active collection equal to the catalog's current versions, and rebuilds it.

Every write to the index goes through one `Indexer` under its write lock, so a rebuild can
fill a new collection while edits keep landing in the old one, then catch the new one up
and swap it in with no edit lost between the two. Each committed change bumps the index
generation; a swap bumps it too and records the model now answering queries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from catalog.store import utc_now
from core.errors import IndexBusy, RolloverRefused
from core.ports import CollectionSpec
from index.active import ActiveIndex, Collection, open_collection
from index.records import IndexRecords
from index.sparse import Bm25Encoder
from index.sync import (
    IndexChange,
    Progress,
    embedding_text,
    sync_collection,
    sync_document,
)

log = logging.getLogger(__name__)
# Catalog timestamps come from each writer's clock: look back this far past a catch-up.
CLOCK_SKEW = timedelta(seconds=5)
#: Judges a rebuilt collection against the live one before the swap: True lets it in.
Approve = Callable[[Collection, Collection], bool]


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did: the collections before and after, and the work it took."""

    old: CollectionSpec
    new: CollectionSpec
    built: IndexChange
    caught_up: IndexChange
    generation: int


@dataclass
class Indexer:
    """The one writer of the vector index."""

    catalog: IndexRecords
    active: ActiveIndex
    _writing: threading.RLock = field(default_factory=threading.RLock)
    _rebuilding: threading.Lock = field(default_factory=threading.Lock)

    def sync_document(self, doc_id: str) -> IndexChange:
        """Make the active collection hold exactly the current version's chunks of `doc_id`.

        Where other processes share the alias (a Qdrant server), a rebuild elsewhere may swap
        it while this writes: the write is checked against the alias afterwards and made again
        in the new collection, so an edit never lands only in one that is being dropped."""
        self.active.follow_if_due()
        change = self.active.rerun_if_moved(lambda: self._sync_one(doc_id))
        if self.active.shared and self.active.follow():  # moved after the write landed
            change.add(self._sync_one(doc_id))
        return change

    def _sync_one(self, doc_id: str) -> IndexChange:
        with self._writing, self.active.use() as collection:
            return self._commit(sync_document(self.catalog, collection, doc_id), collection)

    def sync_all(self, progress: Progress | None = None) -> IndexChange:
        """Sync every document the catalog knows."""
        with self._writing, self.active.use() as collection:
            change = sync_collection(self.catalog, collection, progress)
            return self._commit(change, collection)

    @property
    def rebuilding(self) -> bool:
        """True while a rebuild runs."""
        return self._rebuilding.locked()

    def optimize(self) -> bool:
        """Optimize the active collection (HNSW build); the runner calls it with each full sync."""
        with self._writing, self.active.use() as collection:
            return collection.index.optimize()

    def rebuild(
        self,
        model_id: str | None = None,
        progress: Progress | None = None,
        approve: Approve | None = None,
    ) -> RebuildReport:
        """Build a new collection from the catalog's stored chunk texts (no re-parsing) with
        `model_id` (default: the active model), then swap it in and drop the old one.

        Queries and edits go on against the old collection meanwhile; only the final
        catch-up and the swap hold the write lock. `approve(live, built)`, if given, judges
        the built collection before the swap: refused (`RolloverRefused`), it is dropped and
        the live one stays.
        """
        if not self._rebuilding.acquire(blocking=False):
            raise IndexBusy("a rebuild is already running; wait for it to finish")
        try:
            target = self._new_collection(model_id or self.active.current.spec.embedding_model)
            log.info("rebuild: filling %s", target.spec.name)
            try:
                built = sync_collection(self.catalog, target, progress)
                target.index.optimize()  # the new collection goes live with its HNSW built
                if approve is not None:
                    with self.active.use() as live:
                        if not approve(live, target):
                            raise RolloverRefused(
                                f"{target.spec.name} ({target.spec.embedding_model}) was not "
                                f"swapped in: {live.spec.name} keeps serving"
                            )
                with self._writing:
                    since = utc_now() - CLOCK_SKEW
                    caught_up = sync_collection(self.catalog, target)
                    old = self.active.swap(target)
                    # Another process (a worker on the same server) may have committed a
                    # document after the catch-up read it, and written it to the old
                    # collection: sync what the catalog changed since into the new one.
                    for doc_id in self.catalog.changed_since(since)[0]:
                        caught_up.add(sync_document(self.catalog, target, doc_id))
                    generation = self.catalog.generations.bump(
                        embedding_model=target.spec.embedding_model
                    )
            except BaseException:
                self._discard(target)
                raise
        finally:
            self._rebuilding.release()
        log.info("rebuild: %s replaced %s at generation %d", target.spec.name, old.name, generation)
        return RebuildReport(old, target.spec, built, caught_up, generation)

    def _new_collection(self, model_id: str) -> Collection:
        embedder = self.active.embedders.get(model_id)
        spec = CollectionSpec(
            self.active.store.new_name(model_id, self.catalog.generations.current()),
            model_id,
            embedder.dimension,
            self.average_length(),
        )
        return open_collection(self.active.store, spec, self.active.embedders)

    def average_length(self) -> float:
        """Mean BM25 length (tokens after stopwords) of the current chunks, re-derived."""
        counter = Bm25Encoder()
        lengths = [
            counter.document_length(embedding_text(chunk))
            for document in self.catalog.documents()
            if document.current_version is not None
            for chunk in self.catalog.chunks(document.doc_id, document.current_version)
        ]
        fallback = self.active.current.spec.bm25_avg_len
        return round(sum(lengths) / len(lengths), 2) if lengths else fallback

    def _discard(self, target: Collection) -> None:
        if self.active.current is not target:
            target.index.close()
            self.active.store.drop(target.spec.name)

    def _commit(self, change: IndexChange, collection: Collection) -> IndexChange:
        if change.changed:
            change.generation = self.catalog.generations.bump(
                embedding_model=collection.spec.embedding_model
            )
        return change
