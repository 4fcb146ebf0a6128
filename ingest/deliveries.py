"""At-least-once bookkeeping on Redis, beside the broker: how often a task message has been
delivered (a worker that dies mid-task gets it again; a message that kills every worker must
stop coming back), a per-document lock so two workers never index one document at once, and
the result of each finished task, so that a repeat delivery of it reports what the first did.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from core.ids import document_id
from ingest.files import printable_path
from schemas.tasks import DeleteFile, IngestFile, SyncIndex, Task

PREFIX = "verity"
COUNT_TTL_S = 7 * 24 * 3600


def lock_name(task: Task) -> str:
    """What a task must hold: its document, or the whole catalog for work over many."""
    if isinstance(task, IngestFile | DeleteFile):
        return document_id(task.source, printable_path(task.rel_path))
    if isinstance(task, SyncIndex) and task.doc_id is not None:
        return task.doc_id
    return "*all*"


class Deliveries:
    """Delivery counts and document locks kept in Redis."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def delivered(self, key: str) -> int:
        """Count one more delivery of the message `key`; returns how many there have been."""
        name = f"{self.prefix}:deliveries:{key}"
        with self.client.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, COUNT_TTL_S)
            count, _ = pipe.execute()
        return int(count)

    def finished(self, key: str) -> None:
        """The message was handled: forget its count."""
        self.client.delete(f"{self.prefix}:deliveries:{key}")

    def remember(self, task_id: str, result: dict[str, Any], ttl_s: float) -> None:
        """Keep the result of the finished task `task_id` for `ttl_s` seconds."""
        self.client.set(f"{self.prefix}:done:{task_id}", json.dumps(result), ex=int(ttl_s))

    def recall(self, task_id: str) -> dict[str, Any] | None:
        """The result `task_id` finished with, if it has finished (and is still remembered)."""
        raw = self.client.get(f"{self.prefix}:done:{task_id}")
        return None if raw is None else dict(json.loads(raw))

    @contextmanager
    def document_lock(self, name: str, ttl_s: float, wait_s: float) -> Iterator[bool]:
        """Hold the lock of `name` (yields False if another worker kept it for `wait_s`).

        The lock lapses `ttl_s` after its holder stops renewing it (a killed worker), so the
        document is not blocked for longer than that.
        """
        lock = self.client.lock(
            f"{self.prefix}:lock:{name}", timeout=ttl_s, blocking_timeout=wait_s, thread_local=False
        )
        if not lock.acquire():
            yield False
            return
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(ttl_s / 3):
                try:
                    lock.reacquire()
                except redis.RedisError:
                    return

        renewer = threading.Thread(target=renew, name="verity-lock-renew", daemon=True)
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join()
            # lapsed meanwhile (or Redis is gone): nothing to release
            with contextlib.suppress(redis.RedisError):
                lock.release()
