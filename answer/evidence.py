"""Gathering the evidence for one question: which query is searched, what it finds, how
strongly the passages back an answer, and the extractive draft that is also the default answer.

An unsure turn is searched both ways (alone, and with the previous turn's query) and the
stronger reading kept; a follow-up is searched both ways and the hits merged; the names the
question mentions are looked up in the documents; a question never gets an excerpt of the
section the previous answer quoted when another passage answers about as well and holds
more of what the question adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from answer.condense import Condensed, TurnKind, strip_switch_cue
from answer.names import is_mentioned, named_things
from answer.perimeter import Perimeter
from answer.sentences import coverage, markers_of, quoted_markers, words
from answer.vocabulary import content_words
from core.ports import Generator, SparseEncoder
from core.telemetry import stage
from retrieve.hybrid import Retrieval, Retriever, merged
from schemas.answer import AuditRecord, ChatRequest, Draft, ExcerptInput, QueryTried
from schemas.index import SearchHit


@dataclass(frozen=True)
class Reading:
    """What one query found: its retrieval, the extractive draft, the evidence signals, and
    what the draft was drawn with (the text its sentences were weighed against, the passages
    it was asked to avoid), so that a replay can draw it again."""

    query: str
    retrieval: Retrieval
    draft: Draft | None
    signals: dict[str, float]
    confidence: float
    excerpt: ExcerptInput | None = None
    searched: list[str] = field(default_factory=list)  # the queries whose hits it read


@dataclass
class Evidence:
    """The reading kept for a question, and how it was chosen (for the audit record)."""

    reading: Reading
    history_turns: int  # earlier turns that went into the query searched
    tried: list[QueryTried] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # names no document mentions
    retrievals: int = 1


@dataclass(frozen=True)
class EvidenceFinder:
    """Searches, weighs and drafts; the answer service decides what to do with it."""

    retriever: Retriever
    extractive: Generator
    sparse: SparseEncoder
    perimeter: Perimeter
    k: int = 8
    unsure_margin: float = 0.05  # confidence the follow-up reading may lose and still win
    fresh_ratio: float = 0.6  # a new passage must score this share of a repeated one

    def find(
        self, request: ChatRequest, condensed: Condensed, previous: AuditRecord | None
    ) -> Evidence:
        """The evidence for `request`, its query decided as `condensed` says."""
        queries = [condensed.query]
        if condensed.kind is TurnKind.UNSURE and condensed.alternative:
            queries.append(condensed.alternative)
        readings = [self._read(request, condensed, query, previous) for query in queries]
        best = self._stronger(request, readings) if len(readings) > 1 else readings[0]
        evidence = Evidence(
            best,
            history_turns=condensed.history_turns if best is readings[0] else 1,
            retrievals=sum(len(r.searched) for r in readings),
        )
        if len(readings) > 1:
            evidence.tried = [
                QueryTried(query=r.query, confidence=r.confidence, chosen=r is best)
                for r in readings
            ]
            if best is readings[1]:  # the follow-up reading: its excerpt with its words too
                evidence.reading = self._excerpt_with_context(request, best, previous)
        evidence.unknown = self._unknown_names(request)
        evidence.reading.signals["unknown_name"] = 1.0 if evidence.unknown else 0.0
        return evidence

    def _read(
        self, request: ChatRequest, condensed: Condensed, query: str, previous: AuditRecord | None
    ) -> Reading:
        """One query's retrieval and the extractive generator's draft from it."""
        searched = [query]
        if condensed.kind is TurnKind.FOLLOW_UP and condensed.alternative not in (None, query):
            searched.append(condensed.alternative)
        retrieval, agreement = self._search(request, searched)
        if not retrieval.hits:
            return Reading(query, retrieval, None, {}, 0.0, searched=searched)
        # sentences are weighed against the question itself, so an unsure turn's two readings
        # compare fairly; a plain follow-up ("and for Android?") says too little alone
        asked = strip_switch_cue(request.question)[0]
        if condensed.kind is TurnKind.FOLLOW_UP:
            asked = query
        draft, excerpt = self._fresh(request, asked, retrieval, previous)
        signals = {**draft.signals, "agreement": agreement}
        confidence = self.perimeter.confidence(signals)
        return Reading(query, retrieval, draft, signals, confidence, excerpt, searched)

    def _search(self, request: ChatRequest, queries: list[str]) -> tuple[Retrieval, float]:
        """The hits for `queries` (two: merged) and whether dense and BM25 search agree on
        the top hit of either."""
        filters = request.filters
        found: list[Retrieval] = []
        agreement = 0.0
        with stage("retrieve"):
            for query in queries:
                retrieval = self.retriever.search(
                    query, k=self.k, source=filters.searched(), doc_id=filters.doc_id
                )
                if retrieval.hits:
                    agreement = max(agreement, self._agreement(query, retrieval))
                found.append(retrieval)
        if len(found) == 1:
            return found[0], agreement
        return merged(found[0], found[1], self.k), agreement

    def _stronger(self, request: ChatRequest, readings: list[Reading]) -> Reading:
        """Of the question searched alone and with the previous turn: the one with the
        previous turn, when its evidence is about as strong and its best passage fits the
        conversation better; else the question alone (a new topic never inherits the old)."""
        alone, joined = readings
        context = content_words(joined.query) - content_words(request.question)
        if joined.confidence < alone.confidence - self.unsure_margin:
            return alone
        return joined if _fit(joined, context) > _fit(alone, context) else alone

    def _excerpt_with_context(
        self, request: ChatRequest, reading: Reading, previous: AuditRecord | None
    ) -> Reading:
        """A follow-up's excerpt is chosen with the conversation's words too ("Same thing for
        a class-based view?" is about logging in); its evidence signals stay the question's."""
        assert reading.draft is not None
        draft, excerpt = self._fresh(request, reading.query, reading.retrieval, previous)
        if draft.status != "answered":
            return reading
        kept = draft.model_copy(update={"signals": reading.draft.signals})
        return Reading(
            reading.query, reading.retrieval, kept, reading.signals, reading.confidence, excerpt
        )

    def _fresh(
        self,
        request: ChatRequest,
        text: str,
        retrieval: Retrieval,
        previous: AuditRecord | None,
    ) -> tuple[Draft, ExcerptInput]:
        """The extractive draft and what it was drawn with; if it would quote a section the
        previous answer quoted and another passage answers nearly as well, that passage's
        (asking again, an agent wants something new)."""
        hits = retrieval.hits
        embedder = retrieval.embedder
        plain = ExcerptInput(question=text)
        with stage("generate", generator=self.extractive.name):
            draft = self.extractive.generate(text, hits, embedder)
            if previous is None:
                return draft, plain
            avoided = _quoted(previous, hits)
            if not avoided & _excerpted(draft, hits):
                return draft, plain
            again = self.extractive.generate(text, hits, embedder, avoided)
        if again.status != "answered" or not again.support or not draft.support:
            return draft, plain
        if again.support[0] < self.fresh_ratio * draft.support[0]:
            return draft, plain
        # repeating can be the right answer: move on only to a passage that holds more of
        # what this question adds to the conversation
        added = words(self.sparse, request.question) - words(self.sparse, previous.question)
        gain = coverage(added, self._quoted_words(again, hits))
        if gain > coverage(added, self._quoted_words(draft, hits)):
            return again, ExcerptInput(question=text, avoided=sorted(avoided))
        return draft, plain

    def _quoted_words(self, draft: Draft, hits: list[SearchHit]) -> set[int]:
        """The words of the passage a draft quotes (its first marker's)."""
        markers = markers_of(draft.text)
        if not markers or not 1 <= markers[0] <= len(hits):
            return set()
        return words(self.sparse, hits[markers[0] - 1].payload.text)

    def _unknown_names(self, request: ChatRequest) -> list[str]:
        """The settings and proper nouns the question names that no searched document
        mentions (BM25 finds the passages holding a name's words; the name must be in one)."""
        filters = request.filters
        unknown = []
        for name in named_things(strip_switch_cue(request.question)[0]):
            if not self.sparse.encode_query(name).indices:
                continue  # a stopword ("Not Modified"): nothing to look for
            found = self.retriever.search(
                name.rstrip("*"),
                k=10,
                mode="sparse",
                source=filters.searched(),
                doc_id=filters.doc_id,
            )
            texts = [f"{' '.join(h.payload.heading_path)} {h.payload.text}" for h in found.hits]
            if not is_mentioned(name, texts):
                unknown.append(name)
        return unknown

    def _agreement(self, query: str, retrieval: Retrieval) -> float:
        """1.0 when BM25 alone also ranks the top passage among its first three."""
        top = retrieval.hits[0].payload.chunk_id
        lexical = self.retriever.search(query, k=3, mode="sparse")
        return 1.0 if top in {h.payload.chunk_id for h in lexical.hits} else 0.0


def _quoted(record: AuditRecord, hits: list[SearchHit]) -> frozenset[str]:
    """The chunks of `hits` in the sections an answer quoted (its see-also passages aside):
    a section's next chunk repeats its topic as much as the chunk quoted."""
    sections = {
        (c.doc_id, tuple(c.heading_path)) for c in record.answer.citations if not c.see_also
    }
    return frozenset(
        h.payload.chunk_id
        for h in hits
        if (h.payload.doc_id, tuple(h.payload.heading_path)) in sections
    )


def _excerpted(draft: Draft, hits: list[SearchHit]) -> set[str]:
    """The chunks a draft quotes (its "See also" line aside)."""
    markers = quoted_markers(draft.text)
    return {hits[m - 1].payload.chunk_id for m in markers if 1 <= m <= len(hits)}


def _fit(reading: Reading, context: set[str]) -> float:
    """Share of the conversation's words (not the question's) in the best passage."""
    hits = reading.retrieval.hits
    if not context or not hits:
        return 0.0
    return len(context & content_words(hits[0].payload.text)) / len(context)
