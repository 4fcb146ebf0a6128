"""Bounds on what routes take from a path and a query: a database row number fits 32 bits, so
a version or letter number past that is a 422 problem, never an overflow deep in the catalog;
a query parameter given twice is a 422 problem, never silently the last one."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError

MAX_ROW = 2**31 - 1
RowNumber = Annotated[int, Path(ge=1, le=MAX_ROW)]
#: A name filter from the query string: absent, or at least one character.
OptionalName = Annotated[str | None, Query(min_length=1, max_length=1200)]


def single_query_values(request: Request) -> None:
    """A FastAPI dependency for every route: no route takes a list from the query string."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, count in counts.items() if count > 1)
    if repeated:
        raise RequestValidationError(
            [
                {"loc": ("query", key), "msg": "given more than once", "type": "repeated"}
                for key in repeated
            ]
        )
