"""Experiment: adapt MiniLM to a corpus without labels, then measure it with fusion_ceiling.py.

    VERITY_DATA_DIR=<dir ingested by `verity eval`> python bench/adapt_embedder.py \\
        --source docs --out /tmp/adapted [--epochs 1] [--sentences 3]

Self-supervised pairs from the team's own documents only (no questions, no labels): a
section's title → the section, and a sentence → the rest of its section (inverse cloze),
trained with in-batch negatives (multiple-negatives ranking loss) on the CPU. The result is a
sentence-transformers folder; point `VERITY_EMBEDDING_MODEL` at it with
`VERITY_EMBEDDING_BACKEND=torch` in a fresh data folder and run `verity eval` or
`bench/fusion_ceiling.py`. Figures in bench/RESULTS.md (session 5): not adopted.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from core.settings import Settings
from index.embedding import model_path
from verity.wiring import open_catalog

_SENTENCE = re.compile(r"(?<=[.!?:])\s+(?=[A-Z0-9])")


def pairs(source: str, per_chunk: int, rng: random.Random) -> list[tuple[str, str]]:
    """(query-like text, passage) pairs from the source's current chunks."""
    catalog = open_catalog(Settings())
    out: list[tuple[str, str]] = []
    try:
        for doc in catalog.documents(source):
            current = catalog.current_version(doc.doc_id)
            for chunk in catalog.chunks(doc.doc_id, current.version) if current else []:
                passage = f"{chunk.heading}\n\n{chunk.text}" if chunk.heading else chunk.text
                if chunk.heading_path:
                    out.append((chunk.heading_path[-1], passage))
                sentences = [s for s in _SENTENCE.split(chunk.text) if len(s.split()) >= 4]
                for sentence in rng.sample(sentences, min(per_chunk, len(sentences))):
                    rest = " ".join(s for s in sentences if s != sentence)
                    out.append((sentence, f"{chunk.heading}\n\n{rest}" if chunk.heading else rest))
    finally:
        catalog.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sentences", type=int, default=3, help="inverse-cloze pairs per chunk")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    rng = random.Random(0)
    training = pairs(args.source, args.sentences, rng)
    model = SentenceTransformer(str(model_path(Settings().embedding_model)), device="cpu")
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-5)

    def encode(texts: list[str]) -> torch.Tensor:
        features = model.preprocess(texts)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)

    started = time.perf_counter()
    model.train()
    for epoch in range(args.epochs):
        rng.shuffle(training)
        for i in range(0, len(training), args.batch):
            batch = training[i : i + args.batch]
            queries, passages = encode([q for q, _ in batch]), encode([p for _, p in batch])
            loss = torch.nn.functional.cross_entropy(
                queries @ passages.T * 20, torch.arange(len(batch))
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"epoch {epoch + 1}: {len(training)} pairs, {time.perf_counter() - started:.0f} s")
    model.eval()
    model.save(str(args.out))


if __name__ == "__main__":
    main()
