"""The collection readers and writers use now, swapped atomically when a rebuild finishes.

A `Collection` pairs an opened index with the embedder its vectors come from, so a query is
always embedded by the model of the collection it searches: a swap replaces both at once.
The old collection is closed only after the last reader that took it has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from core.ports import CollectionSpec, CollectionStore, Embedder, SparseEncoder, VectorIndex
from index.sparse import Bm25Encoder


@dataclass(frozen=True)
class Collection:
    """An opened collection with the models that read and write it."""

    spec: CollectionSpec
    index: VectorIndex
    embedder: Embedder
    sparse: SparseEncoder


class Embedders:
    """Embedding models by id, each loaded once (a rebuild may hold two models for a while)."""

    def __init__(self, load: Callable[[str], Embedder]) -> None:
        self._load = load
        self._loaded: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def get(self, model_id: str) -> Embedder:
        """The embedder of `model_id`, loading it the first time."""
        with self._lock:
            if model_id not in self._loaded:
                self._loaded[model_id] = self._load(model_id)
            return self._loaded[model_id]


def open_collection(
    store: CollectionStore, spec: CollectionSpec, embedders: Embedders
) -> Collection:
    """Open (or create) `spec` in `store` with its own model and BM25 length."""
    embedder = embedders.get(spec.embedding_model)
    return Collection(spec, store.open(spec), embedder, Bm25Encoder(spec.bm25_avg_len))


class ActiveIndex:
    """The active collection of a store: readers `use()` it, a rebuild `swap()`s it."""

    def __init__(self, store: CollectionStore, embedders: Embedders, current: Collection) -> None:
        self.store = store
        self.embedders = embedders
        self._current = current
        self._readers: dict[str, int] = {}
        self._changed = threading.Condition()

    @classmethod
    def open(
        cls,
        store: CollectionStore,
        embedders: Embedders,
        *,
        model_id: str,
        bm25_avg_len: float,
        generation: int,
    ) -> ActiveIndex:
        """The store's active collection; a first, empty one for `model_id` if it has none."""
        spec = store.active()
        if spec is None:
            dimension = embedders.get(model_id).dimension
            name = store.new_name(model_id, generation)
            spec = CollectionSpec(name, model_id, dimension, bm25_avg_len)
            collection = open_collection(store, spec, embedders)
            store.activate(name)
            return cls(store, embedders, collection)
        return cls(store, embedders, open_collection(store, spec, embedders))

    @property
    def current(self) -> Collection:
        """The active collection at this instant (prefer `use()` to hold it)."""
        return self._current

    @contextmanager
    def use(self) -> Iterator[Collection]:
        """Hold the active collection: a swap will not close it until this block ends."""
        with self._changed:
            collection = self._current
            name = collection.spec.name
            self._readers[name] = self._readers.get(name, 0) + 1
        try:
            yield collection
        finally:
            with self._changed:
                self._readers[name] -= 1
                self._changed.notify_all()

    def swap(self, new: Collection) -> CollectionSpec:
        """Make `new` active (alias first), wait for the old one's readers, close and drop it."""
        self.store.activate(new.spec.name)
        with self._changed:
            old = self._current
            self._current = new
            self._changed.wait_for(lambda: self._readers.get(old.spec.name, 0) == 0)
        old.index.close()
        self.store.drop(old.spec.name)
        return old.spec

    def close(self) -> None:
        """Close the active collection and the store."""
        self._current.index.close()
        self.store.close()
