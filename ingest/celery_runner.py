"""`CeleryRunner`: the `TaskRunner` that sends tasks to Celery workers through the broker.

A task submitted while the broker is down is not lost: it waits in an outbox that is
resent every second until the broker is back (and the watcher's reconcile at start would
find the change again even if this process died meanwhile: the folder is the truth).

Nor is a task a worker was killed while taking: kombu's Redis transport pops a message
from the queue before it records it as unacknowledged, so a SIGKILL between the two loses
it. A task still unfinished long after the visibility timeout, and found neither in the queue
nor among the unacknowledged messages, is sent again under its own id (tasks are idempotent,
and a worker answers a repeat of a finished task with its first result: if the original turns
up after all, the runner still reads one result, the one that did the work).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from celery import Celery
from celery.result import AsyncResult

from ingest.celery_app import TASK_NAME
from schemas.tasks import Task, TaskResult

log = logging.getLogger(__name__)


#: Where kombu's Redis transport keeps messages delivered but not acknowledged yet.
UNACKED = "unacked"


@dataclass
class _Sent:
    """A task sent, its result handle, and when it was sent (monotonic seconds)."""

    task: Task
    result: AsyncResult
    at: float


class CeleryRunner:
    """Submits tasks to the Celery queue; `join` waits for their results."""

    def __init__(
        self,
        app: Celery,
        *,
        resend_every_s: float = 1.0,
        keep_results: int = 10_000,
        rescue_after_s: float | None = None,
    ) -> None:
        self.app = app
        visibility = float(app.conf.broker_transport_options.get("visibility_timeout", 3600))
        self._rescue_after_s = rescue_after_s or 2 * visibility + 5
        self._sent: dict[str, _Sent] = {}
        self._scanned_at = float("-inf")
        self._outbox: deque[tuple[Task, str | None]] = deque()  # a task, its id if it had one
        self._results: deque[TaskResult] = deque(maxlen=keep_results)
        self._lock = threading.Lock()
        self._collecting = threading.Lock()
        self._closed = threading.Event()
        self._resend_every_s = resend_every_s
        self._resender = threading.Thread(target=self._resend, name="verity-outbox", daemon=True)
        self._resender.start()

    def submit(self, task: Task) -> None:
        """Send a task to the workers (kept and resent if the broker is unreachable)."""
        if self._closed.is_set():
            raise RuntimeError("runner is closed")
        with self._lock:
            if self._outbox or not self._send(task):
                self._outbox.append((task, None))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every submitted task has been sent and has finished; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._flush()
            self._collect()
            self._rescue()
            with self._lock:
                if not self._outbox and not self._sent:
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def results(self) -> list[TaskResult]:
        """Results of the finished tasks this runner submitted, in the order they finished."""
        self._collect()
        with self._lock:
            return list(self._results)

    def pending(self) -> int:
        """Tasks not sent yet or not finished."""
        with self._lock:
            return len(self._outbox) + len(self._sent)

    def queue_depth(self) -> int:
        """Tasks waiting in the broker's queue (all submitters), plus this runner's outbox."""
        with self._lock:
            outbox = len(self._outbox)
        try:
            with self.app.connection_for_write() as connection:
                waiting = connection.default_channel.client.llen(self.app.conf.task_default_queue)
        except Exception:  # the broker is down: what this process holds is all it knows
            return outbox
        return int(waiting) + outbox

    def close(self) -> None:
        """Stop resending; tasks left in the outbox are reported (a reconcile finds them again)."""
        self._closed.set()
        self._resender.join(timeout=5)
        with self._lock:
            if self._outbox:
                log.error(
                    "%d task(s) not sent (the broker is down); the next reconcile submits them",
                    len(self._outbox),
                )

    def _send(self, task: Task, task_id: str | None = None) -> bool:
        try:
            result = self.app.send_task(
                TASK_NAME, args=[task.model_dump(mode="json")], task_id=task_id
            )
        except Exception as exc:  # kombu's OperationalError, redis' ConnectionError, …
            log.warning("the broker is unreachable (%s); %s kept to resend", exc, task)
            return False
        self._sent[result.id] = _Sent(task, result, time.monotonic())
        return True

    def _flush(self) -> None:
        with self._lock:
            while self._outbox and self._send(*self._outbox[0]):
                self._outbox.popleft()

    def _collect(self) -> None:
        with self._collecting:  # one reader at a time: a result is forgotten once read
            self._collect_ready()

    def _collect_ready(self) -> None:
        with self._lock:
            sent = [(task_id, entry.result) for task_id, entry in self._sent.items()]
        for task_id, result in sent:
            try:
                if not result.ready():
                    continue
                value = result.get(timeout=1, propagate=False)
            except Exception as exc:  # the result backend is down: ask again later
                log.debug("result of %s not readable yet: %s", task_id, exc)
                continue
            with self._lock:
                self._sent.pop(task_id, None)
                if isinstance(value, dict):
                    self._results.append(TaskResult.model_validate(value))
                else:
                    log.error("task %s ended without a result: %r", task_id, value)
            with contextlib.suppress(Exception):  # else it expires on its own (result_expires)
                result.forget()

    def _resend(self) -> None:
        while not self._closed.wait(self._resend_every_s):
            self._flush()
            self._collect()  # a watcher never joins: finished results must not pile up
            self._rescue()

    def _rescue(self) -> None:
        """Send again the overdue tasks the broker no longer holds (lost with a killed worker)."""
        now = time.monotonic()
        with self._lock:
            overdue = [(i, e) for i, e in self._sent.items() if now - e.at > self._rescue_after_s]
        if not overdue or now - self._scanned_at < min(30.0, self._rescue_after_s / 4):
            return  # the queue is read at most this often, however long the backlog
        self._scanned_at = now
        held = self._held_by_broker()
        if held is None:
            return  # the broker cannot be asked now: try again later
        for task_id, entry in overdue:
            if task_id.encode() in held or entry.result.ready():
                with self._lock:  # still queued or running: it has more time
                    if task_id in self._sent:
                        self._sent[task_id].at = now
                continue
            log.warning("task %s (%s) was lost by the broker; sent again", task_id, entry.task)
            with self._lock:
                if task_id in self._sent and not self._send(entry.task, task_id):
                    self._sent.pop(task_id)
                    self._outbox.append((entry.task, task_id))

    def _held_by_broker(self) -> bytes | None:
        """Every message the broker holds (queued or unacknowledged), as one byte string."""
        try:
            with self.app.connection_for_write() as connection:
                client = connection.default_channel.client
                queued = client.lrange(self.app.conf.task_default_queue, 0, -1)
                unacked = client.hvals(UNACKED)
        except Exception as exc:  # the broker is down: nothing can be told
            log.debug("cannot look for lost tasks: %s", exc)
            return None
        return b"\n".join([*queued, *unacked])
