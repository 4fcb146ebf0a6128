"""One long-running process, started and stopped in one order: `verity serve`, `up`, `watch`
and `worker` are each a `Runtime` with a role.

| role   | ingest service                 | watcher | follows the catalog     | serves   |
|--------|--------------------------------|---------|-------------------------|----------|
| serve  | with the index                 | no      | when workers ingest     | the API  |
| up     | with the index                 | yes     | when workers ingest     | the API  |
| watch  | with the index if it runs tasks | yes    | no                      | /metrics |
| worker | one per task thread (Celery)   | no      | no                      | /metrics |

`start` warms the parser (in the background), starts the watcher and the follower, and begins
a rebuild when the settings name a model the index was not built with; `stop` undoes it in
reverse and closes the parser process, the runner, the index and the catalog (safe to call
twice).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from core.settings import Settings
from core.telemetry import QUEUE_DEPTH
from core.topology import Topology
from index.follower import IndexFollower
from index.indexer import Indexer
from ingest.watcher import FolderWatcher
from verity.wiring import (
    IngestService,
    build_app,
    build_ingest,
    build_worker_app,
    model_change_pending,
    rebuild_in_background,
)

if TYPE_CHECKING:
    from celery import Celery
    from fastapi import FastAPI

Role = Literal["serve", "up", "watch", "worker"]
log = logging.getLogger("verity")


@dataclass
class Runtime:
    """The parts one process runs for its role, over one `Topology`."""

    settings: Settings
    role: Role
    topology: Topology
    service: IngestService | None = None
    watcher: FolderWatcher | None = None
    follower: IndexFollower | None = None
    _stopped: bool = field(default=False, init=False)

    @classmethod
    def open(cls, settings: Settings, role: Role) -> Runtime:
        """Build (not start) what `role` runs."""
        topology = Topology.of(settings)
        runtime = cls(settings, role, topology)
        if role == "worker":
            return runtime  # each Celery task thread builds its own context
        holds_index = role != "watch" or topology.submitter_indexes
        runtime.service = build_ingest(settings, with_index=holds_index)
        if role in ("up", "watch"):
            runtime.watcher = runtime.service.watcher(settings)
        if role in ("serve", "up") and topology.api_follows_catalog:
            runtime.follower = IndexFollower(runtime.indexer, settings.follow_interval_s)
        return runtime

    @property
    def indexer(self) -> Indexer:
        """The index this process holds (`ConfigError` when it holds none)."""
        assert self.service is not None, "a worker runtime holds no index of its own"
        return self.service.indexer

    def start(self) -> None:
        """Start what `open` built; log what this process does."""
        service = self.service
        if service is not None:
            if self.watcher is not None:  # warm the parser meanwhile: watching begins at once
                threading.Thread(target=service.context.parser.start, name="verity-warm").start()
                self.watcher.start()
            runner = service.runner
            QUEUE_DEPTH.set_function(getattr(runner, "queue_depth", None) or runner.pending)
            if self.follower is not None:
                self.follower.start()
            indexer = service.context.indexer
            if indexer is not None and model_change_pending(self.settings, indexer):
                rebuild_in_background(indexer, self.settings.embedding_key)
        if self.role in ("watch", "worker") and self.settings.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(self.settings.metrics_port)
        log.info("%s: %s", self.role, self.topology.describe())

    def app(self) -> FastAPI:
        """The HTTP API over this process's ingest service (`serve`, `up`)."""
        assert self.service is not None
        return build_app(self.settings, self.service)

    def worker_app(self) -> Celery:
        """The Celery app a `worker` runs."""
        return build_worker_app(self.settings)

    def stop(self) -> None:
        """Stop the watcher and the follower, close the ingest service (once)."""
        if self._stopped:
            return
        self._stopped = True
        if self.watcher is not None:
            self.watcher.stop()
        if self.follower is not None:
            self.follower.stop()
        if self.service is not None:
            self.service.close()
