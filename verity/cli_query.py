"""`verity ask`, `search` and `eval`: questions to the index and the answer service."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from pydantic import ValidationError

from answer.evaluate import answer_figures, ask_all, decline_figures
from answer.evaluate_sessions import ask_sessions, session_figures
from core.errors import IndexBusy
from core.settings import Settings
from retrieve.evaluate import evaluate, load_questions, relative_to_corpus, to_json
from schemas.answer import Answer, ChatRequest, SearchFilters
from schemas.tasks import Counts
from verity.cli_ingest import UsageError, ingest_tasks, run_all, summary_of
from verity.cli_remote import call_service
from verity.wiring import (
    IngestService,
    build_answer_service,
    build_indexer,
    build_ingest,
    build_retriever,
    catalog_of,
    close_retriever,
    open_catalog,
    retriever_for,
)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """`verity ask "question" [--conversation ID] [--source S] [--json]`."""
    try:
        request = ChatRequest(
            question=args.question,
            conversation_id=args.conversation,
            filters=SearchFilters(source=args.source),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"cannot ask that: {problems}") from exc
    try:
        indexer = build_indexer(settings, open_catalog(settings, must_exist=True))
    except IndexBusy:
        answer = _ask_running_service(settings, request)
    else:
        try:
            answer = build_answer_service(settings, indexer).ask(request)
        finally:
            indexer.active.close()
            catalog_of(indexer).close()
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.text)
    for citation in answer.citations:
        heading = " > ".join(citation.heading_path)
        print(f"  [{citation.marker}] {citation.doc_id} v{citation.version}  {heading}")
    print(
        f"({answer.status}, confidence {answer.confidence:.2f}, conversation "
        f"{answer.conversation_id})"
    )
    return 0


def _ask_running_service(settings: Settings, request: ChatRequest) -> Answer:
    """The embedded index belongs to a running `verity up`: ask it over HTTP instead."""
    body = request.model_dump_json(exclude_none=True).encode()
    return Answer.model_validate_json(call_service(settings, "/v1/chat", body))


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """`verity search "text" [--k N] [--mode M] [--source S] [--doc ID] [--json]`."""
    if args.k < 1:
        raise UsageError("--k must be at least 1")
    retriever = build_retriever(settings)
    try:
        found = retriever.search(
            args.query, k=args.k, mode=args.mode, source=args.source, doc_id=args.doc
        )
    finally:
        close_retriever(retriever)
    if args.json:
        print(
            json.dumps(
                {
                    "query": found.query,
                    "mode": found.mode,
                    "index_generation": found.generation,
                    "embedding_model": found.embedding_model,
                    "collection": found.collection,
                    "latency_ms": round(found.latency_ms, 2),
                    "hits": [{"score": h.score, **h.payload.model_dump()} for h in found.hits],
                }
            )
        )
        return 0
    for rank, hit in enumerate(found.hits, 1):
        p = hit.payload
        where = " > ".join(p.heading_path) or "(top)"
        print(f"{rank:>2}. {hit.score:.4f}  {p.doc_id} v{p.version}  [{where}]")
        print(f"    {p.text[:160].replace(chr(10), ' ')}")
    if not found.hits:
        print("(no results)")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """`verity eval --questions FILE --corpus DIR [--previous-corpus OLD] [--json]`: ingest,
    then retrieval figures per mode and answer figures (declining, citations, latency)."""
    for folder in (args.corpus, args.previous_corpus):
        if folder is not None and not folder.is_dir():
            raise UsageError(f"no such folder: {folder}")
    questions = relative_to_corpus(load_questions(args.questions), args.corpus.resolve().name)
    source = args.source or args.corpus.resolve().name
    service = build_ingest(settings)
    try:
        ingested = _ingest_for_eval(service, settings, args, source)
        indexer = service.indexer
        figures = evaluate(
            retriever_for(indexer), questions, source=source, user_turns=args.user_turns
        )
        answers_service = build_answer_service(settings, indexer)
        sessions = None
        if any(q.session_id for q in questions):  # one live conversation per session
            sessions = session_figures(ask_sessions(answers_service, questions, source))
        asked = ask_all(answers_service, questions, source)
        current = None
        if args.previous_corpus is not None:
            cited = [c.doc_id for a in asked for c in a.answer.citations]
            current = catalog_of(indexer).current_versions(cited)
    finally:
        service.close()
    summary = {**summary_of(ingested), "chunks_embedded": ingested.chunks_embedded}
    answers = answer_figures(asked, current)
    declines = decline_figures(asked)
    report = to_json(
        figures,
        corpus=str(args.corpus),
        questions=len(questions),
        ingest=summary,
        decline=declines,
        answers=answers,
        **({"sessions": sessions} if sessions is not None else {}),
    )
    if args.json:
        print(report)
        return 0
    for mode, row in figures.items():
        print(f"{mode:>7}: " + "  ".join(f"{k} {v}" for k, v in row.items()))
    print("decline: " + "  ".join(f"{k} {v}" for k, v in declines.items()))
    print("answers: " + "  ".join(f"{k} {v}" for k, v in answers.items()))
    if sessions is not None:
        print("sessions: " + "  ".join(f"{k} {v}" for k, v in sessions.items()))
    return 0


def _ingest_for_eval(
    service: IngestService, settings: Settings, args: argparse.Namespace, source: str
) -> Counts:
    """Ingest the corpus; with a previous corpus, ingest that first into a staging folder
    and then replace its content with the corpus (changed pages become new versions)."""
    if args.previous_corpus is None:
        return run_all(service, ingest_tasks(service, [args.corpus], source))
    staging = settings.data_dir / "eval-sources" / source
    _mirror(args.previous_corpus, staging)
    run_all(service, ingest_tasks(service, [staging], source))
    _mirror(args.corpus, staging)
    return run_all(service, ingest_tasks(service, [staging], source))


def _mirror(origin: Path, target: Path) -> None:
    """Make `target` hold exactly the files of `origin` (same relative paths)."""
    wanted = {p.relative_to(origin) for p in origin.rglob("*") if p.is_file()}
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            if path.is_file() and path.relative_to(target) not in wanted:
                path.unlink()
    for relative in sorted(wanted):
        source, copy = origin / relative, target / relative
        if copy.exists() and copy.read_bytes() == source.read_bytes():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
