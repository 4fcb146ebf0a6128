"""The catalog database's failures, as the edges report them."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError

#: What the catalog's database raises when it cannot be reached or used right now (a server
#: down or restarting, a dropped connection, SQLite locked past its timeout): the API answers
#: 503, the CLI one line.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def database_problem(exc: Exception) -> str:
    """One line saying what the database said (SQLAlchemy's first line, without its SQL)."""
    original = getattr(exc, "orig", None) or exc
    first = str(original).strip().splitlines()
    return first[0] if first else type(original).__name__
