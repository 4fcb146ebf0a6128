"""Fixtures that build small real worlds: folders of files, catalogs on SQLite and
PostgreSQL, the real parser process."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One ONNX export for the whole run, shared by every data folder and CLI subprocess.
os.environ.setdefault(
    "VERITY_MODEL_CACHE_DIR", str(Path(tempfile.gettempdir()) / "verity-test-models")
)

from catalog import Catalog
from core.ports import Embedder
from core.settings import Settings
from index.active import Embedders
from index.sparse import Bm25Encoder
from ingest.chunking import ChunkPolicy
from ingest.parsing import ParserPool
from ingest.tasks import IngestContext, Limits
from tests.helpers.models import DEFAULT_KEY, projected_model, truncated_model
from verity.wiring import load_embedder

PG_ADMIN_URL = os.environ.get(
    "VERITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MB = 2**20


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL server the tests use (`make test` starts it if it is down)."""
    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # the message says what to do
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL}: run scripts/services.sh ({exc})"
        )
    finally:
        engine.dispose()
    return PG_ADMIN_URL


def _fresh_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"verity_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    engine.dispose()
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'drop database if exists "{name}" with (force)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty catalog database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name, url = _fresh_pg_database(admin)
    try:
        yield url
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """A migrated catalog on each backend."""
    store = Catalog(catalog_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture(scope="session")
def parser_pool() -> Iterator[ParserPool]:
    """The real parser process (shared: it takes seconds to start)."""
    pool = ParserPool(timeout_s=60, memory_mb=1024, max_inflated_bytes=20 * MB)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real embedding model as the product runs it by default (packaged MiniLM on
    onnxruntime, int8: `DEFAULT_KEY`), loaded once."""
    return load_embedder(Settings(), DEFAULT_KEY)


@pytest.fixture(scope="session")
def embedders(embedder: Embedder) -> Embedders:
    """Embedding models by id: the default one (shared), any other id (and runtime: `#onnx`,
    none for torch) loaded for real."""
    return Embedders(
        lambda key: embedder if key == embedder.model_id else load_embedder(Settings(), key)
    )


@pytest.fixture(scope="session")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The id (a local folder) of a second real model: MiniLM projected to 96 dimensions."""
    return str(projected_model(tmp_path_factory.mktemp("models") / "minilm-96"))


@pytest.fixture(scope="session")
def worse_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The id (a local folder) of a deliberately worse model: MiniLM reading three tokens."""
    return str(truncated_model(tmp_path_factory.mktemp("models") / "minilm-3-tokens"))


@pytest.fixture(scope="session")
def bm25() -> Bm25Encoder:
    """The BM25 sparse encoder."""
    return Bm25Encoder()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """An empty source folder."""
    root = tmp_path / "kb"
    root.mkdir()
    return root


@pytest.fixture
def ctx(tmp_path: Path, kb: Path, parser_pool: ParserPool) -> Iterator[IngestContext]:
    """Task context over a SQLite catalog with source `kb` registered."""
    store = Catalog(f"sqlite:///{tmp_path / 'ctx.db'}")
    store.migrate()
    store.register_source("kb", kb)
    yield IngestContext(
        catalog=store,
        parser=parser_pool,
        limits=Limits(max_file_bytes=5 * MB, max_attempts=3),
        policy=ChunkPolicy(max_words=120, min_words=30),
    )
    store.close()
