"""Which process does what, decided once from the settings.

Two choices shape a deployment: where the index lives (Qdrant Edge in the serving process's
data folder, or a Qdrant server every process shares) and who runs ingest tasks (the process
that submits them, or Celery workers). Everything else follows from those two, here and
nowhere else:

| index  | tasks      | who writes the index                       | the API process            |
|--------|------------|--------------------------------------------|----------------------------|
| edge   | in process | the process running the tasks              | indexes what it ingests    |
| edge   | workers    | the API process (workers write the catalog) | follows the catalog        |
| server | in process | the process running the tasks              | indexes what it ingests    |
| server | workers    | the workers                                | follows the shared alias   |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.settings import Settings

IndexHost = Literal["edge", "server"]
TaskHost = Literal["in_process", "workers"]


@dataclass(frozen=True)
class Topology:
    """Where the index lives and who runs ingest tasks, with what follows from them."""

    index: IndexHost
    tasks: TaskHost

    @classmethod
    def of(cls, settings: Settings) -> Topology:
        return cls(
            index="server" if settings.qdrant_url else "edge",
            tasks="workers" if settings.broker_url else "in_process",
        )

    @property
    def workers_index(self) -> bool:
        """Celery workers index what they ingest: only when the index is shared (a server);
        the embedded index belongs to one process, which follows the catalog instead."""
        return self.tasks == "workers" and self.index == "server"

    @property
    def submitter_indexes(self) -> bool:
        """A command that submits tasks runs them itself, so it opens the index too."""
        return self.tasks == "in_process"

    @property
    def api_follows_catalog(self) -> bool:
        """The API process embeds what workers wrote to the catalog (they cannot reach its
        embedded index)."""
        return self.tasks == "workers" and self.index == "edge"

    @property
    def alias_shared(self) -> bool:
        """Other processes may switch the active collection (a server's alias): follow it."""
        return self.index == "server"

    def heals_index(self, holds_index: bool) -> bool:
        """Whether a watcher's periodic reconcile also syncs the whole index: when whoever
        runs its tasks holds the index (this process holding it, or workers on a server)."""
        return self.workers_index if self.tasks == "workers" else holds_index

    def describe(self) -> str:
        """One line for logs: `index on edge, tasks in process`."""
        tasks = "in process" if self.tasks == "in_process" else "on workers"
        return f"index on {self.index}, tasks {tasks}"
