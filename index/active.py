"""The collection readers and writers use now, swapped atomically when a rebuild finishes.

A `Collection` pairs an opened index with the embedder its vectors come from, so a query is
always embedded by the model of the collection it searches: a swap replaces both at once.
The old collection is closed only after the last reader that took it has finished. On a
Qdrant server several processes share the alias: each `follow()`s it when another moves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from core.ports import CollectionSpec, CollectionStore, Embedder, SparseEncoder, VectorIndex
from index.sparse import Bm25Encoder

_T = TypeVar("_T")


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

    def __init__(
        self,
        store: CollectionStore,
        embedders: Embedders,
        current: Collection,
        *,
        follow_every_s: float | None = None,
    ) -> None:
        self.store = store
        self.embedders = embedders
        self._current = current
        self._readers: dict[str, int] = {}
        self._changed = threading.Condition()
        self._following = threading.Lock()
        self.follow_every_s = follow_every_s  # None: this process alone moves the alias
        self._followed_at = time.monotonic()
        self._lagging: list[Callable[[], None]] = []

    @classmethod
    def open(
        cls,
        store: CollectionStore,
        embedders: Embedders,
        *,
        model_id: str,
        bm25_avg_len: float,
        generation: int,
        follow_every_s: float | None = None,
    ) -> ActiveIndex:
        """The store's active collection; a first, empty one for `model_id` if it has none."""
        spec = store.active()
        if spec is None:
            dimension = embedders.get(model_id).dimension
            name = store.new_name(model_id, generation)
            spec = CollectionSpec(name, model_id, dimension, bm25_avg_len)
            collection = open_collection(store, spec, embedders)
            store.activate(name)
        else:
            collection = open_collection(store, spec, embedders)
        return cls(store, embedders, collection, follow_every_s=follow_every_s)

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
        with self._following:  # a follow() now would see the alias move and race the swap
            self.store.activate(new.spec.name)
            old = self._replace(new)
            self.store.drop(old.spec.name)
            return old.spec

    def follow(self) -> bool:
        """Take up the collection the alias names now, if another process moved it (a rebuild
        run by another replica). The old one is closed here, not dropped: its mover drops it.
        Never call this inside `use()`: it waits for the old collection's readers."""
        with self._following:
            self._followed_at = time.monotonic()
            spec = self.store.active()
            if spec is None or spec.name == self._current.spec.name:
                return False
            self._replace(open_collection(self.store, spec, self.embedders))
            return True

    def _replace(self, new: Collection) -> Collection:
        """Make `new` current, wait for the old one's readers, close it; the old one."""
        with self._changed:
            old = self._current
            self._current = new
            self._changed.wait_for(lambda: self._readers.get(old.spec.name, 0) == 0)
        old.index.close()
        return old

    @property
    def shared(self) -> bool:
        """True where other processes move the alias too (a Qdrant server)."""
        return self.follow_every_s is not None

    def follow_if_due(self) -> bool:
        """`follow()` at most once every `follow_every_s` (never when not shared)."""
        every = self.follow_every_s
        if every is None or time.monotonic() - self._followed_at < every:
            return False
        return self.follow()

    def rerun_if_moved(self, work: Callable[[], _T]) -> _T:
        """Run `work`; if it fails where the alias is shared and another process has moved
        it (dropping the collection under `work`), follow the alias and run it once more."""
        try:
            return work()
        except Exception:
            if not (self.shared and self.follow()):
                raise
        return work()

    def on_lagging(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever a reader finds the index behind the catalog."""
        self._lagging.append(listener)

    def lagging(self) -> None:
        """A reader found hits of versions the catalog has superseded: tell whoever syncs."""
        for listener in self._lagging:
            listener()

    def close(self) -> None:
        """Close the active collection and the store."""
        self._current.index.close()
        self.store.close()
