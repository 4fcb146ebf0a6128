"""The in-process task runner: one worker thread runs tasks in order, with retries.

Bursts coalesce (a task already waiting is not queued twice). A task deferred because
its file is still being written runs again after `retry_delay_s`, at most
`max_deferrals` times; a task that lost a race on the catalog (`ConcurrentUpdate`)
runs again at once, at most `max_conflicts` times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from core.backoff import CONFLICT
from core.errors import ConcurrentUpdate
from schemas.tasks import Task, TaskResult

log = logging.getLogger(__name__)

Handler = Callable[[Task], TaskResult]


class InProcessRunner:
    """Runs tasks on one background thread; the embedded default's `TaskRunner`."""

    def __init__(
        self,
        handler: Handler,
        *,
        retry_delay_s: float = 0.5,
        max_deferrals: int = 40,
        max_conflicts: int = 5,
        keep_results: int = 10_000,
    ) -> None:
        self._handler = handler
        self.retry_delay_s = retry_delay_s
        self.max_deferrals = max_deferrals
        self.max_conflicts = max_conflicts
        self._queue: deque[tuple[Task, int]] = deque()
        self._waiting: set[Task] = set()
        self._delayed: list[tuple[float, Task, int]] = []
        self._busy = False
        self._closed = False
        self._results: deque[TaskResult] = deque(maxlen=keep_results)
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="verity-runner", daemon=True)
        self._thread.start()

    def submit(self, task: Task) -> None:
        """Queue a task unless the same one is already waiting."""
        self._enqueue(task, 0)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued, delayed or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._delayed or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
        return True

    def results(self) -> list[TaskResult]:
        """Results of finished tasks, oldest first (deferred attempts are not listed)."""
        with self._cond:
            return list(self._results)

    def pending(self) -> int:
        """Tasks queued, delayed or running."""
        with self._cond:
            return len(self._queue) + len(self._delayed) + int(self._busy)

    def close(self) -> None:
        """Finish the task at hand, drop the rest, stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=60)

    def _enqueue(self, task: Task, deferrals: int) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("runner is closed")
            if task in self._waiting:
                return
            self._waiting.add(task)
            self._queue.append((task, deferrals))
            self._cond.notify_all()

    def _next(self) -> tuple[Task, int] | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                for item in [d for d in self._delayed if d[0] <= now]:
                    self._delayed.remove(item)
                    if item[1] not in self._waiting:
                        self._waiting.add(item[1])
                        self._queue.append((item[1], item[2]))
                if self._queue:
                    task, deferrals = self._queue.popleft()
                    self._waiting.discard(task)
                    self._busy = True
                    return task, deferrals
                wait = min((d[0] for d in self._delayed), default=now + 1.0) - now
                self._cond.wait(max(wait, 0.01))
            return None

    def _work(self) -> None:
        while (item := self._next()) is not None:
            task, deferrals = item
            try:
                self._run(task, deferrals)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _run(self, task: Task, deferrals: int) -> None:
        result: TaskResult | None = None
        for attempt in range(self.max_conflicts):
            try:
                result = self._handler(task)
                break
            except ConcurrentUpdate as exc:
                log.info("retrying after a concurrent update: %s", exc)
                time.sleep(CONFLICT.delay(attempt))
            except Exception as exc:  # keep the runner alive; the failure is logged and kept
                log.exception("task %s failed unexpectedly", task)
                result = TaskResult(task=task, failed=1, error=f"{type(exc).__name__}: {exc}")
                break
        else:
            result = TaskResult(task=task, failed=1, error="gave up after concurrent updates")
        if result.deferred and deferrals < self.max_deferrals:
            with self._cond:
                due = time.monotonic() + self.retry_delay_s
                self._delayed.append((due, task, deferrals + 1))
            return
        with self._cond:
            self._results.append(result)
