"""Rate limits per API key and per client address, at the edge, before any key is checked.

Token buckets: each key (the presented value, hashed) and each client address may make
`per_minute` requests a minute on average, in bursts of up to a sixth of that; questions
(`POST /v1/chat`, which search and draft) have their own, lower rate. An address gets
`address_factor` times a key's rate (agents behind one NAT share it). Over the limit: a 429
problem with `Retry-After`. Health, readiness, metrics, the page and its assets are never
limited. Buckets live in this process (the embedded default runs one API process; run one
per replica behind a proxy that limits too); the least recently seen are forgotten past
`max_clients`, so made-up keys cannot grow memory.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from verity.auth import presented_key
from verity.limits import App, Receive, Scope, Send, headers_of, problem_response

_EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/", "/docs", "/openapi.json")


@dataclass(frozen=True)
class Rate:
    """So many requests a minute, in bursts of `burst`."""

    per_minute: int
    burst: int

    @classmethod
    def of(cls, per_minute: int) -> Rate:
        return cls(per_minute, max(1, per_minute // 6))


@dataclass(frozen=True)
class Rates:
    """The settings: requests a minute per key for questions and for everything else (0: no
    limit), and how many times a key's rate one address gets."""

    per_minute: int = 600
    chat_per_minute: int = 60
    address_factor: int = 5


@dataclass
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """Token buckets by client, the least recently seen forgotten past `max_clients`."""

    def __init__(self, max_clients: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def wait(self, client: tuple[str, str], rate: Rate) -> float:
        """Seconds until `client` may make a request at `rate` (0: now)."""
        bucket = self._refilled(client, rate)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) * 60 / rate.per_minute

    def take(self, client: tuple[str, str], rate: Rate) -> None:
        self._refilled(client, rate).tokens -= 1

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, client: tuple[str, str], rate: Rate) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.pop(client, None) or _Bucket(float(rate.burst), now)
        bucket.tokens = min(rate.burst, bucket.tokens + (now - bucket.at) * rate.per_minute / 60)
        bucket.at = now
        self._buckets[client] = bucket
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return bucket


class RateLimit:
    """Refuses requests over their key's or their address's rate (429, `Retry-After`)."""

    def __init__(
        self,
        app: App,
        *,
        rates: Rates,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        #: per kind of request, (a key's rate, an address's rate); none: not limited
        self.rates = {
            kind: (Rate.of(per_minute), Rate.of(per_minute * rates.address_factor))
            for kind, per_minute in (("chat", rates.chat_per_minute), ("other", rates.per_minute))
            if per_minute
        }
        self.buckets = Buckets(max_clients, clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _exempt(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        kind = "chat" if scope["method"] == "POST" and scope["path"] == "/v1/chat" else "other"
        if kind not in self.rates:
            await self.app(scope, receive, send)
            return
        rate, per_address = self.rates[kind]
        clients = [((kind, "address:" + _address(scope)), per_address)]
        key = presented_key(headers_of(scope))
        if key:
            clients.append(((kind, "key:" + hashlib.sha256(key.encode()).hexdigest()), rate))
        wait = max(self.buckets.wait(client, r) for client, r in clients)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            detail = (
                f"too many requests: at most {rate.per_minute} a minute per key "
                f"({'questions' if kind == 'chat' else 'requests'}); retry in {seconds} s"
            )
            await problem_response(
                send, 429, "Too Many Requests", detail, {"Retry-After": str(seconds)}
            )
            return
        for client, r in clients:
            self.buckets.take(client, r)
        await self.app(scope, receive, send)


def _exempt(method: str, path: str) -> bool:
    return (method in ("GET", "HEAD") and path == "/") or path.startswith(_EXEMPT)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
