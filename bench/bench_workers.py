"""Celery workers on Redis: throughput, and crash trials (SIGKILL mid-ingest) at scale.

    PYTHONPATH=. python bench/bench_workers.py crash --trials 10 --docs 100
    PYTHONPATH=. python bench/bench_workers.py soak --kills 100 --docs 100
    PYTHONPATH=. python bench/bench_workers.py throughput --docs 300

`soak` runs its own redis-server (append-only file, fsync every second, as docker-compose
does) and, in rounds of `--docs` documents, SIGKILLs the worker (and its parser process) or
Redis five times per round at random points of progress, restarting each; then every task must
finish with each document committed exactly once. A worker that exits on its own is started
again, as docker-compose's `restart: unless-stopped` does, and counted.

Needs Redis (VERITY_BENCH_REDIS_URL, default redis://127.0.0.1:6379/10) and PostgreSQL
(VERITY_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test): each run
creates and drops its own database. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, func, select, text

from catalog import Catalog
from catalog.tables import document_versions
from core.settings import Settings
from ingest.celery_app import create_app
from ingest.celery_runner import CeleryRunner
from schemas.tasks import IngestFile
from tests.helpers.workers import PrivateRedis, start_worker, stop_worker
from verity.wiring import open_catalog

PG = os.environ.get("VERITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("VERITY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["crash", "soak", "throughput"])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument(
        "--minutes", type=float, default=0, help="soak: start no new round after this (0: none)"
    )
    parser.add_argument("--docs", type=int, default=100)
    args = parser.parse_args()
    database = f"verity_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'create database "{database}"'))
    redis.Redis.from_url(REDIS).flushdb()
    try:
        with tempfile.TemporaryDirectory() as folder:
            run = {"crash": crash, "soak": soak, "throughput": throughput}[args.mode]
            print(json.dumps(run(Path(folder), PG.rsplit("/", 1)[0] + f"/{database}", args)))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'drop database if exists "{database}" with (force)'))


def environment(folder: Path, database_url: str) -> dict[str, str]:
    env = {
        "VERITY_DATA_DIR": str(folder / "data"),
        "VERITY_DATABASE_URL": database_url,
        "VERITY_BROKER_URL": REDIS,
        "VERITY_QUEUE": f"verity-bench-{uuid.uuid4().hex[:6]}",
        "VERITY_SETTLE_S": "0",
        "VERITY_TASK_TIME_LIMIT_S": "10",
        "VERITY_LOCK_TTL_S": "3",
    }
    os.environ.update(env)
    return env


def setup(folder: Path, database_url: str) -> tuple[dict[str, str], Catalog, Path, CeleryRunner]:
    """Worker settings, the catalog with source `kb` registered, and a submitting runner."""
    env = environment(folder, database_url)
    settings = Settings()
    catalog = open_catalog(settings)
    root = folder / "kb"
    root.mkdir()
    catalog.register_source("kb", root)
    return env, catalog, root, CeleryRunner(create_app(settings))


def write_docs(root: Path, prefix: str, count: int) -> list[str]:
    paths = []
    for i in range(count):
        rel = f"{prefix}/doc-{i:04d}.md"
        (root / prefix).mkdir(parents=True, exist_ok=True)
        words = " ".join(f"{prefix}w{i}x{j}" for j in range(120))
        (root / rel).write_text(f"# {prefix} {i}\n\n{words}\n")
        paths.append(rel)
    return paths


def crash(folder: Path, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    env, catalog, root, runner = setup(folder, database_url)
    log = folder / "worker.log"
    lost = duplicated = 0
    recovery: list[float] = []
    done_at_kill: list[int] = []
    for trial in range(args.trials):
        paths = write_docs(root, f"t{trial}", args.docs)
        doc_ids = sorted(f"kb/{p}" for p in paths)
        kill_after = random.randint(1, args.docs - 1)
        worker = start_worker(env, log)
        for rel in paths:
            runner.submit(IngestFile(source="kb", rel_path=rel))
        while len(catalog.current_versions(doc_ids)) < kill_after:
            time.sleep(0.01)
        stop_worker(worker, hard=True)
        killed = time.monotonic()
        done_at_kill.append(len(catalog.current_versions(doc_ids)))
        worker = start_worker(env, log)
        assert runner.join(timeout=600), "tasks did not finish"
        recovery.append(time.monotonic() - killed)
        stop_worker(worker)
        counts = _version_counts(catalog, doc_ids)
        lost += sum(1 for d in doc_ids if d not in counts)
        duplicated += sum(1 for n in counts.values() if n > 1)
    runner.close()
    dead = len(catalog.dead_letters.list())
    catalog.close()
    return {
        "trials": args.trials,
        "docs_per_trial": args.docs,
        "done_at_kill_median": statistics.median(done_at_kill),
        "lost": lost,
        "duplicated": duplicated,
        "dead_letters": dead,
        "recovery_s_median": round(statistics.median(recovery), 1),
        "recovery_s_max": round(max(recovery), 1),
    }


def soak(folder: Path, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    (folder / "redis").mkdir()
    server = PrivateRedis(folder / "redis", persist=True)
    server.start()
    os.environ["VERITY_BROKER_URL"] = server.url
    global REDIS  # noqa: PLW0603 (the environment() of this run names the soak's server)
    REDIS = server.url
    env, catalog, root, runner = setup(folder, database_url)
    log = folder / "worker.log"
    rng = random.Random(5)
    kills: Counter[str] = Counter()
    lost = duplicated = stalls = 0
    rounds = 0
    supervisor = Supervisor(env, log)
    try:
        stop_at = time.monotonic() + args.minutes * 60 if args.minutes else float("inf")
        while sum(kills.values()) < args.kills and time.monotonic() < stop_at:
            rounds += 1
            paths = write_docs(root, f"s{rounds}", args.docs)
            doc_ids = sorted(f"kb/{p}" for p in paths)
            supervisor.start()
            for rel in paths:
                runner.submit(IngestFile(source="kb", rel_path=rel))
            targets = sorted(rng.sample(range(1, args.docs), 5))
            for target in targets:
                if not _wait_committed(catalog, doc_ids, target, supervisor, timeout=90):
                    stalls += 1
                victim = rng.choice(["worker", "redis"])
                kills[victim] += 1
                if victim == "worker":
                    supervisor.kill()
                else:
                    server.kill()
                    time.sleep(rng.uniform(0.2, 2.0))
                    server.start()
            deadline = time.monotonic() + 1200
            while not runner.join(timeout=5):
                supervisor.keep_up()
                assert time.monotonic() < deadline, "tasks did not finish"
            supervisor.stop()
            counts = _version_counts(catalog, doc_ids)
            lost += sum(1 for d in doc_ids if d not in counts)
            duplicated += sum(1 for n in counts.values() if n > 1)
    finally:
        runner.close()
        server.kill()
    dead = len(catalog.dead_letters.list())
    catalog.close()
    return {
        "rounds": rounds,
        "docs_per_round": args.docs,
        "kills": dict(kills),
        "kills_total": sum(kills.values()),
        "waits_without_progress": stalls,
        "worker_exits_restarted": supervisor.restarts,
        "lost": lost,
        "duplicated": duplicated,
        "dead_letters": dead,
    }


class Supervisor:
    """One `verity worker`, started again if it exits on its own (as a container restart
    policy would); SIGKILLed on demand."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.worker: Any = None
        self.restarts = 0

    def start(self) -> None:
        self.worker = start_worker(self.env, self.log)

    def keep_up(self) -> None:
        if self.worker is not None and self.worker.poll() is not None:
            self.restarts += 1
            self.start()

    def kill(self) -> None:
        stop_worker(self.worker, hard=True)
        self.start()

    def stop(self) -> None:
        stop_worker(self.worker)
        self.worker = None


def _wait_committed(
    catalog: Catalog, doc_ids: list[str], target: int, supervisor: Supervisor, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while len(catalog.current_versions(doc_ids)) < target:
        if time.monotonic() > deadline:
            return False
        supervisor.keep_up()
        time.sleep(0.05)
    return True


def _version_counts(catalog: Catalog, doc_ids: list[str]) -> dict[str, int]:
    query = (
        select(document_versions.c.doc_id, func.count())
        .where(document_versions.c.doc_id.in_(doc_ids))
        .group_by(document_versions.c.doc_id)
    )
    with catalog.engine.connect() as conn:
        return {doc: int(n) for doc, n in conn.execute(query).all()}


def throughput(folder: Path, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    env, catalog, root, runner = setup(folder, database_url)
    figures: dict[str, Any] = {"docs": args.docs}
    for workers in (1, 2):
        paths = write_docs(root, f"w{workers}", args.docs)
        started = [start_worker(env, folder / "worker.log") for _ in range(workers)]
        runner.submit(IngestFile(source="kb", rel_path=paths[0]))  # warm: parser process up
        assert runner.join(timeout=300)
        began = time.monotonic()
        for rel in paths[1:]:
            runner.submit(IngestFile(source="kb", rel_path=rel))
        assert runner.join(timeout=600)
        figures[f"docs_per_s_{workers}_worker"] = round(
            (len(paths) - 1) / (time.monotonic() - began), 1
        )
        for worker in started:
            stop_worker(worker)
    runner.close()
    catalog.close()
    return figures


if __name__ == "__main__":
    main()
