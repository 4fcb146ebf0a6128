"""Index benchmarks. Each prints one JSON object; medians over repeats.

    python bench/bench_index.py embed  --corpus corpora/django   # raw embedding vs full ingest
    python bench/bench_index.py query  --points 10000 100000     # hybrid query latency
    python bench/bench_index.py edit   --filler 10000 --runs 5   # file write → searchable
    python bench/bench_index.py backends --limit 600 --rounds 3  # torch vs ONNX vs ONNX int8

`query` and `edit` size the index with synthetic chunks (random unit vectors, BM25 of random
words); `edit` then edits one paragraph of a real document through the real watcher.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from core.ports import Fusion
from core.settings import Settings, WatchDir
from index.edge import EdgeIndex
from index.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder
from index.onnx_embedding import OnnxEmbedder
from index.sparse import Bm25Encoder
from index.sync import embedding_text
from retrieve.evaluate import percentile
from schemas.index import ChunkPayload, IndexPoint
from verity.wiring import build_ingest, load_embedder, retriever_for

WORDS = [
    "refund",
    "invoice",
    "password",
    "account",
    "login",
    "billing",
    "plan",
    "card",
    "seat",
    "upgrade",
    "export",
    "report",
    "backup",
    "restore",
    "token",
    "webhook",
    "region",
    "quota",
    "limit",
    "error",
    "timeout",
]


def corpus_texts(corpus: Path, data_dir: Path) -> list[str]:
    """The embedded texts of every chunk of `corpus` (parsed and chunked, nothing embedded)."""
    from ingest.reconcile import plan

    service = build_ingest(Settings(data_dir=data_dir), with_index=False)
    try:
        service.register("bench", corpus)
        for task in plan(service.catalog, "bench", corpus.resolve()):
            service.runner.submit(task)
        service.runner.join()
        return [
            embedding_text(c)
            for d in service.catalog.documents()
            for c in service.catalog.chunks(d.doc_id, d.current_version or 0)
        ]
    finally:
        service.close()


def cmd_embed(args: argparse.Namespace) -> dict[str, object]:
    """Raw embedding throughput on the corpus's chunks vs. a full ingest of the corpus."""
    with tempfile.TemporaryDirectory() as tmp:
        from ingest.reconcile import plan

        texts = corpus_texts(args.corpus, Path(tmp) / "parse")
        settings = Settings(data_dir=Path(tmp) / "full")
        embedder = load_embedder(settings, settings.embedding_key)  # what ingest will run
        embedder.embed(texts[:64])  # warm
        start = time.perf_counter()
        embedder.embed(texts)  # all at once: sorted by length, the least padding there is
        raw_s = time.perf_counter() - start

        service = build_ingest(settings)
        service.context.parser.start()
        service.register("bench", args.corpus)
        start = time.perf_counter()
        for task in plan(service.catalog, "bench", args.corpus.resolve()):
            service.runner.submit(task)
        service.runner.join()
        full_s = time.perf_counter() - start
        service.close()
    return {
        "chunks": len(texts),
        "embedding_model": settings.embedding_key,
        "raw_embed_chunks_per_s": round(len(texts) / raw_s, 1),
        "full_ingest_chunks_per_s": round(len(texts) / full_s, 1),
        "full_over_raw": round(raw_s / full_s, 3),
        "raw_s": round(raw_s, 1),
        "full_s": round(full_s, 1),
    }


def cmd_backends(args: argparse.Namespace) -> dict[str, object]:
    """Chunks/s of torch, ONNX and ONNX int8 on the same texts (rounds interleaved, medians),
    and how close each ONNX vector is to torch's (cosine)."""
    with tempfile.TemporaryDirectory() as tmp:
        texts = corpus_texts(args.corpus, Path(tmp) / "parse")
        random.Random(7).shuffle(texts)
        texts = texts[: args.limit]
        embedders = {
            "torch": SentenceTransformerEmbedder(),
            "onnx": OnnxEmbedder(DEFAULT_MODEL, Path(tmp) / "models", int8=False),
            "onnx-int8": OnnxEmbedder(DEFAULT_MODEL, Path(tmp) / "models", int8=True),
        }
        seconds: dict[str, list[float]] = {name: [] for name in embedders}
        vectors: dict[str, list[list[float]]] = {}
        for embedder in embedders.values():
            embedder.embed(texts[:32])  # warm
        for _ in range(args.rounds):
            for name, embedder in embedders.items():
                start = time.perf_counter()
                vectors[name] = embedder.embed(texts)
                seconds[name].append(time.perf_counter() - start)
    result: dict[str, object] = {"chunks": len(texts), "rounds": args.rounds}
    torch_s = statistics.median(seconds["torch"])
    for name in embedders:
        median = statistics.median(seconds[name])
        cosines = [
            sum(a * b for a, b in zip(u, v, strict=True))
            for u, v in zip(vectors["torch"], vectors[name], strict=True)
        ]
        result[name] = {
            "chunks_per_s": round(len(texts) / median, 1),
            "speedup_over_torch": round(torch_s / median, 2),
            "cosine_to_torch_min": round(min(cosines), 4),
            "cosine_to_torch_mean": round(statistics.fmean(cosines), 4),
        }
    return result


def synthetic_points(
    count: int, dimension: int, bm25: Bm25Encoder, seed: int = 7
) -> list[IndexPoint]:
    """Random unit vectors with BM25 vectors of random words; each its own document."""
    rng = random.Random(seed)
    points = []
    for i in range(count):
        vector = [rng.gauss(0, 1) for _ in range(dimension)]
        norm = sum(v * v for v in vector) ** 0.5
        text = " ".join(rng.choice(WORDS) for _ in range(120))
        payload = ChunkPayload(
            chunk_id=f"syn{i}",
            doc_id=f"syn/{i}.md",
            version=1,
            sha256="0" * 64,
            source="syn",
            path=f"{i}.md",
            ordinal=0,
            text=text,
            embedding_model="synthetic",
        )
        points.append(
            IndexPoint(
                payload=payload, dense=[v / norm for v in vector], sparse=bm25.encode_document(text)
            )
        )
    return points


def cmd_query(args: argparse.Namespace) -> dict[str, object]:
    """p50/p95 of hybrid queries (index only, and with query embedding) at each size."""
    embedder = SentenceTransformerEmbedder()
    bm25 = Bm25Encoder()
    rng = random.Random(11)
    questions = [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(200)]
    report: dict[str, object] = {}
    for size in args.points:
        with tempfile.TemporaryDirectory() as tmp:
            index = EdgeIndex(Path(tmp) / "idx", embedder.dimension, fusion=Fusion())
            points = synthetic_points(size, embedder.dimension, bm25)
            start = time.perf_counter()
            for i in range(0, len(points), 1000):
                index.upsert(points[i : i + 1000])
            upsert_s = time.perf_counter() - start
            start = time.perf_counter()
            index.optimize()
            optimize_s = time.perf_counter() - start
            embedder.embed(questions[:8])  # warm
            index_ms, total_ms = [], []
            for question in questions:
                t0 = time.perf_counter()
                query_vector = embedder.embed([question])[0]
                t1 = time.perf_counter()
                index.search(query_vector, bm25.encode_query(question), limit=10)
                t2 = time.perf_counter()
                index_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
            index.close()
        report[str(size)] = {
            "upsert_points_per_s": round(size / upsert_s),
            "optimize_s": round(optimize_s, 1),
            "index_p50_ms": round(percentile(index_ms, 50), 2),
            "index_p95_ms": round(percentile(index_ms, 95), 2),
            "with_embedding_p50_ms": round(percentile(total_ms, 50), 2),
            "with_embedding_p95_ms": round(percentile(total_ms, 95), 2),
        }
    return report


def cmd_edit(args: argparse.Namespace) -> dict[str, object]:
    """Seconds from writing an edited paragraph to the first search that returns it."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kb"
        root.mkdir()
        paragraphs = [
            f"Paragraph {i} explains {WORDS[i % len(WORDS)]} handling in detail. " * 4
            for i in range(8)
        ]
        (root / "guide.md").write_text("# Guide\n\n" + "\n\n".join(paragraphs))
        settings = Settings(
            data_dir=Path(tmp) / "data", watch_dirs=[WatchDir(name="kb", root=root)]
        )
        service = build_ingest(settings)
        indexer = service.context.indexer
        assert indexer is not None
        indexer.active.current.index.upsert(
            synthetic_points(args.filler, indexer.active.current.embedder.dimension, Bm25Encoder())
        )
        service.context.parser.start()
        watcher = service.watcher(settings)
        watcher.start()  # registers the source and reconciles: the guide is ingested
        service.runner.join()
        retriever = retriever_for(indexer)
        timings, embedded = [], []
        for run in range(args.runs):
            marker = f"zebra{run}quokka"
            edited = list(paragraphs)
            edited[3] = f"Edited paragraph mentions {marker} once."
            before = len(service.runner.results())
            start = time.perf_counter()
            (root / "guide.md").write_text("# Guide\n\n" + "\n\n".join(edited))
            while not any(
                marker in h.payload.text for h in retriever.search(marker, k=3, mode="sparse").hits
            ):
                time.sleep(0.02)
            timings.append(time.perf_counter() - start)
            service.runner.join()
            embedded.append(sum(r.chunks_embedded for r in service.runner.results()[before:]))
            time.sleep(1.5)
        chunks = indexer.active.current.index.count()
        watcher.stop()
        service.close()
    return {
        "index_points": chunks,
        "runs": args.runs,
        "edit_to_searchable_p50_s": round(statistics.median(timings), 2),
        "max_s": round(max(timings), 2),
        "chunks_embedded_per_edit": embedded,
        "debounce_s": settings.debounce_s,
        "settle_s": settings.settle_s,
    }


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    embed = commands.add_parser("embed")
    embed.add_argument("--corpus", type=Path, default=Path("corpora/django"))
    embed.set_defaults(run=cmd_embed)
    query = commands.add_parser("query")
    query.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    query.set_defaults(run=cmd_query)
    backends = commands.add_parser("backends")
    backends.add_argument("--corpus", type=Path, default=Path("corpora/django"))
    backends.add_argument("--limit", type=int, default=600)
    backends.add_argument("--rounds", type=int, default=3)
    backends.set_defaults(run=cmd_backends)
    edit = commands.add_parser("edit")
    edit.add_argument("--filler", type=int, default=10_000)
    edit.add_argument("--runs", type=int, default=5)
    edit.set_defaults(run=cmd_edit)
    args = parser.parse_args()
    print(json.dumps({args.command: args.run(args)}, indent=2))


if __name__ == "__main__":
    main()
