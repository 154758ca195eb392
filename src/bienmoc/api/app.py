"""``create_app()``: the FastAPI application — maps, JSON status, OGC API – Features.

Nothing is built at import time: settings come from the environment when the factory runs, and
the store can be injected (tests pass a temporary GeoPackage store). Each concern is a router
module (``pages``: index and maps; ``features``: OGC API – Features) built over the same store
and settings; domain errors become HTTP errors only here, at the edge.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bienmoc.errors import InvalidData, NotFound, StorageError
from bienmoc.analysis.status import marker_status
from bienmoc.demo import open_store
from bienmoc.api.settings import Settings

__all__ = ["create_app", "ERROR_STATUS"]

#: Domain exception -> HTTP status (errors are translated only here, at the edge).
ERROR_STATUS = {InvalidData: 422, NotFound: 404, StorageError: 503}


def _error_body(e: Exception) -> dict:
    body: dict = {"detail": str(e)}
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
                  version=_version())
    app.state.store = store
    recover = getattr(store, "recover", None)
    if recover is not None:  # a writer killed earlier: roll its journal back, drop old copies
        recover()
    app.state.settings = settings

    for exc, code in ERROR_STATUS.items():
        async def handler(request: Request, e: Exception, code=code) -> JSONResponse:
            retry = getattr(e, "retry_after", None)  # StoreBusy: come back shortly
            headers = {"Retry-After": str(max(1, round(retry)))} if retry is not None else None
            return JSONResponse(_error_body(e), code, headers=headers)

        app.add_exception_handler(exc, handler)

    from bienmoc.api.features import features_router
    from bienmoc.api.pages import pages_router

    # the OGC API first: its landing page answers JSON requests for "/" (?f=json or an
    # Accept header asking for JSON), browsers fall through to the HTML index of the maps
    app.include_router(features_router(store, settings))
    app.include_router(pages_router(store, settings))

    @app.get("/api/status", tags=["reports"])
    def status(by: str = "border,province", border: str | None = None,
               province: str | None = None) -> list[dict]:
        """Marker status by group (the JSON of ``bienmoc status --format json``)."""
        fields = [f.strip() for f in by.split(",") if f.strip()]
        return marker_status(store, by=fields, border=border,
                             province=province).to_dict(orient="records")

    @app.get("/health", tags=["meta"])
    def health() -> dict:
        return {"status": "ok", "store": store.uri, "version": store.version()}

    return app


def _version() -> str:
    from bienmoc import __version__

    return __version__
