"""The folder watcher: watchdog events → debounced, settled tasks; plus periodic reconciles.

- Debounce: a path's events are gathered until it has been quiet `debounce_s`; an
  editor's write-temp-then-rename and a burst of saves become one task.
- Settle: a path whose size or mtime still moves is deferred, never read half-way.
- Moves: the source path is a deletion candidate, the destination a file to ingest
  (an editor's save arrives as a move from a temp file onto the real name).
- Reconcile on start and every `reconcile_interval_s`, so dropped events are caught up;
  `periodic_tasks` (the index sync) are submitted with every reconcile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from core.ports import TaskRunner
from ingest.files import is_ignored
from schemas.tasks import DeleteFile, IngestFile, Task

log = logging.getLogger(__name__)

Planner = Callable[[str, Path], list[Task]]


class _SourceHandler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher, source: str, root: Path) -> None:
        self.watcher, self.source, self.root = watcher, source, root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type in ("moved", "deleted"):
                self.watcher.request_reconcile(self.source)
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self._note(os.fsdecode(raw))

    def _note(self, path: str) -> None:
        try:
            rel_path = Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return
        if not is_ignored(rel_path):
            self.watcher.note(self.source, rel_path)


class FolderWatcher:
    """Watches each source folder and feeds the runner."""

    def __init__(
        self,
        sources: dict[str, Path],
        runner: TaskRunner,
        planner: Planner,
        *,
        debounce_s: float = 0.5,
        reconcile_interval_s: float = 300.0,
        periodic_tasks: Sequence[Task] = (),
    ) -> None:
        self.sources = {name: root.resolve() for name, root in sources.items()}
        self.runner = runner
        self.planner = planner
        self.debounce_s = debounce_s
        self.reconcile_interval_s = reconcile_interval_s
        self.periodic_tasks = tuple(periodic_tasks)  # e.g. SyncIndex: heal a lagging index
        self._pending: dict[tuple[str, str], tuple[float, tuple[int, int] | None]] = {}
        self._reconcile_requests: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = Observer()
        self._threads: list[threading.Thread] = []
        self.reconciles = 0

    def start(self) -> None:
        """Start watching, then reconcile every source once."""
        for name, root in self.sources.items():
            self._observer.schedule(_SourceHandler(self, name, root), str(root), recursive=True)
        self._observer.start()
        self.reconcile_all()
        for target, label in ((self._flush_loop, "debounce"), (self._reconcile_loop, "reconcile")):
            thread = threading.Thread(target=target, name=f"verity-{label}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop watching (tasks already submitted stay with the runner)."""
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=10)
        for thread in self._threads:
            thread.join(timeout=10)

    def note(self, source: str, rel_path: str) -> None:
        """An event touched this path: (re)start its quiet period."""
        with self._lock:
            self._pending[(source, rel_path)] = (time.monotonic(), self._stat(source, rel_path))

    def request_reconcile(self, source: str) -> None:
        """A folder moved or vanished: reconcile the source at the next tick."""
        with self._lock:
            self._reconcile_requests.add(source)

    def reconcile_all(self) -> int:
        """Plan and submit the tasks that align every source with the catalog."""
        count = 0
        for name, root in self.sources.items():
            for task in self.planner(name, root):
                self.runner.submit(task)
                count += 1
        for task in self.periodic_tasks:
            self.runner.submit(task)
        self.reconciles += 1
        log.info("reconciled %d source(s): %d task(s)", len(self.sources), count)
        return count

    def flush(self) -> list[Task]:
        """Submit the paths that have been quiet and still long enough."""
        now = time.monotonic()
        ready: list[Task] = []
        with self._lock:
            for key, (last, seen) in list(self._pending.items()):
                if now - last < self.debounce_s:
                    continue
                current = self._stat(*key)
                if current is not None and current != seen:
                    self._pending[key] = (now, current)  # still being written
                    continue
                del self._pending[key]
                source, rel_path = key
                task_type = IngestFile if current is not None else DeleteFile
                ready.append(task_type(source=source, rel_path=rel_path))
            requests, self._reconcile_requests = self._reconcile_requests, set()
        for task in ready:
            self.runner.submit(task)
        for source in requests:
            for task in self.planner(source, self.sources[source]):
                self.runner.submit(task)
        return ready

    def _stat(self, source: str, rel_path: str) -> tuple[int, int] | None:
        try:
            st = os.lstat(self.sources[source] / rel_path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (st.st_size, st.st_mtime_ns)

    def _flush_loop(self) -> None:
        tick = min(max(self.debounce_s / 4, 0.05), 0.5)
        while not self._stop.wait(tick):
            try:
                self.flush()
            except Exception:  # keep watching; the next tick or reconcile retries
                log.exception("watcher flush failed")

    def _reconcile_loop(self) -> None:
        while not self._stop.wait(self.reconcile_interval_s):
            try:
                self.reconcile_all()
            except Exception:  # keep watching; the next period retries
                log.exception("periodic reconcile failed")
