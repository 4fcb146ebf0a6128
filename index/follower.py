"""The index follows the catalog: for deployments where workers write the catalog and one
process owns the embedded index (Qdrant Edge allows one process per shard folder).

Every `interval_s` the follower asks the catalog which documents changed since its cursor
and syncs each (state-based, so a repeat costs a lookup and changes nothing). The cursor
steps back `overlap_s`, so a commit whose timestamp was taken before an earlier one finished
(or on a machine whose clock is a little behind) is still seen. A reader that meets superseded
hits pokes it, so the index catches up at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from core.telemetry import INDEX_LAG
from index.indexer import Indexer
from index.sync import IndexChange

log = logging.getLogger(__name__)


class IndexFollower:
    """Keeps the indexer's collection in line with catalog changes made by other processes."""

    def __init__(self, indexer: Indexer, interval_s: float = 1.0, overlap_s: float = 5.0) -> None:
        self.indexer = indexer
        self.interval_s = interval_s
        self.overlap = timedelta(seconds=overlap_s)
        self._cursor: datetime | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> IndexChange:
        """Sync every document changed since the last call (all of them on the first)."""
        since = None if self._cursor is None else self._cursor - self.overlap
        catalog = self.indexer.catalog
        doc_ids, latest = catalog.changed_since(since)
        total = IndexChange()
        for doc_id in doc_ids:
            change = self.indexer.sync_document(doc_id)
            document = catalog.document(doc_id) if change.changed else None
            if document is not None:  # searchable now: since the commit
                lag = datetime.now(UTC) - document.updated_at
                INDEX_LAG.observe(max(0.0, lag.total_seconds()))
            total.add(change)
        self._cursor = latest
        if total.changed:
            log.info(
                "index follows the catalog: %d embedded, %d from cache, %d removed",
                total.embedded,
                total.from_cache,
                total.removed,
            )
        return total

    @property
    def cursor(self) -> datetime | None:
        """The latest catalog change already followed (None before the first pass)."""
        return self._cursor

    def start(self) -> None:
        """Follow in a background thread until `stop()`; a reader that finds the index behind
        the catalog (superseded hits) wakes it at once instead of at the next tick."""
        self.indexer.active.on_lagging(self.poke)
        self._thread = threading.Thread(target=self._run, name="verity-follower", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Catch up now rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Stop following (the sync in progress finishes)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.catch_up()
            except Exception:  # the catalog or index may be down for a while: retry next tick
                log.exception("the index could not follow the catalog; retrying")
            self._wake.wait(self.interval_s)
