"""`verity watch`, `serve`, `up` and `worker`: the long-running roles."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from sqlalchemy.engine import make_url

from core.settings import Settings
from verity.cli_ingest import UsageError
from verity.runtime import Runtime


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """`verity watch`: reconcile every watched folder, then follow changes until stopped."""
    if not settings.watch_dirs:
        raise UsageError("nothing to watch: set VERITY_WATCH_DIRS=name=/path[,name2=/path2]")
    runtime = Runtime.open(settings, "watch")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        runtime.start()
        names = ", ".join(f"{d.name}={d.root}" for d in settings.watch_dirs)
        logging.getLogger("verity").info("watching %s (Ctrl-C to stop)", names)
        stop.wait()
    finally:
        runtime.stop()
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """`verity serve` (the API) and `verity up` (the API and the watcher, one process)."""
    import uvicorn

    if args.command == "up" and not settings.watch_dirs:
        raise UsageError("nothing to watch: set VERITY_WATCH_DIRS=name=/path[,name2=/path2]")
    runtime = Runtime.open(settings, "up" if args.command == "up" else "serve")
    try:
        runtime.start()
        app = runtime.app()
        host, port = args.host or settings.api_host, args.port or settings.api_port
        logging.getLogger("verity").info(
            "serving on http://%s:%d (chat page: http://%s:%d/, API docs: /docs)",
            host,
            port,
            host,
            port,
        )
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
        # handler that was there before it: make that one a no-op so the runtime stops below
        # (watcher, parser process, index) instead of the process dying mid-cleanup.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        uvicorn.run(app, host=host, port=port, log_level="warning")
        logging.getLogger("verity").info("stopped")
    finally:
        runtime.stop()
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """`verity worker [--concurrency N]`: run ingest tasks from the Celery queue until stopped."""
    if not settings.broker_url:
        raise UsageError("no broker: set VERITY_BROKER_URL=redis://host:6379/0")
    runtime = Runtime.open(settings, "worker")
    app = runtime.worker_app()
    concurrency = args.concurrency or settings.worker_concurrency
    # threads: the tasks share one parser process and one index writer; scale out with
    # more worker processes (machines, or `docker compose up --scale worker=N`)
    pool = "solo" if concurrency == 1 else "threads"
    indexing = "indexes" if runtime.topology.workers_index else "catalog only (the API indexes)"
    logging.getLogger("verity").info(
        "worker on %s, queue %s, %d task thread(s), %s",
        open_catalog_url(settings),
        settings.queue,
        concurrency,
        indexing,
    )
    runtime.start()
    argv = ["worker", f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=INFO"]
    argv += ["-Q", settings.queue, "--without-gossip", "--without-mingle"]
    if args.hostname:
        argv.append(f"--hostname={args.hostname}")
    try:
        app.worker_main(argv)
    finally:
        runtime.stop()
    return 0


def open_catalog_url(settings: Settings) -> str:
    """The catalog's URL without its password, for log lines."""
    return make_url(settings.catalog_url).render_as_string(hide_password=True)
