"""Dense embeddings under plain onnxruntime, from a model exported offline (optionally int8).

sentence-transformers' own `backend="onnx"` needs optimum, which pins an older transformers;
so the model's transformer is exported here once with `torch.onnx`, optionally quantised to
int8 weights (dynamic quantisation), and cached under the data folder. At run time only
onnxruntime and the model's `tokenizer.json` are used: mean pooling over the attention
mask, then unit length, exactly what the model's sentence-transformers modules do.

An ONNX backend's vectors differ slightly from torch's, so it is a model identity of its
own (`core.model_ids`): `<model id>#onnx` or `<model id>#onnx-int8`. Switching backends
is a model change: it builds a new collection (`verity reindex --rebuild`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError
from core.model_ids import model_key
from index.embedding import DEFAULT_BATCH, model_path

log = logging.getLogger(__name__)
EXPORT_VERSION = 1  # bump when the export itself changes: older exports are redone


def export_dir(cache_dir: Path, model_id: str) -> Path:
    """Where the exports of `model_id` are cached."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)
    return cache_dir / slug


def ensure_export(source: Path, target: Path, *, int8: bool) -> Path:
    """The ONNX file for the model in `source`, exported into `target` if not there yet."""
    name = "model-int8.onnx" if int8 else "model.onnx"
    if _current(target / name):
        return target / name
    log.info("exporting %s to ONNX%s (once; kept in %s)", source, " int8" * int8, target)
    target.mkdir(parents=True, exist_ok=True)
    plain = target / "model.onnx"
    if not _current(plain):
        _export(source, plain)
        _mark(plain.with_name("model.onnx.json"), source)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = target / f".{name}.{os.getpid()}.partial"  # processes may race: last wins
        quantize_dynamic(
            str(plain),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=True,  # per-tensor scales: cosine to torch 0.96; per channel: 0.993
            op_types_to_quantize=["MatMul"],
        )
        partial.replace(target / name)
        _mark(target / f"{name}.json", source)
    return target / name


def _current(onnx_file: Path) -> bool:
    marker = onnx_file.with_name(f"{onnx_file.name}.json")
    if not (onnx_file.exists() and marker.exists()):
        return False
    return bool(json.loads(marker.read_text()).get("version") == EXPORT_VERSION)


def _mark(marker: Path, source: Path) -> None:
    marker.write_text(json.dumps({"version": EXPORT_VERSION, "source": str(source)}))


def _export(source: Path, target: Path) -> None:
    """Export the transformer of the sentence-transformers folder `source` (needs torch)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # quiet CLI stderr
    model = AutoModel.from_pretrained(str(source)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(source))

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    sample = tokenizer(["an example", "a slightly longer example text"], padding=True)
    inputs = tuple(
        torch.tensor(sample[k]) for k in ("input_ids", "attention_mask", "token_type_ids")
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]}
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export's, which needs
        # onnxscript; it exports this plain BERT exactly (tests compare with torch), and
        # its tracer warnings are about branches fixed at trace time that BERT does not take.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model),
            inputs,
            str(partial),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)


class OnnxEmbedder:
    """`Embedder` over an ONNX export of a mean-pooling sentence-transformers model."""

    def __init__(
        self,
        model_id: str,
        cache_dir: Path,
        *,
        int8: bool = True,
        batch_size: int = DEFAULT_BATCH,
        threads: int | None = None,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        source = model_path(model_id)
        _check_mean_pooling(source)
        self.model_id = model_key(model_id, "onnx-int8" if int8 else "onnx")
        # Dynamic int8 quantisation scales activations over the whole input tensor, so a text
        # batched with others (and their padding) got a different vector (cosine 0.98 to
        # itself alone). One text per run keeps a chunk's vector independent of its batch,
        # and measured as fast here (no padding): bench/RESULTS.md.
        self.batch_size = 1 if int8 else batch_size
        with _EXPORT_LOCK:
            onnx_file = ensure_export(source, export_dir(cache_dir, model_id), int8=int8)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tokenizer.enable_truncation(_max_tokens(source))
        self._tokenizer.enable_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = len(self.embed(["dimension probe"])[0])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text (batched by length, so a batch pads little)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, vector in zip(batch, self._embed_batch([texts[i] for i in batch]), strict=True):
                vectors[i] = vector
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        encoded = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [list(map(float, row)) for row in pooled]


_EXPORT_LOCK = threading.Lock()


def _check_mean_pooling(source: Path) -> None:
    """Refuse models whose modules the plain ONNX path does not reproduce."""
    modules = source / "modules.json"
    types = (
        [m["type"].rsplit(".", 1)[-1] for m in json.loads(modules.read_text())]
        if modules.exists()
        else []
    )
    pooling = source / "1_Pooling" / "config.json"
    mean = pooling.exists() and json.loads(pooling.read_text()).get("pooling_mode_mean_tokens")
    if types != ["Transformer", "Pooling", "Normalize"] or not mean:
        raise ConfigError(
            f"{source}: the ONNX backend runs Transformer + mean Pooling + Normalize models "
            f"only (this one has {types or 'no modules.json'}); use the torch backend"
        )


def _max_tokens(source: Path) -> int:
    config = source / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256
