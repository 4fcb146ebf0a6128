"""Which hosts the API answers and which pages may change its state.

A pure ASGI middleware, answered from the headers before any key is checked:

- `Host`: with `VERITY_ALLOWED_HOSTS` set, a request naming another host is a 400 problem
  (a page on another name that resolves to this machine, DNS rebinding, gets nothing);
- state-changing requests (POST, PUT, PATCH, DELETE) from a browser page of another origin
  (`Origin` not this host, nor in `VERITY_ALLOWED_ORIGINS`; `Origin: null`; or
  `Sec-Fetch-Site` cross-site or same-site) are a 403 problem. Clients that are not browsers
  send neither header and are unaffected; keys are checked as always.

Requests that need no key (`VERITY_ALLOW_LOCAL_WITHOUT_KEY`) also need a loopback `Host`
(`localhost`, `127.0.0.1`, `[::1]`) or one listed by name in `VERITY_ALLOWED_HOSTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from verity.limits import App, Receive, Scope, Send, headers_of, problem_response

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(host: str) -> str:
    """The name in a `Host` header value, lower case, without port or IPv6 brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def parse_names(raw: str) -> frozenset[str]:
    """A comma-separated setting as a set of its non-empty entries, lower case."""
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Origins:
    """The hosts the API answers (`*`: any) and the other origins allowed to change state."""

    hosts: frozenset[str] = frozenset({"*"})
    origins: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, hosts: str, origins: str) -> Origins:
        return cls(parse_names(hosts) or frozenset({"*"}), parse_names(origins))

    def answers(self, host: str) -> bool:
        """True when a request naming `host` is served."""
        name = host_name(host)
        return "*" in self.hosts or name in self.hosts or name in LOOPBACK_NAMES

    def is_local(self, host: str) -> bool:
        """True when `host` names this machine: a loopback name, or one listed by name."""
        name = host_name(host)
        return name in LOOPBACK_NAMES or name in self.hosts

    def refuses(self, method: str, host: str, origin: str | None, fetch_site: str | None) -> bool:
        """True when a state-changing request comes from another origin's page."""
        if method not in _STATE_CHANGING:
            return False
        if fetch_site in ("cross-site", "same-site") and origin is None:
            return True
        if origin is None:
            return False
        origin = origin.strip().lower()
        if origin in self.origins:
            return False
        parts = urlsplit(origin)
        return origin == "null" or not parts.netloc or parts.netloc != host.strip().lower()


class OriginGuard:
    """Refuses requests for hosts the API does not answer, and cross-origin state changes."""

    def __init__(self, app: App, *, origins: Origins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = headers_of(scope)
        host = headers.get("host", "")
        if not self.origins.answers(host):
            detail = f"this service does not answer for host {host!r} (VERITY_ALLOWED_HOSTS)"
            await problem_response(send, 400, "Invalid Host", detail)
            return
        origin, fetch_site = headers.get("origin"), headers.get("sec-fetch-site")
        if self.origins.refuses(scope["method"], host, origin, fetch_site):
            detail = (
                f"a page from {origin or 'another site'!r} may not change this service's state "
                "(VERITY_ALLOWED_ORIGINS)"
            )
            await problem_response(send, 403, "Cross-origin request refused", detail)
            return
        await self.app(scope, receive, send)
