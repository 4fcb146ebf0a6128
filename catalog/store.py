"""The catalog store: documents and their versions, chunks and tombstones.

Writes that create a version are optimistic: they name the version they expect to be
current, and fail with `ConcurrentUpdate` if another writer got there first.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from catalog.admin import ApiKeys, Jobs
from catalog.answers import AnswerLog, Conversations
from catalog.dead_letters import DeadLetters
from catalog.errors import database_problem
from catalog.failures import FailureLog
from catalog.formats import ChunkFormats
from catalog.index_state import EmbeddingCache, IndexGenerations
from catalog.resolutions import Resolutions
from catalog.tables import chunks, document_versions, documents, sources, tombstones
from core.errors import CatalogError, ConcurrentUpdate, NotFound, SourceConflict
from schemas import (
    Chunk,
    ChunkDiff,
    ContentWarning,
    DocumentStatus,
    DocumentVersion,
    SourceDocument,
    Tombstone,
)
from schemas.migrations import CURRENT_VERSIONS, load_record

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x76657269  # "veri": the advisory lock that serialises migrations


def utc_now() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be stored: what the chunker produced, before it has a version."""

    chunk_id: str
    text: str
    heading_path: tuple[str, ...]
    page: int | None


@dataclass(frozen=True)
class DocumentSummary:
    """One line of `verity docs`: a document and its current version."""

    document: SourceDocument
    sha256: str | None
    chunk_count: int


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Catalog:
    """Every version of every document, the current one marked, deletions tombstoned."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine = make_engine(url)
        self.failures = FailureLog(self.engine)
        self.embeddings = EmbeddingCache(self.engine)
        self.generations = IndexGenerations(self.engine)
        self.conversations = Conversations(self.engine)
        self.answers = AnswerLog(self.engine)
        self.dead_letters = DeadLetters(self.engine)
        self.keys = ApiKeys(self.engine)
        self.jobs = Jobs(self.engine)
        self.formats = ChunkFormats(self.engine)
        self.resolutions = Resolutions(self.engine)

    def migrate(self) -> None:
        """Bring the database schema to the newest Alembic revision.

        Safe when several processes start at once: migrations are serialised by an
        advisory lock (PostgreSQL) or a lock file beside the database (SQLite).
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._migration_lock(), self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise CatalogError(
                f"cannot migrate the catalog at {self.safe_url}: {database_problem(exc)}"
            ) from exc

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- sources ------------------------------------------------------------------------

    def register_source(self, name: str, root: Path, *, allow_move: bool = False) -> None:
        """Remember a source's root folder (idempotent).

        A source already rooted elsewhere is refused (`SourceConflict`) unless `allow_move`:
        its documents' paths are relative to that root.
        """
        with self._tx() as conn:
            row = conn.execute(select(sources.c.root).where(sources.c.name == name)).first()
            if row is None:
                conn.execute(
                    sources.insert().values(name=name, root=str(root), created_at=utc_now())
                )
            elif row.root != str(root):
                if not allow_move:
                    raise SourceConflict(
                        f"source {name!r} is the folder {row.root}, not {root}; "
                        "name this one with --source, or move the source in VERITY_WATCH_DIRS"
                    )
                conn.execute(update(sources).where(sources.c.name == name).values(root=str(root)))

    def source_roots(self) -> dict[str, Path]:
        """Every registered source and its root folder."""
        with self.engine.connect() as conn:
            return {r.name: Path(r.root) for r in conn.execute(select(sources))}

    def source_root(self, name: str) -> Path:
        """The root folder of a registered source (`NotFound` names the known ones)."""
        roots = self.source_roots()
        if name not in roots:
            raise NotFound(f"unknown source {name!r}; known: {sorted(roots)}")
        return roots[name]

    # -- reading --------------------------------------------------------------------------

    def document(self, doc_id: str) -> SourceDocument | None:
        """A document by id, deleted ones included."""
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(documents.c.doc_id == doc_id)).first()
        return _document(row._mapping) if row else None

    def documents(self, source: str | None = None) -> list[SourceDocument]:
        """Every document (deleted ones included), ordered by id."""
        query = select(documents).order_by(documents.c.doc_id)
        if source is not None:
            query = query.where(documents.c.source == source)
        with self.engine.connect() as conn:
            return [_document(r._mapping) for r in conn.execute(query)]

    def changed_since(self, since: datetime | None) -> tuple[list[str], datetime | None]:
        """Documents whose row changed (new version, deletion, stat) at or after `since`,
        and the latest change time seen: the cursor of a reader that follows the catalog."""
        query = select(documents.c.doc_id, documents.c.updated_at)
        if since is not None:
            query = query.where(documents.c.updated_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(documents.c.updated_at)).all()
        latest = rows[-1].updated_at if rows else since
        return [r.doc_id for r in rows], latest

    def summaries(self) -> list[DocumentSummary]:
        """Every document with its current version's sha and chunk count."""
        query = (
            select(documents, document_versions.c.sha256, document_versions.c.chunk_count)
            .select_from(
                documents.outerjoin(
                    document_versions,
                    (document_versions.c.doc_id == documents.c.doc_id)
                    & (document_versions.c.version == documents.c.current_version),
                )
            )
            .order_by(documents.c.doc_id)
        )
        with self.engine.connect() as conn:
            return [
                DocumentSummary(_document(r._mapping), r.sha256, r.chunk_count or 0)
                for r in conn.execute(query)
            ]

    def seen_stats(self, source: str) -> dict[str, tuple[int | None, int | None, str | None]]:
        """rel_path → (size, mtime_ns, current sha) for the source's live documents."""
        query = (
            select(
                documents.c.rel_path,
                documents.c.seen_size,
                documents.c.seen_mtime_ns,
                document_versions.c.sha256,
            )
            .select_from(
                documents.join(
                    document_versions,
                    (document_versions.c.doc_id == documents.c.doc_id)
                    & (document_versions.c.version == documents.c.current_version),
                )
            )
            .where(documents.c.source == source)
        )
        with self.engine.connect() as conn:
            return {
                r.rel_path: (r.seen_size, r.seen_mtime_ns, r.sha256) for r in conn.execute(query)
            }

    def current_versions(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """doc_id → current version, for those of `doc_ids` that have one."""
        found: dict[str, int] = {}
        unique = sorted(set(doc_ids))
        with self.engine.connect() as conn:
            for start in range(0, len(unique), 500):
                rows = conn.execute(
                    select(documents.c.doc_id, documents.c.current_version).where(
                        documents.c.doc_id.in_(unique[start : start + 500])
                        & documents.c.current_version.is_not(None)
                    )
                )
                found.update((r.doc_id, r.current_version) for r in rows)
        return found

    def version(self, doc_id: str, version: int) -> DocumentVersion | None:
        """One version of a document."""
        query = select(document_versions).where(
            (document_versions.c.doc_id == doc_id) & (document_versions.c.version == version)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _version(row._mapping) if row else None

    def versions(self, doc_id: str) -> list[DocumentVersion]:
        """Every version of a document, oldest first."""
        query = (
            select(document_versions)
            .where(document_versions.c.doc_id == doc_id)
            .order_by(document_versions.c.version)
        )
        with self.engine.connect() as conn:
            return [_version(r._mapping) for r in conn.execute(query)]

    def current_version(self, doc_id: str) -> DocumentVersion | None:
        """The version marked current, or None if the document is deleted or unknown."""
        doc = self.document(doc_id)
        if doc is None or doc.current_version is None:
            return None
        return self.version(doc_id, doc.current_version)

    def chunks(self, doc_id: str, version: int) -> list[Chunk]:
        """The chunks of one version, in document order, text included."""
        query = (
            select(chunks)
            .where((chunks.c.doc_id == doc_id) & (chunks.c.version == version))
            .order_by(chunks.c.ordinal)
        )
        with self.engine.connect() as conn:
            return [load_record("chunk", dict(r._mapping)) for r in conn.execute(query)]

    def tombstones(self, doc_id: str | None = None) -> list[Tombstone]:
        """Deletion records, oldest first."""
        query = select(tombstones).order_by(tombstones.c.tombstone_id)
        if doc_id is not None:
            query = query.where(tombstones.c.doc_id == doc_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row.pop("tombstone_id")
        return [load_record("tombstone", row) for row in rows]

    # -- writing --------------------------------------------------------------------------

    def commit_version(
        self,
        doc_id: str,
        source: str,
        rel_path: str,
        *,
        expected_current: int | None,
        sha256: str,
        size_bytes: int,
        media_type: str,
        new_chunks: Sequence[NewChunk],
        stat: tuple[int, int] | None = None,
        warnings: Sequence[ContentWarning] = (),
    ) -> DocumentVersion:
        """Store a new version with its chunks and mark it current, in one transaction.

        `expected_current` is the version the caller saw as current (None: none); if the
        catalog has moved on meanwhile, nothing is written and `ConcurrentUpdate` is raised.
        """
        now = utc_now()
        try:
            with self._tx() as conn:
                _claim(
                    conn,
                    doc_id=doc_id,
                    source=source,
                    rel_path=rel_path,
                    expected=expected_current,
                    now=now,
                )
                old_ids = _chunk_ids(conn, doc_id, expected_current) if expected_current else []
                number = _max_version(conn, doc_id) + 1
                diff = chunk_diff(old_ids, [c.chunk_id for c in new_chunks])
                version = DocumentVersion(
                    doc_id=doc_id,
                    version=number,
                    sha256=sha256,
                    size_bytes=size_bytes,
                    media_type=media_type,
                    created_at=now,
                    chunk_count=len(new_chunks),
                    diff=diff,
                    warnings=list(warnings),
                )
                conn.execute(document_versions.insert().values(**version.model_dump()))
                if new_chunks:
                    rows = [_chunk_row(doc_id, number, i, c) for i, c in enumerate(new_chunks)]
                    conn.execute(chunks.insert(), rows)
                _mark_current(conn, doc_id, number, stat)
        except IntegrityError as exc:
            raise ConcurrentUpdate(f"{doc_id}: another writer created a version first") from exc
        return version

    def note_stat(self, doc_id: str, size: int, mtime_ns: int) -> None:
        """Remember the file's size and mtime (bytes unchanged, so no new version)."""
        with self._tx() as conn:
            conn.execute(
                update(documents)
                .where(documents.c.doc_id == doc_id)
                .values(seen_size=size, seen_mtime_ns=mtime_ns)
            )

    def delete_document(self, doc_id: str) -> Tombstone | None:
        """Tombstone the document's current version; None if it is already gone (idempotent)."""
        now = utc_now()
        with self._tx() as conn:
            # write first: takes the row lock (PostgreSQL) or the write lock (SQLite)
            # before reading, so a racing commit cannot slip in between
            conn.execute(
                update(documents).where(documents.c.doc_id == doc_id).values(updated_at=now)
            )
            doc = conn.execute(select(documents).where(documents.c.doc_id == doc_id)).first()
            if doc is None or doc.current_version is None:
                return None
            sha = conn.execute(
                select(document_versions.c.sha256).where(
                    (document_versions.c.doc_id == doc_id)
                    & (document_versions.c.version == doc.current_version)
                )
            ).scalar_one()
            tomb = Tombstone(
                doc_id=doc_id, last_version=doc.current_version, sha256=sha, deleted_at=now
            )
            conn.execute(tombstones.insert().values(**tomb.model_dump()))
            _mark_current(conn, doc_id, None, None)
        return tomb


def chunk_diff(old_ids: Sequence[str], new_ids: Sequence[str]) -> ChunkDiff:
    """Added, removed and unchanged chunk ids between two versions (order kept)."""
    old, new = set(old_ids), set(new_ids)
    return ChunkDiff(
        added=[c for c in new_ids if c not in old],
        removed=[c for c in old_ids if c not in new],
        unchanged=[c for c in new_ids if c in old],
    )


def _chunk_ids(conn: Connection, doc_id: str, version: int) -> list[str]:
    query = (
        select(chunks.c.chunk_id)
        .where((chunks.c.doc_id == doc_id) & (chunks.c.version == version))
        .order_by(chunks.c.ordinal)
    )
    return list(conn.execute(query).scalars())


def _max_version(conn: Connection, doc_id: str) -> int:
    query = select(func.max(document_versions.c.version)).where(
        document_versions.c.doc_id == doc_id
    )
    return int(conn.execute(query).scalar() or 0)


def _mark_current(
    conn: Connection, doc_id: str, version: int | None, stat: tuple[int, int] | None
) -> None:
    """Point the document at `version` (None: deleted) and remember the file's stat."""
    conn.execute(
        update(documents)
        .where(documents.c.doc_id == doc_id)
        .values(
            current_version=version,
            status=(DocumentStatus.ACTIVE if version else DocumentStatus.DELETED).value,
            seen_size=stat[0] if stat else None,
            seen_mtime_ns=stat[1] if stat else None,
        )
    )


def _claim(
    conn: Connection,
    *,
    doc_id: str,
    source: str,
    rel_path: str,
    expected: int | None,
    now: datetime,
) -> None:
    """Lock the document row if its current version is still `expected`, else refuse.

    The first statement of the transaction is this write, so it waits for any other
    writer and then sees what that writer committed (no stale read on either backend).
    """
    current = documents.c.current_version
    matches = current.is_(None) if expected is None else current == expected
    claimed = conn.execute(
        update(documents).where((documents.c.doc_id == doc_id) & matches).values(updated_at=now)
    )
    if claimed.rowcount == 1:
        return
    if expected is not None:
        raise ConcurrentUpdate(f"{doc_id}: version {expected} is no longer current")
    conn.execute(  # a new document; a racing creator makes this fail on the primary key
        documents.insert().values(
            doc_id=doc_id,
            source=source,
            rel_path=rel_path,
            current_version=None,
            status=DocumentStatus.ACTIVE.value,
            created_at=now,
            updated_at=now,
            schema_version=CURRENT_VERSIONS["source_document"],
        )
    )


def _chunk_row(doc_id: str, version: int, ordinal: int, chunk: NewChunk) -> dict[str, Any]:
    return {
        "doc_id": doc_id,
        "version": version,
        "ordinal": ordinal,
        "chunk_id": chunk.chunk_id,
        "text": chunk.text,
        "heading_path": list(chunk.heading_path),
        "page": chunk.page,
        "schema_version": CURRENT_VERSIONS["chunk"],
    }


def _document(row: Any) -> SourceDocument:
    raw = {k: row[k] for k in SourceDocument.model_fields if k in row}
    return load_record("source_document", raw)  # type: ignore[no-any-return]


def _version(row: Any) -> DocumentVersion:
    raw = dict(row)
    raw["warnings"] = raw.get("warnings") or []
    return load_record("document_version", raw)  # type: ignore[no-any-return]
