"""The catalog's record of the index: the embedding cache and the index generation.

The generation goes up by one with every change committed to the index, so an answer can
say which state of the index it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from catalog.tables import embedding_cache, index_state

DEFAULT_INDEX = "default"


class EmbeddingCache:
    """Vectors by (model id, sha256 of the embedded text): what did not change is not embedded."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, model_id: str, shas: Sequence[str]) -> dict[str, list[float]]:
        """The cached vectors among `shas`."""
        found: dict[str, list[float]] = {}
        table = embedding_cache
        with self.engine.connect() as conn:
            for start in range(0, len(shas), 500):
                rows = conn.execute(
                    select(table.c.text_sha256, table.c.vector).where(
                        (table.c.model_id == model_id)
                        & table.c.text_sha256.in_(shas[start : start + 500])
                    )
                )
                for row in rows:
                    found[row.text_sha256] = np.frombuffer(row.vector, dtype="<f4").tolist()
        return found

    def put(self, model_id: str, vectors: dict[str, list[float]]) -> None:
        """Store vectors (a sha already stored keeps its vector). Another writer caching some
        of the same texts meanwhile costs a retry of the rest, never the batch."""
        if not vectors:
            return
        for _ in range(3):
            known = set(self.get(model_id, list(vectors)))
            rows = [
                {
                    "model_id": model_id,
                    "text_sha256": sha,
                    "dimension": len(vector),
                    "vector": np.asarray(vector, dtype="<f4").tobytes(),
                }
                for sha, vector in vectors.items()
                if sha not in known
            ]
            if not rows:
                return
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(embedding_cache), rows)
                return
            except IntegrityError:
                continue  # same texts, same vectors: store the ones still missing


class IndexGenerations:
    """The index generation counter, per named index."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def current(self, name: str = DEFAULT_INDEX) -> int:
        """The generation now (0 before any change)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(index_state.c.generation).where(index_state.c.name == name)
            ).scalar()
        return int(value or 0)

    def bump(self, name: str = DEFAULT_INDEX, embedding_model: str | None = None) -> int:
        """Record one more committed change; returns the new generation."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            model = {"embedding_model": embedding_model} if embedding_model else {}
            result = conn.execute(
                update(index_state)
                .where(index_state.c.name == name)
                .values(generation=index_state.c.generation + 1, updated_at=now, **model)
            )
            if result.rowcount == 0:
                conn.execute(
                    insert(index_state).values(
                        name=name, generation=1, embedding_model=embedding_model, updated_at=now
                    )
                )
            return int(
                conn.execute(
                    select(index_state.c.generation).where(index_state.c.name == name)
                ).scalar_one()
            )
