"""Qdrant Edge's memory across edits and optimizations, in a process of its own.

    PYTHONPATH=. python bench/edge_memory.py [--points 1500] [--rounds 8] [--replace 500]

Upserts `--points` random points (384-d dense, 80-term sparse, a 150-word payload) and
optimizes; then, `--rounds` times, replaces `--replace` random points (a new point upserted,
the old one deleted, as an edit does) and optimizes (`EdgeIndex.optimize`, which loads the
shard again after a merge). Prints one JSON object: the process's anonymous resident memory
(heap, in MB) after the first optimization and after each round.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from index.edge import EdgeIndex
from schemas.index import ChunkPayload, IndexPoint, SparseVector

WORDS = ["refund", "invoice", "password", "django", "model", "view", "parcel", "account"]


def anon_mb() -> float:
    """This process's RssAnon: what a leak grows (file-backed pages the kernel can drop)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def point(number: int, version: int, rng: random.Random) -> IndexPoint:
    text = " ".join(rng.choice(WORDS) for _ in range(150))
    return IndexPoint(
        payload=ChunkPayload(
            chunk_id=f"c{number}-{version}",
            doc_id=f"kb/d{number % 100}.md",
            version=version,
            sha256="0" * 64,
            source="kb",
            path=f"d{number % 100}.md",
            ordinal=number,
            text=text,
            embedding_model="bench",
        ),
        dense=[rng.random() for _ in range(384)],
        sparse=SparseVector(indices=sorted(rng.sample(range(100_000), 80)), values=[1.0] * 80),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--replace", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(1)
    versions = dict.fromkeys(range(args.points), 1)
    with tempfile.TemporaryDirectory() as folder:
        index = EdgeIndex(Path(folder) / "shard", 384)
        index.upsert([point(n, 1, rng) for n in range(args.points)])
        index.optimize()
        anon = [anon_mb()]
        for _ in range(args.rounds):
            for _ in range(args.replace):
                number = rng.randrange(args.points)
                old = versions[number]
                versions[number] = old + 1
                index.upsert([point(number, old + 1, rng)])
                index.delete_chunks([f"c{number}-{old}"])
            index.optimize()
            anon.append(anon_mb())
        count = index.count()
        index.close()
    print(json.dumps({**vars(args), "points_after": count, "anon_mb": anon}))


if __name__ == "__main__":
    main()
