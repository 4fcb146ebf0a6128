"""Sweep hybrid fusion settings on a dev question set (corpus already ingested by `verity eval`).

    VERITY_DATA_DIR=... python bench/sweep_fusion.py --questions dev.jsonl --source docs

Prints nDCG@10 / recall@10 of hybrid search for each setting, beside dense and sparse alone.
Tune on dev questions only.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from core.ports import Fusion
from core.settings import Settings
from retrieve.evaluate import evaluate, load_questions
from verity.wiring import build_retriever, close_retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--user-turns", type=int, default=1)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    retriever = build_retriever(Settings())

    def hybrid(fusion: Fusion) -> dict[str, float]:
        retriever.active.current.index.fusion = fusion  # type: ignore[attr-defined]
        row = evaluate(
            retriever,
            questions,
            source=args.source,
            modes=("hybrid",),
            user_turns=args.user_turns,
        )["hybrid"]
        return {"ndcg@10": row["ndcg@10"], "recall@10": row["recall@10"]}

    try:
        single = evaluate(
            retriever,
            questions,
            source=args.source,
            modes=("dense", "sparse"),
            user_turns=args.user_turns,
        )
        print(json.dumps({m: single[m]["ndcg@10"] for m in single}))
        # Qdrant's weighted RRF scores 1 / (k + (rank + 1) / w - 1): a weight below 1 makes
        # that list's ranks fall off faster (less influence), so sweep weights <= 1.
        weights = ((1.0, 1.0), (0.5, 1.0), (0.25, 1.0), (1.0, 0.5), (1.0, 0.25))
        for rrf_k, (dense, sparse) in itertools.product((2, 5, 10, 20, 60), weights):
            figures = hybrid(Fusion("rrf", rrf_k, dense, sparse))
            row = {"rrf_k": rrf_k, "dense_weight": dense, "sparse_weight": sparse, **figures}
            print(json.dumps(row))
        for share in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            figures = hybrid(
                Fusion("convex", dense_weight=share, sparse_weight=round(1 - share, 2))
            )
            print(json.dumps({"fusion": "convex", "dense_weight": share, **figures}))
        print(json.dumps({"fusion": "dbsf", **hybrid(Fusion("dbsf"))}))
    finally:
        close_retriever(retriever)


if __name__ == "__main__":
    main()
