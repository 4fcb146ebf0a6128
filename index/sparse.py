"""BM25 as sparse vectors: term-frequency saturation here, IDF in the index (Qdrant's modifier).

IDF stays right as documents come and go, with nothing to rebuild. The average document
length is baked into stored values: fix it from the corpus, re-derive it on a rebuild.
"""

from __future__ import annotations

import qdrant_edge as q

from schemas.index import SparseVector

DEFAULT_AVG_LEN = 120.0  # tokens after stopwords, about a 180-word chunk


class Bm25Encoder:
    """`SparseEncoder` with Qdrant Edge's BM25 (English stemming and stopwords)."""

    def __init__(self, avg_len: float = DEFAULT_AVG_LEN, k: float = 1.2, b: float = 0.75) -> None:
        self.avg_len = avg_len
        self._k = k
        self._model = q.Bm25(q.Bm25Config(k=k, b=b, avg_len=avg_len, language="english"))
        # b = 0 makes a value depend on its term frequency alone, so it can be inverted
        self._flat = q.Bm25(q.Bm25Config(k=k, b=0.0, avg_len=avg_len, language="english"))

    def encode_document(self, text: str) -> SparseVector:
        """Term-frequency weights of a document."""
        vector = self._model.embed_document(text)
        return SparseVector(indices=list(vector.indices), values=list(vector.values))

    def encode_query(self, text: str) -> SparseVector:
        """Each query token, weight 1."""
        vector = self._model.embed_query(text)
        return SparseVector(indices=list(vector.indices), values=list(vector.values))

    def document_length(self, text: str) -> int:
        """Tokens of `text` after stopwords, as BM25 counts them (the sum of term frequencies).

        Each value of the b = 0 encoding is tf·(k+1)/(tf+k); solved for tf.
        """
        k = self._k
        values = self._flat.embed_document(text).values
        return round(sum(v * k / (k + 1 - v) for v in values))
