"""The ONNX runtime path: MiniLM exported offline (torch.onnx), optionally int8, run by plain
onnxruntime. Its vectors must be close to torch's and rank alike; the export is made once;
switching runtime is a model change that rebuilds into a collection of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.model_ids import model_key, split_backend
from core.settings import Settings
from index.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder
from index.onnx_embedding import OnnxEmbedder, export_dir
from ingest.reconcile import plan
from tests.helpers.documents import write
from verity.wiring import (
    build_indexer,
    build_ingest,
    model_change_pending,
    open_catalog,
    retriever_for,
)

PASSAGES = [
    "Refunds reach the original card within five business days.",
    "After five failed sign-in attempts an account is locked for an hour.",
    "Parcels leave the warehouse within two business days of the order.",
    "Invoices are emailed on the first day of each month, listing every seat.",
    "To change the picture mode, open Settings, then Picture, then Picture Mode.",
]
QUERIES = {
    "when do I get my money back": 0,
    "my account is locked": 1,
    "how fast do you ship": 2,
    "where is my monthly bill": 3,
    "make the screen look more vivid": 4,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The reference: the packaged MiniLM run by torch (the suite's shared one is ONNX)."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def int8(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(DEFAULT_MODEL, cache, int8=True)


def cosine(u: list[float], v: list[float]) -> float:
    return sum(a * b for a, b in zip(u, v, strict=True))


@pytest.mark.parametrize("quantised", [False, True])
def test_onnx_vectors_are_unit_length_and_close_to_torch(
    quantised: bool, cache: Path, int8: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    onnx = int8 if quantised else OnnxEmbedder(DEFAULT_MODEL, cache, int8=False)
    assert onnx.model_id == model_key(DEFAULT_MODEL, "onnx-int8" if quantised else "onnx")
    assert onnx.dimension == torch_embedder.dimension == 384
    mine, reference = onnx.embed(PASSAGES), torch_embedder.embed(PASSAGES)
    for vector, expected in zip(mine, reference, strict=True):
        assert abs(cosine(vector, vector) - 1) < 1e-4
        # fp32 is the same network (differences are rounding); int8 weights move it a little
        assert cosine(vector, expected) > (0.97 if quantised else 0.9999)


def test_int8_ranks_the_passages_as_torch_does(
    int8: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    for name, model in (("int8", int8), ("torch", torch_embedder)):
        passages = model.embed(PASSAGES)
        for query, vector in zip(QUERIES, model.embed(list(QUERIES)), strict=True):
            best = max(range(len(PASSAGES)), key=lambda i: cosine(vector, passages[i]))
            assert best == QUERIES[query], (name, query)


@pytest.mark.parametrize("quantised", [False, True])
def test_a_vector_does_not_depend_on_the_texts_embedded_with_it(
    quantised: bool, cache: Path, int8: OnnxEmbedder
) -> None:
    model = int8 if quantised else OnnxEmbedder(DEFAULT_MODEL, cache, int8=False, batch_size=4)
    texts = ["short", PASSAGES[3] * 3, "a little longer text", PASSAGES[0], "x"]
    together = model.embed(texts)  # also checks that sorting by length keeps the order
    alone = [model.embed([t])[0] for t in texts]
    for a, b in zip(together, alone, strict=True):
        # int8 activations are scaled per input tensor: the int8 model runs one text at a time
        assert cosine(a, b) > 0.9999
    assert model.embed([]) == []


def test_the_export_is_made_once_and_reused(cache: Path, int8: OnnxEmbedder) -> None:
    exported = export_dir(cache, DEFAULT_MODEL) / "model-int8.onnx"
    stamp = exported.stat().st_mtime_ns
    again = OnnxEmbedder(DEFAULT_MODEL, cache, int8=True)
    assert exported.stat().st_mtime_ns == stamp
    assert cosine(again.embed(["refund"])[0], int8.embed(["refund"])[0]) > 0.9999
    assert not list(exported.parent.glob(".*partial"))


def test_a_model_the_onnx_path_cannot_reproduce_is_refused(
    other_model: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="Dense"):  # MiniLM + a Dense projection
        OnnxEmbedder(other_model, tmp_path, int8=True)
    assert not (tmp_path / "models").exists()


def test_model_keys_name_the_runtime() -> None:
    assert split_backend(DEFAULT_MODEL) == (DEFAULT_MODEL, "torch")
    assert split_backend(model_key(DEFAULT_MODEL, "onnx-int8")) == (DEFAULT_MODEL, "onnx-int8")
    assert model_key(DEFAULT_MODEL, "torch") == DEFAULT_MODEL
    with pytest.raises(ConfigError, match="onnx-int8"):
        split_backend(f"{DEFAULT_MODEL}#tensorrt")
    with pytest.raises(ValueError, match="embedding_backend"):
        Settings(embedding_backend="tensorrt")  # type: ignore[arg-type]


def test_switching_runtime_rebuilds_into_a_collection_of_its_own(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    for i, text in enumerate(PASSAGES):
        write(kb / f"doc{i}.md", f"# Note {i}\n\n{text}\n")
    torch_settings = Settings(data_dir=tmp_path / "data", embedding_backend="torch")
    service = build_ingest(torch_settings)
    try:
        service.register("kb", kb)
        for task in plan(service.catalog, "kb", kb.resolve()):
            service.runner.submit(task)
        assert service.runner.join(timeout=120)
    finally:
        service.close()
    settings = torch_settings.model_copy(update={"embedding_backend": "onnx-int8"})
    key = model_key(DEFAULT_MODEL, "onnx-int8")
    assert settings.embedding_key == key
    indexer = build_indexer(settings, open_catalog(settings))
    try:
        assert model_change_pending(settings, indexer)  # still torch's vectors until rebuilt
        report = indexer.rebuild(settings.embedding_key)
        assert report.new.embedding_model == key
        assert report.built.embedded == len(PASSAGES)  # torch's cached vectors are not reused
        assert not model_change_pending(settings, indexer)
        found = retriever_for(indexer).search("my account is locked", k=1)
        assert found.embedding_model == key and "locked" in found.hits[0].payload.text
        assert (settings.model_cache / "sentence-transformers_all-MiniLM-L6-v2").is_dir()
    finally:
        indexer.active.close()
        indexer.catalog.close()
