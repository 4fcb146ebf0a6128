"""Our BM25 (Qdrant Edge term frequencies + the index's IDF) against two references:
rank-bm25's BM25Okapi and bm25s's Lucene variant.

BM25Okapi differs in tokenising (Qdrant stems and drops stopwords) and IDF smoothing: rankings
agree closely, not exactly. bm25s's Lucene BM25 is our formula; given Qdrant's stopwords and
the same Snowball stemmer, only tokeniser details differ. Overlaps are printed (`-s`).
"""

from __future__ import annotations

import re
from pathlib import Path

import bm25s
import Stemmer
from rank_bm25 import BM25Okapi

from index.edge import EdgeIndex
from index.embedding import SentenceTransformerEmbedder
from index.sparse import Bm25Encoder
from index.sync import embedding_text
from ingest.chunking import ChunkPolicy, chunk_blocks
from ingest.parsing import ParserPool
from schemas import Chunk
from schemas.index import ChunkPayload, IndexPoint

FAQ = Path(__file__).resolve().parents[2] / "corpora" / "django" / "faq"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "my",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "where",
        "which",
        "why",
        "with",
        "you",
        "your",
        "can",
        "does",
    ]
)


def tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]


def faq_chunks(parser_pool: ParserPool) -> list[Chunk]:
    chunks: list[Chunk] = []
    for path in sorted(FAQ.glob("*.txt")):
        blocks = parser_pool.parse(path.read_bytes(), path.name, "text/plain")
        for i, new in enumerate(chunk_blocks(f"faq/{path.name}", blocks, ChunkPolicy())):
            chunks.append(
                Chunk(
                    chunk_id=new.chunk_id,
                    doc_id=f"faq/{path.name}",
                    version=1,
                    ordinal=i,
                    text=new.text,
                    heading_path=list(new.heading_path),
                )
            )
    return chunks


def faq_index(
    path: Path, chunks: list[Chunk], embedder: SentenceTransformerEmbedder, bm25: Bm25Encoder
) -> EdgeIndex:
    texts = [embedding_text(c) for c in chunks]
    index = EdgeIndex(path, embedder.dimension)
    vectors = embedder.embed(texts)
    index.upsert(
        [
            IndexPoint(
                payload=ChunkPayload(
                    chunk_id=c.chunk_id,
                    doc_id=c.doc_id,
                    version=1,
                    sha256="0" * 64,
                    source="faq",
                    path=c.doc_id,
                    heading_path=c.heading_path,
                    ordinal=c.ordinal,
                    text=c.text,
                    embedding_model="test",
                ),
                dense=v,
                sparse=bm25.encode_document(t),
            )
            for c, v, t in zip(chunks, vectors, texts, strict=True)
        ]
    )
    return index


def questions_of(chunks: list[Chunk]) -> list[str]:
    """The FAQ's own question headings (written by the Django docs' authors)."""
    return sorted({c.heading_path[-1] for c in chunks if len(c.heading_path) > 1})[:25]


def sparse_top10(index: EdgeIndex, bm25: Bm25Encoder, question: str) -> list[str]:
    hits = index.search(None, bm25.encode_query(question), limit=10, mode="sparse")
    return [h.payload.chunk_id for h in hits]


def test_sparse_ranking_overlaps_rank_bm25_on_the_django_faq(
    tmp_path: Path, parser_pool: ParserPool, embedder: SentenceTransformerEmbedder
) -> None:
    chunks = faq_chunks(parser_pool)
    texts = [embedding_text(c) for c in chunks]
    bm25 = Bm25Encoder(avg_len=sum(len(tokens(t)) for t in texts) / len(texts))
    index = faq_index(tmp_path / "idx", chunks, embedder, bm25)
    reference = BM25Okapi([tokens(t) for t in texts])
    questions = questions_of(chunks)
    overlaps = []
    for question in questions:
        ours = sparse_top10(index, bm25, question)
        scores = reference.get_scores(tokens(question))
        theirs = [
            chunks[i].chunk_id for i in sorted(range(len(chunks)), key=lambda i: -scores[i])[:10]
        ]
        overlaps.append(len(set(ours) & set(theirs)) / 10)
    index.close()
    mean = sum(overlaps) / len(overlaps)
    print(
        f"top-10 overlap with rank-bm25 BM25Okapi over {len(questions)} FAQ questions: {mean:.2f}"
    )
    assert len(chunks) > 50 and len(questions) >= 20
    assert mean >= 0.6, f"sparse ranking drifted from BM25: top-10 overlap {mean:.2f}"


def test_sparse_ranking_matches_bm25s_lucene_on_the_django_faq(
    tmp_path: Path, parser_pool: ParserPool, embedder: SentenceTransformerEmbedder
) -> None:
    """bm25s's Lucene variant with Snowball stemming and English stopwords is the same formula
    as ours (TF saturation here, Lucene IDF in the index); what differs is the tokeniser."""
    chunks = faq_chunks(parser_pool)
    texts = [embedding_text(c) for c in chunks]
    counter = Bm25Encoder()
    bm25 = Bm25Encoder(avg_len=sum(counter.document_length(t) for t in texts) / len(texts))
    index = faq_index(tmp_path / "idx", chunks, embedder, bm25)
    stemmer = Stemmer.Stemmer("english")
    # the same stopwords as Qdrant's English list: every corpus word it encodes to nothing
    words = {w for t in texts for w in re.findall(r"\w+", t.lower())}
    stopwords = sorted(w for w in words if not counter.encode_query(w).indices)
    reference = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    reference.index(
        bm25s.tokenize(texts, stopwords=stopwords, stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    questions = questions_of(chunks)
    overlaps = []
    for question in questions:
        query = bm25s.tokenize(
            [question], stopwords=stopwords, stemmer=stemmer, show_progress=False
        )
        found, _ = reference.retrieve(query, k=10, show_progress=False)
        theirs = [chunks[int(i)].chunk_id for i in found[0]]
        overlaps.append(len(set(sparse_top10(index, bm25, question)) & set(theirs)) / 10)
    index.close()
    mean = sum(overlaps) / len(overlaps)
    print(f"top-10 overlap with bm25s (lucene) over {len(questions)} FAQ questions: {mean:.2f}")
    assert mean >= 0.9, f"sparse ranking drifted from Lucene BM25: top-10 overlap {mean:.2f}"
