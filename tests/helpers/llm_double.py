"""A small, honest test double of an OpenAI-compatible chat endpoint: a real HTTP server on
localhost that replies from a script, so the LLM generator and the trust layer meet good JSON,
malformed JSON, wrong citations, uncited claims, errors and timeouts over a real socket."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: A scripted reply: given the request's messages, the `content` to send back; or an `int`
#: (an HTTP error status), or a `float` (seconds to stall before answering).
Reply = Callable[[list[dict[str, str]]], str] | int | float


@dataclass
class ChatDouble:
    """Replies in order; the last one repeats. `requests` holds every request body."""

    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def marker_of(messages: list[dict[str, str]], phrase: str) -> int:
    """The `[n]` of the passage holding `phrase` in the prompt."""
    prompt = messages[0]["content"]
    for found in re.finditer(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', prompt, re.DOTALL):
        if phrase in found[2]:
            return int(found[1])
    raise AssertionError(f"no passage holds {phrase!r}")


def answer(text: str, status: str = "answered") -> Callable[[list[dict[str, str]]], str]:
    """A well-formed JSON reply; `{billing}` in `text` becomes the billing passage's marker."""

    def reply(messages: list[dict[str, str]]) -> str:
        filled = text
        if "{billing}" in text:
            filled = text.replace("{billing}", str(marker_of(messages, "Refunds reach")))
        return json.dumps({"status": status, "text": filled, "citations": []})

    return reply


def raw(content: str) -> Callable[[list[dict[str, str]]], str]:
    """Exactly `content`, well-formed or not."""
    return lambda _messages: content


@contextmanager
def chat_double(replies: list[Reply]) -> Iterator[ChatDouble]:
    """Serve `replies` at `double.url` (…/v1) until the block ends."""
    double = ChatDouble(list(replies))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            double.requests.append(body)
            reply = double.next_reply()
            if isinstance(reply, float):
                time.sleep(reply)
                reply = answer(
                    "Refunds reach the original card within five business days. [{billing}]"
                )
            if isinstance(reply, int):
                self.send_response(reply)
                self.end_headers()
                return
            content = reply(body["messages"])
            payload = {"choices": [{"message": {"role": "assistant", "content": content}}]}
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    double.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
