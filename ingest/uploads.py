"""Documents added or removed through the API: written to (or removed from) the source folder,
which stays the truth, then queued like any file event. Nothing outside the folder is touched."""

from __future__ import annotations

import os
import uuid
from pathlib import Path, PurePosixPath

from catalog import Catalog
from core.errors import Conflict, NotFound, RejectedFile
from ingest.files import check_name, check_type, is_ignored
from schemas import ReasonCode
from schemas.tasks import DeleteFile, IngestFile

#: The longest file or folder name an upload may use: the temporary name it is written under
#: adds 42 bytes, and a name past 255 bytes is refused by the file system.
MAX_NAME_BYTES = 200


def store_upload(
    catalog: Catalog, source: str, rel_path: str, data: bytes, max_bytes: int
) -> IngestFile:
    """Write `data` to `rel_path` inside the source's folder, atomically; the task to ingest it."""
    root = catalog.source_root(source)
    check_name(rel_path)
    parts = PurePosixPath(rel_path).parts
    if rel_path.startswith("/") or "\\" in rel_path or not parts or ".." in parts:
        raise RejectedFile(
            f"{rel_path!r} must be a relative path inside the source folder, without '..'",
            ReasonCode.OUTSIDE_ROOT,
        )
    if is_ignored(rel_path):
        raise RejectedFile(
            f"{rel_path!r} is a hidden or temporary file name, which is never ingested",
            ReasonCode.BAD_FILENAME,
        )
    check_type(rel_path)
    if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
        raise RejectedFile(
            f"a name in {rel_path[:80]!r}… is over {MAX_NAME_BYTES} bytes; shorten it",
            ReasonCode.BAD_FILENAME,
        )
    if len(data) > max_bytes:
        raise RejectedFile(
            f"{len(data)} bytes is over the limit of {max_bytes} (VERITY_MAX_FILE_MB)",
            ReasonCode.TOO_LARGE,
        )
    target = root / rel_path
    if not target.parent.resolve().is_relative_to(root.resolve()):  # a linked folder
        raise RejectedFile(f"{rel_path!r} leads outside the source folder", ReasonCode.OUTSIDE_ROOT)
    _check_free(root, parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.{uuid.uuid4().hex}.upload"  # ignored: hidden
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)  # readers see the old file or the new one, never half
    finally:
        temporary.unlink(missing_ok=True)
    return IngestFile(source=source, rel_path=rel_path)


def _check_free(root: Path, parts: tuple[str, ...]) -> None:
    """`Conflict` when the path names a folder, or goes under a file, already in the source."""
    for depth in range(1, len(parts)):
        if (root.joinpath(*parts[:depth])).is_file():
            under = "/".join(parts[:depth])
            raise Conflict(f"{under!r} is a document, so nothing can be stored under it")
    if root.joinpath(*parts).is_dir():
        raise Conflict(f"{'/'.join(parts)!r} is a folder in the source; choose a file name")


def removal(catalog: Catalog, doc_id: str) -> DeleteFile:
    """The task that removes `doc_id`: a current document, or a file that failed to ingest
    (an upload that never became a version); `NotFound` for anything else."""
    document = catalog.document(doc_id)
    if document is not None and document.current_version is not None:
        return DeleteFile(source=document.source, rel_path=document.rel_path)
    failed = next((f for f in catalog.failures.list() if f.doc_id == doc_id), None)
    if failed is None:
        raise NotFound(f"no current document {doc_id!r}")
    return DeleteFile(source=failed.source, rel_path=failed.path)


def remove_file(catalog: Catalog, task: DeleteFile) -> None:
    """Take the file of `task` out of its folder (its task then tombstones the document and
    resolves its failures)."""
    (catalog.source_root(task.source) / task.rel_path).unlink(missing_ok=True)
