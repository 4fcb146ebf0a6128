"""Parser targets for the parser process that misbehave on purpose (tests only).

They run inside the real parser child, under its real time limit and memory cap.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ingest.parsing.blocks import Block
from ingest.parsing.document import parse_document


def hang(data: bytes, filename: str, media_type: str, max_inflated: int) -> list[Block]:
    """Never returns (a parser stuck in a loop)."""
    while True:
        time.sleep(1)


def balloon(data: bytes, filename: str, media_type: str, max_inflated: int) -> list[Block]:
    """Allocates without bound (a parser blowing up on a hostile document)."""
    hoard = []
    while True:
        hoard.append(bytearray(64 * 2**20))


def edit_mid_parse(data: bytes, filename: str, media_type: str, max_inflated: int) -> list[Block]:
    """Parses normally, but first rewrites (or deletes) the file named by the environment.

    VERITY_TEST_MIDPARSE=<path>|<new text or DELETE>: happens once, on that file's first parse.
    """
    target, _, action = os.environ.get("VERITY_TEST_MIDPARSE", "").partition("|")
    path = Path(target)
    marker = path.with_name(f".{path.name}.done")
    if target and filename == path.name and not marker.exists():
        marker.write_text("done")
        if action == "DELETE":
            path.unlink()
        else:
            time.sleep(0.02)  # a visible mtime step
            path.write_text(action, encoding="utf-8")
    return parse_document(data, filename, media_type, max_inflated)
