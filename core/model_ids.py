"""Embedding model identities: a model id, plus the runtime that computes its vectors.

The same weights run by torch and by an int8 ONNX export give slightly different vectors,
so the runtime is part of the identity recorded on points, collections and the embedding
cache: `<model id>` (torch), `<model id>#onnx`, `<model id>#onnx-int8`.
"""

from __future__ import annotations

from typing import Literal, get_args

from core.errors import ConfigError

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)


def model_key(model_id: str, backend: Backend) -> str:
    """The identity of `model_id` run by `backend`."""
    return model_id if backend == "torch" else f"{model_id}#{backend}"


def split_backend(key: str) -> tuple[str, Backend]:
    """`"<model id>#onnx-int8"` → `("<model id>", "onnx-int8")`; no suffix means torch."""
    model_id, _, backend = key.partition("#")
    if not backend:
        return model_id, "torch"
    for known in BACKENDS:
        if backend == known:
            return model_id, known
    raise ConfigError(f"embedding backend {backend!r}: expected one of {', '.join(BACKENDS)}")
