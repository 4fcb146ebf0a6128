"""Which search runs, given what the query has."""

from __future__ import annotations

import pytest

from index.points import effective_mode
from schemas.index import SparseVector

WORDS = SparseVector(indices=[3], values=[1.0])
NONE = SparseVector(indices=[], values=[])


@pytest.mark.parametrize(
    ("dense", "sparse", "mode", "expected"),
    [
        ([1.0], WORDS, "hybrid", "hybrid"),
        ([1.0], NONE, "hybrid", "dense"),  # only stopwords: dense alone
        (None, WORDS, "hybrid", "sparse"),
        (None, NONE, "hybrid", None),
        ([1.0], WORDS, "dense", "dense"),
        (None, WORDS, "dense", None),
        ([1.0], NONE, "sparse", None),
        ([1.0], None, "sparse", None),
    ],
)
def test_effective_mode(dense, sparse, mode, expected) -> None:  # type: ignore[no-untyped-def]
    assert effective_mode(dense, sparse, mode) == expected
