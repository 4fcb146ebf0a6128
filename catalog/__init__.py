"""The catalog: every version of every document, its chunks, tombstones and failures.

SQLAlchemy Core over SQLite (default) or PostgreSQL; schema managed by Alembic.
"""

from catalog.store import Catalog, DocumentSummary, NewChunk

__all__ = ["Catalog", "DocumentSummary", "NewChunk"]
