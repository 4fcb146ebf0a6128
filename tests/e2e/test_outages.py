"""Outages of the parts the API stands on: the catalog's PostgreSQL refusing connections is a
503 problem with Retry-After (and the service answers again when it is back); the CLI says so
in one line; a damaged Qdrant Edge shard is a `VectorIndexError`, never a bare exception."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from core.errors import VectorIndexError
from core.settings import Settings
from index.edge import EdgeIndex
from schemas.admin import Role
from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.helpers.index import ingested
from verity.cli import main
from verity.wiring import build_app

PROBLEM = "application/problem+json"


class Database:
    """A PostgreSQL database of its own that the test can take down and bring back."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name, self.url = _fresh_pg_database(admin_url)

    def _admin(self, *statements: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()

    def down(self) -> None:
        """New connections refused, every open one cut (as a restart does)."""
        self._admin(
            f'alter database "{self.name}" allow_connections false',
            "select pg_terminate_backend(pid) from pg_stat_activity "
            f"where datname = '{self.name}' and pid <> pg_backend_pid()",
        )

    def up(self) -> None:
        self._admin(f'alter database "{self.name}" allow_connections true')


@pytest.fixture
def database(pg_admin_url: str) -> Iterator[Database]:
    db = Database(pg_admin_url)
    try:
        yield db
    finally:
        db.up()
        _drop_pg_database(pg_admin_url, db.name)


def test_a_catalog_outage_is_a_503_and_the_service_recovers(
    tmp_path: Path, database: Database
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database.url, allow_local_without_key=False
    )
    service = ingested(tmp_path, {"refunds.md": "# Refunds\n\nRefunds take five days.\n"}, settings)
    key = {"X-API-Key": service.catalog.keys.create(Role.AGENT).key}
    ask = {"question": "How long do refunds take?"}
    try:
        with TestClient(build_app(settings, service), raise_server_exceptions=False) as client:
            assert client.post("/v1/chat", json=ask, headers=key).status_code == 200
            database.down()
            for method, path, body in (
                ("post", "/v1/chat", ask),
                ("get", "/v1/conversations", None),
                ("get", "/readyz", None),
            ):
                reply = client.request(method, path, json=body, headers=key)
                assert reply.status_code == 503, (path, reply.text)
                assert reply.headers["content-type"] == PROBLEM
                assert reply.headers["retry-after"] == "5"
                detail = reply.json()["detail"]
                assert "catalog" in detail and "\n" not in detail, detail
            database.up()
            back = client.post("/v1/chat", json=ask, headers=key)
            assert back.status_code == 200, back.text
            assert back.json()["status"] == "answered"
    finally:
        service.close()


def test_the_cli_says_the_database_is_down_in_one_line(
    tmp_path: Path,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_DATABASE_URL", database.url)
    assert main(["docs"]) == 0
    database.down()
    code = main(["docs"])
    err = capsys.readouterr().err.strip()
    assert code in (1, 2)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "catalog" in err and ("unavailable" in err or "cannot" in err)


def test_a_damaged_edge_shard_is_a_vector_index_error(tmp_path: Path) -> None:
    index = EdgeIndex(tmp_path / "shard", 4)
    index.close()
    (tmp_path / "shard" / "edge_config.json").write_text("{half-written")
    with pytest.raises(VectorIndexError, match="Qdrant Edge could not load the shard"):
        EdgeIndex(tmp_path / "shard", 4)
