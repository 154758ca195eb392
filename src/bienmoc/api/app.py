"""``create_app()``: the FastAPI application (maps and a JSON status endpoint).

Nothing is built at import time: settings come from the environment when the factory runs,
and the store can be injected (tests pass a temporary GeoPackage store).
"""
from __future__ import annotations

import threading
from html import escape

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from ..errors import InvalidData, NotFound, StorageError
from ..maps import overview_map
from ..status import marker_status
from ..storage import open_store

__all__ = ["create_app"]

#: Domain exception -> HTTP status (errors are translated only here, at the edge).
ERROR_STATUS = {InvalidData: 422, NotFound: 404, StorageError: 503}


def create_app(store=None, *, tiles: str | None = "OpenStreetMap") -> FastAPI:
    """Build the app over ``store`` (a Store, a path/URL, or None for $BIENMOC_STORE/demo)."""
    store = open_store(store)
    app = FastAPI(title="bienmoc", summary="Land border markers, gates, works and incidents")
    app.state.store = store
    cache: dict[tuple, str] = {}
    lock = threading.Lock()

    for exc, code in ERROR_STATUS.items():
        app.add_exception_handler(
            exc, lambda request, e, code=code: JSONResponse({"detail": str(e)}, code))

    @app.get("/", response_class=HTMLResponse)
    def index(lang: str = Query("vi", pattern="^(vi|en)$")) -> str:
        title = "bienmoc – bản đồ biên giới" if lang == "vi" else "bienmoc – border maps"
        link = "Bản đồ tổng quan" if lang == "vi" else "Overview map"
        return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
                f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1><ul>"
                f"<li><a href='/maps/overview?lang={lang}'>{escape(link)}</a></li>"
                f"<li><a href='/api/status'>/api/status</a></li></ul></body></html>")

    @app.get("/maps", include_in_schema=False)
    def maps_root() -> RedirectResponse:
        return RedirectResponse("/")

    @app.get("/maps/overview", response_class=HTMLResponse)
    def overview(lang: str = Query("vi", pattern="^(vi|en)$"),
                 border: str | None = Query(None, pattern="^[A-Z]{2}$"),
                 province: str | None = Query(None, max_length=100)) -> str:
        key = ("overview", store.version(), lang, border, province)
        with lock:
            if key in cache:
                return cache[key]
        html = overview_map(store, lang=lang, tiles=tiles, border=border,
                            province=province).get_root().render()
        with lock:
            cache.clear() if len(cache) > 32 else None
            cache[key] = html
        return html

    @app.get("/api/status")
    def status(by: str = "border,province", border: str | None = None,
               province: str | None = None) -> list[dict]:
        fields = [f.strip() for f in by.split(",") if f.strip()]
        try:
            df = marker_status(store, by=fields, border=border, province=province)
        except ValueError as e:
            raise InvalidData(str(e)) from None
        return df.to_dict(orient="records")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "store": store.uri, "version": store.version()}

    return app
