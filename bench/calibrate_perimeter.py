"""Calibrate the perimeter on dev questions: how well does declining separate what should not be
answered (unanswerable, out-of-domain, under-specified) from what should?

    VERITY_DATA_DIR=<dir ingested by `verity eval`> python bench/calibrate_perimeter.py \\
        --questions ../shared/eval/mtrag/dev.jsonl --dump mtrag.jsonl
    python bench/calibrate_perimeter.py --combine mtrag.jsonl emanual.jsonl sessions.jsonl

Every question is asked through the real answer service: a file whose questions carry a
`session_id` is asked session by session in one live conversation (as the chat page does),
any other with its earlier turns stored as its conversation. The evidence signals of each
answer are kept (`--dump`), then the thresholds are swept offline (`--combine`, one dump per
set, each from its own data folder): precision, recall and F1 of declining (escalated counts
as not answering), the share of answerable questions declined, and the share of answerable
questions answered citing a relevant document, per set, at the configured thresholds and at
the decline threshold that maximises the worst set's F1. Tune on dev only.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from answer.evaluate import ask_all, precision_recall_f1
from answer.evaluate_sessions import NOT_ANSWERING, ask_sessions
from answer.perimeter import Perimeter
from core.settings import Settings
from retrieve.evaluate import load_questions
from schemas.answer import Answer, DeclineReason
from verity.wiring import build_answer_service, build_indexer, open_catalog

GRID = [round(0.30 + 0.01 * i, 2) for i in range(26)]


@dataclass(frozen=True)
class Outcome:
    """One dev question as asked: should it be declined, and what the service saw."""

    set_name: str
    should_decline: bool
    hard_decline: bool  # declined whatever the threshold (no evidence, under-specified...)
    signals: dict[str, float]
    cites_relevant: bool
    category: str


def ask_everything(path: Path, settings: Settings) -> list[Outcome]:
    """Ask every question of one file; keep what the perimeter weighs."""
    indexer = build_indexer(settings, open_catalog(settings))
    service = build_answer_service(settings, indexer)
    questions = load_questions(path)
    outcomes = []
    try:
        if any(q.session_id for q in questions):
            pairs = [(a.question, a.answer) for a in ask_sessions(service, questions, None)]
        else:
            pairs = [(a.question, a.answer) for a in ask_all(service, questions, None)]
        for question, answer in pairs:
            audit = indexer.catalog.answers.audit(answer.answer_id)
            should = (
                question.expected_behavior in NOT_ANSWERING
                if question.expected_behavior
                else not question.answerable
            )
            outcomes.append(
                Outcome(
                    path.parent.name,
                    should,
                    _hard(answer),
                    audit.signals if audit else {},
                    any(c.path in set(question.relevant_doc_ids) for c in answer.citations),
                    question.category or "",
                )
            )
    finally:
        indexer.active.close()
        indexer.catalog.close()
    return outcomes


def _hard(answer: Answer) -> bool:
    reason = answer.decline_reason
    return reason is not None and reason not in (
        DeclineReason.WEAK_EVIDENCE,
        DeclineReason.UNKNOWN_NAME,
    )


def scores(outcomes: list[Outcome], decline: float, escalate: float) -> dict[str, float]:
    """Declining and answering at these thresholds (escalated is not answered)."""
    perimeter = Perimeter(decline_below=decline, escalate_below=max(decline, escalate))
    confidence = [perimeter.confidence(o.signals) for o in outcomes]
    declined = [o.hard_decline or c < decline for o, c in zip(outcomes, confidence, strict=True)]
    escalated = [
        not d and c < perimeter.escalate_below for d, c in zip(declined, confidence, strict=True)
    ]
    held = [d or e for d, e in zip(declined, escalated, strict=True)]
    truth = [o.should_decline for o in outcomes]
    precision, recall, f1 = precision_recall_f1(held, truth)
    answerable = [(h, o) for h, o in zip(held, outcomes, strict=True) if not o.should_decline]
    return {
        "decline_below": decline,
        "escalate_below": max(decline, escalate),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "escalated": sum(escalated),
        "answerable_declined": _share([h for h, _ in answerable]),
        "answerable_right": _share([not h and o.cites_relevant for h, o in answerable]),
        "questions": len(outcomes),
    }


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 3) if flags else 0.0


def combine(dumps: list[Path], settings: Settings) -> dict[str, object]:
    """Every set's figures at the configured thresholds and over a grid of decline
    thresholds, each with no escalation band and with a band of +0.03 and +0.05."""
    sets: dict[str, list[Outcome]] = {}
    for dump in dumps:
        for line in dump.read_text().splitlines():
            outcome = Outcome(**json.loads(line))
            sets.setdefault(outcome.set_name, []).append(outcome)
    configured = (settings.decline_below, settings.escalate_below)
    grid = [
        {name: scores(outcomes, decline, decline + band) for name, outcomes in sets.items()}
        for decline in GRID
        for band in (0.0, 0.03, 0.05)
    ]
    return {
        "configured": {name: scores(o, *configured) for name, o in sets.items()},
        "grid": grid,
    }


def _table(report: dict[str, object]) -> str:
    grid = report["grid"]
    assert isinstance(grid, list)
    names = list(grid[0])
    lines = ["decline escalate | " + " | ".join(f"{n}: f1 right escalated" for n in names)]
    for row in grid:
        first = row[names[0]]
        cells = [
            f"{row[n]['f1']:.3f} {row[n]['answerable_right']:.3f} {row[n]['escalated']}"
            for n in names
        ]
        lines.append(
            f"{first['decline_below']:.2f} {first['escalate_below']:.2f} | " + " | ".join(cells)
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, help="ask these (JSONL) and --dump them")
    parser.add_argument("--dump", type=Path, help="write each question's outcome (JSONL)")
    parser.add_argument("--combine", type=Path, nargs="+", help="sweep over these dumps")
    args = parser.parse_args()
    settings = Settings()
    if args.questions:
        outcomes = ask_everything(args.questions, settings)
        if args.dump:
            with args.dump.open("w") as out:
                out.writelines(json.dumps(asdict(o)) + "\n" for o in outcomes)
        print(json.dumps(scores(outcomes, settings.decline_below, settings.escalate_below)))
    if args.combine:
        report = combine(args.combine, settings)
        print(json.dumps(report["configured"], indent=2))
        print(_table(report))


if __name__ == "__main__":
    main()
