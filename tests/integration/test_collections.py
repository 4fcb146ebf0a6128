"""One contract suite for both `CollectionStore`s: Qdrant Edge shard folders with an alias
file, and Qdrant server collections with a real alias (qdrant-client local mode)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from core.errors import VectorIndexError
from core.ports import CollectionSpec, CollectionStore
from index.edge_store import EdgeCollections
from index.server import ServerCollections


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CollectionStore]:
    if request.param == "edge":
        collections: CollectionStore = EdgeCollections(tmp_path / "index")
    else:
        collections = ServerCollections(QdrantClient(":memory:"), "verity_chunks")
    yield collections
    collections.close()


def spec(store: CollectionStore, generation: int, model: str = "org/model-a") -> CollectionSpec:
    return CollectionSpec(store.new_name(model, generation), model, 8, 97.5)


def test_a_new_store_has_no_active_collection(store: CollectionStore) -> None:
    assert store.active() is None
    assert store.names() == []


def test_a_created_collection_records_its_spec_and_becomes_active_when_told(
    store: CollectionStore,
) -> None:
    first = spec(store, 3)
    assert "model-a-g3" in first.name
    store.open(first).close()
    assert store.names() == [first.name]
    assert store.active() is None, "creating is not activating"
    store.activate(first.name)
    assert store.active() == first


def test_the_alias_moves_to_the_new_collection_and_the_old_one_can_then_be_dropped(
    store: CollectionStore,
) -> None:
    old = spec(store, 1)
    store.open(old).close()
    store.activate(old.name)
    new = spec(store, 1, model="org/model-b")
    store.open(new).close()
    with pytest.raises(VectorIndexError, match="active"):
        store.drop(old.name)
    store.activate(new.name)
    assert store.active() == new
    store.drop(old.name)
    assert store.names() == [new.name]


def test_names_are_never_reused_while_a_collection_holds_them(store: CollectionStore) -> None:
    first = spec(store, 5)
    store.open(first).close()
    second = spec(store, 5)
    assert second.name != first.name and "g5" in second.name


def test_reopening_a_collection_with_another_spec_is_refused(store: CollectionStore) -> None:
    first = spec(store, 1)
    store.open(first).close()
    other = CollectionSpec(first.name, first.embedding_model, 16, first.bm25_avg_len)
    with pytest.raises(VectorIndexError, match="holds"):
        store.open(other)


def test_activating_an_unknown_collection_is_refused(store: CollectionStore) -> None:
    with pytest.raises(VectorIndexError, match="no such collection"):
        store.activate("missing")


def test_the_edge_alias_survives_a_restart(tmp_path: Path) -> None:
    first = EdgeCollections(tmp_path / "index")
    made = spec(first, 2)
    first.open(made).close()
    first.activate(made.name)
    assert EdgeCollections(tmp_path / "index").active() == made
    assert not list((tmp_path / "index").glob(".ACTIVE*")), "no temporary file left behind"


def test_a_qdrant_server_that_cannot_be_reached_is_a_clear_index_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = QdrantClient(url=f"http://127.0.0.1:{port}", timeout=2, check_compatibility=False)
    down = ServerCollections(client, "verity_chunks")
    for call in (down.active, down.names, lambda: down.open(CollectionSpec("c", "m", 8, 1.0))):
        with pytest.raises(VectorIndexError, match=r"cannot be reached: .*[Cc]onnection refused"):
            call()
    client.close()
