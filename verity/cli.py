"""The `verity` command line: thin commands over the wired service."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog import DATABASE_UNAVAILABLE, database_problem
from core.errors import IndexBusy, VerityError
from core.settings import Settings
from schemas.admin import Role
from verity.cli_ingest import (
    cmd_answers,
    cmd_docs,
    cmd_failures,
    cmd_ingest,
    cmd_keys,
    cmd_reindex,
)
from verity.cli_prompts import add_command as add_prompts_command
from verity.cli_query import cmd_ask, cmd_eval, cmd_search
from verity.cli_replay import add_command as add_replay_command
from verity.cli_services import cmd_serve, cmd_watch, cmd_worker
from verity.telemetry import configure, configure_logging

#: What to use instead while a running service holds the embedded index (`ask` and `replay`
#: go through its API by themselves).
INSTEAD = {
    "ingest": "The running service ingests what its watched folders hold: put the files there, "
    "or upload them with POST /v1/documents (an owner key)",
    "reindex": 'Ask the running service: POST /admin/reindex with {"doc_id"}, {"source"}, '
    '{"all": true} or {"rebuild": true} (an admin key), then GET /admin/jobs/{job_id}',
    "search": "Ask the running service: POST /v1/chat (each answer's citations are its hits)",
    "eval": "Stop the service first, or evaluate with another VERITY_DATA_DIR",
    "failures": "Replay it through the running service: POST /admin/dead-letters/{id}/replay",
}


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
    except IndexBusy as exc:
        print(f"verity: {exc}. {INSTEAD.get(args.command, '')}".rstrip(), file=sys.stderr)
        return 2
    except VerityError as exc:
        print(f"verity: {exc}", file=sys.stderr)
        return 2
    except DATABASE_UNAVAILABLE as exc:
        print(
            f"verity: the catalog database is unavailable: {database_problem(exc)}", file=sys.stderr
        )
        return 1
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
    reindex.add_argument(
        "--gate",
        type=Path,
        metavar="QUESTIONS",
        help="with --rebuild: a JSONL file of questions with relevant_doc_ids; the new "
        "collection is swapped in only if it retrieves them about as well (exit 1 if not)",
    )
    reindex.add_argument(
        "--gate-margin",
        type=float,
        default=0.01,
        help="with --gate: the largest nDCG@10 drop allowed, hybrid and dense (default 0.01)",
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
    create.add_argument(
        "--source",
        action="append",
        default=[],
        dest="sources",
        help="the key reads (an agent key), or reads and writes (an owner key), only this source "
        "(repeat for more; default: every source)",
    )
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
    add_replay_command(commands)
