"""``/history/...``: the history page of one record, linked from every map popup.

``/history/markers?border=LA&number=100/1`` (marker numbers contain slashes: a query, not a
path), ``/history/works/{id}``, ``/history/incidents/{id}``, ``/history/gates/{id}``; ``f=json``
gives the rows. The rows are :func:`bienmoc.analysis.inspections.marker_history` and
:func:`bienmoc.analysis.history.record_history` (the same as ``bienmoc history``); this module
only formats them (escaped text, one inline style allowed by hash, no script).
"""
from __future__ import annotations

from html import escape

import pandas as pd
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from bienmoc.analysis.history import record_history
from bienmoc.analysis.inspections import marker_history
from bienmoc.api.security import page_csp
from bienmoc.api.settings import Settings
from bienmoc.errors import NotFound
from bienmoc.maps.data import cached
from bienmoc.maps.text import border_name, t

__all__ = ["history_router", "history_html"]

_TITLES = {"markers": ("Lịch sử cột mốc {n}", "History of marker {n}"),
           "works": ("Lịch sử công trình {n}", "History of work {n}"),
           "incidents": ("Lịch sử vụ việc {n}", "History of incident {n}"),
           "gates": ("Lịch sử cửa khẩu {n}", "History of border gate {n}")}
_EVENTS = {"construction": ("xây dựng mốc", "construction"), "work": ("công trình", "work"),
           "progress": ("tiến độ", "progress"), "inspection": ("kiểm tra", "inspection"),
           "resurvey": ("đo đạc lại", "resurvey"), "incident": ("vụ việc", "incident"),
           "change": ("thay đổi", "change"), "gate": ("cửa khẩu", "gate"),
           "status": ("trạng thái", "status")}
_HEAD = {"vi": ("Ngày", "Sự kiện", "Mã bản ghi", "Nội dung"),
         "en": ("Date", "Event", "Record", "Description")}
_NONE = {"vi": "Chưa có sự kiện nào được ghi nhận.", "en": "Nothing recorded yet."}
_CSS = ("body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:1.5em auto;"
        "padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border-bottom:1px solid "
        "#ddd;padding:.25em .6em;text-align:left;vertical-align:top}td.d{white-space:nowrap}")


def _date(v, lang: str) -> str:
    if v is None or pd.isna(v):
        return ""
    return pd.Timestamp(v).strftime("%d/%m/%Y" if lang == "vi" else "%Y-%m-%d")


def history_html(h: pd.DataFrame, title: str, lang: str, back: str) -> str:
    """The page of history rows ``h`` (columns date, event, record_id, description_vi/en)."""
    desc = "description_en" if lang == "en" else "description_vi"
    rows = "".join(
        f'<tr><td class="d">{_date(r.date, lang)}</td>'
        f'<td>{escape(_EVENTS.get(r.event, (r.event, r.event))[lang == "en"])}</td>'
        f'<td>{escape(str(r.record_id or ""))}</td><td>{escape(str(getattr(r, desc)))}</td></tr>'
        for r in h.itertuples(index=False))
    head = "".join(f"<th>{escape(x)}</th>" for x in _HEAD[lang])
    table = (f'<table id="history"><tr>{head}</tr>{rows}</table>' if rows
             else f'<p id="history-empty">{escape(_NONE[lang])}</p>')
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<p><a href='{escape(back)}'>{escape(t('home', lang))}</a></p>"
            f"<h1>{escape(title)}</h1>{table}</body></html>")


def _respond(h: pd.DataFrame, title: str, lang: str, f: str | None, back: str) -> Response:
    if f == "json":
        out = h.assign(date=h["date"].dt.strftime("%Y-%m-%d"))
        return JSONResponse(out.to_dict(orient="records"))
    page = history_html(h, title, lang, back)
    return Response(page, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": page_csp(page)})


def _not_found(e: Exception, lang: str, f: str | None, back: str) -> Response:
    if f == "json":
        return JSONResponse({"detail": str(e)}, 404)
    title = t("not_found", lang)
    page = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p id='message'>{escape(str(e))}</p>"
            f"<p><a href='{escape(back)}'>{escape(t('home', lang))}</a></p></body></html>")
    return Response(page, 404, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": page_csp(page)})


def history_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["maps"])
    lang_q = Query(None, pattern="^(vi|en)$")
    f_q = Query(None, pattern="^(html|json)$")

    @r.get("/history/markers", response_class=Response)
    def marker_page(number: str = Query(..., min_length=1, max_length=32),
                    border: str | None = Query(None, pattern="^[A-Z]{2}$"),
                    lang: str | None = lang_q, f: str | None = f_q) -> Response:
        """Everything recorded about a marker position (as ``bienmoc history``)."""
        lang = lang or settings.lang
        back = f"../?lang={lang}"
        try:
            h = cached(store, ("history", "markers", border, number.strip()),
                       lambda: marker_history(store, number.strip(), border=border))
        except NotFound as e:
            return _not_found(e, lang, f, back)
        title = _TITLES["markers"][lang == "en"].format(n=number.strip())
        if border:
            title += f" ({border_name(border, lang)})"
        return _respond(h, title, lang, f, back)

    @r.get("/history/{layer}/{record_id}", response_class=Response)
    def record_page(layer: str = Path(..., pattern="^(works|incidents|gates)$"),
                    record_id: str = Path(..., max_length=64),
                    lang: str | None = lang_q, f: str | None = f_q) -> Response:
        """The dates, progress updates and recorded changes of a work, incident or gate."""
        lang = lang or settings.lang
        back = f"../../?lang={lang}"
        try:
            h = cached(store, ("history", layer, record_id),
                       lambda: record_history(store, layer, record_id))
        except NotFound as e:
            return _not_found(e, lang, f, back)
        return _respond(h, _TITLES[layer][lang == "en"].format(n=record_id), lang, f, back)

    return r
