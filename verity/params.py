"""Bounds on the numbers routes take from a path: a database row number fits 32 bits, so a
version or letter number past that is a 422 problem, never an overflow deep in the catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ROW = 2**31 - 1
RowNumber = Annotated[int, Path(ge=1, le=MAX_ROW)]
