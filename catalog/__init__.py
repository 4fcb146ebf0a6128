"""The catalog: every version of every document, its chunks, tombstones and failures.

SQLAlchemy Core over SQLite (default) or PostgreSQL; schema managed by Alembic.
"""

from catalog.errors import DATABASE_UNAVAILABLE, database_problem
from catalog.store import Catalog, DocumentSummary, NewChunk

__all__ = ["DATABASE_UNAVAILABLE", "Catalog", "DocumentSummary", "NewChunk", "database_problem"]
