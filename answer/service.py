"""Answering one question: condense → retrieve → generate → validate → perimeter → confirm
the snapshot → audit.

Every path ends in an `Answer` (answered, declined or escalated) and an audit record; a
draft the trust layer cannot accept is persisted as a failure, never dropped.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from answer.citations import Cited, cite
from answer.condense import Condensed, TurnKind, condense, strip_switch_cue
from answer.evidence import EvidenceFinder
from answer.guard import instruction_warnings
from answer.perimeter import Perimeter
from answer.prompts import Prompt
from answer.records import AnswerRecords
from answer.resolutions import ResolutionBook
from answer.validation import check_draft
from core.alerts import raise_alert
from core.backoff import Backoff
from core.errors import GeneratorUnavailable, NotFound
from core.ports import Condenser, Generator, SparseEncoder
from core.telemetry import (
    ANSWER_FAILURES,
    ANSWERS,
    REPAIRS,
    SNAPSHOT_RETRIEVALS,
    VALIDATION_FAILURES,
    current_trace_id,
    stage,
)
from retrieve.hybrid import Retrieval, Retriever
from schemas.answer import (
    DECLINE_MESSAGES,
    Answer,
    AnswerFailure,
    AnswerStatus,
    Attempt,
    AuditRecord,
    ChatRequest,
    Citation,
    ConversationTurn,
    DeclineReason,
    Draft,
    ExcerptInput,
    QueryTried,
    RetrievedChunk,
    SnapshotCheck,
)
from schemas.index import SearchHit

log = logging.getLogger(__name__)

#: Turns read per question: the recent ones verbatim, the rest summarised (`bounded_history`).
HISTORY_TURNS = 40


@dataclass(frozen=True)
class AnswerPolicy:
    """How much to read and how cautious to be."""

    k: int = 8
    perimeter: Perimeter = field(default_factory=Perimeter)
    snapshot_retries: int = 2
    snapshot_wait_s: float = 0.2  # before a re-retrieval (doubling): the index catching up
    max_repairs: int = 2
    on_invalid: Literal["decline", "extractive"] = "decline"  # fail-closed by default
    unsure_margin: float = 0.05  # confidence the follow-up reading may lose and still win
    fresh_ratio: float = 0.6  # a new passage must score this share of a repeated one


@dataclass
class _Work:
    """What one request has gathered so far (becomes the audit record)."""

    request: ChatRequest
    answer_id: str
    conversation_id: str
    trace_id: str
    started: float
    condensed: Condensed
    query: str = ""  # the query searched (unsure: the one whose evidence was stronger)
    history_turns: int = 0  # earlier turns that went into `query`
    tried: list[QueryTried] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # names no document mentions
    previous: AuditRecord | None = None  # the conversation's previous answer
    owner: str | None = None  # the key asking (a new conversation becomes its own)
    retrieval: Retrieval | None = None
    attempts: list[Attempt] = field(default_factory=list)
    checks: list[SnapshotCheck] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    retrievals: int = 0
    generator: str | None = None
    prompt: Prompt | None = None
    excerpt: ExcerptInput | None = None  # what the extractive draft was drawn with
    perimeter: Perimeter = field(default_factory=Perimeter)
    resolution_id: str | None = None  # answered from a resolution
    pinned: list[RetrievedChunk] = field(default_factory=list)  # the resolution's chunks
    keep: bool = True  # False (a replay): no failure record, no alert
    confirm: bool = True  # False (a replay of a snapshot): cited versions are not re-checked


@dataclass
class AnswerService:
    """Answers questions from the index, within the perimeter, and audits every answer."""

    catalog: AnswerRecords
    retriever: Retriever
    extractive: Generator
    sparse: SparseEncoder
    policy: AnswerPolicy = field(default_factory=AnswerPolicy)
    llm: Generator | None = None
    prompts: dict[str, Prompt] = field(default_factory=dict)
    condenser: Condenser | None = None
    monitor: Callable[[AuditRecord], None] | None = None  # drift, fed every audit record
    resolutions: ResolutionBook | None = None  # approved answers, served first

    def close(self) -> None:
        """Release the generators' connections (the LLM's pool); the catalog and the index
        belong to whoever opened them."""
        parts = {id(p): p for p in (self.llm, self.condenser) if p is not None}
        for part in parts.values():
            close = getattr(part, "close", None)
            if close is not None:
                close()

    def ask(
        self, request: ChatRequest, trace_id: str | None = None, owner: str | None = None
    ) -> Answer:
        """The answer to `request`, stored with its audit record and in its conversation.

        `owner` (an API key's id) starts a conversation as its own; a conversation another key
        started is not found for it.
        """
        started = time.perf_counter()  # the latency includes condensing (an LLM call, maybe)
        conversations = self.catalog.conversations
        if request.conversation_id and not conversations.open_to(request.conversation_id, owner):
            raise NotFound(f"no conversation {request.conversation_id!r}; omit it to start one")
        conversation_id = request.conversation_id or uuid.uuid4().hex
        with stage("answer"):
            history = conversations.turns(conversation_id, last=HISTORY_TURNS)
            work = self._work(request, conversation_id, history, trace_id, started)
            work.owner = owner
            answer = self._resolved(work) or self._answer(work)
            self._keep(work, answer)
        ANSWERS.labels(answer.status.value, answer.decline_reason or "").inc()
        return answer

    def answer_now(self, record: AuditRecord, history: list[ConversationTurn]) -> Answer:
        """The audited question answered again against today's index, with the conversation
        as it stood (`history`): nothing stored, no failure recorded, no alert."""
        request = ChatRequest(question=record.question, filters=record.filters)
        work = self._work(
            request, record.answer.conversation_id, history, None, time.perf_counter()
        )
        work.keep = False
        return self._resolved(work) or self._answer(work)

    def answer_again(self, record: AuditRecord, hits: list[SearchHit]) -> Answer:
        """The audited answer produced again from its recorded snapshot: `hits` are the chunk
        versions it read (from the catalog, with their recorded scores). The signals that came
        from searching (BM25 agreement, unknown names) and the perimeter's thresholds are the
        recorded ones; the draft, its validation, the verdict and the citations are redone."""
        answer = record.answer
        condensed = Condensed(answer.query, record.history_turns, underspecified=False)
        work = _Work(
            request=ChatRequest(question=record.question, filters=record.filters),
            answer_id=answer.answer_id,
            conversation_id=answer.conversation_id,
            trace_id=answer.trace_id,
            started=time.perf_counter(),
            condensed=condensed,
            query=answer.query,
            history_turns=record.history_turns,
            unknown=list(record.unknown_names),
            signals=dict(record.signals),
            keep=False,
            confirm=False,
            perimeter=_recorded_perimeter(record, self.policy.perimeter),
        )
        if answer.decline_reason is DeclineReason.UNDERSPECIFIED:
            return self._decline(work, DeclineReason.UNDERSPECIFIED)
        work.retrieval = Retrieval(
            query=answer.query,
            mode="hybrid",
            generation=answer.index_generation,
            hits=hits,
            embedding_model=answer.embedding_model,
            collection="",
            embedder=self.retriever.embedder(answer.embedding_model),
        )
        work.retrievals = answer.retrievals
        if record.resolution_id is not None:
            return self._resolution_again(work, record.resolution_id)
        draft = None
        if hits:  # with hits, a draft was always drawn (older records: with the question)
            embedder = work.retrieval.embedder
            excerpt = record.excerpt or _excerpt_of_older(record)
            draft = self.extractive.generate(excerpt.question, hits, embedder, excerpt.avoided)
            work.excerpt = excerpt
            self._attempt(work, self.extractive, None, draft)
        return self._conclude(work, draft) or self._decline(work, DeclineReason.INDEX_CHANGING)

    def _work(
        self,
        request: ChatRequest,
        conversation_id: str,
        history: list[ConversationTurn],
        trace_id: str | None,
        started: float,
    ) -> _Work:
        """A request's work, its question condensed with the conversation so far."""
        previous = self._previous(history)
        with stage("condense"):
            condensed = condense(
                request.question,
                history,
                previous_query=previous.answer.query if previous else None,
            )
            if self.condenser is not None and history:
                condensed = self._condense_with_model(request.question, history, condensed)
        return _Work(
            request=request,
            answer_id=uuid.uuid4().hex,
            conversation_id=conversation_id,
            trace_id=trace_id or current_trace_id() or uuid.uuid4().hex,
            started=started,
            condensed=condensed,
            query=condensed.query,
            history_turns=condensed.history_turns,
            previous=previous,
            perimeter=self.policy.perimeter,
        )

    def _condense_with_model(
        self, question: str, history: list[ConversationTurn], fallback: Condensed
    ) -> Condensed:
        """The model's standalone query; the deterministic one when the model fails."""
        assert self.condenser is not None
        try:
            query = self.condenser.condense(question, history)
        except GeneratorUnavailable as exc:
            log.warning("condensing with the model failed, kept the recent turns: %s", exc)
            return fallback
        return Condensed(
            query,
            fallback.history_turns,
            False,
            by="model",
            kind=TurnKind.FOLLOW_UP,
            reason="written by the model (the condense prompt)",
        )

    def _previous(self, history: list[ConversationTurn]) -> AuditRecord | None:
        """The audit record of the conversation's previous answer, if there is one."""
        answer_id = next((t.answer_id for t in reversed(history) if t.answer_id), None)
        return self.catalog.answers.audit(answer_id) if answer_id else None

    def _resolved(self, work: _Work) -> Answer | None:
        """The answer of the resolution the question asks for (its versions confirmed
        current), or None: answered from the index as usual."""
        if self.resolutions is None or work.condensed.underspecified:
            return None
        with stage("resolution"):
            embedder, model = self.retriever.active_model()
            found = self.resolutions.match(work.query, work.request.filters, embedder)
        if found is None:
            return None
        resolution = found.resolution
        work.generator, work.retrievals = "resolution", 0
        work.resolution_id = resolution.resolution_id
        work.signals = {"resolution_similarity": found.similarity}
        work.pinned = [
            RetrievedChunk(
                chunk_id=c.chunk_id, doc_id=c.doc_id, version=c.version, score=found.similarity
            )
            for c in resolution.citations
        ]
        answer = self._answer_of(
            work, AnswerStatus.ANSWERED, resolution.text, found.similarity, resolution.citations
        )
        return answer.model_copy(update={"embedding_model": model})

    def _resolution_again(self, work: _Work, resolution_id: str) -> Answer:
        """A resolution's answer replayed: the resolution as it stands now (gone: a decline)."""
        try:
            resolution = self.catalog.resolutions.get(resolution_id)
        except NotFound:
            return self._decline(work, DeclineReason.NO_EVIDENCE)
        work.generator, work.resolution_id = "resolution", resolution_id
        similarity = work.signals.get("resolution_similarity", 0.0)
        return self._answer_of(
            work, AnswerStatus.ANSWERED, resolution.text, similarity, resolution.citations
        )

    def _answer(self, work: _Work) -> Answer:
        if work.condensed.underspecified:
            return self._decline(work, DeclineReason.UNDERSPECIFIED)
        for attempt in range(1 + self.policy.snapshot_retries):
            answer = self._attempt_once(work)
            if answer is not None:
                return answer
            SNAPSHOT_RETRIEVALS.inc()
            if attempt < self.policy.snapshot_retries:  # the index may lag the catalog a moment
                time.sleep(Backoff(self.policy.snapshot_wait_s).delay(attempt))
        return self._decline(work, DeclineReason.INDEX_CHANGING)

    def _attempt_once(self, work: _Work) -> Answer | None:
        """Retrieve, weigh, generate, confirm; None when a cited version moved meanwhile."""
        return self._conclude(work, self._evidence(work))

    def _conclude(self, work: _Work, evidence: Draft | None) -> Answer | None:
        """From the evidence on: the perimeter's verdict, the draft to return (validated),
        its citations, the snapshot confirmed; None when a cited version moved meanwhile."""
        if evidence is None or evidence.status == "declined":
            reason = DeclineReason.NO_EVIDENCE if evidence is None else DeclineReason.WEAK_EVIDENCE
            return self._decline(work, reason)
        confidence = work.perimeter.confidence(work.signals)
        status = work.perimeter.verdict(confidence)
        if status is AnswerStatus.DECLINED:
            reason = DeclineReason.UNKNOWN_NAME if work.unknown else DeclineReason.WEAK_EVIDENCE
            return self._decline(work, reason, confidence)
        draft = self._generate(work, evidence)
        if draft is None:
            return self._decline(work, DeclineReason.INVALID_OUTPUT, confidence)
        if draft.status == "declined":  # the generator found no answer in the passages
            return self._decline(work, DeclineReason.WEAK_EVIDENCE, confidence)
        assert work.retrieval is not None
        cited = cite(draft.text, work.retrieval.hits)
        if work.confirm and not self._snapshot_holds(work, cited):
            return None
        warnings = instruction_warnings(cited.citations)
        if warnings:  # a planted passage: a person reads it before a customer does
            status = AnswerStatus.ESCALATED
        answer = self._answer_of(work, status, cited.text, confidence, citations=cited.citations)
        return answer.model_copy(update={"warnings": warnings}) if warnings else answer

    def _evidence(self, work: _Work) -> Draft | None:
        """Search and weigh (`EvidenceFinder`): the extractive draft is also the default answer
        and the fallback; None when nothing was retrieved."""
        found = self.finder.find(work.request, work.condensed, work.previous)
        reading = found.reading
        work.query, work.retrieval, work.signals = reading.query, reading.retrieval, reading.signals
        work.excerpt = reading.excerpt
        work.history_turns, work.tried, work.unknown = (
            found.history_turns,
            found.tried,
            found.unknown,
        )
        work.retrievals += found.retrievals
        if reading.draft is not None:
            self._attempt(work, self.extractive, None, reading.draft)
        return reading.draft

    @property
    def finder(self) -> EvidenceFinder:
        """How this service searches and weighs, from its parts and policy."""
        policy = self.policy
        return EvidenceFinder(
            self.retriever,
            self.extractive,
            self.sparse,
            policy.perimeter,
            k=policy.k,
            unsure_margin=policy.unsure_margin,
            fresh_ratio=policy.fresh_ratio,
        )

    def _generate(self, work: _Work, evidence: Draft) -> Draft | None:
        """The draft to return: the LLM's, validated and repaired, else by the posture; or the
        extractive one. None: refused (a failure record says why)."""
        if self.llm is None:
            if work.attempts[-1].problems:  # not by construction: a bug, recorded, never shown
                return self._fall_back(work, evidence)
            return self._use(work, self.extractive, evidence)
        assert work.retrieval is not None
        hits, query = work.retrieval.hits, work.query
        try:
            with stage("generate", generator=self.llm.name):
                draft = self.llm.generate(query, hits, work.retrieval.embedder)
            for repairs in range(self.policy.max_repairs + 1):
                prompt = self.prompt_of("answer" if repairs == 0 else "repair")
                problems = self._attempt(work, self.llm, prompt, draft)
                if not problems:
                    return self._use(work, self.llm, draft)
                if repairs == self.policy.max_repairs:
                    break
                REPAIRS.inc()
                with stage("generate", generator=self.llm.name, repair=repairs + 1):
                    draft = self.llm.repair(query, hits, draft, problems)
        except GeneratorUnavailable as exc:
            work.attempts.append(Attempt(generator=self.llm.name, problems=[f"unavailable: {exc}"]))
        return self._fall_back(work, evidence)

    def _attempt(
        self, work: _Work, generator: Generator, prompt: Prompt | None, draft: Draft
    ) -> list[str]:
        assert work.retrieval is not None
        with stage("validate", generator=generator.name):
            problems = [str(p) for p in check_draft(draft, work.retrieval.hits, self.sparse)]
        if problems:
            VALIDATION_FAILURES.labels(generator.name).inc()
        work.attempts.append(
            Attempt(
                generator=generator.name,
                prompt_id=prompt.id if prompt else None,
                raw=draft.raw,
                problems=problems,
            )
        )
        return problems

    def _use(self, work: _Work, generator: Generator, draft: Draft) -> Draft:
        work.generator = generator.name
        work.prompt = self.prompt_of("answer") if generator is self.llm else None
        return draft

    def prompt_of(self, prompt_id: str) -> Prompt | None:
        """The prompt the LLM generator uses for `prompt_id` (None without an LLM)."""
        return self.prompts.get(prompt_id)

    def _fall_back(self, work: _Work, evidence: Draft) -> Draft | None:
        """Still invalid after the repairs, or unreachable: record it; then the extractive
        answer or a decline, by the deployment's posture (fail-closed by default)."""
        assert work.retrieval is not None
        valid = not check_draft(evidence, work.retrieval.hits, self.sparse)
        extractive = self.policy.on_invalid == "extractive" and valid
        if work.keep:  # a replay records nothing: the differences are its report
            self._record_failure(work, "extractive" if extractive else "declined")
        return self._use(work, self.extractive, evidence) if extractive else None

    def _record_failure(self, work: _Work, outcome: str) -> None:
        """Persist the refused generation, count it, alert and log it."""
        failure = AnswerFailure(
            created_at=datetime.now(UTC),
            answer_id=work.answer_id,
            trace_id=work.trace_id,
            reason="; ".join(work.attempts[-1].problems),
            question=work.request.question,
            attempts=work.attempts,
            outcome=outcome,
        )
        self.catalog.answers.fail(failure)
        ANSWER_FAILURES.labels(failure.outcome).inc()
        raise_alert(
            "answer_failure",
            f"answer {work.answer_id}: generator output refused: {failure.reason}",
            answer_id=work.answer_id,
            outcome=failure.outcome,
        )
        log.warning(
            "answer %s: generator output refused after %d attempt(s) (trace %s): %s; %s",
            work.answer_id,
            len(work.attempts) - 1,
            work.trace_id,
            failure.reason,
            failure.outcome,
        )

    def _snapshot_holds(self, work: _Work, cited: Cited) -> bool:
        """True when every version the draft cites is still current (else it is redone)."""
        versions = cited.versions
        current = self.catalog.current_versions([doc for doc, _ in versions])
        stale = sorted((doc, version) for doc, version in versions if current.get(doc) != version)
        work.checks.append(
            SnapshotCheck(generation=self.catalog.generations.current(), stale=stale)
        )
        return not stale

    def _decline(self, work: _Work, reason: DeclineReason, confidence: float = 0.0) -> Answer:
        message = DECLINE_MESSAGES[reason]
        if reason is DeclineReason.UNKNOWN_NAME and work.unknown:
            names = " or ".join(", ".join(work.unknown).rsplit(", ", 1))
            message = f"I can't answer that from the knowledge base: it never mentions {names}."
        answer = self._answer_of(work, AnswerStatus.DECLINED, message, confidence)
        return answer.model_copy(update={"decline_reason": reason, "decline_message": message})

    def _answer_of(
        self,
        work: _Work,
        status: AnswerStatus,
        text: str,
        confidence: float,
        citations: list[Citation] | None = None,
    ) -> Answer:
        retrieval = work.retrieval
        return Answer(
            answer_id=work.answer_id,
            conversation_id=work.conversation_id,
            status=status,
            text=text,
            citations=citations or [],
            confidence=confidence,
            query=work.query,
            index_generation=(
                retrieval.generation if retrieval else self.catalog.generations.current()
            ),
            embedding_model=retrieval.embedding_model if retrieval else "",
            generator=work.generator or self.extractive.name,
            prompt_id=work.prompt.id if work.prompt else None,
            prompt_version=work.prompt.version if work.prompt else None,
            prompt_sha=work.prompt.sha if work.prompt else None,
            trace_id=work.trace_id,
            latency_ms=round((time.perf_counter() - work.started) * 1000, 2),
            retrievals=work.retrievals,
        )

    def _keep(self, work: _Work, answer: Answer) -> None:
        """Store the audit record and both turns of the conversation."""
        hits = work.retrieval.hits if work.retrieval else []
        retrieved = [
            RetrievedChunk(
                chunk_id=h.payload.chunk_id,
                doc_id=h.payload.doc_id,
                version=h.payload.version,
                score=h.score,
            )
            for h in hits
        ]
        record = AuditRecord(
            created_at=datetime.now(UTC),
            answer=answer,
            question=work.request.question,
            history_turns=work.history_turns,
            condensed_by=work.condensed.by,
            turn_kind=work.condensed.kind.value,
            query_reason=work.condensed.reason,
            queries_tried=work.tried,
            retrieved=retrieved or work.pinned,
            attempts=work.attempts,
            snapshot_checks=work.checks,
            signals=work.signals,
            excerpt=work.excerpt,
            unknown_names=work.unknown,
            thresholds={
                "decline_below": work.perimeter.decline_below,
                "escalate_below": work.perimeter.escalate_below,
            },
            filters=work.request.filters,
            resolution_id=work.resolution_id,
        )
        self.catalog.answers.record(record)
        if self.monitor is not None and work.resolution_id is None:
            self.monitor(record)  # a resolution's answer says nothing of retrieval's health
        conversations = self.catalog.conversations
        conversations.append(work.conversation_id, "user", work.request.question, owner=work.owner)
        conversations.append(work.conversation_id, "agent", answer.text, answer.answer_id)


def _recorded_perimeter(record: AuditRecord, current: Perimeter) -> Perimeter:
    """The thresholds the audited answer was judged by (today's, for older records)."""
    recorded = record.thresholds
    return Perimeter(
        recorded.get("decline_below", current.decline_below),
        recorded.get("escalate_below", current.escalate_below),
    )


def _excerpt_of_older(record: AuditRecord) -> ExcerptInput:
    """What an audit record from before `excerpt` was kept most likely drew with: the query
    for a follow-up, else the question without its topic-switch cue."""
    if record.turn_kind == TurnKind.FOLLOW_UP.value:
        return ExcerptInput(question=record.answer.query)
    return ExcerptInput(question=strip_switch_cue(record.question)[0])
