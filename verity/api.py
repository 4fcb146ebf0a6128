"""The HTTP edge: `POST /v1/chat`, health and readiness, a small chat page; errors as RFC 9457
problem JSON. Routes parse, call the answer service, and format; nothing else lives here."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from answer.service import AnswerService
from catalog import DATABASE_UNAVAILABLE, Catalog, database_problem
from core.errors import (
    CatalogError,
    Conflict,
    Forbidden,
    GeneratorUnavailable,
    IngestError,
    InvalidRequest,
    NotFound,
    Unauthorized,
    VectorIndexError,
    VerityError,
)
from core.telemetry import REQUEST_SECONDS, TRACE_ID, current_trace_id, tracer
from schemas import ReasonCode
from verity.admin import AdminSide, admin_router
from verity.auth import Auth
from verity.chat_api import chat_router
from verity.limits import PROBLEM, BodyLimit
from verity.openapi import openapi_of
from verity.origins import OriginGuard, Origins
from verity.params import single_query_values
from verity.rates import RateLimit, Rates
from verity.resolutions_api import resolutions_router

log = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("chat.html")
CONSOLE = Path(__file__).with_name("console.html")  # the admins' console (its script: static/)
PAGE_ASSETS = Path(__file__).with_name("static")  # the page's script, styles and icon
DOCS_ASSETS = Path(str(files("fastapi_offline") / "static"))
#: Seconds a client is told to wait when the catalog or the index is unavailable.
RETRY_AFTER_S = 5
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

Readiness = Callable[[], dict[str, Any]]
#: Metric labels take these methods as they are; any other is "other" (labels stay bounded).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _closing(service: AnswerService) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: at shutdown, the answer service's connections are released."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    return lifespan


def create_app(
    service: AnswerService,
    readiness: Readiness,
    *,
    catalog: Catalog,
    auth: Auth | None = None,
    admin: AdminSide | None = None,
    max_request_bytes: int = 64 * 1024,
    origins: Origins | None = None,
    rates: Rates | None = None,
) -> FastAPI:
    """The API over one answer service and the `catalog` its records are read from;
    `readiness` raises a `VerityError` when not ready.

    With `auth`, every route but health, readiness and the page needs an API key of the right
    role (`verity serve` always passes one); `admin` adds the admin and document routes. A body
    over `max_request_bytes` (an upload: its file limit in base64) is refused unread (413);
    hosts and cross-origin state changes are checked as `origins` says (`verity.origins`);
    with `rates`, each key and address is held to them (`verity.rates`, 429).
    """
    app = FastAPI(
        title="Verity",
        version="0.1.0",
        description="Cited answers from your team's own documents, or an honest decline.",
        docs_url=None,  # served below from an installed package: no CDN, works offline
        redoc_url=None,
        dependencies=[Depends(single_query_values)],
        lifespan=_closing(service),
    )
    _add_problem_handlers(app)
    app.openapi = openapi_of(app, keyed=auth is not None)  # type: ignore[method-assign]
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/static/chat", StaticFiles(directory=PAGE_ASSETS), name="page-assets")

    @app.middleware("http")
    async def trace(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        parent = propagate.extract(dict(request.headers))
        name = f"{request.method} {request.url.path}"
        with tracer().start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
            trace_id = current_trace_id() if span.get_span_context().is_valid else ""
            trace_id = trace_id or _trace_id(request.headers.get("traceparent", ""))
            request.state.trace_id = trace_id
            token = TRACE_ID.set(trace_id)
            try:
                response = await call_next(request)
            except Exception as exc:  # the last resort: logged with its trace id, never leaked
                log.exception("unexpected error (trace %s)", trace_id, exc_info=exc)
                response = problem(
                    500,
                    "Internal error",
                    "an unexpected error; it has been logged",
                    trace_id=trace_id,
                )
            finally:
                TRACE_ID.reset(token)
            span.set_attribute("http.status_code", response.status_code)
        route = request.scope.get("route")
        method = request.method if request.method in KNOWN_METHODS else "other"
        path = getattr(route, "path", "unmatched")  # a route's template: never a raw URL
        REQUEST_SECONDS.labels(method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        response.headers["X-Trace-Id"] = trace_id
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(chat_router(service, catalog, auth, trace_id_of))

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> dict[str, Any]:
        """The catalog and the index answer: the service can take questions."""
        return {"status": "ready", **readiness()}

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Verity — API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.get("/console", response_class=HTMLResponse, include_in_schema=False)
    def console() -> str:
        return CONSOLE.read_text(encoding="utf-8")

    if admin is not None:
        admin_auth = auth or Auth(admin.catalog, allow_local=True)
        app.include_router(admin_router(admin, admin_auth))
        app.include_router(resolutions_router(admin.catalog, admin_auth))
    uploads = admin.max_upload_bytes * 4 // 3 + max_request_bytes if admin else max_request_bytes
    app.add_middleware(BodyLimit, default_bytes=max_request_bytes, upload_bytes=uploads)
    if rates is not None:
        app.add_middleware(RateLimit, rates=rates)
    app.add_middleware(OriginGuard, origins=origins or (auth.origins if auth else Origins()))
    return app


def trace_id_of(request: Request) -> str:
    """This request's trace id (set by the tracing middleware)."""
    trace_id: str = getattr(request.state, "trace_id", None) or uuid.uuid4().hex
    return trace_id


def _trace_id(traceparent: str) -> str:
    """The W3C `traceparent` trace id when the caller sent one, else a new one."""
    match = _TRACEPARENT.match(traceparent)
    return match[1] if match else uuid.uuid4().hex


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


#: Errors that are the caller's to fix, with their HTTP status and title.
_CLIENT_ERRORS: dict[type[VerityError], tuple[int, str]] = {
    NotFound: (404, "Not Found"),
    Unauthorized: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    Conflict: (409, "Conflict"),
    InvalidRequest: (422, "Invalid request"),
}


def _add_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(
            422, "Invalid request", "the request body does not fit the schema", errors=errors
        )

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        trace = trace_id_of(request)
        log.error("catalog database unavailable (trace %s): %s", trace, database_problem(exc))
        detail = "the catalog database is unavailable; retry shortly"
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        return problem(503, "Service unavailable", detail, headers=retry, trace_id=trace)

    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, database_down)

    @app.exception_handler(VerityError)
    async def verity_error(request: Request, exc: VerityError) -> JSONResponse:
        trace = trace_id_of(request)
        known = _CLIENT_ERRORS.get(type(exc))
        if known is not None:
            status, title = known
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return problem(status, title, str(exc), trace_id=trace, headers=headers)
        if isinstance(exc, IngestError):
            too_large = exc.reason == ReasonCode.TOO_LARGE
            status, title = (413, "Content Too Large") if too_large else (422, "Rejected file")
            return problem(status, title, str(exc), trace_id=trace, reason=exc.reason.value)
        unavailable = isinstance(exc, CatalogError | VectorIndexError | GeneratorUnavailable)
        log.error("request failed (trace %s): %s", trace, exc)
        if unavailable:
            retry = {"Retry-After": str(RETRY_AFTER_S)}
            return problem(503, "Service unavailable", str(exc), headers=retry, trace_id=trace)
        return problem(500, "Internal error", str(exc), trace_id=trace)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
