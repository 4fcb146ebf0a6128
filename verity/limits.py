"""Request body limits at the edge, before anything reads a body or checks a key.

A pure ASGI middleware: a body larger than its route's limit (`Content-Length`) is a 413
problem, and a body without a length (chunked) is a 411, both answered from the headers
alone, so four 100 MB posts without a key cost nothing. Uploads may be as large as a file
(`VERITY_MAX_FILE_MB`, base64 in JSON); every other route takes `VERITY_MAX_REQUEST_KB`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
PROBLEM = "application/problem+json"


def headers_of(scope: Scope) -> dict[str, str]:
    """An ASGI request's headers by lower-case name."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class BodyLimit:
    """Refuses request bodies over their route's limit, or of no declared length."""

    def __init__(self, app: App, *, default_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.upload_bytes = upload_bytes

    def limit_for(self, method: str, path: str) -> int:
        """How many body bytes a request to `path` may carry."""
        uploading = method == "POST" and path.rstrip("/") == "/v1/documents"
        return self.upload_bytes if uploading else self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = headers_of(scope)
        limit = self.limit_for(scope["method"], scope["path"])
        length = headers.get("content-length")
        if length is None and "chunked" in headers.get("transfer-encoding", ""):
            await problem_response(
                send, 411, "Length Required", "send the body with a Content-Length"
            )
            return
        if length is not None and (not length.isdigit() or int(length) > limit):
            detail = f"the request body is over {limit:,} bytes, the most this route takes"
            await problem_response(send, 413, "Content Too Large", detail)
            return
        await self.app(scope, receive, send)


async def problem_response(
    send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    """Answer with an RFC 9457 problem, from a middleware (the app never sees the request)."""
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
    ).encode()
    raw = [
        (b"content-type", PROBLEM.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
