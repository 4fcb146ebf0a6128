"""`verity replay ANSWER_ID [--now] [--json]`: an audited answer produced again."""

from __future__ import annotations

import argparse
import difflib
import json
from typing import Any
from urllib.parse import quote

from answer.replay import replay
from core.errors import IndexBusy
from core.settings import Settings
from schemas.replay import Difference, ReplayReport
from verity.cli_remote import call_service
from verity.wiring import build_answer_service, build_indexer, catalog_of, open_catalog


def add_command(commands: Any) -> None:
    """Register `verity replay` on the CLI's subcommands."""
    command = commands.add_parser(
        "replay",
        help="re-run an audited answer on the chunk versions it read (--now: on today's index)"
        "; exit 0 when identical, 1 when it differs",
    )
    command.add_argument("answer_id")
    command.add_argument(
        "--now", action="store_true", help="ask the same question against today's index"
    )
    command.add_argument("--json", action="store_true", help="print the whole comparison")
    command.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Replay one answer here, or through the running service that holds the index."""
    try:
        indexer = build_indexer(settings, open_catalog(settings, must_exist=True))
    except IndexBusy:
        report = _replay_by_service(settings, args.answer_id, args.now)
    else:
        try:
            report = replay(build_answer_service(settings, indexer), args.answer_id, args.now)
        finally:
            indexer.active.close()
            catalog_of(indexer).close()
    print(report.model_dump_json(indent=2) if args.json else describe(report))
    return 0 if report.identical else 1


def describe(report: ReplayReport) -> str:
    """The comparison as an admin reads it: a verdict line, then each difference."""
    where = (
        "against today's index"
        if report.mode == "now"
        else "on its snapshot (the chunk versions it read)"
    )
    count = len(report.differences) + bool(report.missing_chunks)
    verdict = "identical" if report.identical else f"{count} difference(s)"
    lines = [f"answer {report.answer_id} replayed {where}: {verdict}"]
    if report.missing_chunks:
        lines.append("  chunks the catalog no longer holds: " + ", ".join(report.missing_chunks))
    lines += [line for d in report.differences for line in _difference(d)]
    return "\n".join(lines)


def _difference(difference: Difference) -> list[str]:
    old, new = difference.recorded, difference.replayed
    if difference.field == "citations":
        old, new = _cited(old), _cited(new)
    if isinstance(old, str) and isinstance(new, str) and "\n" in old + new:
        diff = difflib.unified_diff(
            old.splitlines(), new.splitlines(), "recorded", "replayed", lineterm=""
        )
        return [f"  {difference.field}:", *(f"    {line}" for line in diff)]
    return [f"  {difference.field}: {json.dumps(old)} -> {json.dumps(new)}"]


def _cited(citations: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"[{c['marker']}] {c['doc_id']} v{c['version']} {c['chunk_id']}" for c in citations
    )


def _replay_by_service(settings: Settings, answer_id: str, now: bool) -> ReplayReport:
    """The embedded index belongs to a running `verity up`: replay there over HTTP."""
    path = f"/admin/answers/{quote(answer_id, safe='')}/replay?now={str(now).lower()}"
    return ReplayReport.model_validate_json(call_service(settings, path, timeout_s=120))
