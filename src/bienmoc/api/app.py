"""``create_app()``: the FastAPI application — maps, JSON status, OGC API – Features.

Nothing is built at import time: settings come from the environment when the factory runs, and
the store can be injected (tests pass a temporary GeoPackage store). Each concern is a router
module (``pages``: index and maps; ``features``: OGC API – Features) built over the same store
and settings; domain errors become HTTP errors only here, at the edge.
"""
from __future__ import annotations

import logging
import threading
import time

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bienmoc.errors import InvalidData, NotFound, Problem, StorageError, StoreBusy
from bienmoc.analysis.status import marker_status
from bienmoc.demo import open_store
from bienmoc.model.schema import SCHEMAS
from bienmoc.api.security import SecurityHeaders, page_csp, sanitize
from bienmoc.api.settings import Settings

__all__ = ["create_app", "ERROR_STATUS", "STATUS_GROUPS"]

log = logging.getLogger("bienmoc.api")

#: Domain exception -> HTTP status (errors are translated only here, at the edge).
ERROR_STATUS = {InvalidData: 422, NotFound: 404, StorageError: 503}

#: Marker fields /api/status may group by (text, code and yes/no fields: groups of a report).
STATUS_GROUPS = tuple(f.name for f in SCHEMAS["markers"].fields
                      if f.name not in ("id", "notes", "vn2000_crs")
                      and (f.is_enum or f.type in ("text", "bool")))

#: /docs is Swagger UI from the vendored copy under /static/vendor (no CDN, works offline).
SWAGGER_DIR = "static/vendor/swagger-ui-5.35.0"


def _error_body(e: Exception, *secrets: str) -> dict:
    if isinstance(e, StorageError) and not isinstance(e, InvalidData):
        # storage messages name files: the client gets the gist, the log gets everything
        return {"detail": "the data store is unavailable: " + sanitize(str(e), *secrets)}
    if not isinstance(e, (InvalidData, NotFound)):
        return {"detail": sanitize(str(e), *secrets)}
    # input errors quote the input (e.g. "dd/mm/yyyy", "163/1"): only the store's own paths
    # are taken out, nothing that merely looks like a path
    text = str(e)
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "…")
    body: dict = {"detail": text}
    if isinstance(e, InvalidData):
        body["problems"] = [{"row": p.row, "field": p.field, "reason": p.reason}
                            for p in e.problems]
    return body


_UNSET = object()


def create_app(store=None, *, settings: Settings | None = None, tiles=_UNSET) -> FastAPI:
    """Build the app over ``store`` (a Store, a path/URL, or None for settings/env/demo).

    ``tiles`` overrides the settings' tile URL template (None: no tile layer).
    """
    settings = settings or Settings()
    if tiles is not _UNSET:
        settings = settings.model_copy(update={"tiles_url": tiles or ""})
    store = open_store(store if store is not None else settings.store)
    app = FastAPI(title="bienmoc", summary="Land border markers, gates, works and incidents",
                  version=_version(), docs_url=None, redoc_url=None)
    app.state.store = store
    recover = getattr(store, "recover", None)
    if recover is not None:  # a writer killed earlier: roll its journal back, drop old copies
        try:
            recover()
        except StorageError as e:  # a broken store: the app still starts, answers 503 and
            log.error("store recovery failed at start: %s", e)  # /health says what is wrong
    app.state.settings = settings
    app.add_middleware(SecurityHeaders)
    secrets = _paths_of(store)

    for exc, code in ERROR_STATUS.items():
        async def handler(request: Request, e: Exception, code=code) -> JSONResponse:
            if code == 503:
                log.error("storage error on %s %s: %s", request.method, request.url.path, e)
            headers = {"Retry-After": str(max(1, round(e.retry_after)))} \
                if isinstance(e, StoreBusy) else None
            return JSONResponse(_error_body(e, *secrets), code, headers=headers)

        app.add_exception_handler(exc, handler)

    from bienmoc.api.features import features_router
    from bienmoc.api.dashboard import dashboard_router
    from bienmoc.api.pages import pages_router
    from bienmoc.api.strip import strip_router
    from bienmoc.api.reports import reports_router
    from bienmoc.api.terrain import terrain_router

    # the OGC API first: its landing page answers JSON requests for "/" (?f=json or an
    # Accept header asking for JSON), browsers fall through to the HTML index of the maps
    app.include_router(features_router(store, settings))
    app.include_router(pages_router(store, settings))
    app.include_router(dashboard_router(store, settings))
    app.include_router(strip_router(store, settings))
    app.include_router(reports_router(store, settings))
    app.include_router(terrain_router(store, settings))

    @app.get("/api/status", tags=["reports"])
    def status(by: str = Query("border,province", max_length=200,
                               description="comma-separated marker fields: "
                               + ", ".join(STATUS_GROUPS)),
               border: str | None = Query(None, max_length=10),
               province: str | None = Query(None, max_length=100)) -> list[dict]:
        """Marker status by group (the JSON of ``bienmoc status --format json``)."""
        fields = [f.strip() for f in by.split(",") if f.strip()]
        bad = [f for f in fields if f not in STATUS_GROUPS]
        if bad:
            raise InvalidData(Problem(None, "by", f"cannot group by {', '.join(bad)}: give "
                                      f"marker fields among {', '.join(STATUS_GROUPS)}"),
                              what="invalid parameter")
        return marker_status(store, by=list(dict.fromkeys(fields)), border=border,
                             province=province).to_dict(orient="records")

    checked = {"key": None, "problems": [], "lock": threading.Lock()}

    @app.get("/health", tags=["meta"])
    def health() -> JSONResponse:
        """Is the store readable and intact (SQLite ``quick_check``, every layer read)? 200
        with ``"status": "ok"`` or 503 with ``"status": "error"``. Names no file."""
        try:
            version = store.version()
            key = (version, int(time.monotonic() // 300))  # re-check on change or 5 min
            with checked["lock"]:
                if checked["key"] != key:
                    checked["problems"] = _store_problems(store)
                    checked["key"] = key
                problems = list(checked["problems"])
        except Exception as e:  # noqa: BLE001 - health reports, never raises
            log.error("health check failed: %s", e)
            version, problems = None, [f"store unavailable: {type(e).__name__}"]
        body = {"status": "error" if problems else "ok", "version": _version(),
                "data_version": version,
                "checks": {"store": [sanitize(p, *secrets) for p in problems] or "ok"}}
        return JSONResponse(body, 503 if problems else 200,
                            headers={"Cache-Control": "no-store"})

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        html = _docs_html(f"{app.title} – API", root + app.openapi_url, root + "/")
        # Only our own files, nothing inline: the bundle and bienmoc/swagger-init.js, the
        # CSS. Swagger UI's React components set styles through the CSSOM (style props),
        # which CSP does not govern, so no 'unsafe-inline' is needed for styles either (the
        # browser test opens an operation and sees no violation).
        csp = page_csp(html)
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    return app


def _docs_html(title: str, openapi_url: str, root: str) -> str:
    """Swagger UI's page: the vendored bundle and CSS, started by ``swagger-init.js``."""
    from html import escape

    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title>"
            f"<link rel='stylesheet' href='{root}{SWAGGER_DIR}/swagger-ui.css'></head><body>"
            f"<div id='swagger-ui' data-url='{escape(openapi_url)}'></div>"
            f"<script src='{root}{SWAGGER_DIR}/swagger-ui-bundle.js'></script>"
            f"<script src='{root}static/bienmoc/swagger-init.js'></script>"
            "</body></html>")


def _paths_of(store) -> tuple[str, ...]:
    """The store's filesystem path(s), to keep them out of answers."""
    uri = str(getattr(store, "uri", "") or "")
    path = str(getattr(store, "path", "") or "")
    return tuple(p for p in {uri, path} if p and p not in ("/", "."))


def _store_problems(store) -> list[str]:
    """The store's own integrity check if it has one, else: every layer readable."""
    check = getattr(store, "check", None)
    if check is not None:
        return list(check())
    problems = []
    for name in store.layers():
        try:
            store.read(name)
        except Exception as e:  # noqa: BLE001
            problems.append(f"layer {name!r} is not readable: {type(e).__name__}")
    return problems


def _version() -> str:
    from bienmoc import __version__

    return __version__
