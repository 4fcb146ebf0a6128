"""Answer replay: an audited answer produced again, to show it is reproducible or what moved.

On its snapshot, the chunk versions the answer read come from the catalog (every version's
chunks are kept), with their recorded scores, and go through today's generator, validation,
perimeter and citations; the answer service's `answer_again` says which inputs are the
recorded ones. `now` asks the same question, with the conversation as it stood, against
today's index. Nothing is stored either way.
"""

from __future__ import annotations

import json

from answer.records import AnswerRecords
from answer.service import HISTORY_TURNS, AnswerService
from core.errors import NotFound
from index.sync import chunk_payload
from schemas.answer import Answer, AuditRecord, ConversationTurn
from schemas.index import SearchHit
from schemas.replay import COMPARED, Difference, ReplayReport


def replay(service: AnswerService, answer_id: str, now: bool = False) -> ReplayReport:
    """The audited answer `answer_id` and its replay, compared field by field."""
    catalog = service.catalog
    record = catalog.answers.audit(answer_id)
    if record is None:
        raise NotFound(f"no answer {answer_id!r}")
    missing: list[str] = []
    if now:
        replayed = service.answer_now(record, history_before(catalog, record))
    else:
        hits, missing = recorded_hits(catalog, record)
        replayed = service.answer_again(record, hits)
    differences = compare(record.answer, replayed)
    return ReplayReport(
        answer_id=answer_id,
        mode="now" if now else "snapshot",
        identical=not differences and not missing,
        differences=differences,
        missing_chunks=missing,
        recorded=record.answer,
        replayed=replayed,
    )


def recorded_hits(catalog: AnswerRecords, record: AuditRecord) -> tuple[list[SearchHit], list[str]]:
    """The hits the answer read, rebuilt from the catalog in their recorded order and scores;
    and the chunk versions the catalog no longer holds (`doc_id@version/chunk_id`)."""
    hits: list[SearchHit] = []
    missing: list[str] = []
    by_version: dict[tuple[str, int], dict[str, SearchHit]] = {}
    for read in record.retrieved:
        key = (read.doc_id, read.version)
        if key not in by_version:
            by_version[key] = _version_hits(catalog, *key, record.answer.embedding_model)
        hit = by_version[key].get(read.chunk_id)
        if hit is None:
            missing.append(f"{read.doc_id}@{read.version}/{read.chunk_id}")
            continue
        hits.append(hit.model_copy(update={"score": read.score}))
    return hits, missing


def _version_hits(
    catalog: AnswerRecords, doc_id: str, version: int, model: str
) -> dict[str, SearchHit]:
    document, stored = catalog.document(doc_id), catalog.version(doc_id, version)
    if document is None or stored is None:
        return {}
    return {
        chunk.chunk_id: SearchHit(
            score=0.0,
            payload=chunk_payload(chunk, stored.sha256, document.source, document.rel_path, model),
        )
        for chunk in catalog.chunks(doc_id, version)
    }


def history_before(catalog: AnswerRecords, record: AuditRecord) -> list[ConversationTurn]:
    """The conversation's turns before the audited question was asked."""
    turns = catalog.conversations.turns(record.answer.conversation_id)
    at = next((n for n, t in enumerate(turns) if t.answer_id == record.answer.answer_id), None)
    if at is None:
        return []
    return turns[: max(0, at - 1)][-HISTORY_TURNS:]  # at - 1: the question itself


def compare(recorded: Answer, replayed: Answer) -> list[Difference]:
    """The compared fields whose JSON differs."""
    old = recorded.model_dump(mode="json", include=set(COMPARED))
    new = replayed.model_dump(mode="json", include=set(COMPARED))
    return [
        Difference(field=name, recorded=old[name], replayed=new[name])
        for name in COMPARED
        if json.dumps(old[name], sort_keys=True) != json.dumps(new[name], sort_keys=True)
    ]
