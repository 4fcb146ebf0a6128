"""The eval gate of a model rollover: a rebuilt collection replaces the live one only if it
retrieves the team's questions about as well (nDCG@10, hybrid and dense, each within a margin).

Both collections hold the catalog's current chunks; each question is embedded by each
collection's own model. The dense side is judged apart from hybrid because the model is all
a rebuild changes, and BM25 in the fusion can hide a much worse model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from core.errors import ConfigError
from core.ports import SearchMode
from index.active import Collection
from retrieve.evaluate import ndcg_at, recall_at, unique
from retrieve.hybrid import in_stable_order, search_collection
from schemas.admin import GateFigures, GateQuestion, GateReport, RolloverGate
from schemas.index import SearchHit

GATE_MODES: tuple[SearchMode, ...] = ("hybrid", "dense")
K = 10


def load_gate(path: Path, margin: float) -> RolloverGate:
    """Gate questions from a JSONL file (one `{"question", "relevant_doc_ids"}` a line, as the
    eval files; lines marked `"answerable": false` or without documents are skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"gate questions {path}: {exc.strerror}") from exc
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if row.get("answerable", True) and row.get("relevant_doc_ids"):
                questions.append(GateQuestion.model_validate(row))
        except (ValueError, AttributeError) as exc:  # not JSON, not an object, not a question
            detail = _first(exc) if isinstance(exc, ValidationError) else "not a JSON object"
            raise ConfigError(f"gate questions {path}, line {number}: {detail}") from exc
    try:
        return RolloverGate(questions=questions, margin=margin)
    except ValidationError as exc:
        raise ConfigError(f"gate questions {path}: {_first(exc)}") from exc


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def measure(collection: Collection, gate: RolloverGate) -> GateFigures:
    """nDCG@10 and recall@10 of `collection` on the gate's questions, per mode."""
    ndcg: dict[str, float] = {}
    recall: dict[str, float] = {}
    for mode in GATE_MODES:
        rows = []
        for question in gate.questions:
            relevant = set(question.relevant_doc_ids)
            hits = in_stable_order(search_collection(collection, question.question, 2 * K, mode))
            ranked = unique(_label(hit, relevant) for hit in hits)
            rows.append((ndcg_at(ranked, relevant, K), recall_at(ranked, relevant, K)))
        ndcg[mode] = round(sum(r[0] for r in rows) / len(rows), 4)
        recall[mode] = round(sum(r[1] for r in rows) / len(rows), 4)
    return GateFigures(
        collection=collection.spec.name,
        embedding_model=collection.spec.embedding_model,
        ndcg_at_10=ndcg,
        recall_at_10=recall,
    )


def _label(hit: SearchHit, relevant: set[str]) -> str:
    """A hit's document as the question names it: its id, or its path inside its source."""
    return hit.payload.doc_id if hit.payload.doc_id in relevant else hit.payload.path


def compare(old: Collection, new: Collection, gate: RolloverGate) -> GateReport:
    """Both collections measured; passed when no mode's nDCG@10 drops by more than the margin."""
    before, after = measure(old, gate), measure(new, gate)
    worse = [
        f"{mode} nDCG@10 {after.ndcg_at_10[mode]:.4f} < {before.ndcg_at_10[mode]:.4f} "
        f"− {gate.margin:g}"
        for mode in GATE_MODES
        if after.ndcg_at_10[mode] < before.ndcg_at_10[mode] - gate.margin
    ]
    verdict = (
        f"refused: {'; '.join(worse)}"
        if worse
        else f"passed: no mode's nDCG@10 dropped by more than {gate.margin:g}"
    )
    return GateReport(
        questions=len(gate.questions),
        margin=gate.margin,
        old=before,
        new=after,
        passed=not worse,
        verdict=verdict,
    )


def gated(
    gate: RolloverGate,
    keep: Callable[[GateReport], None],
    starting: Callable[[], None] | None = None,
) -> Callable[[Collection, Collection], bool]:
    """An `approve` for `Indexer.rebuild`: compares the collections on `gate`, hands the
    report to `keep` (a job, the CLI's output), and lets the rebuilt one in if it passed."""

    def approve(live: Collection, built: Collection) -> bool:
        if starting is not None:
            starting()
        report = compare(live, built, gate)
        keep(report)
        return report.passed

    return approve
