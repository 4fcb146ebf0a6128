"""Load run: concurrent agents asking the embedded service while owners edit files.

    PYTHONPATH=. python bench/load.py --agents 20 --minutes 10 [--corpus corpora/django]

Copies the corpus to a temporary folder, ingests it, starts `verity up` on it (one process: API,
watcher, Qdrant Edge, SQLite) with one agent key per agent, then for `--minutes`:
each agent asks questions from the agent-session dev set in conversations of 3-6 turns, with a
think time of 0.5-2 s; an editor changes a random file every 2 s (a paragraph appended, or a
file deleted and put back). Prints one JSON object: answers, errors (non-2xx and transport
errors), latency p50/p95, throughput, the edits made, and the server's RSS sampled every 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

QUESTIONS = Path(__file__).parents[1].parent / "shared" / "eval" / "agent_sessions" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--corpus", type=Path, default=Path("corpora/django"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--no-edits", action="store_true", help="agents only: memory without index growth"
    )
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        docs = root / "docs"
        shutil.copytree(args.corpus, docs)
        env = {
            **os.environ,
            "VERITY_DATA_DIR": str(root / "data"),
            "VERITY_WATCH_DIRS": f"docs={docs}",
            "VERITY_API_PORT": str(args.port),
            "VERITY_RATE_CHAT_PER_MIN": "600",  # each agent keeps below; the run measures load
        }
        verity = [sys.executable, "-m", "verity"]
        subprocess.run(
            [*verity, "ingest", str(docs), "--source", "docs"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        keys = [
            subprocess.run(
                [*verity, "keys", "create", "--role", "agent"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            for _ in range(args.agents)
        ]
        server = subprocess.Popen([*verity, "up"], env=env, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{args.port}"
            wait_ready(base)
            load = LoadRun(base, docs, server.pid, time.monotonic() + args.minutes * 60)
            result = run(load, keys, questions, edits=not args.no_edits)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(60)
    print(json.dumps(result, indent=2))


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("the service did not become ready")


@dataclass
class LoadRun:
    """Agents, an editor and a memory sampler against one running service."""

    base: str
    docs: Path
    pid: int
    stop: float
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    edits: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, float]] = field(default_factory=list)
    memory: list[dict[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def agent(self, key: str, questions: list[str], seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.base, headers={"X-API-Key": key}, timeout=60) as client:
            while time.monotonic() < self.stop:
                conversation = None
                for _ in range(rng.randint(3, 6)):
                    conversation = self.ask(client, rng.choice(questions), conversation)
                    time.sleep(rng.uniform(0.5, 2.0))
                    if time.monotonic() >= self.stop:
                        return

    def ask(self, client: httpx.Client, question: str, conversation: str | None) -> str | None:
        body: dict[str, Any] = {"question": question}
        if conversation:
            body["conversation_id"] = conversation
        started = time.perf_counter()
        try:
            reply = client.post("/v1/chat", json=body)
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            return conversation
        took = time.perf_counter() - started
        with self.lock:
            if reply.status_code != 200:
                self.errors.append(f"{reply.status_code}: {reply.text[:200]}")
                return conversation
            self.latencies.append(took)
            self.outcomes[reply.json()["status"]] += 1
        return str(reply.json()["conversation_id"])

    def editor(self) -> None:
        rng = random.Random(7)
        files = sorted(self.docs.rglob("*.txt"))
        while time.monotonic() < self.stop:
            target = rng.choice(files)
            if rng.random() < 0.8:
                with target.open("a") as handle:
                    handle.write(f"\n\nLoad run note {rng.randint(0, 10**6)}: edited.\n")
                self.edits["appended"] += 1
            else:
                text = target.read_text()
                target.unlink()
                time.sleep(1.0)
                target.write_text(text)
                self.edits["deleted and restored"] += 1
            time.sleep(2.0)

    def sampler(self) -> None:
        started = time.monotonic()
        while time.monotonic() < self.stop:
            self.sample(round(time.monotonic() - started))
            time.sleep(10)
        self.sample(round(time.monotonic() - started))

    def sample(self, at: float) -> None:
        self.rss.append((at, rss_mb(self.pid)))
        self.memory.append({"s": at, **memory_mb(self.pid)})

    def summary(self, agents: int, elapsed: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        rss = [r for _, r in self.rss]
        return {
            "agents": agents,
            "seconds": round(elapsed),
            "answers": len(ordered),
            "answers_per_s": round(len(ordered) / elapsed, 2),
            "by_status": dict(self.outcomes),
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "p50_ms": round(statistics.median(ordered) * 1000) if ordered else None,
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000) if ordered else None,
            "edits": dict(self.edits),
            "rss_mb": self.rss,
            "memory_mb": self.memory,
            "rss_first_last_max": [rss[0], rss[-1], max(rss)] if rss else None,
        }


def run(load: LoadRun, keys: list[str], questions: list[str], edits: bool) -> dict[str, Any]:
    """Every agent, the editor and the sampler until `load.stop`; the figures."""
    threads = [
        threading.Thread(target=load.agent, args=(key, questions, n)) for n, key in enumerate(keys)
    ]
    threads += [threading.Thread(target=load.sampler)]
    if edits:
        threads.append(threading.Thread(target=load.editor))
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load.summary(len(keys), time.monotonic() - began)


def rss_mb(pid: int) -> float:
    """The resident memory of `pid` and its children (the parser process), in MB."""
    return round(sum(_status_kb(proc, "VmRSS") for proc in [pid, *children(pid)]) / 1024, 1)


def memory_mb(pid: int) -> dict[str, float]:
    """Where the resident memory is: the server's anonymous memory (heap: what would leak)
    and its file-backed pages (the index's memory-mapped segments, which the kernel can
    drop), and the children's (the parser process) total."""
    kids = children(pid)
    return {
        "server_anon": round(_status_kb(pid, "RssAnon") / 1024, 1),
        "server_file": round(_status_kb(pid, "RssFile") / 1024, 1),
        "children": round(sum(_status_kb(c, "VmRSS") for c in kids) / 1024, 1),
    }


def _status_kb(pid: int, name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in children(int(c))]


if __name__ == "__main__":
    main()
