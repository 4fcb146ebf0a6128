"""`verity ingest`, `docs`, `failures`, `answers`, `reindex` and `keys`: commands that submit
work or read the catalog, and the helpers the other command modules share."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import RolloverRefused, VerityError
from core.settings import Settings
from core.topology import Topology
from ingest.jobs import replay_dead_letter, start_reindex
from ingest.reconcile import plan
from ingest.tasks import add_counts
from retrieve.gate import gated, load_gate
from schemas.admin import GateReport, ReindexRequest, Role, RolloverGate
from schemas.tasks import Counts, IngestFile, Task
from verity.wiring import (
    IngestService,
    build_ingest,
    open_catalog,
)

#: The keys of `verity ingest --json`, in order: a contract other tools rely on.
SUMMARY_KEYS = (
    "documents",
    "versions_created",
    "unchanged",
    "deleted",
    "chunks_added",
    "chunks_removed",
    "chunks_unchanged",
    "failed",
)


class UsageError(VerityError):
    """The command line asks for something that cannot be done."""


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """`verity ingest PATH... [--source NAME] [--json]`."""
    service = submitting_service(settings)
    try:
        tasks = ingest_tasks(service, args.paths, args.source)
        total = run_all(service, tasks, ProgressLine("ingest", "files"))
    finally:
        service.close()
    print_summary(total, args.json)
    return 0


def submitting_service(settings: Settings) -> IngestService:
    """The ingestion side of a command that submits tasks: with workers (VERITY_BROKER_URL)
    they do the work, so this process opens no index."""
    return build_ingest(settings, with_index=Topology.of(settings).submitter_indexes)


def ingest_tasks(service: IngestService, paths: list[Path], source: str | None) -> list[Task]:
    folders = [p for p in paths if p.is_dir()]
    if source and len(folders) > 1:
        raise UsageError("--source names one folder; give folders one at a time")
    tasks: list[Task] = []
    for path in paths:
        if path.is_dir():
            name = source or path.resolve().name
            service.register(name, path)
            tasks.extend(plan(service.catalog, name, path.resolve(), trust_stat=False))
        elif path.exists() or path.is_symlink():
            name, root = _source_of(service, path, source)
            rel_path = path.absolute().relative_to(root).as_posix()
            tasks.append(IngestFile(source=name, rel_path=rel_path))
        else:
            raise UsageError(f"no such file or folder: {path}")
    return tasks


def _source_of(service: IngestService, path: Path, source: str | None) -> tuple[str, Path]:
    """The registered source holding `path`, or its parent folder as a new source."""
    roots = service.catalog.source_roots()
    absolute = path.absolute()
    if source is not None and source in roots:
        if not absolute.is_relative_to(roots[source]):
            raise UsageError(f"{path} is not inside source {source!r} ({roots[source]})")
        return source, roots[source]
    for name, root in roots.items():
        if source is None and absolute.is_relative_to(root):
            return name, root
    name = source or absolute.parent.name
    service.register(name, absolute.parent)
    return name, absolute.parent.resolve()


def run_all(
    service: IngestService, tasks: list[Task], progress: ProgressLine | None = None
) -> Counts:
    """Submit `tasks` and wait for them (`progress`: files done so far, each second)."""
    before = len(service.runner.results())
    for task in tasks:
        service.runner.submit(task)

    def report() -> None:
        if progress is not None and tasks:
            progress(min(len(service.runner.results()) - before, len(tasks)), len(tasks))

    return _collect(service, before, report)


def _collect(
    service: IngestService, before: int, progress: Callable[[], None] | None = None
) -> Counts:
    """Wait for the submitted tasks (reporting progress each second); their summed counts."""
    total = Counts()
    runner = service.runner
    while not runner.join(timeout=1.0):
        if progress is not None:
            progress()
    if progress is not None:
        progress()
    for result in runner.results()[before:]:
        add_counts(total, result)
        if result.error and (result.failed or result.deferred):
            print(f"verity: {_task_path(result.task)}: {result.error}", file=sys.stderr)
    return total


def _task_path(task: Task) -> str:
    return getattr(task, "rel_path", None) or getattr(task, "doc_id", None) or "all"


def summary_of(total: Counts) -> dict[str, int]:
    return {key: getattr(total, key) for key in SUMMARY_KEYS}


def print_summary(total: Counts, as_json: bool) -> None:
    summary = summary_of(total)
    if as_json:
        print(json.dumps(summary))
        return
    print(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in summary.items()))


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    """`verity docs [--json]`."""
    catalog = open_catalog(settings, must_exist=True)
    rows = [
        {
            "doc_id": s.document.doc_id,
            "source": s.document.source,
            "path": s.document.rel_path,
            "version": s.document.current_version,
            "sha256": s.sha256,
            "chunks": s.chunk_count,
            "status": s.document.status.value,
            "updated_at": s.document.updated_at.isoformat(),
        }
        for s in catalog.summaries()
    ]
    catalog.close()
    print_rows(rows, args.json, ("doc_id", "version", "chunks", "status", "sha256"))
    return 0


def cmd_failures(args: argparse.Namespace, settings: Settings) -> int:
    """`verity failures [--json] [--all] [--dead] [--replay ID]`."""
    if args.replay is not None:
        service = submitting_service(settings)
        try:
            letter = replay_dead_letter(service.catalog, service.runner, args.replay)
            total = _collect(service, 0)
        finally:
            service.close()
        print(f"replayed dead letter {letter.letter_id} ({letter.task.kind})", file=sys.stderr)
        print_summary(total, args.json)
        return 0
    catalog = open_catalog(settings, must_exist=True)
    try:
        if args.dead:
            rows = [d.model_dump(mode="json") for d in catalog.dead_letters.list(args.all)]
            columns: tuple[str, ...] = ("created_at", "task_id", "reason", "attempts", "message")
        else:
            rows = [f.model_dump(mode="json") for f in catalog.failures.list(args.all)]
            columns = ("doc_id", "reason", "attempts", "quarantined", "message")
    finally:
        catalog.close()
    print_rows(rows, args.json, columns)
    return 0


def cmd_answers(args: argparse.Namespace, settings: Settings) -> int:
    """`verity answers [--status S] [--conversation ID] [--limit N] [--failures] [--json]`."""
    catalog = open_catalog(settings, must_exist=True)
    try:
        if args.failures:
            failures = catalog.answers.failures(limit=args.limit)
            rows = [f.model_dump(mode="json") for f in failures]
            columns: tuple[str, ...] = ("created_at", "answer_id", "outcome", "reason")
        else:
            records = catalog.answers.audits(
                status=args.status, conversation_id=args.conversation, limit=args.limit
            )
            rows = [
                {
                    **r.model_dump(mode="json", include={"created_at", "question"}),
                    **r.answer.model_dump(
                        mode="json", include={"answer_id", "status", "confidence", "trace_id"}
                    ),
                }
                for r in records
            ]
            columns = ("created_at", "answer_id", "status", "confidence", "question")
    finally:
        catalog.close()
    print_rows(rows, args.json, columns)
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """`verity reindex --doc ID | --source NAME | --all | --rebuild [--model ID]`."""
    if args.model and not args.rebuild:
        raise UsageError("--model goes with --rebuild")
    if args.gate and not args.rebuild:
        raise UsageError("--gate goes with --rebuild")
    if args.rebuild:
        gate = load_gate(args.gate, args.gate_margin) if args.gate else None
        return _rebuild(settings, args.model or settings.embedding_key, args.json, gate)
    service = submitting_service(settings)
    try:
        request = ReindexRequest(doc_id=args.doc, source=args.source, all=args.all)
        before = len(service.runner.results())
        job = start_reindex(service.catalog, service.runner, request)
        progress = ProgressLine("reindex", "documents")

        def report() -> None:
            state = service.catalog.jobs.get(job.job_id)
            progress(state.done, state.total)

        total = _collect(service, before, report)
    finally:
        service.close()
    print_summary(total, args.json)
    return 0


def _rebuild(
    settings: Settings, model_id: str, as_json: bool, gate: RolloverGate | None = None
) -> int:
    compared: list[GateReport] = []
    approve = None
    if gate is not None:
        approve = gated(gate, compared.append, lambda: _judging(len(gate.questions)))
    service = build_ingest(settings)
    try:
        indexer = service.indexer
        started = time.perf_counter()
        report = indexer.rebuild(
            model_id, progress=ProgressLine("rebuild", "documents"), approve=approve
        )
    except RolloverRefused:
        _print_comparison(compared[0], as_json)
        return 1
    finally:
        service.close()
    if compared:
        _print_comparison(compared[0], as_json)
    summary = {
        "old_collection": report.old.name,
        "new_collection": report.new.name,
        "embedding_model": report.new.embedding_model,
        "bm25_avg_len": report.new.bm25_avg_len,
        "chunks_embedded": report.built.embedded + report.caught_up.embedded,
        "chunks_from_cache": report.built.from_cache + report.caught_up.from_cache,
        "index_generation": report.generation,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if as_json:
        print(json.dumps(summary))
    else:
        print(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in summary.items()))
    return 0


def _judging(questions: int) -> None:
    print(f"rebuild: judging both collections on {questions} gate questions", file=sys.stderr)


def _print_comparison(report: GateReport, as_json: bool) -> None:
    """The gate's table (or its JSON), then its verdict."""
    if as_json:
        print(report.model_dump_json())
        return
    print(f"gate: {report.questions} questions, margin {report.margin:g}")
    for label, figures in (("live", report.old), ("rebuilt", report.new)):
        modes = ", ".join(
            f"{mode} nDCG@10 {value:.4f}" for mode, value in figures.ndcg_at_10.items()
        )
        print(f"  {label:8} {figures.collection} ({figures.embedding_model}): {modes}")
    print(f"gate {report.verdict}")


class ProgressLine:
    """Progress of long work on stderr: `label: done/total unit`, at most one line a second."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last >= 1.0:
            self._last = now
            print(f"{self.label}: {done}/{total} {self.unit}", file=sys.stderr, flush=True)


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    """`verity keys create --role R [--name N] [--source S]... | list | revoke ID`."""
    catalog = open_catalog(settings, must_exist=args.keys_command != "create")
    try:
        if args.keys_command == "create":
            created = catalog.keys.create(Role(args.role), args.name, args.sources)
            if args.json:
                print(created.model_dump_json())
            else:
                print(created.key)
                print(
                    f"({created.role.value} key {created.key_id}{_scope(created.sources)}: "
                    "shown once, store it now)",
                    file=sys.stderr,
                )
            return 0
        if args.keys_command == "revoke":
            revoked = catalog.keys.revoke(args.key_id)
            rows = [revoked.model_dump(mode="json")]
        else:
            rows = [key.model_dump(mode="json") for key in catalog.keys.list()]
    finally:
        catalog.close()
    for row in rows if not args.json else ():
        row["sources"] = ",".join(row["sources"]) or "*"
    print_rows(rows, args.json, ("key_id", "role", "name", "sources", "created_at", "revoked_at"))
    return 0


def _scope(sources: list[str]) -> str:
    return f", limited to {', '.join(sources)}" if sources else ""


def print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> None:
    if as_json:
        print(json.dumps(rows, indent=None))
        return
    if not rows:
        print("(none)")
        return
    for row in rows:
        print("  ".join(f"{row.get(c)}" for c in columns))
