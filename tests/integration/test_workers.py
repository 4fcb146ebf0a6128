"""The distributed mode: tasks through real Redis to real `verity worker` processes, the
catalog on real PostgreSQL, and the embedded index following the catalog.

What users rely on: a burst of file events indexes each document exactly once; a worker
killed mid-task loses nothing and duplicates nothing once a worker is back; Redis down
during a drop loses nothing; a task that keeps killing its worker is dead-lettered.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery.exceptions import Reject
from sqlalchemy import func, select

from catalog import Catalog
from catalog.tables import document_versions
from core.settings import Settings
from index.active import Embedders
from index.follower import IndexFollower
from index.indexer import Indexer
from ingest.celery_app import TASK_NAME, create_app
from ingest.celery_runner import CeleryRunner
from ingest.deliveries import Deliveries
from ingest.tasks import IngestContext
from schemas.tasks import IngestFile, TaskResult
from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.helpers.documents import write
from tests.helpers.http import cites, post_json, wait_for_answer
from tests.helpers.index import edge_index
from tests.helpers.workers import free_port, private_redis, start_worker, stop_worker

# a database of its own per pytest-xdist process (gw0: 9, gw1: 10, ...): tests flush it
_XDIST = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("VERITY_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{9 + _XDIST}")

pytestmark = pytest.mark.timeout(600)


@dataclass
class World:
    """A source folder, the catalog, the settings workers get, and a submitting runner."""

    root: Path
    env: dict[str, str]
    settings: Settings
    catalog: Catalog
    runner: CeleryRunner
    logs: Path

    def worker(self, concurrency: int = 2):  # type: ignore[no-untyped-def]
        return start_worker(self.env, self.logs / "worker.log", concurrency)

    def log_text(self) -> str:
        path = self.logs / "worker.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture
def broker_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: run scripts/services.sh ({exc})")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    name, url = _fresh_pg_database(pg_admin_url)
    yield url
    _drop_pg_database(pg_admin_url, name)


@contextmanager
def make_world(
    tmp_path: Path, broker: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    root = tmp_path / "kb"
    root.mkdir(exist_ok=True)
    env = {
        "VERITY_DATA_DIR": str(tmp_path / "data"),
        "VERITY_DATABASE_URL": database_url,
        "VERITY_BROKER_URL": broker,
        "VERITY_QUEUE": f"verity-test-{uuid.uuid4().hex[:8]}",
        "VERITY_SETTLE_S": "0",
        "VERITY_TASK_TIME_LIMIT_S": "10",  # a killed worker's tasks come back after ~15 s
        "VERITY_LOCK_TTL_S": "3",
        "VERITY_RETRY_BACKOFF_S": "0.2",
        "VERITY_TASK_RETRIES": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    from verity.wiring import open_catalog

    catalog = open_catalog(settings)
    catalog.register_source("kb", root)
    runner = CeleryRunner(create_app(settings))
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    try:
        yield World(root, env, settings, catalog, runner, logs)
    finally:
        runner.close()
        catalog.close()


@pytest.fixture
def world(
    tmp_path: Path, broker_url: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with make_world(tmp_path, broker_url, pg_url, monkeypatch) as made:
        yield made


def write_docs(root: Path, prefix: str, count: int) -> list[str]:
    """`count` Markdown files, each with text of its own; returns their relative paths."""
    paths = []
    for i in range(count):
        rel = f"{prefix}/doc-{i:03d}.md"
        words = " ".join(f"{prefix}term{i}w{j}" for j in range(40))
        write(root / rel, f"# {prefix} document {i}\n\nThis page explains item {i}. {words}.\n")
        paths.append(rel)
    return paths


def versions_per_document(catalog: Catalog) -> dict[str, int]:
    """doc_id → how many versions the catalog holds of it."""
    query = select(document_versions.c.doc_id, func.count()).group_by(document_versions.c.doc_id)
    with catalog.engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def assert_exactly_once(world: World, doc_ids: set[str]) -> None:
    """Every document ingested once: one version, current, no failure, no dead letter."""
    counts = versions_per_document(world.catalog)
    assert {d: counts.get(d) for d in doc_ids} == dict.fromkeys(doc_ids, 1)
    current = world.catalog.current_versions(sorted(doc_ids))
    assert current == dict.fromkeys(doc_ids, 1)
    assert world.catalog.failures.list() == []
    assert world.catalog.dead_letters.list() == []


BURST = 120  # documents, each announced twice, across two workers of two threads


def test_a_burst_of_events_indexes_each_document_exactly_once(
    world: World, tmp_path: Path, embedders: Embedders
) -> None:
    paths = write_docs(world.root, "burst", BURST)
    workers = [world.worker(), world.worker()]
    try:
        for rel in paths + paths:  # every file announced twice, as watchdog does (create, modify)
            world.runner.submit(IngestFile(source="kb", rel_path=rel))
        assert world.runner.join(timeout=300), world.log_text()
    finally:
        for worker in workers:
            stop_worker(worker)
    results = world.runner.results()
    assert len(results) == 2 * BURST
    assert sum(r.versions_created for r in results) == BURST
    odd = [r for r in results if not (r.unchanged or r.versions_created)]
    assert sum(r.unchanged for r in results) == BURST, odd  # the odd ones say why
    doc_ids = {f"kb/{rel}" for rel in paths}
    assert_exactly_once(world, doc_ids)

    # the embedded index (owned by this process, as by `verity serve`) follows the catalog
    active = edge_index(tmp_path / "index", embedders)
    try:
        follower = IndexFollower(Indexer(world.catalog, active))
        first = follower.catch_up()
        assert first.embedded + first.from_cache == BURST
        with active.use() as collection:
            assert collection.index.count() == BURST
        assert not follower.catch_up().changed  # nothing new: nothing embedded again
        write(world.root / paths[0], "# Burst document 0\n\nRewritten: the answer is now 42.")
        world.catalog.register_source("kb", world.root)
        again = CeleryRunner(create_app(world.settings))
        worker = world.worker(concurrency=1)
        try:
            again.submit(IngestFile(source="kb", rel_path=paths[0]))
            assert again.join(timeout=120), world.log_text()
        finally:
            stop_worker(worker)
            again.close()
        edited = follower.catch_up()
        assert (edited.embedded, edited.removed) == (1, 1)
    finally:
        active.close()


def test_a_worker_killed_mid_task_loses_nothing_and_duplicates_nothing(world: World) -> None:
    for trial in range(2):  # bench/crash_soak.py kills hundreds of times; here, twice
        paths = write_docs(world.root, f"trial{trial}", 60)
        doc_ids = {f"kb/{rel}" for rel in paths}
        worker = world.worker()
        try:
            for rel in paths:
                world.runner.submit(IngestFile(source="kb", rel_path=rel))
            deadline = time.monotonic() + 120
            while len(world.catalog.current_versions(sorted(doc_ids))) < 5:
                assert time.monotonic() < deadline, world.log_text()
                time.sleep(0.02)
        finally:
            stop_worker(worker, hard=True)  # SIGKILL: no warm shutdown, no ack
        done_at_kill = len(world.catalog.current_versions(sorted(doc_ids)))
        assert done_at_kill < len(doc_ids), "the worker finished before it was killed"
        worker = world.worker()
        try:
            assert world.runner.join(timeout=180), world.log_text()
        finally:
            stop_worker(worker)
        assert_exactly_once(world, doc_ids)


def test_a_task_the_broker_lost_is_sent_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # what a worker SIGKILLed between taking a message and recording it unacknowledged leaves
    runner = CeleryRunner(create_app(world.settings), rescue_after_s=2)
    try:
        paths = write_docs(world.root, "lost", 3)
        for rel in paths:
            runner.submit(IngestFile(source="kb", rel_path=rel))
        broker = redis.Redis.from_url(world.settings.broker_url)
        lost = broker.rpop(world.settings.queue)  # one message gone, unacknowledged nowhere
        assert lost is not None
        lost_id = json.loads(lost)["headers"]["id"]
        worker = world.worker()
        try:
            with caplog.at_level("WARNING", logger="ingest.celery_runner"):
                assert runner.join(timeout=90), world.log_text()
            assert [r for r in caplog.messages if f"task {lost_id} " in r and "was lost" in r]
            assert_exactly_once(world, {f"kb/{rel}" for rel in paths})
            results = runner.results()
            assert (len(results), sum(r.versions_created for r in results)) == (3, 3)
            # the message was only late after all (a worker slow to record it): delivered now,
            # it reports what its resend did, under the id the runner knew it by
            broker.rpush(world.settings.queue, lost)
            late = TaskResult.model_validate(runner.app.AsyncResult(lost_id).get(timeout=60))
            assert (late.versions_created, late.unchanged) == (1, 0)
        finally:
            stop_worker(worker)
        assert_exactly_once(world, {f"kb/{rel}" for rel in paths})
    finally:
        runner.close()


def test_redis_down_during_a_drop_loses_nothing(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        private_redis(tmp_path) as server,
        make_world(tmp_path, server.url, pg_url, monkeypatch) as world,
    ):
        paths = write_docs(world.root, "outage", 20)
        server.stop()
        started = time.monotonic()
        for rel in paths:  # the files land while Redis is down
            world.runner.submit(IngestFile(source="kb", rel_path=rel))
        assert time.monotonic() - started < 10  # submitting does not hang the watcher
        assert world.runner.pending() == 20
        assert not world.runner.join(timeout=1)
        server.start()
        worker = world.worker()
        try:
            assert world.runner.join(timeout=180), world.log_text()
        finally:
            stop_worker(worker)
        assert sum(r.versions_created for r in world.runner.results()) == 20
        assert len(world.catalog.current_versions([f"kb/{rel}" for rel in paths])) == 20


def test_a_task_that_keeps_killing_its_worker_is_dead_lettered(world: World) -> None:
    write_docs(world.root, "poison", 1)
    app = create_app(world.settings)
    deliveries = Deliveries(redis.Redis.from_url(world.settings.broker_url or ""))
    # as if delivered three times already, each time dying with its worker
    for _ in range(world.settings.max_deliveries):
        deliveries.delivered("poison-task:0")
    poison = IngestFile(source="kb", rel_path="poison/doc-000.md")
    app.send_task(TASK_NAME, args=[poison.model_dump(mode="json")], task_id="poison-task")
    # and a task that fails on every try (its source is not registered)
    world.runner.submit(IngestFile(source="nowhere", rel_path="a.md"))
    worker = world.worker(concurrency=1)
    try:
        deadline = time.monotonic() + 120
        while len(world.catalog.dead_letters.list()) < 2:
            assert time.monotonic() < deadline, world.log_text()
            time.sleep(0.2)
        assert world.runner.join(timeout=60)
    finally:
        stop_worker(worker)
    letters = {letter.task_id: letter for letter in world.catalog.dead_letters.list()}
    assert letters["poison-task"].reason == "redelivered"
    assert letters["poison-task"].task == poison
    assert world.catalog.document("kb/poison/doc-000.md") is None  # not run a fourth time
    (other,) = [v for k, v in letters.items() if k != "poison-task"]
    assert other.reason == "retries_exhausted"
    assert other.attempts == 2
    assert "unknown source 'nowhere'" in other.message
    (result,) = world.runner.results()
    assert result.failed == 1 and "dead letter" in (result.error or "")


def test_a_document_lock_is_held_by_one_worker_and_lapses_when_its_holder_dies(
    broker_url: str,
) -> None:
    deliveries = Deliveries(redis.Redis.from_url(broker_url))
    with deliveries.document_lock("kb/a.md", ttl_s=1.0, wait_s=0.1) as held:
        assert held
        time.sleep(1.5)  # renewed while held: longer than its ttl
        with deliveries.document_lock("kb/a.md", ttl_s=1.0, wait_s=0.1) as other:
            assert not other
        with deliveries.document_lock("kb/b.md", ttl_s=1.0, wait_s=0.1) as unrelated:
            assert unrelated
    with deliveries.document_lock("kb/a.md", ttl_s=1.0, wait_s=0.1) as after:
        assert after
    # a holder that died without releasing: the lock lapses after its ttl
    redis.Redis.from_url(broker_url).lock("verity:lock:kb/c.md", timeout=1.0).acquire()
    with deliveries.document_lock("kb/c.md", ttl_s=1.0, wait_s=2.0) as late:
        assert late


def test_dead_letters_are_listed_by_the_cli_and_a_worker_needs_a_broker(
    world: World, tmp_path: Path
) -> None:
    task = IngestFile(source="kb", rel_path="gone.md")
    world.catalog.dead_letters.record("t-1", task, "redelivered", "died three times", 3)
    env = {**os.environ, **world.env}
    listed = subprocess.run(
        [sys.executable, "-m", "verity", "failures", "--dead", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    [letter] = json.loads(listed.stdout)
    assert (letter["task_id"], letter["task"]["rel_path"]) == ("t-1", "gone.md")
    assert letter["attempts"] == 3
    env.pop("VERITY_BROKER_URL")
    refused = subprocess.run(
        [sys.executable, "-m", "verity", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2
    assert "VERITY_BROKER_URL" in refused.stderr


def test_up_with_workers_answers_from_what_the_workers_ingested(
    tmp_path: Path, broker_url: str
) -> None:
    """The embedded index with workers: the watcher submits to Redis, a worker writes the
    catalog (SQLite here), the API process follows the catalog into its Qdrant Edge index."""
    root = tmp_path / "kb"
    write(root / "billing.md", "# Billing\n\nRefunds reach the original card within five days.")
    port = free_port()
    env = {
        "VERITY_DATA_DIR": str(tmp_path / "data"),
        "VERITY_BROKER_URL": broker_url,
        "VERITY_QUEUE": f"verity-test-{uuid.uuid4().hex[:8]}",
        "VERITY_WATCH_DIRS": f"kb={root}",
        "VERITY_DEBOUNCE_S": "0.2",
        "VERITY_SETTLE_S": "0.3",
        "VERITY_API_PORT": str(port),
        "VERITY_FOLLOW_INTERVAL_S": "0.3",
    }
    full_env = {**os.environ, **env}
    full_env.pop("VERITY_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "verity", "up"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = start_worker({**env, "VERITY_DATABASE_URL": ""}, tmp_path / "worker.log")
    base = f"http://127.0.0.1:{port}"
    question = {"question": "How long do refunds take?"}
    try:
        answer = wait_for_answer(base, question, lambda a: a["status"] == "answered", server)
        assert answer["citations"][0]["version"] == 1 and "five days" in answer["text"]
        write(root / "billing.md", "# Billing\n\nRefunds reach the original card within ten days.")
        # meanwhile an answer may be declined as `index_changing`: the catalog has version 2
        # and the index not yet (the snapshot contract refuses to cite version 1)
        answer = wait_for_answer(base, question, lambda a: cites(a, "kb/billing.md", 2), server)
        assert "ten days" in answer["text"]
        upload = {
            "source": "kb",
            "path": "shipping.md",
            "content_base64": base64.b64encode(
                b"# Shipping\n\nParcels to Iceland take nine days by sea freight."
            ).decode(),
        }
        assert post_json(f"{base}/v1/documents", upload)["action"] == "ingest"
        iceland = {"question": "How long do parcels to Iceland take?"}
        answer = wait_for_answer(
            base,
            iceland,
            lambda a: cites(a, "kb/shipping.md", 1),
            server,
        )
        assert "nine days" in answer["text"]
    finally:
        stop_worker(worker)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "ingested kb/billing.md v2" in (tmp_path / "worker.log").read_text()


def test_a_delivery_that_cannot_reach_redis_is_handed_back_not_failed(
    ctx: IngestContext, kb: Path, tmp_path: Path
) -> None:
    # Redis down as the delivery starts (counting it): failing the task would acknowledge and
    # lose the message; it is rejected back to the queue instead (or, with Redis unreachable
    # for that too, left unacknowledged until the visibility timeout returns it)
    settings = Settings(data_dir=tmp_path / "data", broker_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings, lambda: ctx)
    write(kb / "a.md", "# A\n\nAlpha.\n")
    payload = IngestFile(source="kb", rel_path="a.md").model_dump(mode="json")
    outcome = app.tasks[TASK_NAME].apply(args=[payload])
    assert outcome.state == "REJECTED", (outcome.state, outcome.result)
    assert isinstance(outcome.result, Reject) and outcome.result.requeue
    assert ctx.catalog.document("kb/a.md") is None  # not run: it runs when delivered again
