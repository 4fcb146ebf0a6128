"""The OpenAPI document, told truthfully: every problem status a route can answer with, as
`application/problem+json` with the `Problem` schema; the API key schemes, on the routes that
need a key. FastAPI describes the successes; this adds what the edges (host and origin checks,
body limits, rate limits, keys, the catalog's availability) and the routes' own errors add.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from verity.limits import PROBLEM

#: Routes anyone may call (no key), whatever the settings.
PUBLIC = frozenset({"/healthz", "/readyz"})
_BODY_METHODS = frozenset({"post", "put", "patch"})

#: Statuses a route answers besides what every route does, by (method, path template).
ROUTE_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/chat"): (404,),  # an unknown conversation
    ("post", "/v1/feedback"): (404, 409),  # unknown answer; its feedback full
    ("post", "/admin/reindex"): (404, 409),  # unknown document or source; a rebuild running
    ("post", "/v1/documents"): (404, 409),  # unknown source; a folder or file in the way
    ("get", "/v1/documents"): (404,),  # a doc_id neither known nor waiting in its folder
    ("post", "/admin/resolutions"): (404, 409),  # unknown answer; declined, or versions moved
    ("post", "/admin/resolutions/{resolution_id}/approve"): (409,),  # a cited passage changed
}

_TITLES = {
    400: "The Host header names a host this service does not answer (VERITY_ALLOWED_HOSTS)",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role or sources do not allow it, or a page of another origin sent it",
    404: "What the request names does not exist",
    409: "It conflicts with the current state",
    411: "A body sent without Content-Length",
    413: "The body is over this route's limit",
    422: "The request does not fit the schema, or names something unusable",
    429: "Over the key's or address's rate; retry after Retry-After seconds",
    503: "The catalog database or the index is unavailable; retry after Retry-After seconds",
}


class Problem(BaseModel):
    """An RFC 9457 problem: every error the API returns."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    trace_id: str | None = Field(default=None, description="where the logs say more")
    reason: str | None = Field(default=None, description="a rejected file's reason code")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="schema errors: loc, msg, type"
    )


def openapi_of(app: FastAPI, *, keyed: bool) -> Callable[[], dict[str, Any]]:
    """`app.openapi`: FastAPI's document with the problems and key schemes added (cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(document, keyed=keyed)
        return app.openapi_schema

    return build


def complete(document: dict[str, Any], *, keyed: bool) -> dict[str, Any]:
    """Add the problem responses and key schemes to a FastAPI OpenAPI document."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if keyed:
        components["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "Bearer": {"type": "http", "scheme": "bearer", "description": "the same key"},
        }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _complete_operation(path, method, operation, keyed=keyed and path not in PUBLIC)
    return document


def _complete_operation(path: str, method: str, operation: dict[str, Any], *, keyed: bool) -> None:
    statuses = {400, 429, 503}
    if keyed:
        statuses |= {401, 403}
        operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
    if method in _BODY_METHODS or method == "delete":
        statuses |= {403}  # a page of another origin
    if method in _BODY_METHODS:
        statuses |= {411, 413, 422}
    if operation.get("parameters"):
        statuses |= {422}
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses |= {404}
    statuses |= set(ROUTE_ERRORS.get((method, path), ()))
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _TITLES[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": _RETRY_AFTER} if status in (429, 503) else {}),
        }


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
