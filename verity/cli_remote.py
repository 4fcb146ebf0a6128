"""The CLI through a running service's API, for commands whose index it holds."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from core.settings import Settings
from verity.cli_ingest import UsageError


def call_service(
    settings: Settings, path: str, body: bytes | None = None, timeout_s: float = 60
) -> bytes:
    """The body of the running service's reply to GET `path` (POST of JSON `body`); a
    problem it answers, or no answer, is a `UsageError` naming the route."""
    url = f"http://{settings.api_host}:{settings.api_port}{path}"
    method = "GET" if body is None else "POST"
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(url, body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:  # the service answered with a problem
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        raise UsageError(f"the service refused ({method} {path}): {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UsageError(
            f"the index is held by another Verity process and its API at {url} does not "
            f"answer ({exc}); stop that process or start it with `verity up`"
        ) from exc
