"""HTML pages: the index and the maps (Folium), cached by the store's data version."""
from __future__ import annotations

import threading
from html import escape

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from ..maps import overview_map
from .settings import Settings

__all__ = ["pages_router"]

_LANG = Query(None, pattern="^(vi|en)$")


def pages_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["maps"])
    cache: dict[tuple, str] = {}
    lock = threading.Lock()
    tiles = settings.tiles_url or None

    def cached(key: tuple, build) -> str:
        key = (store.version(),) + key
        with lock:
            if key in cache:
                return cache[key]
        html = build()
        with lock:
            if len(cache) > 64:
                cache.clear()
            cache[key] = html
        return html

    @r.get("/", response_class=HTMLResponse)
    def index(lang: str | None = _LANG) -> str:
        lang = lang or settings.lang
        title = "bienmoc – bản đồ biên giới" if lang == "vi" else "bienmoc – border maps"
        link = "Bản đồ tổng quan" if lang == "vi" else "Overview map"
        return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
                f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1><ul>"
                f"<li><a href='/maps/overview?lang={lang}'>{escape(link)}</a></li>"
                f"<li><a href='/api/status'>/api/status</a></li></ul></body></html>")

    @r.get("/maps", include_in_schema=False)
    def maps_root() -> RedirectResponse:
        return RedirectResponse("/")

    @r.get("/maps/overview", response_class=HTMLResponse)
    def overview(lang: str | None = _LANG,
                 border: str | None = Query(None, pattern="^[A-Z]{2}$"),
                 province: str | None = Query(None, max_length=100)) -> str:
        lang = lang or settings.lang
        return cached(("overview", lang, border, province), lambda: overview_map(
            store, lang=lang, tiles=tiles, attr=settings.tiles_attribution, border=border,
            province=province).get_root().render())

    return r
