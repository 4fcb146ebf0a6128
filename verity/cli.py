"""The `verity` command line: thin commands over the wired service."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from answer.evaluate import answer_figures, ask_all, decline_figures
from core.errors import IndexBusy, VerityError
from core.settings import Settings
from core.telemetry import QUEUE_DEPTH
from index.follower import IndexFollower
from ingest.jobs import replay_dead_letter, start_reindex
from ingest.reconcile import plan
from ingest.tasks import add_counts
from retrieve.evaluate import evaluate, load_questions, relative_to_corpus, to_json
from schemas.admin import ReindexRequest, Role
from schemas.answer import Answer, ChatRequest, SearchFilters
from schemas.tasks import IngestFile, Reindex, Task, TaskResult
from verity.prompts_cli import add_command as add_prompts_command
from verity.telemetry import configure, configure_logging
from verity.wiring import (
    IngestService,
    build_answer_service,
    build_app,
    build_indexer,
    build_ingest,
    build_retriever,
    build_worker_app,
    close_retriever,
    model_change_pending,
    open_catalog,
    rebuild_in_background,
    retriever_for,
    workers_write_index,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `verity` console script."""
    args = _parser().parse_args(argv)
    service = args.command in ("watch", "up", "serve", "worker")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"verity: bad setting: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings, logging.INFO if service else logging.ERROR)
    close_telemetry = configure(settings, f"verity-{args.command}") if service else None
    try:
        return int(args.handler(args, settings))
    except ValidationError as exc:
        print(f"verity: bad setting: {exc}", file=sys.stderr)
        return 2
    except VerityError as exc:
        print(f"verity: {exc}", file=sys.stderr)
        return 2
    finally:
        if close_telemetry is not None:
            close_telemetry()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="ingest files or folders now")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--source", help="source name (default: the folder's name)")
    ingest.add_argument("--json", action="store_true", help="print one JSON summary")
    ingest.set_defaults(handler=cmd_ingest)

    docs = commands.add_parser("docs", help="list documents and their current versions")
    docs.add_argument("--json", action="store_true")
    docs.set_defaults(handler=cmd_docs)

    failures = commands.add_parser("failures", help="list files that could not be ingested")
    failures.add_argument("--json", action="store_true")
    failures.add_argument("--all", action="store_true", help="include resolved failures")
    failures.add_argument(
        "--dead", action="store_true", help="dead letters: tasks the workers gave up on"
    )
    failures.add_argument(
        "--replay", type=int, metavar="ID", help="submit a dead letter's task again; resolve it"
    )
    failures.set_defaults(handler=cmd_failures)

    answers = commands.add_parser(
        "answers", help="audit records of answers (escalations: --status escalated)"
    )
    answers.add_argument("--status", choices=["answered", "declined", "escalated"])
    answers.add_argument("--conversation", help="only this conversation")
    answers.add_argument("--limit", type=int, default=50)
    answers.add_argument("--failures", action="store_true", help="trust-layer failures instead")
    answers.add_argument("--json", action="store_true")
    answers.set_defaults(handler=cmd_answers)

    reindex = commands.add_parser(
        "reindex", help="re-parse documents even if unchanged, or rebuild the index"
    )
    scope = reindex.add_mutually_exclusive_group(required=True)
    scope.add_argument("--doc", help="one document id")
    scope.add_argument("--source", help="every document of one source")
    scope.add_argument("--all", action="store_true", help="every document")
    scope.add_argument(
        "--rebuild",
        action="store_true",
        help="build a new collection from the stored chunks (no re-parsing), then swap it in",
    )
    reindex.add_argument(
        "--model",
        help="with --rebuild: the embedding model, optionally with its runtime "
        "(ID, ID#onnx, ID#onnx-int8; default: VERITY_EMBEDDING_MODEL + VERITY_EMBEDDING_BACKEND)",
    )
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(handler=cmd_reindex)

    search = commands.add_parser("search", help="hybrid search over the index")
    search.add_argument("query")
    search.add_argument("--k", type=int, default=10, help="how many results (default 10)")
    search.add_argument("--mode", choices=["hybrid", "dense", "sparse"], default="hybrid")
    search.add_argument("--source", help="only this source")
    search.add_argument("--doc", help="only this document id")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_search)

    _add_eval_and_ask(commands)

    watch = commands.add_parser("watch", help="watch VERITY_WATCH_DIRS and ingest changes")
    watch.set_defaults(handler=cmd_watch)
    _add_operations(commands)
    for name, text in (
        ("serve", "run the HTTP API (POST /v1/chat, /docs, /healthz, /readyz)"),
        ("up", "all in one: the HTTP API and the watcher, on the embedded default"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", help="default: VERITY_API_HOST (127.0.0.1)")
        sub.add_argument("--port", type=int, help="default: VERITY_API_PORT (8000)")
        sub.set_defaults(handler=cmd_serve)
    return parser


def _add_operations(commands: Any) -> None:
    keys = commands.add_parser("keys", help="API keys: create, list, revoke")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="a new key (shown once)")
    create.add_argument("--role", choices=[r.value for r in Role], required=True)
    create.add_argument("--name", default="", help="who or what it is for")
    listing = key_commands.add_parser("list", help="every key (ids and roles, never secrets)")
    revoke = key_commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    for sub in (create, listing, revoke):
        sub.add_argument("--json", action="store_true")
    keys.set_defaults(handler=cmd_keys)

    worker = commands.add_parser(
        "worker", help="run ingest tasks from the Celery queue (needs VERITY_BROKER_URL)"
    )
    worker.add_argument("--concurrency", type=int, help="default: VERITY_WORKER_CONCURRENCY")
    worker.add_argument("--hostname", help="the worker's node name (default: celery@host)")
    worker.set_defaults(handler=cmd_worker)


def _add_eval_and_ask(commands: Any) -> None:
    evaluation = commands.add_parser("eval", help="retrieval figures on a question file")
    evaluation.add_argument("--questions", type=Path, required=True, help="JSONL questions")
    evaluation.add_argument("--corpus", type=Path, required=True, help="folder of documents")
    evaluation.add_argument("--source", help="source name (default: the folder's name)")
    evaluation.add_argument(
        "--previous-corpus",
        type=Path,
        help="ingest this folder first, then replace its content with --corpus "
        "(changed pages become version 2): adds cites_current and cites_stale",
    )
    evaluation.add_argument(
        "--user-turns",
        type=int,
        default=1,
        help="earlier user turns added to the query (default 1)",
    )
    evaluation.add_argument("--json", action="store_true")
    evaluation.set_defaults(handler=cmd_eval)

    ask = commands.add_parser("ask", help="ask a question: a cited answer or a decline")
    ask.add_argument("question")
    ask.add_argument("--conversation", help="continue this conversation id")
    ask.add_argument("--source", help="only this source")
    ask.add_argument("--json", action="store_true", help="print the Answer object")
    ask.set_defaults(handler=cmd_ask)

    add_prompts_command(commands)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """`verity ingest PATH... [--source NAME] [--json]`."""
    service = _submitting_service(settings)
    try:
        tasks = _ingest_tasks(service, args.paths, args.source)
        total = _run_all(service, tasks)
    finally:
        service.close()
    _print_summary(total, args.json)
    return 0


def _submitting_service(settings: Settings) -> IngestService:
    """The ingestion side of a command that submits tasks: with workers (VERITY_BROKER_URL)
    they do the work, so this process opens no index."""
    return build_ingest(settings, with_index=not settings.broker_url)


def _ingest_tasks(service: IngestService, paths: list[Path], source: str | None) -> list[Task]:
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


def _run_all(service: IngestService, tasks: list[Task]) -> TaskResult:
    before = len(service.runner.results())
    for task in tasks:
        service.runner.submit(task)
    return _collect(service, before)


def _collect(
    service: IngestService, before: int, progress: Callable[[], None] | None = None
) -> TaskResult:
    """Wait for the submitted tasks (reporting progress each second); their summed counts."""
    total = TaskResult(task=Reindex())
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


def _summary(total: TaskResult) -> dict[str, int]:
    return {key: getattr(total, key) for key in SUMMARY_KEYS}


def _print_summary(total: TaskResult, as_json: bool) -> None:
    summary = _summary(total)
    if as_json:
        print(json.dumps(summary))
        return
    print(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in summary.items()))


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    """`verity docs [--json]`."""
    catalog = open_catalog(settings)
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
    _print_rows(rows, args.json, ("doc_id", "version", "chunks", "status", "sha256"))
    return 0


def cmd_failures(args: argparse.Namespace, settings: Settings) -> int:
    """`verity failures [--json] [--all] [--dead] [--replay ID]`."""
    if args.replay is not None:
        service = _submitting_service(settings)
        try:
            letter = replay_dead_letter(service.catalog, service.runner, args.replay)
            total = _collect(service, 0)
        finally:
            service.close()
        print(f"replayed dead letter {letter.letter_id} ({letter.task.kind})", file=sys.stderr)
        _print_summary(total, args.json)
        return 0
    catalog = open_catalog(settings)
    try:
        if args.dead:
            rows = [d.model_dump(mode="json") for d in catalog.dead_letters.list(args.all)]
            columns: tuple[str, ...] = ("created_at", "task_id", "reason", "attempts", "message")
        else:
            rows = [f.model_dump(mode="json") for f in catalog.failures.list(args.all)]
            columns = ("doc_id", "reason", "attempts", "quarantined", "message")
    finally:
        catalog.close()
    _print_rows(rows, args.json, columns)
    return 0


def cmd_answers(args: argparse.Namespace, settings: Settings) -> int:
    """`verity answers [--status S] [--conversation ID] [--limit N] [--failures] [--json]`."""
    catalog = open_catalog(settings)
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
    _print_rows(rows, args.json, columns)
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """`verity reindex --doc ID | --source NAME | --all | --rebuild [--model ID]`."""
    if args.model and not args.rebuild:
        raise UsageError("--model goes with --rebuild")
    if args.rebuild:
        return _rebuild(settings, args.model or settings.embedding_key, args.json)
    service = _submitting_service(settings)
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
    _print_summary(total, args.json)
    return 0


def _rebuild(settings: Settings, model_id: str, as_json: bool) -> int:
    service = build_ingest(settings)
    try:
        indexer = service.context.indexer
        assert indexer is not None
        started = time.perf_counter()
        report = indexer.rebuild(model_id, progress=ProgressLine("rebuild", "documents"))
    finally:
        service.close()
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


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """`verity watch`: reconcile every watched folder, then follow changes until stopped."""
    if not settings.watch_dirs:
        raise UsageError("nothing to watch: set VERITY_WATCH_DIRS=name=/path[,name2=/path2]")
    service = _submitting_service(settings)
    serve_metrics(settings)
    watcher = service.watcher(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    warming = threading.Thread(target=service.context.parser.start, name="verity-warm-parser")
    warming.start()  # in the background: watching and reconciling begin at once
    watcher.start()
    indexer = service.context.indexer
    if indexer is not None and model_change_pending(settings, indexer):
        rebuild_in_background(indexer, settings.embedding_key)
    names = ", ".join(f"{d.name}={d.root}" for d in settings.watch_dirs)
    logging.getLogger("verity").info("watching %s (Ctrl-C to stop)", names)
    stop.wait()
    watcher.stop()
    service.close()
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """`verity serve` (the API) and `verity up` (the API and the watcher, one process)."""
    import uvicorn

    if args.command == "up" and not settings.watch_dirs:
        raise UsageError("nothing to watch: set VERITY_WATCH_DIRS=name=/path[,name2=/path2]")
    service = build_ingest(settings)
    indexer = service.context.indexer
    assert indexer is not None  # build_ingest wires an index by default
    watcher = service.watcher(settings) if args.command == "up" else None
    follower: IndexFollower | None = None
    try:
        if watcher is not None:
            threading.Thread(target=service.context.parser.start, name="verity-warm").start()
            watcher.start()
        runner = service.runner
        QUEUE_DEPTH.set_function(getattr(runner, "queue_depth", None) or runner.pending)
        if settings.broker_url and not workers_write_index(settings):
            follower = IndexFollower(indexer, settings.follow_interval_s)
            follower.start()  # workers write the catalog; this process owns the embedded index
        if model_change_pending(settings, indexer):
            rebuild_in_background(indexer, settings.embedding_key)
        app = build_app(settings, service)
        host, port = args.host or settings.api_host, args.port or settings.api_port
        logging.getLogger("verity").info("serving on http://%s:%d (docs: /docs)", host, port)
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
        # handler that was there before it: make that one a no-op so the watcher, the parser
        # process and the index are closed below instead of the process dying mid-cleanup.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        uvicorn.run(app, host=host, port=port, log_level="warning")
        logging.getLogger("verity").info("stopped")
    finally:
        if watcher is not None:
            watcher.stop()
        if follower is not None:
            follower.stop()
        service.close()
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    """`verity keys create --role R [--name N] | list | revoke ID`."""
    catalog = open_catalog(settings)
    try:
        if args.keys_command == "create":
            created = catalog.keys.create(Role(args.role), args.name)
            if args.json:
                print(created.model_dump_json())
            else:
                print(created.key)
                print(
                    f"({created.role.value} key {created.key_id}: shown once, store it now)",
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
    _print_rows(rows, args.json, ("key_id", "role", "name", "created_at", "revoked_at"))
    return 0


def serve_metrics(settings: Settings) -> None:
    """A worker's or watcher's own /metrics, on `VERITY_METRICS_PORT` when set."""
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """`verity worker [--concurrency N]`: run ingest tasks from the Celery queue until stopped."""
    if not settings.broker_url:
        raise UsageError("no broker: set VERITY_BROKER_URL=redis://host:6379/0")
    app = build_worker_app(settings)
    concurrency = args.concurrency or settings.worker_concurrency
    # threads: the tasks share one parser process and one index writer; scale out with
    # more worker processes (machines, or `docker compose up --scale worker=N`)
    pool = "solo" if concurrency == 1 else "threads"
    indexing = "indexes" if workers_write_index(settings) else "catalog only (the API indexes)"
    logging.getLogger("verity").info(
        "worker on %s, queue %s, %d task thread(s), %s",
        open_catalog_url(settings),
        settings.queue,
        concurrency,
        indexing,
    )
    serve_metrics(settings)
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=INFO"]
    argv += ["-Q", settings.queue, "--without-gossip", "--without-mingle"]
    if args.hostname:
        argv.append(f"--hostname={args.hostname}")
    app.worker_main(argv)
    return 0


def open_catalog_url(settings: Settings) -> str:
    """The catalog's URL without its password, for log lines."""
    return make_url(settings.catalog_url).render_as_string(hide_password=True)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """`verity ask "question" [--conversation ID] [--source S] [--json]`."""
    try:
        request = ChatRequest(
            question=args.question,
            conversation_id=args.conversation,
            filters=SearchFilters(source=args.source),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"cannot ask that: {problems}") from exc
    try:
        indexer = build_indexer(settings, open_catalog(settings))
    except IndexBusy:
        answer = _ask_running_service(settings, request)
    else:
        try:
            answer = build_answer_service(settings, indexer).ask(request)
        finally:
            indexer.active.close()
            indexer.catalog.close()
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.text)
    for citation in answer.citations:
        heading = " > ".join(citation.heading_path)
        print(f"  [{citation.marker}] {citation.doc_id} v{citation.version}  {heading}")
    print(
        f"({answer.status}, confidence {answer.confidence:.2f}, conversation "
        f"{answer.conversation_id})"
    )
    return 0


def _ask_running_service(settings: Settings, request: ChatRequest) -> Answer:
    """The embedded index belongs to a running `verity up`: ask it over HTTP instead."""
    import urllib.error
    import urllib.request

    url = f"http://{settings.api_host}:{settings.api_port}/v1/chat"
    body = request.model_dump_json(exclude_none=True).encode()
    post = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(post, timeout=60) as response:
            return Answer.model_validate_json(response.read())
    except urllib.error.HTTPError as exc:  # the service answered with a problem
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        raise UsageError(f"the service refused: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UsageError(
            f"the index is held by another Verity process and its API at {url} does not "
            f"answer ({exc}); stop that process or start it with `verity up`"
        ) from exc


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """`verity search "text" [--k N] [--mode M] [--source S] [--doc ID] [--json]`."""
    if args.k < 1:
        raise UsageError("--k must be at least 1")
    retriever = build_retriever(settings)
    try:
        found = retriever.search(
            args.query, k=args.k, mode=args.mode, source=args.source, doc_id=args.doc
        )
    finally:
        close_retriever(retriever)
    if args.json:
        print(
            json.dumps(
                {
                    "query": found.query,
                    "mode": found.mode,
                    "index_generation": found.generation,
                    "embedding_model": found.embedding_model,
                    "collection": found.collection,
                    "latency_ms": round(found.latency_ms, 2),
                    "hits": [{"score": h.score, **h.payload.model_dump()} for h in found.hits],
                }
            )
        )
        return 0
    for rank, hit in enumerate(found.hits, 1):
        p = hit.payload
        where = " > ".join(p.heading_path) or "(top)"
        print(f"{rank:>2}. {hit.score:.4f}  {p.doc_id} v{p.version}  [{where}]")
        print(f"    {p.text[:160].replace(chr(10), ' ')}")
    if not found.hits:
        print("(no results)")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """`verity eval --questions FILE --corpus DIR [--previous-corpus OLD] [--json]`: ingest,
    then retrieval figures per mode and answer figures (declining, citations, latency)."""
    for folder in (args.corpus, args.previous_corpus):
        if folder is not None and not folder.is_dir():
            raise UsageError(f"no such folder: {folder}")
    questions = relative_to_corpus(load_questions(args.questions), args.corpus.resolve().name)
    source = args.source or args.corpus.resolve().name
    service = build_ingest(settings)
    try:
        ingested = _ingest_for_eval(service, settings, args, source)
        indexer = service.context.indexer
        assert indexer is not None
        figures = evaluate(
            retriever_for(indexer), questions, source=source, user_turns=args.user_turns
        )
        asked = ask_all(build_answer_service(settings, indexer), questions, source)
        current = None
        if args.previous_corpus is not None:
            cited = [c.doc_id for a in asked for c in a.answer.citations]
            current = indexer.catalog.current_versions(cited)
    finally:
        service.close()
    summary = {**_summary(ingested), "chunks_embedded": ingested.chunks_embedded}
    answers = answer_figures(asked, current)
    declines = decline_figures(asked)
    report = to_json(
        figures,
        corpus=str(args.corpus),
        questions=len(questions),
        ingest=summary,
        decline=declines,
        answers=answers,
    )
    if args.json:
        print(report)
        return 0
    for mode, row in figures.items():
        print(f"{mode:>7}: " + "  ".join(f"{k} {v}" for k, v in row.items()))
    print("decline: " + "  ".join(f"{k} {v}" for k, v in declines.items()))
    print("answers: " + "  ".join(f"{k} {v}" for k, v in answers.items()))
    return 0


def _ingest_for_eval(
    service: IngestService, settings: Settings, args: argparse.Namespace, source: str
) -> TaskResult:
    """Ingest the corpus; with a previous corpus, ingest that first into a staging folder
    and then replace its content with the corpus (changed pages become new versions)."""
    if args.previous_corpus is None:
        return _run_all(service, _ingest_tasks(service, [args.corpus], source))
    staging = settings.data_dir / "eval-sources" / source
    _mirror(args.previous_corpus, staging)
    _run_all(service, _ingest_tasks(service, [staging], source))
    _mirror(args.corpus, staging)
    return _run_all(service, _ingest_tasks(service, [staging], source))


def _mirror(origin: Path, target: Path) -> None:
    """Make `target` hold exactly the files of `origin` (same relative paths)."""
    wanted = {p.relative_to(origin) for p in origin.rglob("*") if p.is_file()}
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            if path.is_file() and path.relative_to(target) not in wanted:
                path.unlink()
    for relative in sorted(wanted):
        source, copy = origin / relative, target / relative
        if copy.exists() and copy.read_bytes() == source.read_bytes():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> None:
    if as_json:
        print(json.dumps(rows, indent=None))
        return
    if not rows:
        print("(none)")
        return
    for row in rows:
        print("  ".join(f"{row.get(c)}" for c in columns))
