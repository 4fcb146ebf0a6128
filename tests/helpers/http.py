"""Small HTTP helpers for tests that talk to a running `verity` process."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any


def post_json(url: str, body: dict[str, object]) -> dict[str, Any]:
    """POST `body` as JSON; the JSON reply."""
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def cites(answer: dict[str, Any], doc_id: str, version: int) -> bool:
    """True when the answer cites `version` of `doc_id`."""
    return any(c["doc_id"] == doc_id and c["version"] == version for c in answer["citations"])


def wait_for_answer(
    base: str,
    question: dict[str, object],
    done: Callable[[dict[str, Any]], bool],
    server: subprocess.Popen[str],
    timeout_s: float = 180,
) -> dict[str, Any]:
    """Ask the service at `base` until an answer satisfies `done` (the server must stay up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert time.monotonic() < deadline and server.poll() is None, "no such answer in time"
        try:
            answer = post_json(f"{base}/v1/chat", question)
            if done(answer):
                return answer
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
