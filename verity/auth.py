"""API keys at the edge: `X-API-Key: <key>` or `Authorization: Bearer <key>`, checked against
the catalog's hashed keys; each route names the role it needs (`schemas.admin.GRANTS`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request

from catalog import Catalog
from core.errors import Forbidden, Unauthorized
from schemas.admin import GRANTS, ApiKey, Role
from verity.origins import Origins

#: Who a request is when the local-without-key setting lets it in.
LOCAL = ApiKey(key_id="local", name="localhost", role=Role.ADMIN, created_at=datetime.now(UTC))


@dataclass(frozen=True)
class Auth:
    """Checks keys; `allow_local` lets requests from this machine in without one: from a
    loopback address *and* naming a loopback (or listed) host, so a page whose own name
    resolves to this machine (DNS rebinding) still needs a key."""

    catalog: Catalog
    allow_local: bool = False
    origins: Origins = field(default_factory=Origins)

    def require(self, role: Role) -> Callable[[Request], ApiKey]:
        """A FastAPI dependency: the caller's key, if its role grants `role`."""

        def check(request: Request) -> ApiKey:
            key = self.caller(request)
            if role not in GRANTS[key.role]:
                raise Forbidden(f"a key of role {key.role.value!r} may not do this (needs {role})")
            return key

        return check

    def caller(self, request: Request) -> ApiKey:
        """The key the request carries (`Unauthorized` if none or a bad one)."""
        presented = presented_key(request.headers)
        if not presented:
            if self.allow_local and self._is_local(request):
                return LOCAL
            raise Unauthorized("an API key is required: send X-API-Key or Authorization: Bearer")
        key = self.catalog.keys.verify(presented)
        if key is None:
            raise Unauthorized("the API key is unknown or revoked")
        return key

    def _is_local(self, request: Request) -> bool:
        if not self.origins.is_local(request.headers.get("host", "")):
            return False
        address = request.client.host if request.client else ""
        try:
            return ipaddress.ip_address(address).is_loopback
        except ValueError:
            return False


def presented_key(headers: Mapping[str, str]) -> str:
    """The key a request carries: `X-API-Key`, or `Authorization: Bearer` ("" if neither);
    `headers` by lower-case name."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return headers.get("x-api-key") or (value.strip() if scheme.lower() == "bearer" else "")
