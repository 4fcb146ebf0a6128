"""`verity watch`, `serve`, `up` and `worker`: the long-running roles."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from sqlalchemy.engine import make_url

from core.settings import Settings
from core.telemetry import QUEUE_DEPTH
from index.follower import IndexFollower
from verity.cli_ingest import UsageError, submitting_service
from verity.wiring import (
    build_app,
    build_ingest,
    build_worker_app,
    model_change_pending,
    rebuild_in_background,
    workers_write_index,
)


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """`verity watch`: reconcile every watched folder, then follow changes until stopped."""
    if not settings.watch_dirs:
        raise UsageError("nothing to watch: set VERITY_WATCH_DIRS=name=/path[,name2=/path2]")
    service = submitting_service(settings)
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
        logging.getLogger("verity").info(
            "serving on http://%s:%d (chat page: http://%s:%d/, API docs: /docs)",
            host,
            port,
            host,
            port,
        )
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
