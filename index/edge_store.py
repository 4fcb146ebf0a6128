"""Collections of the embedded index: one Qdrant Edge shard folder each, and an alias file.

Qdrant Edge has no aliases, so `ACTIVE` (a small JSON file, replaced atomically with a
rename) names the shard readers use; a rebuild fills a second shard beside it, then
rewrites `ACTIVE`. A collection's spec (model, dimension, BM25 length) is in its marker.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from core.errors import VectorIndexError
from core.ports import CollectionSpec, Fusion
from index.edge import MARKER, EdgeIndex
from index.points import collection_name

ALIAS_FILE = "ACTIVE"


class EdgeCollections:
    """A `CollectionStore` of Qdrant Edge shards under `root`."""

    def __init__(self, root: Path, *, prefetch: int = 50, fusion: Fusion | None = None) -> None:
        self.root = root
        self.prefetch = prefetch
        self.fusion = fusion
        root.mkdir(parents=True, exist_ok=True)

    def active(self) -> CollectionSpec | None:
        """The collection `ACTIVE` names."""
        alias = self.root / ALIAS_FILE
        if not alias.exists():
            return None
        name = json.loads(alias.read_text())["collection"]
        spec = self.spec(name)
        if spec is None:
            raise VectorIndexError(f"{alias} names {name!r}, which is not a collection here")
        return spec

    def spec(self, name: str) -> CollectionSpec | None:
        """The spec recorded with collection `name` (None if there is no such collection)."""
        marker = self.root / name / MARKER
        if not marker.exists():
            return None
        stored = json.loads(marker.read_text())
        if "embedding_model" not in stored:
            return None  # a folder from before collections had specs: not one of ours
        return CollectionSpec(
            name, stored["embedding_model"], stored["dimension"], stored["bm25_avg_len"]
        )

    def names(self) -> list[str]:
        """Every collection folder."""
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.spec(p.name))

    def new_name(self, model_id: str, generation: int) -> str:
        """`<model>-g<generation>`, unused here."""
        return collection_name(model_id, generation, [p.name for p in self.root.iterdir()])

    def open(self, spec: CollectionSpec) -> EdgeIndex:
        """The shard of `spec.name`, created with its spec if missing."""
        stored = self.spec(spec.name)
        if stored is not None and stored != spec:
            raise VectorIndexError(f"collection {spec.name!r} holds {stored}, not {spec}")
        metadata = {"embedding_model": spec.embedding_model, "bm25_avg_len": spec.bm25_avg_len}
        return EdgeIndex(
            self.root / spec.name,
            spec.dimension,
            prefetch=self.prefetch,
            fusion=self.fusion,
            metadata=metadata,
        )

    def activate(self, name: str) -> None:
        """Rewrite `ACTIVE` atomically (write a temporary file, fsync, rename, fsync the folder)."""
        if self.spec(name) is None:
            raise VectorIndexError(f"cannot activate {name!r}: no such collection")
        temporary = self.root / f".{ALIAS_FILE}.tmp"
        with temporary.open("w") as handle:
            json.dump({"collection": name}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / ALIAS_FILE)
        folder = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def drop(self, name: str) -> None:
        """Delete a collection's folder (never the active one)."""
        active = self.active()
        if active is not None and active.name == name:
            raise VectorIndexError(f"cannot drop {name!r}: it is the active collection")
        shutil.rmtree(self.root / name, ignore_errors=True)

    def close(self) -> None:
        """Nothing to release: each shard closes itself."""
