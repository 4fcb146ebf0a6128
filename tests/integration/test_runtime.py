"""The runtime of `verity up`, in this process: open, start, a dropped file answered through
the app, stop (twice is safe); and what each role builds."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from core.settings import Settings, WatchDir
from schemas.admin import Role
from tests.helpers.documents import write
from verity.runtime import Runtime


def test_up_watches_indexes_and_answers_then_stops_once(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    write(root / "refunds.md", "# Refunds\n\nRefunds reach the original card within five days.")
    settings = Settings(
        data_dir=tmp_path / "data",
        watch_dirs=[WatchDir(name="kb", root=root)],
        settle_s=0,
        debounce_s=0.05,
    )
    runtime = Runtime.open(settings, "up")
    assert runtime.watcher is not None and runtime.follower is None  # embedded: it indexes
    assert runtime.topology.describe() == "index on edge, tasks in process"
    try:
        runtime.start()
        key = runtime.service.catalog.keys.create(Role.AGENT).key  # type: ignore[union-attr]
        with TestClient(runtime.app(), headers={"X-API-Key": key}) as client:
            deadline = time.monotonic() + 60
            while client.get("/readyz").json().get("chunks", 0) < 1:
                assert time.monotonic() < deadline, "the watched file was never indexed"
                time.sleep(0.1)
            answer = client.post("/v1/chat", json={"question": "How long do refunds take?"})
        assert answer.status_code == 200
        assert "five days" in answer.json()["text"]
    finally:
        runtime.stop()
    runtime.stop()  # safe twice: nothing left to close
    assert runtime.service is not None and runtime.service.runner.pending() == 0


def test_each_role_builds_only_what_it_runs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", watch_dirs=[WatchDir(name="kb", root=tmp_path)])
    serve = Runtime.open(settings, "serve")
    try:
        assert serve.watcher is None and serve.indexer is not None
    finally:
        serve.stop()
    worker = Runtime.open(settings, "worker")
    assert worker.service is None  # each Celery task thread builds its own context
    worker.stop()
