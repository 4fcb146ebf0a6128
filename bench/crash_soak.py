"""Crash soak of embedded ingestion: `verity ingest` SIGKILLed at random moments, many times.

    PYTHONPATH=. python bench/crash_soak.py --kills 500 [--docs 40]

A folder of Markdown documents is edited between trials (paragraphs changed, files deleted
and put back); each trial starts `verity ingest` on it (one process: catalog on SQLite, Qdrant
Edge, the parser child) and SIGKILLs the process group after a random delay drawn across a
whole run (start-up, parse, commit, index). Every `--check-every` trials, and at the end, an
ingest runs to completion and the invariants are checked against the folder:

- lost: a file whose document has no current version, or one of other bytes;
- duplicated: two versions in a row with the same bytes, or two documents for one file;
- two visible versions: index points of a document naming more than one version, or a
  version that is not current; a deleted file still current or still in the index.

Prints one JSON object: kills landed (the process was still running), where they landed
(before the run's first commit — start-up, parsing, embedding — or after some), and the counts
above (all must be 0).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from core.settings import Settings
from verity.wiring import build_indexer, open_catalog

TOPICS = ["refunds", "shipping", "sign-in", "invoices", "exports", "alerts", "teams", "billing"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--check-every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--window",
        choices=["run", "commits"],
        default="run",
        help="draw kill delays across a whole run, or across its commits (first to last)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        soak = Soak(Path(folder), rng)
        soak.seed(args.docs)
        print(json.dumps(soak.run(args.kills, args.check_every, args.window), indent=2))


class Soak:
    """The folder, the trials and the checks."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.docs = root / "kb"
        self.rng = rng
        self.env = {
            **os.environ,
            "VERITY_DATA_DIR": str(root / "data"),
            "VERITY_SETTLE_S": "0",
            # one ONNX export for every run (made by the first, unkilled one)
            "VERITY_MODEL_CACHE_DIR": str(root / "models"),
        }
        self.deleted: dict[str, str] = {}
        self.stages: Counter[str] = Counter()
        self.delays: list[float] = []
        self.problems: Counter[str] = Counter()
        self.examples: list[str] = []
        self.checks = 0

    def seed(self, count: int) -> None:
        self.docs.mkdir(parents=True)
        for n in range(count):
            self.write(f"doc-{n:03d}.md", 0)

    def write(self, name: str, trial: int) -> None:
        topic = self.rng.choice(TOPICS)
        paragraphs = [
            f"Paragraph {p} about {topic}: revision {trial}, value {self.rng.randint(0, 10**9)}."
            for p in range(self.rng.randint(2, 8))
        ]
        (self.docs / name).write_text(f"# {name} on {topic}\n\n" + "\n\n".join(paragraphs) + "\n")

    def mutate(self, trial: int) -> None:
        names = sorted(p.name for p in self.docs.glob("*.md"))
        for name in self.rng.sample(names, k=min(len(names), self.rng.randint(4, 16))):
            if self.rng.random() < 0.15:
                self.deleted[name] = (self.docs / name).read_text()
                (self.docs / name).unlink()
            else:
                self.write(name, trial)
        for name in list(self.deleted):
            if self.rng.random() < 0.5:
                (self.docs / name).write_text(self.deleted.pop(name))

    def ingest(self) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "verity", "ingest", str(self.docs), "--source", "kb"]
        return subprocess.Popen(
            command,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: the parser child dies with it
        )

    def complete(self) -> tuple[float, float, float]:
        """An unkilled ingest: how long it took, and when its first and last commits came."""
        started = time.monotonic()
        before = self.changes() if (self.root / "data" / "catalog.db").exists() else 0
        first = last = 0.0
        process = self.ingest()
        while process.poll() is None:
            if (self.root / "data" / "catalog.db").exists() and self.changes() != before:
                before = self.changes()
                last = time.monotonic() - started
                first = first or last
            time.sleep(0.05)
        err = process.stderr.read() if process.stderr else ""
        if process.returncode not in (0, 1):  # 1: some file failed (reported, not lost)
            raise SystemExit(f"a full ingest failed ({process.returncode}): {err[-2000:]}")
        return time.monotonic() - started, first, last

    def run(self, kills: int, check_every: int, window: str) -> dict[str, Any]:
        self.complete()  # the first ingest, unkilled (it also exports the model once)
        self.mutate(0)
        span, first, last = self.complete()  # a whole run with edits: kills land across it
        low, high = (first, last + 0.2) if window == "commits" else (0.0, span)
        landed = trials = 0
        while landed < kills:
            trials += 1
            self.mutate(trials)
            delay = self.rng.uniform(low, high)
            before = self.changes()
            process = self.ingest()
            time.sleep(delay)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                landed += 1
                self.delays.append(delay)
                self.stages[
                    "before its first commit" if self.changes() == before else "after some commits"
                ] += 1
            process.wait()
            if process.stderr is not None:
                process.stderr.close()
            if trials % check_every == 0:
                self.check()
                print(  # a run cut short still says how far it got
                    f"kills {landed}, trials {trials}, {dict(self.stages)}, {dict(self.problems)}",
                    file=sys.stderr,
                    flush=True,
                )
        self.check()
        return {
            "kills_landed": landed,
            "trials": trials,
            "full_run_s": round(span, 1),
            "kill_window_s": [round(low, 2), round(high, 2)],
            "kill_delay_s_median": round(statistics.median(self.delays), 2),
            "kills_by_stage": dict(self.stages.most_common()),
            "checks": self.checks,
            "lost": self.problems["lost"],
            "duplicated": self.problems["duplicated"],
            "two_visible_versions": self.problems["two_visible_versions"],
            "deleted_still_visible": self.problems["deleted_still_visible"],
            "examples": self.examples[:10],
        }

    def check(self) -> None:
        """Recover with a whole ingest, then compare catalog and index with the folder."""
        self.complete()
        self.checks += 1
        settings = Settings(data_dir=self.root / "data")
        indexer = build_indexer(settings, open_catalog(settings))
        catalog = indexer.catalog
        try:
            on_disk = {p.name: p.read_bytes() for p in self.docs.glob("*.md")}
            documents = {d.doc_id: d for d in catalog.documents("kb")}
            for name, data in on_disk.items():
                self.check_file(indexer, f"kb/{name}", data, documents.get(f"kb/{name}"))
            for doc_id, doc in documents.items():
                if doc_id.removeprefix("kb/") in on_disk:
                    continue
                with indexer.active.use() as collection:
                    points = collection.index.count(doc_id)
                if doc.current_version is not None or points:
                    self.problem("deleted_still_visible", f"{doc_id}: {points} points")
        finally:
            indexer.active.close()
            catalog.close()

    def check_file(self, indexer: Any, doc_id: str, data: bytes, doc: Any) -> None:
        catalog = indexer.catalog
        if doc is None or doc.current_version is None:
            self.problem("lost", f"{doc_id}: no current version")
            return
        current = catalog.version(doc_id, doc.current_version)
        if current.sha256 != hashlib.sha256(data).hexdigest():
            self.problem("lost", f"{doc_id}: current v{doc.current_version} is other bytes")
        versions = catalog.versions(doc_id)
        ended = {t.last_version for t in catalog.tombstones(doc_id)}  # deleted, then put back
        for older, newer in itertools.pairwise(versions):
            if older.sha256 == newer.sha256 and older.version not in ended:
                self.problem("duplicated", f"{doc_id}: v{older.version} = v{newer.version}")
        with indexer.active.use() as collection:
            seen = set(collection.index.chunk_versions(doc_id).values())
        if seen != {doc.current_version}:
            self.problem("two_visible_versions", f"{doc_id}: index holds {sorted(seen)}")

    def changes(self) -> int:
        """Versions and deletions committed so far (read straight from the SQLite catalog)."""
        path = self.root / "data" / "catalog.db"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            try:
                versions = db.execute("select count(*) from document_versions").fetchone()[0]
                tombs = db.execute("select count(*) from tombstones").fetchone()[0]
            except sqlite3.OperationalError:  # the first run has not created its tables yet
                return 0
        return int(versions) + int(tombs)

    def problem(self, kind: str, example: str) -> None:
        self.problems[kind] += 1
        self.examples.append(f"{kind}: {example}")


if __name__ == "__main__":
    main()
