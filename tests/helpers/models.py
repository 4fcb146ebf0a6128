"""A second, real embedding model for model-change tests: the packaged MiniLM followed by a
seeded linear projection to 96 dimensions, saved as a local sentence-transformers folder."""

from __future__ import annotations

from pathlib import Path

from index.embedding import DEFAULT_MODEL, model_path

DIMENSION = 96


def projected_model(folder: Path, seed: int = 7) -> Path:
    """Save MiniLM + Dense(384 → 96) to `folder`; its vectors differ from MiniLM's in size too."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    torch.manual_seed(seed)
    model = SentenceTransformer(str(model_path(DEFAULT_MODEL)), device="cpu")
    model.append(Dense(384, DIMENSION, bias=False, activation_function=torch.nn.Identity()))
    model.save(str(folder))
    return folder
