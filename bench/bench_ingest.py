"""Ingest benchmark: parse + chunk throughput on a corpus (no embedding), and the same
with catalog writes (a full `verity ingest` minus start-up).

    python bench/bench_ingest.py --corpus corpora/django [--runs 3]

Prints one JSON object; medians over the runs. The parser process is started and warmed
before timing (as in the running service).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from catalog import Catalog
from ingest.chunking import ChunkPolicy, chunk_blocks
from ingest.parsing import ParserPool, media_type_for
from ingest.reconcile import walk
from ingest.tasks import IngestContext, Limits, ingest_file
from schemas.tasks import IngestFile

MB = 2**20


def parse_and_chunk(pool: ParserPool, root: Path, files: list[str]) -> tuple[float, int]:
    """Seconds to parse and chunk every file, and the number of chunks."""
    policy = ChunkPolicy()
    chunks = 0
    start = time.perf_counter()
    for rel_path in files:
        data = (root / rel_path).read_bytes()
        media_type = media_type_for(rel_path)
        assert media_type is not None
        blocks = pool.parse(data, Path(rel_path).name, media_type)
        chunks += len(chunk_blocks(f"bench/{rel_path}", blocks, policy))
    return time.perf_counter() - start, chunks


def full_ingest(pool: ParserPool, root: Path, files: list[str]) -> float:
    """Seconds for the ingest task on every file into a fresh SQLite catalog."""
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(f"sqlite:///{tmp}/bench.db")
        catalog.migrate()
        catalog.register_source("bench", root)
        ctx = IngestContext(catalog, pool, Limits(max_file_bytes=50 * MB), ChunkPolicy())
        start = time.perf_counter()
        for rel_path in files:
            result = ingest_file(ctx, IngestFile(source="bench", rel_path=rel_path))
            assert result.failed == 0, result.error
        elapsed = time.perf_counter() - start
        catalog.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("corpora/django"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = args.corpus.resolve()
    files = [f for f in walk(root) if media_type_for(f)]
    size = sum((root / f).stat().st_size for f in files)
    pool = ParserPool(timeout_s=120, memory_mb=2048, max_inflated_bytes=200 * MB)
    pool.parse(b"# warm\n\nup", "warm.md", "text/markdown")
    parse_runs, chunk_count = [], 0
    ingest_runs = []
    for _ in range(args.runs):
        seconds, chunk_count = parse_and_chunk(pool, root, files)
        parse_runs.append(seconds)
        ingest_runs.append(full_ingest(pool, root, files))
    pool.close()
    parse_s, ingest_s = statistics.median(parse_runs), statistics.median(ingest_runs)
    print(
        json.dumps(
            {
                "corpus": str(args.corpus),
                "documents": len(files),
                "megabytes": round(size / MB, 2),
                "chunks": chunk_count,
                "runs": args.runs,
                "parse_chunk": {
                    "median_s": round(parse_s, 2),
                    "docs_per_s": round(len(files) / parse_s, 1),
                    "chunks_per_s": round(chunk_count / parse_s, 1),
                    "mb_per_s": round(size / MB / parse_s, 3),
                },
                "ingest_with_catalog": {
                    "median_s": round(ingest_s, 2),
                    "docs_per_s": round(len(files) / ingest_s, 1),
                    "chunks_per_s": round(chunk_count / ingest_s, 1),
                },
                "machine": f"{platform.machine()}, {platform.python_version()}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
