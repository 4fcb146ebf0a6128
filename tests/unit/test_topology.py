"""Which process does what, from the two settings that decide it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from core.topology import Topology

BROKER = "redis://127.0.0.1:6379/0"
QDRANT = "http://127.0.0.1:6333"


@pytest.mark.parametrize(
    ("broker", "qdrant", "expected"),
    [
        (None, None, (False, True, False, False)),
        (BROKER, None, (False, False, True, False)),
        (None, QDRANT, (False, True, False, True)),
        (BROKER, QDRANT, (True, False, False, True)),
    ],
)
def test_the_two_settings_decide_who_writes_the_index(
    tmp_path: Path, broker: str | None, qdrant: str | None, expected: tuple[bool, ...]
) -> None:
    workers_index, submitter_indexes, follows, shared = expected
    topology = Topology.of(Settings(data_dir=tmp_path, broker_url=broker, qdrant_url=qdrant))
    assert topology.workers_index is workers_index
    assert topology.submitter_indexes is submitter_indexes
    assert topology.api_follows_catalog is follows
    assert topology.alias_shared is shared
    # a watcher heals the whole index only where its tasks' runner holds it
    assert topology.heals_index(holds_index=True) is (workers_index or broker is None)
    assert topology.heals_index(holds_index=False) is workers_index
