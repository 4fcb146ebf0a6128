"""The Celery adapter: ingest tasks delivered through Redis to `verity worker` processes.

The worker calls the same task functions as the in-process runner (`ingest.tasks.run_task`).
Delivery is at-least-once and every task is idempotent, so a repeat is harmless:
- `acks_late` + `task_reject_on_worker_lost`: a message is acknowledged after its task ran;
  a worker process that dies mid-task hands it back instead of losing it;
- Redis' `visibility_timeout` just over the task time limit (a whole worker killed: its
  unacknowledged message returns then), restored by kombu every second or so, not every ~100 s;
- every delivery is counted (`Deliveries`): a message delivered `max_deliveries` times
  without finishing (it kills its worker) is dead-lettered instead of looping;
- a per-document lock, so two workers never index two versions of one document at once;
- a task's result is remembered under its id: a second delivery of a finished task (a message
  Redis restored while its first delivery was still running, a task the runner sent again)
  returns the first delivery's result instead of overwriting it with "unchanged";
- any error raised by a task is retried with exponential backoff; after the last retry the
  task becomes a dead letter (file-level problems such as a corrupt PDF never get here: the
  task functions record them as ingest failures);
- Redis itself unreachable mid-delivery (counting, locking, publishing a retry): the message is
  rejected back to the queue, or, if even that cannot reach Redis, left unacknowledged for the
  visibility timeout to return; never failed and acknowledged, which would lose it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from celery import Celery
from celery import Task as CeleryTask
from celery.exceptions import Reject
from celery.signals import worker_shutdown
from kombu.exceptions import OperationalError as KombuOperationalError
from pydantic import TypeAdapter

from core.alerts import raise_alert
from core.backoff import CONFLICT, Backoff
from core.errors import ConcurrentUpdate
from core.settings import Settings
from core.telemetry import DEAD_LETTERS, TRACE_ID
from ingest.deliveries import Deliveries, lock_name
from ingest.tasks import IngestContext, run_task
from schemas.tasks import Task, TaskResult

log = logging.getLogger(__name__)

TASK_NAME = "verity.run_task"
#: Redis (the broker, the delivery counts and locks) not answering.
BROKER_DOWN = (redis.ConnectionError, redis.TimeoutError, KombuOperationalError)
TASKS: TypeAdapter[Task] = TypeAdapter(Task)
MAX_DEFERRALS = 40  # a file still being written: tried again this often, `settle_s` apart
LOCK_WAIT_S = 5.0
RESULT_TTL_S = 24 * 3600  # results kept in the backend, and remembered against repeats

ContextFactory = Callable[[], IngestContext]


def create_app(settings: Settings, context: ContextFactory | None = None) -> Celery:
    """The Celery app; `context` builds a worker process's task context (workers only)."""
    if not settings.broker_url:
        raise ValueError("VERITY_BROKER_URL is not set")
    app = Celery(
        "verity",
        broker=settings.broker_url,
        # results in the catalog's database (Celery's own tables): polled, and kept through a
        # Redis outage; Redis' result backend blocks a submit for ~20 s while Redis is down
        backend=settings.result_backend or f"db+{settings.catalog_url}",
        set_as_current=False,
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_timeout=False,  # a task killed at its time limit comes back (and is counted)
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_s,
        task_default_queue=settings.queue,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=RESULT_TTL_S,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
        # a submit to a broker that is down fails fast; the runner keeps the task and resends
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        worker_hijack_root_logger=False,
    )
    if context is not None:
        worker = WorkerSide(settings, context)

        def run_delivered(
            self: CeleryTask, payload: dict[str, Any], deferrals: int = 0, failures: int = 0
        ) -> dict[str, Any]:
            return worker.deliver(self, payload, deferrals, failures)

        app.task(name=TASK_NAME, bind=True, max_retries=None)(run_delivered)
        worker_shutdown.connect(worker.close, weak=False)
    return app


class WorkerSide:
    """What a worker process does with one delivered task message."""

    def __init__(self, settings: Settings, context: ContextFactory) -> None:
        self.settings = settings
        self._factory = context
        self._context: IngestContext | None = None
        self._building = threading.Lock()
        self._deliveries: Deliveries | None = None

    def context(self) -> IngestContext:
        """The worker's task context (shared by its task threads), built on first use."""
        with self._building:
            if self._context is None:
                self._context = self._factory()
            return self._context

    def deliveries(self) -> Deliveries:
        """Delivery counts and locks on the broker's Redis."""
        if self._deliveries is None:
            assert self.settings.broker_url is not None
            self._deliveries = Deliveries(redis.Redis.from_url(self.settings.broker_url))
        return self._deliveries

    def deliver(
        self,
        request_task: CeleryTask,
        payload: dict[str, Any],
        deferrals: int = 0,
        failures: int = 0,
    ) -> dict[str, Any]:
        """Run one task message (the body of the Celery task `verity.run_task`)."""
        task = TASKS.validate_python(payload)
        request = request_task.request
        token = TRACE_ID.set(str(request.id).replace("-", ""))  # log lines name the task
        try:
            return self._deliver(request_task, task, payload, deferrals, failures)
        except BROKER_DOWN as exc:
            log.warning(
                "task %s: Redis is unreachable (%s); handed back to the queue", request.id, exc
            )
            raise Reject(exc, requeue=True) from exc
        finally:
            TRACE_ID.reset(token)

    def _deliver(
        self,
        request_task: CeleryTask,
        task: Task,
        payload: dict[str, Any],
        deferrals: int,
        failures: int,
    ) -> dict[str, Any]:
        request = request_task.request
        key = f"{request.id}:{request.retries}"
        deliveries = self.deliveries()
        count = deliveries.delivered(key)
        if count > self.settings.max_deliveries:
            deliveries.finished(key)
            message = (
                f"delivered {count - 1} times without finishing (its worker died each time); "
                "not tried again"
            )
            return self._dead_letter(request_task, task, "redelivered", message, count - 1)
        name = lock_name(task)
        try:
            with deliveries.document_lock(name, self.settings.lock_ttl_s, LOCK_WAIT_S) as held:
                if not held:
                    raise ConcurrentUpdate(f"{name} is being indexed by another worker")
                earlier = deliveries.recall(request.id)
                if earlier is not None:
                    log.info("task %s: a repeat of a finished task; result kept", request.id)
                    return earlier
                result = run_task(self.context(), task)
                if not result.deferred:
                    answer = result.model_dump(mode="json")
                    deliveries.remember(request.id, answer, RESULT_TTL_S)
                    return answer
        except ConcurrentUpdate as exc:
            log.info("task %s: %s; again in a moment", request.id, exc)
            raise request_task.retry(countdown=CONFLICT.delay(0)) from exc
        except Exception as exc:
            if failures >= self.settings.task_retries:
                message = f"gave up after {failures + 1} attempts: {type(exc).__name__}: {exc}"
                return self._dead_letter(
                    request_task, task, "retries_exhausted", message, failures + 1
                )
            delay = Backoff(self.settings.retry_backoff_s).delay(failures)
            log.warning("task %s failed (%s); retry in %.1f s", request.id, exc, delay)
            raise request_task.retry(
                args=[payload, deferrals, failures + 1], exc=exc, countdown=delay
            ) from exc
        finally:  # this delivery ended (in a result, a retry or a dead letter): not a crash
            deliveries.finished(key)
        if deferrals < MAX_DEFERRALS:  # deferred: the file is still being written
            raise request_task.retry(
                args=[payload, deferrals + 1, failures], countdown=max(self.settings.settle_s, 0.25)
            )
        return result.model_dump(mode="json")

    def _dead_letter(
        self, request_task: CeleryTask, task: Task, reason: str, message: str, attempts: int
    ) -> dict[str, Any]:
        task_id = request_task.request.id
        log.error("task %s dead-lettered (%s): %s", task_id, reason, message)
        DEAD_LETTERS.labels(reason).inc()
        raise_alert("dead_letter", f"task {task_id} given up: {message}", task=task.model_dump())
        try:
            self.context().catalog.dead_letters.record(task_id, task, reason, message, attempts)
        except Exception as exc:  # the catalog is down too: keep the message, try later
            log.error("cannot record the dead letter of %s (%s); kept for later", task_id, exc)
            raise request_task.retry(countdown=60) from exc
        failed = TaskResult(task=task, failed=1, error=f"dead letter: {message}")
        return failed.model_dump(mode="json")

    def close(self, **_: Any) -> None:
        """Release the worker's context (the parser process, the index, the database)."""
        with self._building:
            context, self._context = self._context, None
        if context is not None:
            context.close()
