"""A file name with control characters cannot forge or break a text log line."""

from __future__ import annotations

import logging
import sys

from verity.telemetry import TextFormatter


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("ingest", logging.INFO, __file__, 1, message, args, info)


def test_control_characters_in_a_message_are_escaped() -> None:
    formatter = TextFormatter("%(levelname)s: %(message)s")
    forged = "kb/a.md\n2026-12-03 ERROR admin: key leaked \x1b[2J\u2028"
    line = formatter.format(record("ingested %s v%d", forged, 2))
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert line == (
        "INFO: ingested kb/a.md\\n2026-12-03 ERROR admin: key leaked \\x1b[2J\\u2028 v2"
    )
    assert formatter.format(record("plain résumé.md")) == "INFO: plain résumé.md"


def test_a_traceback_keeps_its_own_lines() -> None:
    line = TextFormatter("%(message)s").format(record("failed %s", "x\ny", exc=True))
    first, *rest = line.split("\n")
    assert first == "failed x\\ny"
    assert rest[0].startswith("Traceback") and rest[-1] == "ValueError: boom"
