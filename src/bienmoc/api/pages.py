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
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from bienmoc.maps import incidents_map, overview_map, progress_map
from bienmoc.maps.assets import STATIC_DIR
from bienmoc.maps.data import base_data, incidents_data, progress_data, safe_json
from bienmoc.maps.filters import UnknownFilter, check_codes, check_filters
from bienmoc.maps.text import border_name, t
from bienmoc.model.dates import parse_date
from bienmoc.model.schema import IncidentKind, IncidentStatus
from bienmoc.api.history import history_router
from bienmoc.analysis.progress import as_of_date
from bienmoc.api.security import page_csp
from bienmoc.api.settings import Settings

__all__ = ["pages_router", "warm"]

_LANG = Query(None, pattern="^(vi|en)$")
# '' is what the filter form sends for "all" (read as no filter)
_BORDER = Query(None, pattern="^([A-Z]{2})?$")
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

    def page(request, kind, lang, key, build, query: dict) -> Response:
        """A map page; an unknown filter value or a bad date answers a page that says so."""
        try:
            return html(request, key, build)
        except UnknownFilter as e:
            return _message_page(404, kind, lang, e, query)
        except BadDate as e:
            return _message_page(422, kind, lang, e, query)

    @r.get("/maps/overview", response_class=Response)
    def overview(request: Request, lang: str | None = _LANG, border: str | None = _BORDER,
                 province: str | None = _PROVINCE,
                 as_of: str | None = Query(None, max_length=30)) -> Response:
        """Markers by status and condition, gates by kind and status, boundary lines.
        Dates: dd/mm/yyyy or yyyy-mm-dd."""
        lang = lang or settings.lang
        border, province = border or None, (province or "").strip() or None
        q = {"border": border, "province": province, "as_of": as_of}
        try:
            d = _iso_date(as_of, "as_of", default_today=True)
        except BadDate as e:
            return _message_page(422, "overview", lang, e, q)
        return page(request, "overview", lang, ("overview", lang, border, province, d),
                    lambda: overview_map(store, lang=lang, border=border, province=province,
                                         as_of=d, **server).get_root().render(), q)

    @r.get("/maps/progress", response_class=Response)
    def progress(request: Request, lang: str | None = _LANG, border: str | None = _BORDER,
                 province: str | None = _PROVINCE,
                 as_of: str | None = Query(None, max_length=30),
                 patrol_days: int | None = Query(
                     None, ge=1, le=3650, description="With a border: the patrol coverage of "
                     "the last N days as an overlay (sections not visited in N days: overdue)")
                 ) -> Response:
        """Construction progress: markers, works (stalled highlighted), overdue inspections;
        with ``border`` and ``patrol_days``, the patrol coverage of the line.
        Dates: dd/mm/yyyy or yyyy-mm-dd."""
        lang = lang or settings.lang
        border, province = border or None, (province or "").strip() or None
        q = {"border": border, "province": province, "as_of": as_of}
        try:
            d = _iso_date(as_of, "as_of", default_today=True)
        except BadDate as e:
            return _message_page(422, "progress", lang, e, q)
        terrain = {"dem": settings.dem, "terrain_url": "../terrain"} if settings.dem else {}

        def build():
            cov = None
            if border and patrol_days:
                from bienmoc.analysis.coverage import coverage

                end = as_of_date(d).date()
                cov = coverage(store, store, border, start=end - _dt.timedelta(
                    days=patrol_days - 1), end=end, overdue_days=patrol_days)
            return progress_map(store, lang=lang, border=border, province=province, as_of=d,
                                coverage=cov, **terrain, **server).get_root().render()

        return page(request, "progress", lang, ("progress", lang, border, province, d,
                                                patrol_days), build, q)

    @r.get("/maps/incidents", response_class=Response)
    def incidents(request: Request, lang: str | None = _LANG, border: str | None = _BORDER,
                  province: str | None = _PROVINCE,
                  date_from: str | None = Query(None, alias="from", max_length=30),
                  date_to: str | None = Query(None, alias="to", max_length=30),
                  kind: str | None = Query(None, pattern=_CODES),
                  status: str | None = Query(None, pattern=_CODES)) -> Response:
        """Incidents by kind and status, clustered, heat map; date range on the reported date
        (dd/mm/yyyy or yyyy-mm-dd)."""
        lang = lang or settings.lang
        border, province = border or None, (province or "").strip() or None
        q = {"border": border, "province": province, "from": date_from, "to": date_to,
             "kind": kind, "status": status}
        try:
            d0, d1 = _iso_date(date_from, "from"), _iso_date(date_to, "to")
        except BadDate as e:
            return _message_page(422, "incidents", lang, e, q)
        return page(request, "incidents", lang,
                    ("incidents", lang, border, province, d0, d1, kind, status),
                    lambda: incidents_map(store, lang=lang, border=border, province=province,
                                          date_from=d0, date_to=d1, kinds=kind,
                                          statuses=status, **server).get_root().render(), q)

    def checked(request, key, build, *, border=None, province=None, kind=None,
                status=None) -> Response:
        """The data of ``key``, or 404 naming the parameter and the value that matches
        nothing (an unknown province, border, kind or status)."""
        try:
            check_filters(store, border, province)
            check_codes(kind, IncidentKind, "kind")
            check_codes(status, IncidentStatus, "status")
        except UnknownFilter as e:
            return JSONResponse(e.as_json(), 404, headers={"Cache-Control": "no-cache"})
        return data(request, key, build)

    # -- JSON data of the maps -------------------------------------------------------------
    @r.get("/maps/data/base", tags=["map data"])
    def data_base(request: Request, border: str | None = _BORDER) -> Response:
        """Provinces, neighbouring countries and boundary lines (GeoJSON, simplified)."""
        return checked(request, ("base", border), lambda: base_data(store, border=border),
                       border=border)

    @r.get("/maps/data/progress", tags=["map data"])
    def data_progress(request: Request, border: str | None = _BORDER,
                      province: str | None = _PROVINCE,
                      as_of: str | None = Query(None, pattern=_DATE),
                      stall_days: int = Query(180, ge=1, le=3650)) -> Response:
        """Markers (status, condition, inspection due), works (derived status) and gates."""
        d = as_of_date(as_of).strftime("%Y-%m-%d")
        return checked(request, ("progress", border, province, d, stall_days),
                       lambda: progress_data(store, border=border, province=province, as_of=d,
                                             stall_days=stall_days),
                       border=border, province=province)

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
        return checked(request, ("incidents", lang, border, province, date_from, date_to,
                                 kind, status, bbox, zoom),
                       lambda: incidents_data(store, border=border, province=province,
                                              date_from=date_from, date_to=date_to,
                                              kinds=kind, statuses=status, bbox=bbox,
                                              zoom=zoom, lang=lang),
                       border=border, province=province, kind=kind, status=status)

    # -- static assets (vendored Leaflet & plugins, bienmoc's JS/CSS) ----------------------
    @r.get("/static/{path:path}", include_in_schema=False)
    async def static_file(path: str, request: Request) -> Response:
        # StaticFiles resolves the path inside STATIC_DIR only (no traversal) and answers
        # 404 otherwise; it also handles ETag / If-None-Match.
        resp = await static.get_response(path, request.scope)
        if resp.status_code == 200:
            resp.headers["Cache-Control"] = "public, max-age=604800"
        return resp

    r.include_router(history_router(store, settings))
    return r


class BadDate(ValueError):
    """A date parameter that model.dates.parse_date refuses."""

    def __init__(self, param: str, value: str, why: str):
        self.param, self.value = param, value
        super().__init__(f"{param}={value}: {why}")


def _iso_date(value: str | None, param: str, default_today: bool = False) -> str | None:
    """A date parameter (dd/mm/yyyy or yyyy-mm-dd, the one parser) as yyyy-mm-dd."""
    if value is None or value.strip() == "":
        return as_of_date(None).strftime("%Y-%m-%d") if default_today else None
    try:
        return parse_date(value).isoformat()
    except ValueError as e:
        raise BadDate(param, value, str(e)) from None


_MESSAGE_CSS = ("body{font:15px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;"
                "padding:0 1em}.bienmoc-message{border:2px solid #b2182b;border-radius:4px;"
                "background:#fff8e1;padding:.6em 1em}")


def _message_page(status: int, kind: str, lang: str, e: Exception, query: dict) -> Response:
    """A visible message instead of a blank map: what was not found (or not understood),
    the values to choose from as links, and a link to the map without the filter."""
    from bienmoc.messages import to_vi

    keep = {k: v for k, v in query.items() if v}
    if isinstance(e, UnknownFilter):
        text = t(f"unknown_{e.param}", lang).format(v=e.value)
        choices = e.near or e.valid
        head = t("did_you_mean" if e.near else "valid_values", lang)
        links = "".join(
            f'<li><a href="{escape(kind + "?" + urlencode({**keep, e.param: v, "lang": lang}))}">'
            f"{escape(border_name(v, lang) if e.param == 'border' else v)}</a></li>"
            for v in choices[:40])
        drop = {k: v for k, v in keep.items() if k != e.param}
        title = t("not_found", lang)
        more = f"<p>{escape(head)}:</p><ul id='choices'>{links}</ul>" if links else ""
    else:
        why = str(e)
        text = to_vi(why) if lang == "vi" else why
        drop = {k: v for k, v in keep.items() if k != getattr(e, "param", None)}
        title = t("bad_date", lang)
        more = ""
    whole = escape(kind + "?" + urlencode({**drop, "lang": lang}))
    body = (f"<h1>{escape(title)}</h1><p class='bienmoc-message' id='message' role='alert'>"
            f"{escape(text)}</p>{more}<p><a href='{whole}'>{escape(t('whole_map', lang))}</a>"
            f" · <a href='../?lang={lang}'>{escape(t('home', lang))}</a></p>")
    page = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)} – {escape(t(kind + '_title', lang))}</title>"
            f"<style>{_MESSAGE_CSS}</style></head><body>{body}</body></html>")
    return Response(page, status, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": page_csp(page),
                             "Cache-Control": "no-cache"})


_DASHBOARD_LINK = {
    "vi": ("Bảng tổng hợp", "số liệu báo cáo theo tỉnh, tuyến hoặc toàn tuyến (?province=…)"),
    "en": ("Dashboard", "the report numbers per province, border or national (?province=…)"),
}


_REPORTS_LINK = {
    "vi": ("Báo cáo định kỳ", "tải báo cáo công tác quản lý biên giới của tỉnh theo kỳ "
                             "(DOCX đúng thể thức, PDF, HTML, Markdown)"),
    "en": ("Periodic report", "download a province's border-management report for a period "
                              "(official DOCX, PDF, HTML, Markdown)"),
}


def _index_html(lang: str) -> str:
    other = "en" if lang == "vi" else "vi"
    items = "".join(
        f'<li><a href="./maps/{name}?lang={lang}">{escape(t(name + "_link", lang))}</a>'
        f' – {escape(t(name + "_about", lang))}</li>'
        for name in ("progress", "incidents", "overview"))
    dash, about = _DASHBOARD_LINK[lang]
    items += f'<li><a href="./dashboard?lang={lang}">{escape(dash)}</a> – {escape(about)}</li>'
    rep, rep_about = _REPORTS_LINK[lang]
    items += f'<li><a href="./reports?lang={lang}">{escape(rep)}</a> – {escape(rep_about)}</li>'
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
