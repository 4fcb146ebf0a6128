"""Reconciliation: compare a source folder with the catalog and plan the tasks that align them.

Run on start and periodically, because inotify drops events silently when its queue
overflows. New and edited files become `IngestFile`, vanished documents `DeleteFile`
(a rename is both). Files whose size and mtime match what the catalog last saw are
skipped without reading (unless an older Verity chunked them); so are quarantined files
that did not change since.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from catalog import Catalog
from ingest.files import is_ignored, printable_path
from schemas.tasks import DeleteFile, IngestFile, Task


def walk(root: Path) -> Iterator[str]:
    """Relative paths (with '/') of the candidate files under `root`, sorted per folder."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder).relative_to(root)
        for name in sorted(files):
            rel_path = name if base == Path(".") else f"{base.as_posix()}/{name}"
            if not is_ignored(rel_path):
                yield rel_path


def plan(catalog: Catalog, source: str, root: Path, trust_stat: bool = True) -> list[Task]:
    """The tasks that bring the catalog in line with the folder.

    With `trust_stat`, files whose size and mtime match the catalog's are skipped unread,
    and so are quarantined files unchanged since they failed.
    """
    seen = catalog.seen_stats(source)
    outdated = catalog.formats.outdated_paths(source)  # re-chunked whatever their stat says
    quarantined = {
        f.path: f.last_seen.timestamp()
        for f in catalog.failures.list()
        if f.source == source and f.quarantined
    }
    tasks: list[Task] = []
    on_disk: set[str] = set()
    for rel_path in walk(root):
        on_disk.add(rel_path)
        try:
            st = os.lstat(root / rel_path)
        except FileNotFoundError:
            continue
        if (
            trust_stat
            and rel_path not in outdated
            and _unchanged(st, seen.get(rel_path), quarantined.get(printable_path(rel_path)))
        ):
            continue
        tasks.append(IngestFile(source=source, rel_path=rel_path))
    tasks.extend(
        DeleteFile(source=source, rel_path=rel_path) for rel_path in sorted(set(seen) - on_disk)
    )
    return tasks


def _unchanged(
    st: os.stat_result,
    seen: tuple[int | None, int | None, str | None] | None,
    failed_at: float | None,
) -> bool:
    if seen is not None and (seen[0], seen[1]) == (st.st_size, st.st_mtime_ns):
        return True
    return failed_at is not None and st.st_mtime_ns / 1e9 <= failed_at
