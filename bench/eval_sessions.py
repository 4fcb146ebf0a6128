"""Agent sessions on an index already built: every session asked in one live conversation,
topic switches also alone, then the session figures (`answer.evaluate_sessions`).

    VERITY_DATA_DIR=<dir with corpora/django ingested as source "django"> \\
        python bench/eval_sessions.py --questions ../shared/eval/agent_sessions/dev.jsonl \\
        [--source django] [--dump answers.jsonl]

`verity eval` does the same after ingesting the corpus; this skips the ingest, for tuning.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from answer.evaluate_sessions import ask_sessions, session_figures
from core.settings import Settings
from retrieve.evaluate import load_questions
from verity.wiring import build_answer_service, build_indexer, open_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--source", default="django")
    parser.add_argument("--dump", type=Path, help="each question and its answer (JSONL)")
    args = parser.parse_args()
    settings = Settings()
    indexer = build_indexer(settings, open_catalog(settings))
    try:
        service = build_answer_service(settings, indexer)
        asked = ask_sessions(service, load_questions(args.questions), args.source)
        audits = {
            a.answer.answer_id: indexer.catalog.answers.audit(a.answer.answer_id) for a in asked
        }
    finally:
        indexer.active.close()
        indexer.catalog.close()
    if args.dump:
        with args.dump.open("w") as out:
            for a in asked:
                audit = audits[a.answer.answer_id]
                row = {
                    "id": a.question.id,
                    "answer_id": a.answer.answer_id,
                    "category": a.question.category,
                    "question": a.question.question,
                    "right": a.right(),
                    "key_phrase": a.key_phrase,
                    "right_alone": a.right(a.alone) if a.alone else None,
                    "status": a.answer.status.value,
                    "confidence": a.answer.confidence,
                    "query": a.answer.query,
                    "text": a.answer.text,
                    "cited": [c.path for c in a.answer.citations],
                    "relevant": a.question.relevant_doc_ids,
                    "key_phrases": a.question.key_phrases,
                    "signals": audit.signals if audit else {},
                    "turn_kind": audit.turn_kind if audit else None,
                    "tried": [t.model_dump() for t in audit.queries_tried] if audit else [],
                }
                out.write(json.dumps(row) + "\n")
    print(json.dumps(session_figures(asked), indent=2))


if __name__ == "__main__":
    main()
