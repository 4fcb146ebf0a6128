"""Calibrate the perimeter on dev questions: how well does declining separate what should not be
answered (unanswerable, out-of-domain, under-specified) from what should?

    VERITY_DATA_DIR=<dir ingested by `verity eval`> python bench/calibrate_perimeter.py \\
        --questions ../shared/eval/mtrag/dev.jsonl [--questions ...] [--json]

Every question is asked through the real answer service (earlier turns stored as its
conversation); the evidence signals of each answer are kept, then the decline threshold is swept
offline. Prints precision, recall and F1 of declining, and the share of answerable questions
declined, per set and overall, at the configured threshold and at the best one. Tune on dev only.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from answer.evaluate import ask_all, precision_recall_f1
from answer.perimeter import Perimeter
from core.settings import Settings
from retrieve.evaluate import load_questions
from schemas.answer import DeclineReason
from verity.wiring import build_answer_service, build_indexer, open_catalog


@dataclass(frozen=True)
class Outcome:
    """One dev question as asked: should it be declined, and what the service saw."""

    set_name: str
    should_decline: bool
    hard_decline: bool  # declined whatever the threshold (no evidence, under-specified...)
    signals: dict[str, float]
    latency_ms: float
    category: str


def ask_everything(paths: list[Path], settings: Settings) -> list[Outcome]:
    """Ask every question of every file once (through `answer.evaluate.ask_all`)."""
    indexer = build_indexer(settings, open_catalog(settings))
    service = build_answer_service(settings, indexer)
    outcomes = []
    try:
        for path in paths:
            for asked in ask_all(service, load_questions(path), source=None):
                answer = asked.answer
                audit = indexer.catalog.answers.audit(answer.answer_id)
                hard = answer.decline_reason not in (None, DeclineReason.WEAK_EVIDENCE)
                outcomes.append(
                    Outcome(
                        path.parent.name,
                        not asked.question.answerable,
                        hard,
                        audit.signals if audit else {},
                        answer.latency_ms,
                        asked.question.category or "",
                    )
                )
    finally:
        indexer.active.close()
        indexer.catalog.close()
    return outcomes


def scores(outcomes: list[Outcome], threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of declining at `threshold`, and answerable ones declined."""
    perimeter = Perimeter(decline_below=threshold, escalate_below=threshold)
    declined = [o.hard_decline or perimeter.confidence(o.signals) < threshold for o in outcomes]
    truth = [o.should_decline for o in outcomes]
    precision, recall, f1 = precision_recall_f1(declined, truth)
    answerable = [d for d, t in zip(declined, truth, strict=True) if not t]
    return {
        "threshold": threshold,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "answerable_declined": round(sum(answerable) / len(answerable), 3) if answerable else 0,
        "questions": len(outcomes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, action="append", required=True)
    parser.add_argument("--dump", type=Path, help="write each question's outcome (JSONL)")
    args = parser.parse_args()
    settings = Settings()
    outcomes = ask_everything(args.questions, settings)
    if args.dump:
        with args.dump.open("w") as out:
            out.writelines(json.dumps(o.__dict__) + "\n" for o in outcomes)
    grid = [round(0.20 + 0.01 * i, 2) for i in range(50)]
    report: dict[str, object] = {
        "latency_ms_p50": round(statistics.median(o.latency_ms for o in outcomes), 1)
    }
    for name in [*sorted({o.set_name for o in outcomes}), "all"]:
        chosen = [o for o in outcomes if name in ("all", o.set_name)]
        best = max((scores(chosen, t) for t in grid), key=lambda s: (s["f1"], -s["threshold"]))
        report[name] = {"configured": scores(chosen, settings.decline_below), "best": best}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
