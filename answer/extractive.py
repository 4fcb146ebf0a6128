"""The default generator: one coherent excerpt of the best passage, verbatim, cited.

Deterministic and model-free beyond the embedding model already loaded. Each candidate
sentence of the top passages (adjacent chunks of a section read as one) is scored by dense
similarity to the question, the share of the question's words it holds, and its chunk's
rank. The passage whose section title and text best match the question is excerpted
(`answer.excerpt`); other passages that also answer are cited as "See also", never stitched
in. Every word is the passage's own, so it is supported by construction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from answer.excerpt import ASIDE, SpanRules, excerpt, span
from answer.passages import Passage, passages_of
from answer.sentences import SEE_ALSO, coverage, looks_like_code, words
from core.ports import Embedder, SparseEncoder
from index.text import plain_text
from schemas.answer import Draft
from schemas.index import SearchHit

VERSION = "2.0.0"


@dataclass(frozen=True)
class Candidate:
    """One sentence of one passage, with its scores."""

    passage: int  # 1-based position of its passage (best-ranked first)
    unit: int  # its position among the passage's units
    rank: int  # the retrieval rank of its chunk
    text: str
    lexical: float
    dense: float = 0.0

    def score(self) -> float:
        """Dense meaning first, then question words held, then the chunk's rank."""
        return 0.5 * self.dense + 0.35 * self.lexical + 0.15 / self.rank


@dataclass
class ExtractiveGenerator:
    """`Generator`: an excerpt of the best passage, other good passages as "See also"."""

    sparse: SparseEncoder
    passages: int = 5
    max_sentences: int = 3  # the best sentence and its strongest close neighbours
    rules: SpanRules = field(default_factory=SpanRules)
    dense_candidates: int = 8  # 16: generation 51 ms p50, 8: 29 ms (emanual dev, int8)
    per_passage: int = 1  # and at least this many of each passage
    keep_ratio: float = 0.8  # a neighbour or another passage must score this share of the best
    reach: int = 3  # how far (in sentences) a neighbour may sit from the best sentence
    see_also: int = 2
    name: str = f"extractive/{VERSION}"

    def generate(
        self,
        query: str,
        hits: list[SearchHit],
        embedder: Embedder,
        avoid: Collection[str] = (),
    ) -> Draft:
        """A draft citing `hits` by 1-based marker; declined when no sentence is usable. A
        passage in `avoid` (quoted by the previous answer) is quoted only if nothing else is
        usable: an agent asking again wants something new."""
        passages = passages_of(hits[: self.passages])
        candidates = self._candidates(query, passages)
        if not candidates:
            return Draft(status="declined")
        scorer = _DenseScorer(embedder, query)
        ranked = scorer.rank(self._to_embed(candidates))
        chosen = self._passage(query, passages, ranked, scorer, avoid)
        best = scorer.rank([c for c in candidates if c.passage == chosen][:3])[0]
        passage = passages[chosen - 1].units
        low, high = span(passage, best.unit, self._neighbours(best, ranked), self.rules)
        text = excerpt(passage[low : high + 1])
        others = self._others(ranked, best, passages)
        if others:
            text += f"\n\n{SEE_ALSO} " + "; ".join(
                f"[{p.rank}] {_label(p)}" for p in sorted(others, key=lambda p: p.rank)
            )
        return Draft(
            status="answered",
            text=text,
            support=[best.score()],
            signals={
                "sentence_dense": max(c.dense for c in ranked),
                "sentence_lexical": max(c.lexical for c in ranked),
                "best_sentence": ranked[0].score(),
            },
        )

    def repair(
        self, query: str, hits: list[SearchHit], previous: Draft, problems: list[str]
    ) -> Draft:
        """Deterministic: the same passages give the same draft, so there is nothing to repair."""
        return previous

    def _candidates(self, query: str, passages: list[Passage]) -> list[Candidate]:
        """Every usable sentence of the passages, likeliest first by words and rank alone."""
        asked = words(self.sparse, query)
        candidates = [
            Candidate(number, position, unit.marker, unit.text, coverage(asked, found))
            for number, passage in enumerate(passages, start=1)
            for position, unit in enumerate(passage.units)
            if unit.kind == "sentence"
            and not ASIDE.match(unit.text)
            and len(unit.text.split()) >= 3
            and not looks_like_code(unit.text)
            and (found := words(self.sparse, unit.text))
        ]
        return sorted(candidates, key=lambda c: (-c.score(), c.passage, c.unit))

    def _to_embed(self, candidates: list[Candidate]) -> list[Candidate]:
        """The likeliest sentences overall, and each passage's likeliest few, so that every
        passage is judged by its best sentences too."""
        chosen = candidates[: self.dense_candidates]
        for number in sorted({c.passage for c in candidates}):
            missing = self.per_passage - sum(c.passage == number for c in chosen)
            chosen.extend(
                [c for c in candidates if c.passage == number and c not in chosen][
                    : max(0, missing)
                ]
            )
        return chosen

    def _passage(
        self,
        query: str,
        passages: list[Passage],
        ranked: list[Candidate],
        scorer: _DenseScorer,
        avoid: Collection[str],
    ) -> int:
        """The passage the excerpt comes from (1-based): the one whose section title and text
        best match the question, with its best sentence and its retrieval rank."""
        asked = words(self.sparse, query)
        headings = [plain_text(" > ".join(p.heading_path)) for p in passages]
        titled = scorer.similarities(headings)

        def score(number: int) -> float:
            passage = passages[number - 1]
            sentences = [c.dense for c in ranked if c.passage == number]
            return (
                0.1 / passage.rank
                + titled[number - 1]
                + 0.5 * max(sentences, default=0.0)
                + 0.5 * coverage(asked, words(self.sparse, passage.text))
                + 0.5 * coverage(asked, words(self.sparse, headings[number - 1]))
            )

        usable = sorted({c.passage for c in ranked})
        fresh = [n for n in usable if not passages[n - 1].chunk_ids & set(avoid)]
        return max(fresh or usable, key=lambda n: (score(n), -n))

    def _neighbours(self, best: Candidate, ranked: list[Candidate]) -> list[int]:
        """Strong sentences close to the best one in its passage (closest first)."""
        floor = best.score() * self.keep_ratio
        near = sorted(
            (
                c
                for c in ranked
                if c.passage == best.passage
                and c.unit != best.unit
                and c.score() >= floor
                and abs(c.unit - best.unit) <= self.reach
            ),
            key=lambda c: (abs(c.unit - best.unit), c.unit),
        )
        return [c.unit for c in near][: self.max_sentences - 1]

    def _others(
        self, ranked: list[Candidate], best: Candidate, passages: list[Passage]
    ) -> list[Passage]:
        """Other passages that also answer well: cited as "See also" (other pages first)."""
        floor = best.score() * self.keep_ratio
        shown = {passages[best.passage - 1].hits[0].payload.doc_id}
        chosen: list[Passage] = []
        for candidate in ranked:
            passage = passages[candidate.passage - 1]
            doc = passage.hits[0].payload.doc_id
            if candidate.score() < floor or doc in shown:
                continue
            shown.add(doc)
            chosen.append(passage)
            if len(chosen) == self.see_also:
                break
        return chosen


def _label(passage: Passage) -> str:
    heading = passage.heading_path
    return heading[-1] if heading else passage.hits[0].payload.path


class _DenseScorer:
    """Dense similarity to the question, each text embedded once."""

    def __init__(self, embedder: Embedder, query: str) -> None:
        self.embedder = embedder
        self.query = embedder.embed([query])[0]
        self.known: dict[str, float] = {}

    def similarities(self, texts: list[str]) -> list[float]:
        missing = sorted({t for t in texts if t and t not in self.known})
        for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
            self.known[text] = _dot(self.query, vector)
        return [self.known.get(t, 0.0) for t in texts]

    def rank(self, candidates: list[Candidate]) -> list[Candidate]:
        """`candidates` with their dense similarity, best first."""
        dense = self.similarities([c.text for c in candidates])
        scored = [
            Candidate(**{**c.__dict__, "dense": d}) for c, d in zip(candidates, dense, strict=True)
        ]
        return sorted(scored, key=lambda c: (-c.score(), c.passage, c.unit))


def _dot(u: list[float], v: list[float]) -> float:
    return sum(a * b for a, b in zip(u, v, strict=True))
