"""Other real embedding models for model-change tests, as local sentence-transformers
folders: the packaged MiniLM followed by a seeded projection to 96 dimensions, and MiniLM
reading only the first few tokens of each text (a deliberately worse model)."""

from __future__ import annotations

import json
from pathlib import Path

from core.model_ids import model_key
from index.embedding import DEFAULT_MODEL, model_path

DIMENSION = 96
#: The product's default embedding: the packaged MiniLM on onnxruntime, int8 weights.
DEFAULT_KEY = model_key(DEFAULT_MODEL, "onnx-int8")


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


def truncated_model(folder: Path, max_tokens: int = 3) -> Path:
    """MiniLM's own files linked into `folder`, but reading at most `max_tokens` tokens
    (with [CLS] and [SEP]): the same weights, much worse vectors."""
    source = model_path(DEFAULT_MODEL)
    folder.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name != "sentence_bert_config.json":
            (folder / item.name).symlink_to(item)
    config = json.loads((source / "sentence_bert_config.json").read_text())
    config["max_seq_length"] = max_tokens
    (folder / "sentence_bert_config.json").write_text(json.dumps(config))
    return folder
