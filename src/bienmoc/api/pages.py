"""HTML pages (the index and the maps), their JSON data and the static assets.

Everything here formats what the library returns: the pages are the :mod:`bienmoc.maps`
builders with ``assets`` linked from ``/static`` and data fetched from ``/maps/data/*``.

Caching: every page and JSON body is kept in memory keyed by the store's data version and the
query, so a repeated request is a dictionary look-up and an edit of the store shows up at the
next request (new version, new key). Responses carry an ETag (``304`` on ``If-None-Match``)
and are gzip-compressed when the client accepts it. Data URLs carry the data version (``v``):
when it is the current one the response may be cached by the browser, else it must revalidate.
All URLs in the pages are relative, so the app also works under a reverse-proxy sub-path.
"""
from __future__ import annotations

import datetime as _dt

import gzip
import hashlib
import threading
from collections import OrderedDict
from html import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from bienmoc.maps import incidents_map, overview_map, progress_map
from bienmoc.maps.assets import STATIC_DIR
from bienmoc.maps.data import base_data, incidents_data, progress_data, safe_json
from bienmoc.maps.text import t
from bienmoc.analysis.progress import as_of_date
from bienmoc.api.security import page_csp
from bienmoc.api.settings import Settings

__all__ = ["pages_router", "warm"]

_LANG = Query(None, pattern="^(vi|en)$")
_BORDER = Query(None, pattern="^[A-Z]{2}$")
_PROVINCE = Query(None, max_length=100)
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_CODES = r"^[A-Za-z_,]{0,400}$"

# nosniff, Referrer-Policy, X-Frame-Options and the default CSP come from the app's
# SecurityHeaders middleware; HTML pages set their own CSP (their inline scripts' hashes).


class _Cache:
    """Bounded LRU of (body, gzipped body, etag) by key."""

    def __init__(self, maxsize: int = 256):
        self.maxsize = maxsize
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.maxsize:
                self.data.popitem(last=False)


def pages_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["maps"])
    cache = _Cache()
    tiles = settings.tiles_url or None
    attr = settings.tiles_attribution
    static = StaticFiles(directory=STATIC_DIR)

    def respond(request: Request, key: tuple, build, media_type: str,
                immutable: bool = False) -> Response:
        version = store.version()
        full = (version,) + key
        entry = cache.get(full)
        if entry is None:
            text = build()
            body = text.encode("utf-8")
            gz = gzip.compress(body, compresslevel=5) if len(body) > 1400 else None
            etag = '"' + hashlib.sha1(repr(full).encode()).hexdigest()[:20] + '"'
            csp = page_csp(text, img=(tiles,) if tiles else ()) \
                if media_type.startswith("text/html") else None
            entry = (body, gz, etag, csp)
            cache.put(full, entry)
        body, gz, etag, csp = entry
        v = request.query_params.get("v")
        headers = {**({"Content-Security-Policy": csp} if csp else {}),
                   "ETag": etag, "Vary": "Accept-Encoding",
                   "Cache-Control": "public, max-age=604800, immutable"
                   if immutable and v == version else "no-cache"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if gz is not None and "gzip" in request.headers.get("accept-encoding", ""):
            return Response(gz, media_type=media_type,
                            headers={**headers, "Content-Encoding": "gzip"})
        return Response(body, media_type=media_type, headers=headers)

    def html(request, key, build):
        return respond(request, key, build, "text/html; charset=utf-8")

    def data(request, key, build):
        return respond(request, key, lambda: safe_json(build()), "application/json",
                       immutable=True)

    # -- pages -----------------------------------------------------------------------------
    @r.get("/", response_class=Response)
    def index(request: Request, lang: str | None = _LANG) -> Response:
        lang = lang or settings.lang
        return html(request, ("index", lang), lambda: _index_html(lang))

    @r.get("/maps", include_in_schema=False)
    def maps_root() -> RedirectResponse:
        return RedirectResponse("/")

    server = {"tiles": tiles, "attr": attr, "assets": "../static", "data_url": "data",
              "form": True}

    @r.get("/maps/overview", response_class=Response)
    def overview(request: Request, lang: str | None = _LANG, border: str | None = _BORDER,
                 province: str | None = _PROVINCE,
                 as_of: str | None = Query(None, pattern=_DATE)) -> Response:
        lang = lang or settings.lang
        d = as_of_date(as_of).strftime("%Y-%m-%d")
        return html(request, ("overview", lang, border, province, d), lambda: overview_map(
            store, lang=lang, border=border, province=province, as_of=d,
            **server).get_root().render())

    @r.get("/maps/progress", response_class=Response)
    def progress(request: Request, lang: str | None = _LANG, border: str | None = _BORDER,
                 province: str | None = _PROVINCE,
                 as_of: str | None = Query(None, pattern=_DATE),
                 patrol_days: int | None = Query(
                     None, ge=1, le=3650, description="With a border: the patrol coverage of "
                     "the last N days as an overlay (sections not visited in N days: overdue)")
                 ) -> Response:
        """Construction progress: markers, works (stalled highlighted), overdue inspections;
        with ``border`` and ``patrol_days``, the patrol coverage of the line."""
        lang = lang or settings.lang
        d = as_of_date(as_of).strftime("%Y-%m-%d")

        def build():
            cov = None
            if border and patrol_days:
                from bienmoc.analysis.coverage import coverage

                end = as_of_date(d).date()
                cov = coverage(store, store, border, start=end - _dt.timedelta(
                    days=patrol_days - 1), end=end, overdue_days=patrol_days)
            return progress_map(store, lang=lang, border=border, province=province, as_of=d,
                                coverage=cov, **server).get_root().render()

        return html(request, ("progress", lang, border, province, d, patrol_days), build)

    @r.get("/maps/incidents", response_class=Response)
    def incidents(request: Request, lang: str | None = _LANG, border: str | None = _BORDER,
                  province: str | None = _PROVINCE,
                  date_from: str | None = Query(None, alias="from", pattern=_DATE),
                  date_to: str | None = Query(None, alias="to", pattern=_DATE),
                  kind: str | None = Query(None, pattern=_CODES),
                  status: str | None = Query(None, pattern=_CODES)) -> Response:
        """Incidents by kind and status, clustered, heat map; date range on the reported date."""
        lang = lang or settings.lang
        return html(request, ("incidents", lang, border, province, date_from, date_to, kind,
                              status), lambda: incidents_map(
            store, lang=lang, border=border, province=province, date_from=date_from,
            date_to=date_to, kinds=kind, statuses=status, **server).get_root().render())

    # -- JSON data of the maps -------------------------------------------------------------
    @r.get("/maps/data/base", tags=["map data"])
    def data_base(request: Request, border: str | None = _BORDER) -> Response:
        """Provinces, neighbouring countries and boundary lines (GeoJSON, simplified)."""
        return data(request, ("base", border), lambda: base_data(store, border=border))

    @r.get("/maps/data/progress", tags=["map data"])
    def data_progress(request: Request, border: str | None = _BORDER,
                      province: str | None = _PROVINCE,
                      as_of: str | None = Query(None, pattern=_DATE),
                      stall_days: int = Query(180, ge=1, le=3650)) -> Response:
        """Markers (status, condition, inspection due), works (derived status) and gates."""
        d = as_of_date(as_of).strftime("%Y-%m-%d")
        return data(request, ("progress", border, province, d, stall_days),
                    lambda: progress_data(store, border=border, province=province, as_of=d,
                                          stall_days=stall_days))

    @r.get("/maps/data/incidents", tags=["map data"])
    def data_incidents(request: Request, lang: str | None = _LANG,
                       border: str | None = _BORDER, province: str | None = _PROVINCE,
                       date_from: str | None = Query(None, alias="from", pattern=_DATE),
                       date_to: str | None = Query(None, alias="to", pattern=_DATE),
                       kind: str | None = Query(None, pattern=_CODES),
                       status: str | None = Query(None, pattern=_CODES),
                       bbox: str | None = Query(None, max_length=100),
                       zoom: int | None = Query(None, ge=0, le=24)) -> Response:
        """Incidents of the view: points with popup fields, or counts per grid cell."""
        lang = lang or settings.lang
        return data(request, ("incidents", lang, border, province, date_from, date_to, kind,
                              status, bbox, zoom),
                    lambda: incidents_data(store, border=border, province=province,
                                           date_from=date_from, date_to=date_to, kinds=kind,
                                           statuses=status, bbox=bbox, zoom=zoom, lang=lang))

    # -- static assets (vendored Leaflet & plugins, bienmoc's JS/CSS) ----------------------
    @r.get("/static/{path:path}", include_in_schema=False)
    async def static_file(path: str, request: Request) -> Response:
        # StaticFiles resolves the path inside STATIC_DIR only (no traversal) and answers
        # 404 otherwise; it also handles ETag / If-None-Match.
        resp = await static.get_response(path, request.scope)
        if resp.status_code == 200:
            resp.headers["Cache-Control"] = "public, max-age=604800"
        return resp

    return r


_DASHBOARD_LINK = {
    "vi": ("Bảng tổng hợp", "số liệu báo cáo theo tỉnh, tuyến hoặc toàn tuyến (?province=…)"),
    "en": ("Dashboard", "the report numbers per province, border or national (?province=…)"),
}


def _index_html(lang: str) -> str:
    other = "en" if lang == "vi" else "vi"
    items = "".join(
        f'<li><a href="./maps/{name}?lang={lang}">{escape(t(name + "_link", lang))}</a>'
        f' – {escape(t(name + "_about", lang))}</li>'
        for name in ("progress", "incidents", "overview"))
    dash, about = _DASHBOARD_LINK[lang]
    items += f'<li><a href="./dashboard?lang={lang}">{escape(dash)}</a> – {escape(about)}</li>'
    title = escape(t("index_title", lang))
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title><style>body{{font:15px/1.5 system-ui,sans-serif;"
            f"max-width:48em;margin:2em auto;padding:0 1em}}</style></head><body>"
            f"<h1>{title}</h1><ul>{items}"
            f"<li><a href='strip?lang={lang}'>{escape(t('strip_link', lang))}</a> – "
            f"{escape(t('strip_about', lang))}</li>"
            f"<li><a href='api/status'>/api/status</a> – {escape(t('api_about', lang))}</li>"
            f"<li><a href='collections'>/collections</a> – "
            f"{escape(t('collections_about', lang))}</li>"
            f"<li><a href='docs'>/docs</a> – {escape(t('docs_about', lang))}</li>"
            f"</ul><p><a href='?lang={other}'>{escape(t('lang_switch', lang))}</a></p>"
            f"</body></html>")


def warm(store) -> None:
    """Compute the default views once (e.g. in a background thread at server start)."""
    base_data(store)
    progress_data(store)
    incidents_data(store)
