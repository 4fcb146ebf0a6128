"""The default generator: one coherent excerpt of the best passage, verbatim, cited.

Deterministic and model-free beyond the embedding model already loaded. Each candidate
sentence of the top passages is scored by dense similarity to the question, the share of
the question's words it holds, and its passage's rank. The answer is a contiguous span of
the best sentence's passage: the best sentence, its strong neighbours, the sentence a
leading pronoun or connective leans on, and the code block or list the span introduces
("run this command:" + the command). Other passages that also answer are cited as "See
also", never stitched in. Every word is the passage's own, so it is supported by
construction.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from answer.passages import Unit, units_of
from answer.sentences import SEE_ALSO, coverage, looks_like_code, words
from core.ports import Embedder, SparseEncoder
from index.text import plain_text
from schemas.answer import Draft
from schemas.index import SearchHit

VERSION = "2.0.0"

#: A sentence opening like this leans on the one before it.
#: Version notes and cross-references: true, but an answer never runs on into them.
_ASIDE = re.compile(r"^(?:New in version|Changed in version|Deprecated since version|See also:)")
_SHORT_CODE_LINES = 12
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|them|such|here|however|therefore|thus|"
    r"also|another|but|so|then|otherwise|instead|likewise|similarly|alternatively|"
    r"additionally|furthermore|moreover|finally|in this case|in that case|in addition|"
    r"for example|for instance|as a result|to do (?:this|so)|this way|second|third|or|and)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of one passage, with its scores."""

    passage: int  # 1-based marker of its passage
    unit: int  # its position among the passage's units
    text: str
    words: frozenset[int]
    lexical: float
    dense: float = 0.0

    def score(self) -> float:
        """Dense meaning first, then question words held, then the passage's rank."""
        return 0.5 * self.dense + 0.35 * self.lexical + 0.15 / self.passage


@dataclass
class ExtractiveGenerator:
    """`Generator`: an excerpt of the best passage, other good passages as "See also"."""

    sparse: SparseEncoder
    passages: int = 5
    max_sentences: int = 3  # the best sentence and its strongest close neighbours
    max_words: int = 140  # of prose in the excerpt (a code block or list it introduces aside)
    min_words: int = 80  # the excerpt reads on past its best sentences until this long
    dense_candidates: int = 8  # 16: generation 51 ms p50, 8: 29 ms (emanual dev, int8)
    per_passage: int = 1  # and at least this many of each passage
    from_start: bool = True  # open where the passage opens when the best sentence is near it
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
        top = hits[: self.passages]
        units = [units_of(hit.payload.text) for hit in top]
        candidates = self._candidates(query, units)
        if not candidates:
            return Draft(status="declined")
        scorer = _DenseScorer(embedder, query)
        ranked = scorer.rank(self._to_embed(candidates))
        chosen = self._passage(query, top, ranked, scorer, avoid)
        best = scorer.rank([c for c in candidates if c.passage == chosen][:3])[0]
        passage = units[best.passage - 1]
        low, high = self._span(best, [*ranked, best], passage)
        text = excerpt(passage[low : high + 1], best.passage)
        others = self._others(ranked, best, hits)
        if others:
            text += f"\n\n{SEE_ALSO} " + "; ".join(f"[{n}] {_label(hits[n - 1])}" for n in others)
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

    def _candidates(self, query: str, units: list[list[Unit]]) -> list[Candidate]:
        """Every usable sentence of the passages, likeliest first by words and rank alone."""
        asked = words(self.sparse, query)
        candidates = [
            Candidate(
                rank,
                position,
                unit.text,
                frozenset(found),
                coverage(asked, found),
            )
            for rank, passage in enumerate(units, start=1)
            for position, unit in enumerate(passage)
            if unit.kind == "sentence"
            and not _ASIDE.match(unit.text)
            and len(unit.text.split()) >= 3
            and not looks_like_code(unit.text)
            and (found := words(self.sparse, unit.text))
        ]
        return sorted(candidates, key=lambda c: (-c.score(), c.passage, c.unit))

    def _to_embed(self, candidates: list[Candidate]) -> list[Candidate]:
        """The likeliest sentences overall, and each passage's likeliest few, so that every
        passage is judged by its best sentences too."""
        chosen = candidates[: self.dense_candidates]
        for passage in sorted({c.passage for c in candidates}):
            chosen.extend(
                [c for c in candidates if c.passage == passage and c not in chosen][
                    : max(0, self.per_passage - sum(c.passage == passage for c in chosen))
                ]
            )
        return chosen

    def _passage(
        self,
        query: str,
        hits: list[SearchHit],
        ranked: list[Candidate],
        scorer: _DenseScorer,
        avoid: Collection[str],
    ) -> int:
        """The passage the excerpt comes from (1-based): the one whose section title and text
        best match the question, with its best sentence and its retrieval rank."""
        asked = words(self.sparse, query)
        headings = [plain_text(" > ".join(h.payload.heading_path)) for h in hits]
        titled = scorer.similarities(headings)

        def score(number: int) -> float:
            payload = hits[number - 1].payload
            sentences = [c.dense for c in ranked if c.passage == number]
            return (
                0.05 / number
                + titled[number - 1]
                + 0.5 * max(sentences, default=0.0)
                + 0.5 * coverage(asked, words(self.sparse, payload.text))
                + 0.5 * coverage(asked, words(self.sparse, headings[number - 1]))
            )

        usable = sorted({c.passage for c in ranked})
        fresh = [n for n in usable if hits[n - 1].payload.chunk_id not in avoid]
        return max(fresh or usable, key=lambda n: (score(n), -n))

    def _span(
        self, best: Candidate, ranked: list[Candidate], passage: list[Unit]
    ) -> tuple[int, int]:
        """The units of the excerpt: first and last position in the passage."""
        floor = best.score() * self.keep_ratio
        near = sorted(
            (c for c in ranked if c.passage == best.passage and c.unit != best.unit),
            key=lambda c: (abs(c.unit - best.unit), c.unit),
        )
        low = high = best.unit
        if self.from_start and _prose_words(passage, 0, best.unit) <= self.max_words:
            low = next(i for i, u in enumerate(passage) if u.kind == "sentence")
        kept = 1
        for other in near:
            if kept == self.max_sentences or other.score() < floor:
                continue
            if abs(other.unit - best.unit) <= self.reach:
                wider = (min(low, other.unit), max(high, other.unit))
                if _prose_words(passage, *wider) <= self.max_words:
                    low, high = wider
                    kept += 1
        for _ in range(2):  # "It…", "However…": the sentence it leans on comes too
            first = passage[low]
            if low == 0 or not _LEANS_BACK.match(first.text) or first.bullet:
                break
            if passage[low - 1].kind != "sentence" or _prose_words(passage, low - 1, high) > (
                self.max_words
            ):
                break
            low -= 1
        while (  # an answer often follows the sentence that matches the question best
            high + 1 < len(passage)
            and _prose_words(passage, low, high) < self.min_words
            and _prose_words(passage, low, high + 1) <= self.max_words
            and not passage[high].text.rstrip().endswith(":")
            and _reads_on(passage[high + 1])
        ):
            high += 1
        high = _introduced(passage, high, self.max_words)
        if high > best.unit and _dangling(passage, high):
            high -= 1  # "…three other methods:" with nothing after it in the passage
        return low, high

    def _others(self, ranked: list[Candidate], best: Candidate, hits: list[SearchHit]) -> list[int]:
        """Other passages that also answer well: cited as "See also" (other pages first)."""
        floor = best.score() * self.keep_ratio
        shown = {hits[best.passage - 1].payload.doc_id}
        chosen: list[int] = []
        for candidate in ranked:
            passage = candidate.passage
            if candidate.score() < floor or passage == best.passage or passage in chosen:
                continue
            doc = hits[passage - 1].payload.doc_id
            if doc in shown:
                continue
            shown.add(doc)
            chosen.append(passage)
            if len(chosen) == self.see_also:
                break
        return sorted(chosen)


def _reads_on(unit: Unit) -> bool:
    """Whether an excerpt may run on into `unit`: prose or a short code block, not an aside."""
    if unit.kind == "sentence":
        return not _ASIDE.match(unit.text)
    return unit.kind == "code" and unit.text.count("\n") <= _SHORT_CODE_LINES + 1


def _dangling(passage: list[Unit], high: int) -> bool:
    """The excerpt's last sentence introduces something the passage does not hold."""
    last = passage[high]
    return last.kind == "sentence" and last.text.rstrip().endswith(":") and high + 1 == len(passage)


def _introduced(passage: list[Unit], high: int, max_words: int) -> int:
    """Past the span's last sentence when it introduces something ("…this command:"): the code
    block or table after it, or the list items after it (as many as fit)."""
    if not passage[high].text.rstrip().endswith(":") or high + 1 >= len(passage):
        return high
    following = passage[high + 1]
    if following.kind in ("code", "table"):
        return high + 1
    end = high
    budget = max_words
    for position in range(high + 1, len(passage)):
        unit = passage[position]
        if unit.kind != "sentence" or (position == high + 1 and not unit.bullet):
            break
        budget -= len(unit.text.split())
        if budget < 0 and end > high:
            break
        end = position
    return end


def excerpt(units: list[Unit], marker: int) -> str:
    """The units as Markdown, each prose paragraph (a run of list items is one) ending with
    `[marker]`; a code block or table follows the paragraph that introduces it."""
    blocks: list[str] = []
    paragraph: list[str] = []
    current: int | None = None
    for unit in units:
        if unit.kind != "sentence":
            _close(blocks, paragraph, marker)
            blocks.append(unit.text)
            current = None
            continue
        if unit.paragraph != current and paragraph:
            separator = "\n" if unit.bullet and _BULLET.match(paragraph[0]) else None
            if separator is None:
                _close(blocks, paragraph, marker)
            else:
                paragraph.append("\n")
        current = unit.paragraph
        lead = f"{unit.bullet} " if unit.bullet else ""
        paragraph.append(lead + unit.text)
    _close(blocks, paragraph, marker)
    return "\n\n".join(blocks)


_BULLET = re.compile(r"^(?:[-*+•]|\d{1,3}[.)]) ")


def _close(blocks: list[str], paragraph: list[str], marker: int) -> None:
    if paragraph:
        text = " ".join(paragraph).replace(" \n ", "\n")
        blocks.append(f"{text} [{marker}]")
        paragraph.clear()


def _prose_words(passage: list[Unit], low: int, high: int) -> int:
    return sum(len(u.text.split()) for u in passage[low : high + 1] if u.kind == "sentence")


def _label(hit: SearchHit) -> str:
    payload = hit.payload
    return payload.heading_path[-1] if payload.heading_path else payload.path


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
