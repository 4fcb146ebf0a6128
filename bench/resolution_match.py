"""How far apart questions sit, to place the resolution match line (VERITY_RESOLUTION_MATCH_AT).

    PYTHONPATH=. python bench/resolution_match.py [--questions QUESTIONS.jsonl] [--top 5]

Embeds every distinct question of the set with the product's embedder (the default runtime)
and prints the closest pairs of *different* questions (a resolution must not be served across
them), then a few rewordings and near-misses written here (it must be served to the first).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from core.settings import Settings
from verity.wiring import load_embedder

QUESTIONS = Path(__file__).parents[1].parent / "shared" / "eval" / "agent_sessions" / "dev.jsonl"
#: (question, another, same question?)
PAIRS = [
    ("How long do refunds take?", "How long does a refund take?", True),
    ("How do I reset a forgotten password?", "I forgot my password, how can I reset it?", True),
    ("How do I create a superuser?", "What's the command to make an admin superuser?", True),
    ("How do I create a superuser?", "How do I delete a superuser?", False),
    ("How long do refunds take?", "How long do invoices take?", False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings, settings.embedding_key)
    lines = args.questions.read_text().splitlines()
    asked = list(dict.fromkeys(json.loads(line)["question"] for line in lines if line.strip()))
    vectors = embedder.embed(asked)
    closest = sorted(
        (
            (_cosine(vectors[i], vectors[j]), asked[i], asked[j])
            for i, j in itertools.combinations(range(len(asked)), 2)
        ),
        reverse=True,
    )
    pairs = []
    for a, b, same in PAIRS:
        x, y = embedder.embed([a, b])
        pairs.append({"a": a, "b": b, "same": same, "cosine": round(_cosine(x, y), 3)})
    print(
        json.dumps(
            {
                "model": settings.embedding_key,
                "distinct_questions": len(asked),
                "closest_different": [
                    {"cosine": round(c, 3), "a": a, "b": b} for c, a, b in closest[: args.top]
                ],
                "pairs": pairs,
            },
            indent=2,
        )
    )


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


if __name__ == "__main__":
    main()
