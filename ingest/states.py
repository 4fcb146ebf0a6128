"""Each document's state as its owner follows it: queued, active, deleted, or failed (with the
reason), its versions and the warnings ingest raised on the current one."""

from __future__ import annotations

from collections.abc import Callable

from catalog import Catalog
from ingest.files import printable_path
from schemas.owners import DocumentState, DocumentStatus, OpenFailure
from schemas.records import IngestFailure, SourceDocument


def document_statuses(
    catalog: Catalog,
    may_read: Callable[[str], bool],
    source: str | None = None,
    doc_id: str | None = None,
) -> list[DocumentStatus]:
    """The documents of the sources `may_read` allows (only `source`, only `doc_id`, if
    given); a `doc_id` whose file is in its folder but not ingested yet is `queued`."""

    def wanted(name: str, its_source: str) -> bool:
        return may_read(its_source) and source in (None, its_source) and doc_id in (None, name)

    failures: dict[str, IngestFailure] = {}
    for failure in catalog.failures.list():  # open ones, newest first
        failures.setdefault(failure.doc_id, failure)
    found = [
        _status(catalog, summary.document, failures.get(summary.document.doc_id))
        for summary in catalog.summaries()
        if wanted(summary.document.doc_id, summary.document.source)
    ]
    known = {status.doc_id for status in found}
    found += [
        DocumentStatus(
            doc_id=f.doc_id,
            source=f.source,
            path=f.path,
            state="failed",
            current_version=None,
            versions=[],
            failure=_open(f),
            updated_at=f.last_seen,
        )
        for f in failures.values()
        if f.doc_id not in known and wanted(f.doc_id, f.source)
    ]
    if doc_id is not None and not found:
        queued = _queued(catalog, doc_id)
        if queued is not None and may_read(queued.source):
            found.append(queued)
    return found


def _status(
    catalog: Catalog, document: SourceDocument, failure: IngestFailure | None
) -> DocumentStatus:
    current = (
        catalog.version(document.doc_id, document.current_version)
        if document.current_version is not None
        else None
    )
    state: DocumentState = "failed" if failure else ("active" if current is not None else "deleted")
    return DocumentStatus(
        doc_id=document.doc_id,
        source=document.source,
        path=document.rel_path,
        state=state,
        current_version=document.current_version,
        versions=[v.version for v in catalog.versions(document.doc_id)],
        failure=_open(failure) if failure else None,
        warnings=current.warnings if current is not None else [],
        updated_at=document.updated_at,
    )


def _open(failure: IngestFailure) -> OpenFailure:
    return OpenFailure(
        reason=failure.reason,
        message=failure.message,
        attempts=failure.attempts,
        quarantined=failure.quarantined,
        last_seen=failure.last_seen,
    )


def _queued(catalog: Catalog, doc_id: str) -> DocumentStatus | None:
    """`doc_id` as a file waiting in its source folder (None: no such file)."""
    for name, root in catalog.source_roots().items():
        rel_path = doc_id.removeprefix(f"{name}/")
        if rel_path != doc_id and (root / rel_path).is_file():
            return DocumentStatus(
                doc_id=doc_id,
                source=name,
                path=printable_path(rel_path),
                state="queued",
                current_version=None,
                versions=[],
            )
    return None
