"""Ports: the small protocols behind which backends can be swapped."""

from __future__ import annotations

from typing import Protocol

from schemas.tasks import Task, TaskResult


class TaskRunner(Protocol):
    """Runs ingestion tasks. In-process now; Celery later, calling the same task functions."""

    def submit(self, task: Task) -> None:
        """Queue one task; returns at once."""

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued task has run; False on timeout."""

    def results(self) -> list[TaskResult]:
        """Results of the tasks run so far, oldest first."""

    def close(self) -> None:
        """Stop accepting work and release resources."""
