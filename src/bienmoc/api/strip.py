"""``/strip`` (HTML page embedding the SVG), ``/strip.svg`` and ``/strip.png``: the strip map of
a border section (:mod:`bienmoc.maps.strip`). No JavaScript: the page is the server-drawn SVG
inline plus a GET form; its one inline ``<style>`` is allowed by hash (:func:`page_csp`).
Bodies are cached per store data version and query (an edit shows at the next request)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from html import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bienmoc.api.security import page_csp
from bienmoc.api.settings import Settings
from bienmoc.errors import InvalidData, Problem
from bienmoc.maps.page import date_input
from bienmoc.model.dates import parse_date
from bienmoc.maps.strip import strip_svg, svg_to_png
from bienmoc.maps.text import border_name

__all__ = ["strip_router"]

_TEXT = {
    "vi": {"title": "Sơ đồ duỗi thẳng đoạn biên giới", "border": "Tuyến", "from": "Từ km",
           "to": "Đến km", "as_of": "Tính đến ngày", "show": "Vẽ", "home": "← Danh sách bản đồ",
           "download": "Tải về", "other": "English"},
    "en": {"title": "Strip map of a border section", "border": "Border", "from": "From km",
           "to": "To km", "as_of": "As of", "show": "Draw", "home": "← All maps",
           "download": "Download", "other": "Tiếng Việt"},
}
_CSS = ("body{font:14px/1.4 system-ui,sans-serif;margin:1em}form{margin:.5em 0}"
        "input,select{margin:0 .8em 0 .3em}.svg{overflow-x:auto}svg{max-width:100%;height:auto}")


def strip_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["maps"])
    cache: OrderedDict = OrderedDict()
    lock = threading.Lock()

    def svg_of(border, from_km, to_km, as_of, lang) -> str:
        as_of = _iso(as_of)
        key = (store.version(), border, from_km, to_km, as_of, lang)
        with lock:
            hit = cache.get(key)
        if hit is None:
            hit = strip_svg(store, border, from_km, to_km, as_of=as_of, lang=lang,
                            dem=settings.dem or None)   # a profile band with a DEM
            with lock:
                cache[key] = hit
                while len(cache) > 64:
                    cache.popitem(last=False)
        return hit

    border_q = Query("LA", pattern="^[A-Z]{2}$")
    from_q = Query(0.0, ge=0, le=10000)
    to_q = Query(50.0, gt=0, le=10000)
    # dd/mm/yyyy (the form's text field) or yyyy-mm-dd; '' from the form: today
    date_q = Query(None, max_length=30)
    lang_q = Query(None, pattern="^(vi|en)$")

    @r.get("/strip", response_class=Response)
    def strip_page(request: Request, border: str = border_q, from_km: float = from_q,
                   to_km: float = to_q, as_of: str | None = date_q,
                   lang: str | None = lang_q) -> Response:
        """The strip map page: a form and the SVG inline."""
        lang = lang or settings.lang
        svg = svg_of(border, from_km, to_km, as_of, lang)
        html = _page(svg, border, from_km, to_km, _iso(as_of), lang)
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": page_csp(html)})

    @r.get("/strip.svg", response_class=Response)
    def strip_svg_file(border: str = border_q, from_km: float = from_q, to_km: float = to_q,
                       as_of: str | None = date_q, lang: str | None = lang_q) -> Response:
        """The strip map as SVG."""
        svg = svg_of(border, from_km, to_km, as_of, lang or settings.lang)
        return Response(svg, media_type="image/svg+xml")

    @r.get("/strip.png", response_class=Response)
    def strip_png(border: str = border_q, from_km: float = from_q, to_km: float = to_q,
                  as_of: str | None = date_q, lang: str | None = lang_q) -> Response:
        """The strip map as PNG."""
        svg = svg_of(border, from_km, to_km, as_of, lang or settings.lang)
        return Response(svg_to_png(svg), media_type="image/png")

    return r


def _iso(value: str | None) -> str | None:
    """The as-of date (dd/mm/yyyy or ISO, read by the one parser) as ISO; None: today."""
    if value is None or not value.strip():
        return None
    try:
        return parse_date(value).isoformat()
    except ValueError as e:
        raise InvalidData(Problem(None, "as_of", str(e)), "invalid parameter") from None


def _page(svg: str, border: str, from_km: float, to_km: float, as_of, lang: str) -> str:
    T = _TEXT[lang]
    e = escape
    q = f"border={e(border)}&amp;from_km={from_km:g}&amp;to_km={to_km:g}&amp;lang={lang}" + (
        f"&amp;as_of={e(as_of)}" if as_of else "")
    other = "en" if lang == "vi" else "vi"
    opts = "".join(f'<option value="{c}"{" selected" if c == border else ""}>'
                   f"{e(border_name(c, lang))}</option>" for c in ("CN", "LA", "KH"))
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{e(T['title'])}</title><style>{_CSS}</style></head><body>"
            f"<p><a href='./?lang={lang}'>{e(T['home'])}</a></p><h1>{e(T['title'])}</h1>"
            f"<form method='get' action='strip'><input type='hidden' name='lang' value='{lang}'>"
            f"<label>{e(T['border'])}<select name='border'>{opts}</select></label>"
            f"<label>{e(T['from'])}<input name='from_km' type='number' step='any' min='0' "
            f"value='{from_km:g}'></label>"
            f"<label>{e(T['to'])}<input name='to_km' type='number' step='any' min='0' "
            f"value='{to_km:g}'></label>"
            f"{date_input(T['as_of'], 'as_of', as_of)}"
            f"<button type='submit'>{e(T['show'])}</button></form>"
            f"<p>{e(T['download'])}: <a href='strip.svg?{q}'>SVG</a> · "
            f"<a href='strip.png?{q}'>PNG</a> · "
            f"<a href='strip?{q.replace('lang=' + lang, 'lang=' + other)}'>{e(T['other'])}</a>"
            f"</p><div class='svg'>{svg}</div></body></html>")
