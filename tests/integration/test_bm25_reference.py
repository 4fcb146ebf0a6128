"""Our BM25 (Qdrant Edge term frequencies + the index's IDF) against rank-bm25's BM25Okapi.

The two differ in tokenising (Qdrant stems and drops stopwords) and IDF smoothing, so rankings
agree closely but not exactly; the overlap is reported and must stay high.
"""

from __future__ import annotations

import re
from pathlib import Path

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


def test_sparse_ranking_overlaps_rank_bm25_on_the_django_faq(
    tmp_path: Path, parser_pool: ParserPool, embedder: SentenceTransformerEmbedder
) -> None:
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
    texts = [embedding_text(c) for c in chunks]
    avg_len = sum(len(tokens(t)) for t in texts) / len(texts)
    bm25 = Bm25Encoder(avg_len=avg_len)
    index = EdgeIndex(tmp_path / "idx", embedder.dimension)
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
    reference = BM25Okapi([tokens(t) for t in texts])
    questions = sorted({c.heading_path[-1] for c in chunks if len(c.heading_path) > 1})[:25]
    overlaps = []
    for question in questions:
        ours = [
            h.payload.chunk_id
            for h in index.search(None, bm25.encode_query(question), limit=10, mode="sparse")
        ]
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
