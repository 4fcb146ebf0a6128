"""How much can the dense side add to BM25 on a dev set? Offline, over an ingested corpus.

    VERITY_DATA_DIR=<dir ingested by `verity eval`> python bench/fusion_ceiling.py \\
        --questions ../shared/eval/emanual/dev.jsonl --source docs [--json]

Scores every current chunk densely (exact, no HNSW) and takes BM25's top 200 from the index,
then ranks documents (a document's best chunk) for the answerable questions and prints
doc-level nDCG@10 for: each side alone, convex fusion over a weight grid, RRF, a multi-vector
dense side (each chunk's sentences embedded with its heading, the chunk scoring its best
sentence), and a linear mix of all of these with its weights fitted on four fifths of the
questions and measured on the fifth (5-fold cross-validation: an honest figure, where the
grids above are tuned on the questions they are measured on). Tune on dev questions only.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings
from index.sync import embedding_text
from retrieve.evaluate import EvalQuestion, load_questions, query_text
from verity.wiring import build_retriever, close_retriever

_SENTENCE = re.compile(r"(?<=[.!?:])\s+(?=[A-Z0-9])")
Scores = np.ndarray


@dataclass
class Asked:
    """One answerable question: its relevant documents and each side's score of every chunk."""

    relevant: set[str]
    dense: Scores
    sparse: Scores
    sentences: Scores


def collect(questions: list[EvalQuestion], source: str) -> tuple[list[str], list[Asked]]:
    """Chunk paths (one per chunk, in order) and every answerable question's scores."""
    retriever = build_retriever(Settings())
    catalog = retriever.catalog
    try:
        chunks = []
        for doc in catalog.documents(source):
            current = catalog.current_version(doc.doc_id)
            if current is not None:
                chunks += [(doc.rel_path, c) for c in catalog.chunks(doc.doc_id, current.version)]
        if not chunks:
            raise SystemExit(f"no chunks in source {source!r}: run `verity eval` first")
        position = {c.chunk_id: i for i, (_, c) in enumerate(chunks)}
        with retriever.active.use() as collection:
            embed = collection.embedder.embed
            vectors = np.array(embed([embedding_text(c) for _, c in chunks]))
            texts, owner = [], []
            for i, (_, chunk) in enumerate(chunks):
                for sentence in _SENTENCE.split(chunk.text):
                    if sentence.strip():
                        texts.append(
                            f"{chunk.heading}\n\n{sentence}" if chunk.heading else sentence
                        )
                        owner.append(i)
            sentence_vectors, owners = np.array(embed(texts)), np.array(owner)
            asked = []
            for question in questions:
                if not (question.answerable and question.relevant_doc_ids):
                    continue
                text = query_text(question)
                query = np.array(embed([text])[0])
                sparse = np.zeros(len(chunks))
                hits = collection.index.search(
                    None,
                    collection.sparse.encode_query(text),
                    limit=200,
                    mode="sparse",
                    source=source,
                    doc_id=None,
                )
                for hit in hits:
                    sparse[position[hit.payload.chunk_id]] = hit.score
                best = np.full(len(chunks), -1.0)
                np.maximum.at(best, owners, sentence_vectors @ query)
                asked.append(Asked(set(question.relevant_doc_ids), vectors @ query, sparse, best))
        return [path for path, _ in chunks], asked
    finally:
        close_retriever(retriever)


def ndcg10(paths: list[str], scores: Scores, relevant: set[str]) -> float:
    """Binary nDCG@10 of documents ranked by their best chunk (ties by chunk order)."""
    ranked: list[str] = []
    for i in np.argsort(-scores, kind="stable"):
        if paths[i] not in ranked:
            ranked.append(paths[i])
            if len(ranked) == 10:
                break
    gain = sum(1 / math.log2(r + 2) for r, p in enumerate(ranked) if p in relevant)
    return gain / sum(1 / math.log2(r + 2) for r in range(min(len(relevant), 10)))


def min_max(scores: Scores, depth: int = 50) -> Scores:
    """The top `depth` scaled to 0-1, the rest 0 (as `index.fusion.convex` does)."""
    top = np.argsort(-scores)[:depth]
    low, high = scores[top].min(), scores[top].max()
    out = np.zeros_like(scores)
    out[top] = (scores[top] - low) / ((high - low) or 1.0)
    return out


def rrf(scores: Scores, k: int, depth: int = 50) -> Scores:
    """Reciprocal-rank scores of the top `depth`."""
    top = np.argsort(-scores)[:depth]
    out = np.zeros_like(scores)
    out[top] = 1 / (k + np.arange(1, len(top) + 1))
    return out


def features(a: Asked) -> np.ndarray:
    """The signals a linear mix may weigh: BM25, dense, best sentence, and their RRF ranks."""
    return np.stack(
        [
            min_max(a.sparse),
            min_max(a.dense),
            min_max(a.sentences),
            10 * rrf(a.sparse, 10),
            10 * rrf(a.sentences, 10),
        ]
    )


def fit(paths: list[str], rows: list[tuple[np.ndarray, set[str]]]) -> np.ndarray:
    """Weights (BM25's fixed at 1) by coordinate ascent on mean nDCG@10 over `rows`."""
    weights = np.array([1.0, 0, 0, 0, 0])

    def score(w: np.ndarray) -> float:
        return float(np.mean([ndcg10(paths, w @ f, rel) for f, rel in rows]))

    best = score(weights)
    for _ in range(3):
        for j in range(1, len(weights)):
            for value in (0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8):
                trial = weights.copy()
                trial[j] = value
                if (s := score(trial)) > best + 1e-9:
                    best, weights = s, trial
    return weights


def cross_validated(paths: list[str], asked: list[Asked], folds: int = 5) -> float:
    """Mean nDCG@10 of the fitted mix, each question scored by weights fitted without it."""
    rows = [(features(a), a.relevant) for a in asked]
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    total = 0.0
    for f in range(folds):
        held = set(order[f::folds])
        weights = fit(paths, [r for i, r in enumerate(rows) if i not in held])
        total += sum(ndcg10(paths, weights @ rows[i][0], rows[i][1]) for i in held)
    return total / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    paths, asked = collect(load_questions(args.questions), args.source)

    def mean(rank: Callable[[Asked], Scores]) -> float:
        return round(float(np.mean([ndcg10(paths, rank(a), a.relevant) for a in asked])), 4)

    report: dict[str, float] = {
        "dense": mean(lambda a: a.dense),
        "sparse": mean(lambda a: a.sparse),
        "sentences (multi-vector dense)": mean(lambda a: a.sentences),
    }
    for w in (0.2, 0.3, 0.4, 0.5, 0.7):
        report[f"convex dense {w}"] = mean(
            lambda a, w=w: w * min_max(a.dense) + (1 - w) * min_max(a.sparse)
        )
        report[f"convex sentences {w}"] = mean(
            lambda a, w=w: w * min_max(a.sentences) + (1 - w) * min_max(a.sparse)
        )
    for k in (2, 10, 60):
        report[f"rrf k={k}"] = mean(lambda a, k=k: rrf(a.dense, k) + rrf(a.sparse, k))
    report["linear mix, 5-fold cross-validated"] = round(cross_validated(paths, asked), 4)
    if args.json:
        print(json.dumps({"questions": len(asked), **report}))
        return
    for name, value in report.items():
        print(f"{name:40s} {value:.4f}")


if __name__ == "__main__":
    main()
