"""The watcher on real folders with real inotify: debounce, settle, moves, reconcile."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog import Catalog
from ingest.chunking import ChunkPolicy
from ingest.parsing import ParserPool
from ingest.reconcile import plan
from ingest.runner import InProcessRunner
from ingest.tasks import IngestContext, Limits, run_task
from ingest.watcher import FolderWatcher
from schemas.tasks import IngestFile, SyncIndex
from tests.helpers.documents import write

MB = 2**20


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class World:
    """A source folder, a catalog, the runner and a watcher over the folder."""

    def __init__(self, tmp_path: Path, pool: ParserPool, reconcile_interval_s: float = 300) -> None:
        self.root = tmp_path / "kb"
        self.root.mkdir(exist_ok=True)
        self.catalog = Catalog(f"sqlite:///{tmp_path / 'w.db'}")
        self.catalog.migrate()
        self.catalog.register_source("kb", self.root)
        self.ctx = IngestContext(
            self.catalog, pool, Limits(max_file_bytes=MB, settle_s=1.0), ChunkPolicy()
        )
        self.runner = InProcessRunner(lambda task: run_task(self.ctx, task), retry_delay_s=0.2)
        self.watcher = FolderWatcher(
            {"kb": self.root},
            self.runner,
            lambda source, root: plan(self.catalog, source, root),
            debounce_s=0.3,
            reconcile_interval_s=reconcile_interval_s,
        )

    def versions(self, name: str) -> list[int]:
        return [v.version for v in self.catalog.versions(f"kb/{name}")]

    def current_text(self, name: str) -> str:
        version = self.catalog.current_version(f"kb/{name}")
        assert version is not None
        return "\n".join(c.text for c in self.catalog.chunks(f"kb/{name}", version.version))

    def settle(self) -> None:
        time.sleep(0.8)  # longer than debounce + a flush tick
        assert self.runner.join(timeout=60)

    def close(self) -> None:
        self.watcher.stop()
        self.runner.close()
        self.catalog.close()


@pytest.fixture
def world(tmp_path: Path, parser_pool: ParserPool) -> Iterator[World]:
    w = World(tmp_path, parser_pool)
    w.watcher.start()
    yield w
    w.close()


def test_a_new_file_is_ingested(world: World) -> None:
    write(world.root / "guide.md", "# Guide\n\nHello there.")
    wait_for(lambda: world.versions("guide.md") == [1])
    assert world.current_text("guide.md") == "Hello there."


def test_an_editor_save_via_temp_file_and_rename_makes_one_version(world: World) -> None:
    write(world.root / "guide.md", "# Guide\n\nfirst")
    wait_for(lambda: world.versions("guide.md") == [1])
    write(world.root / ".guide.md.swp", "junk")
    write(world.root / "guide.md.tmp", "# Guide\n\nsecond")
    os.replace(world.root / "guide.md.tmp", world.root / "guide.md")
    (world.root / ".guide.md.swp").unlink()
    wait_for(lambda: world.versions("guide.md") == [1, 2])
    world.settle()
    assert world.versions("guide.md") == [1, 2]
    assert world.current_text("guide.md") == "second"
    assert [d.doc_id for d in world.catalog.documents()] == ["kb/guide.md"]


def test_a_burst_of_saves_makes_one_version(world: World) -> None:
    path = world.root / "guide.md"
    for i in range(10):
        write(path, f"# Guide\n\nsave number {i}")
        time.sleep(0.05)
    wait_for(lambda: world.versions("guide.md") != [])
    world.settle()
    assert world.versions("guide.md") == [1]
    assert world.current_text("guide.md") == "save number 9"


def test_a_file_still_being_written_is_never_read_half_way(world: World) -> None:
    path = world.root / "big.md"
    parts = [f"Paragraph {i} of a slow upload.\n\n" for i in range(8)]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# Upload\n\n")
        for part in parts:  # pauses longer than the debounce, shorter than the settle time
            handle.write(part)
            handle.flush()
            time.sleep(0.45)
    wait_for(lambda: world.versions("big.md") != [])
    world.settle()
    assert world.versions("big.md") == [1]
    assert world.current_text("big.md").count("slow upload") == 8


def test_delete_and_rename_are_seen(world: World) -> None:
    write(world.root / "a.md", "# A\n\nalpha")
    write(world.root / "b.md", "# B\n\nbeta")
    wait_for(lambda: world.versions("a.md") == [1] and world.versions("b.md") == [1])
    (world.root / "a.md").unlink()
    os.rename(world.root / "b.md", world.root / "c.md")
    wait_for(lambda: world.versions("c.md") == [1])
    world.settle()
    status = {d.doc_id: d.status.value for d in world.catalog.documents()}
    assert status == {"kb/a.md": "deleted", "kb/b.md": "deleted", "kb/c.md": "active"}


def test_a_folder_moved_away_tombstones_its_documents(world: World) -> None:
    write(world.root / "sub" / "x.md", "# X\n\nsome text")
    wait_for(lambda: world.versions("sub/x.md") == [1])
    os.rename(world.root / "sub", world.root / "moved")
    wait_for(lambda: world.versions("moved/x.md") == [1])
    world.settle()
    assert world.catalog.document("kb/sub/x.md").status.value == "deleted"


def test_temp_hidden_and_lock_files_are_ignored(world: World) -> None:
    for name in (".hidden.md", "~$lock.docx", "draft.md~", "x.md.swp", ".~lock.a.docx#"):
        write(world.root / name, "# T\n\ntemp")
    write(world.root / "real.md", "# R\n\nreal")
    wait_for(lambda: world.versions("real.md") == [1])
    world.settle()
    assert [d.doc_id for d in world.catalog.documents()] == ["kb/real.md"]
    assert world.catalog.failures.list() == []


def test_start_reconciles_what_changed_while_stopped(
    tmp_path: Path, parser_pool: ParserPool
) -> None:
    first = World(tmp_path, parser_pool)
    for name in ("keep.md", "edit.md", "gone.md", "old-name.md"):
        write(first.root / name, f"# {name}\n\noriginal {name}")
    first.watcher.start()
    wait_for(lambda: len(first.catalog.summaries()) == 4)
    first.close()
    write(first.root / "edit.md", "# edit\n\nedited while stopped")
    (first.root / "gone.md").unlink()
    os.rename(first.root / "old-name.md", first.root / "new-name.md")
    write(first.root / "new.md", "# new\n\nadded while stopped")
    time.sleep(1.1)  # past the settle time
    second = World(tmp_path, parser_pool)
    second.watcher.start()
    assert second.runner.join(timeout=60)
    rows = {
        s.document.rel_path: (s.document.current_version, s.document.status.value)
        for s in second.catalog.summaries()
    }
    second.close()
    assert rows == {
        "keep.md": (1, "active"),
        "edit.md": (2, "active"),
        "gone.md": (None, "deleted"),
        "old-name.md": (None, "deleted"),
        "new-name.md": (1, "active"),
        "new.md": (1, "active"),
    }


def test_periodic_reconcile_catches_events_inotify_dropped(
    tmp_path: Path, parser_pool: ParserPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = World(tmp_path, parser_pool, reconcile_interval_s=1.0)
    monkeypatch.setattr(w.watcher, "note", lambda source, rel_path: None)  # every event lost
    w.watcher.start()
    write(w.root / "missed.md", "# Missed\n\nno event ever arrived")
    try:
        wait_for(lambda: w.versions("missed.md") == [1], timeout=30)
        assert w.watcher.reconciles >= 2
    finally:
        w.close()


@pytest.mark.slow
def test_two_thousand_files_dropped_at_once_are_all_in_the_catalog(
    tmp_path: Path, parser_pool: ParserPool
) -> None:
    w = World(tmp_path, parser_pool)
    w.watcher.start()
    try:

        def drop() -> None:
            for i in range(2000):
                write(
                    w.root / f"batch{i // 500}" / f"doc{i:04d}.md",
                    f"# Doc {i}\n\nBody of document {i}.",
                )

        dropper = threading.Thread(target=drop)
        dropper.start()
        dropper.join()
        time.sleep(1.1)
        w.watcher.reconcile_all()
        assert w.runner.join(timeout=900)
        live = [s for s in w.catalog.summaries() if s.document.current_version == 1]
        assert len(live) == 2000
        assert all(s.chunk_count == 1 for s in live)
        assert w.catalog.failures.list() == []
    finally:
        w.close()


def test_several_watched_folders_are_separate_sources(
    tmp_path: Path, parser_pool: ParserPool
) -> None:
    w = World(tmp_path, parser_pool)
    manuals = tmp_path / "manuals"
    manuals.mkdir()
    w.catalog.register_source("manuals", manuals)
    w.watcher = FolderWatcher(
        {"kb": w.root, "manuals": manuals},
        w.runner,
        lambda source, root: plan(w.catalog, source, root),
        debounce_s=0.3,
    )
    w.watcher.start()
    try:
        write(w.root / "same.md", "# KB\n\nfrom the knowledge base")
        write(manuals / "same.md", "# Manual\n\nfrom the manuals")
        wait_for(
            lambda: {d.doc_id for d in w.catalog.documents()} == {"kb/same.md", "manuals/same.md"}
        )
        assert w.current_text("same.md") == "from the knowledge base"
    finally:
        w.close()


def test_every_reconcile_also_submits_the_periodic_tasks(tmp_path: Path) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.tasks: list[object] = []

        def submit(self, task: object) -> None:
            self.tasks.append(task)

    root = tmp_path / "kb"
    write(root / "a.md", "# A\n\nalpha")
    recorder = Recorder()
    watcher = FolderWatcher(
        {"kb": root},
        recorder,
        lambda source, r: [IngestFile(source=source, rel_path="a.md")],
        periodic_tasks=(SyncIndex(),),
    )  # type: ignore[arg-type]
    watcher.reconcile_all()
    watcher.reconcile_all()
    assert recorder.tasks == [IngestFile(source="kb", rel_path="a.md"), SyncIndex()] * 2
