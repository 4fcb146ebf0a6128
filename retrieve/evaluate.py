"""Retrieval evaluation: questions with relevant documents → recall, nDCG, MRR and latency.

Pure functions over ranked document ids, plus the loop that asks a `Retriever`. Relevance
is binary and per document: a document's first hit is its rank.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.ports import SearchMode
from retrieve.hybrid import Retriever

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "sparse")


class Turn(BaseModel):
    """An earlier message of the conversation."""

    role: Literal["user", "agent"]
    text: str


class EvalQuestion(BaseModel):
    """One line of a question file (`../shared/eval/<set>/dev.jsonl`)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    question: str
    turns: list[Turn] = Field(default_factory=list)
    relevant_doc_ids: list[str] = Field(default_factory=list)
    answerable: bool = True
    category: str | None = None
    session_id: str | None = None  # agent sessions: asked in one live conversation, in order
    turn_index: int = 0
    expected_behavior: str | None = None
    key_phrases: list[str] = Field(default_factory=list)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions from a JSONL file (blank lines skipped)."""
    with path.open(encoding="utf-8") as handle:
        return [EvalQuestion.model_validate_json(line) for line in handle if line.strip()]


def relative_to_corpus(questions: list[EvalQuestion], corpus_name: str) -> list[EvalQuestion]:
    """Relevant ids given from the corpus folder's parent (`django-5.2.19/faq/admin.txt` for a
    corpus folder `django-5.2.19`) made relative to the corpus folder, as documents are."""
    prefix = f"{corpus_name}/"
    return [
        q.model_copy(
            update={"relevant_doc_ids": [d.removeprefix(prefix) for d in q.relevant_doc_ids]}
        )
        for q in questions
    ]


def query_text(question: EvalQuestion, user_turns: int = 1) -> str:
    """The text searched for: the last user turn(s), then the question."""
    earlier = (
        [t.text for t in question.turns if t.role == "user"][-user_turns:] if user_turns else []
    )
    return " ".join([*earlier, question.question])


def unique(ranked: Iterable[str]) -> list[str]:
    """Document ids in first-seen order."""
    return list(dict.fromkeys(ranked))


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of relevant documents among the first `k`."""
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary nDCG@k."""
    gain = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return gain / ideal if ideal else 0.0


def mrr_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Reciprocal rank of the first relevant document within `k`."""
    return next((1 / (i + 1) for i, doc in enumerate(ranked[:k]) if doc in relevant), 0.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def evaluate(
    retriever: Retriever,
    questions: Sequence[EvalQuestion],
    *,
    source: str,
    modes: Sequence[SearchMode] = MODES,
    user_turns: int = 1,
) -> dict[str, dict[str, float]]:
    """Per mode: recall@5, recall@10, ndcg@10, mrr@10, p50_ms, p95_ms over answerable questions."""
    answerable = [q for q in questions if q.answerable and q.relevant_doc_ids]
    figures: dict[str, dict[str, float]] = {}
    for mode in modes:
        rows: list[tuple[float, float, float, float, float]] = []
        for question in answerable:
            found = retriever.search(
                query_text(question, user_turns), k=10, mode=mode, source=source
            )
            ranked = unique(h.payload.path for h in found.hits)
            relevant = set(question.relevant_doc_ids)
            rows.append(
                (
                    recall_at(ranked, relevant, 5),
                    recall_at(ranked, relevant, 10),
                    ndcg_at(ranked, relevant, 10),
                    mrr_at(ranked, relevant, 10),
                    found.latency_ms,
                )
            )
        figures[mode] = _summary(rows)
    return figures


def _summary(rows: list[tuple[float, float, float, float, float]]) -> dict[str, float]:
    if not rows:
        return {"questions": 0}
    columns = list(zip(*rows, strict=True))
    latencies = columns[4]
    return {
        "questions": len(rows),
        "recall@5": round(statistics.fmean(columns[0]), 4),
        "recall@10": round(statistics.fmean(columns[1]), 4),
        "ndcg@10": round(statistics.fmean(columns[2]), 4),
        "mrr@10": round(statistics.fmean(columns[3]), 4),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }


def to_json(figures: dict[str, dict[str, float]], **extra: object) -> str:
    """The object `verity eval --json` prints."""
    return json.dumps({**extra, "retrieval": figures})
