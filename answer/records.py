"""What the answer layer needs of the catalog, and nothing more: the audit log and the
conversations it writes, the resolutions it serves, the versions it confirms current, and the
stored chunks a cited version or a replayed answer is read back from.

`catalog.Catalog` satisfies it; the answer layer's modules take this instead, so they cannot
reach ingestion's tables (sources, failures, jobs, keys, the embedding cache) by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from catalog.answers import AnswerLog, Conversations
from catalog.resolutions import Resolutions
from core.ports import GenerationCounter
from schemas.records import Chunk, DocumentVersion, SourceDocument


class AnswerRecords(Protocol):
    """The catalog as the answer layer sees it."""

    @property
    def answers(self) -> AnswerLog: ...

    @property
    def conversations(self) -> Conversations: ...

    @property
    def resolutions(self) -> Resolutions: ...

    @property
    def generations(self) -> GenerationCounter: ...

    def current_versions(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each of `doc_ids` that has one."""
        ...

    def document(self, doc_id: str) -> SourceDocument | None:
        """The document `doc_id` (any status), if the catalog knows it."""
        ...

    def version(self, doc_id: str, version: int) -> DocumentVersion | None:
        """One stored version of a document."""
        ...

    def chunks(self, doc_id: str, version: int) -> list[Chunk]:
        """The chunks of one version, in order."""
        ...
