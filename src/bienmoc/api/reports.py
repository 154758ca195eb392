"""``/reports``: the periodic report as a download (DOCX, HTML, Markdown, PDF) — the same
:func:`bienmoc.report.build_report` as ``bienmoc report`` and the notebooks.

``GET /reports`` without ``period``/``from`` shows a small form (no script; its one inline
``<style>`` allowed by hash, :func:`page_csp`); with them it returns the file as an attachment.
"""
from __future__ import annotations

import re
import tempfile
from html import escape
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from bienmoc.model.places import ascii_fold
from bienmoc.api.security import page_csp
from bienmoc.api.settings import Settings
from bienmoc.errors import InvalidData, Problem

__all__ = ["reports_router", "MEDIA_TYPES"]

MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf", "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8"}

_TEXT = {
    "vi": {"title": "Báo cáo định kỳ công tác quản lý biên giới", "province": "Tỉnh",
           "period": "Kỳ báo cáo", "format": "Định dạng", "lang": "Ngôn ngữ",
           "go": "Tải báo cáo", "home": "← Trang chủ",
           "hint": "Kỳ: 2026 (năm), 2026-H1 (6 tháng đầu năm), 2026-9M (9 tháng đầu năm), "
                   "2026-Q3 (quý III), 2026-06 (tháng)."},
    "en": {"title": "Periodic border-management report", "province": "Province",
           "period": "Period", "format": "Format", "lang": "Language", "go": "Download",
           "home": "← Home",
           "hint": "Period: 2026 (year), 2026-H1 (first half), 2026-9M (first nine months), "
                   "2026-Q3 (quarter), 2026-06 (month)."},
}
_CSS = "body{font:15px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em}" \
       "label{display:block;margin:.4em 0}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(text)).strip("-")


def _form(store, lang: str) -> str:
    tx = _TEXT[lang]
    names = sorted(store.read("provinces")["name"].dropna())
    options = "".join(f"<option>{escape(n)}</option>" for n in names)
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{escape(tx['title'])}</title><style>{_CSS}</style></head><body>"
            f"<p><a href='./?lang={lang}'>{escape(tx['home'])}</a></p>"
            f"<h1>{escape(tx['title'])}</h1><form method='get' action='reports'>"
            f"<label>{escape(tx['province'])} <select name='province'>{options}</select></label>"
            f"<label>{escape(tx['period'])} <input name='period' value='2026-H1' required "
            f"pattern='\\d{{4}}(-(Q[1-4]|H[12]|\\d{{1,2}}M|\\d{{2}}))?'></label>"
            f"<label>{escape(tx['format'])} <select name='format'><option>docx</option>"
            f"<option>pdf</option><option>html</option><option>md</option></select></label>"
            f"<input type='hidden' name='lang' value='{lang}'>"
            f"<button>{escape(tx['go'])}</button></form><p>{escape(tx['hint'])}</p>"
            f"</body></html>")


def reports_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["reports"])

    @r.get("/reports", response_class=Response)
    def reports(province: str | None = Query(None, max_length=100),
                border: str | None = Query(None, pattern="^[A-Z]{2}$"),
                period: str | None = Query(None, max_length=10,
                                           description="2026, 2026-H1, 2026-9M, 2026-Q3, "
                                                       "2026-06"),
                start: str | None = Query(None, alias="from", max_length=10,
                                          description="YYYY-MM-DD or dd/mm/yyyy"),
                end: str | None = Query(None, alias="to", max_length=10),
                as_of: str | None = Query(None, max_length=10),
                format: str = Query("docx", pattern="^(docx|html|md|pdf)$"),
                lang: str | None = Query(None, pattern="^(vi|en)$"),
                maps: bool = True) -> Response:
        """The report of a province (or a border) for a period, as a file download."""
        from bienmoc.report import build_report, parse_period, render
        from bienmoc.report.pdf import soffice_path

        lang = lang or settings.lang
        if period is None and start is None and end is None:
            html = _form(store, lang)
            return Response(html, media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": page_csp(html)})
        if period is not None:
            if start or end:
                raise InvalidData(Problem(None, "period", "give period or from/to, not both"))
            start, end = parse_period(period)
        elif not (start and end):
            raise InvalidData(Problem(None, "from", "give period, or both from and to"))
        if format == "pdf" and soffice_path() is None:
            return JSONResponse({"detail": "PDF output needs LibreOffice (soffice) on the "
                                           "server; docx, html and md work without it"},
                                status_code=503)
        rep = build_report(store, province=province, border=border, start=start, end=end,
                           lang=lang, as_of=as_of, with_maps=maps)
        name = (f"bao-cao-{_slug(rep.scope['province'] or border or 'toan-tuyen')}-"
                f"{rep.period_start:%Y%m%d}-{rep.period_end:%Y%m%d}.{format}")
        with tempfile.TemporaryDirectory(prefix="bienmoc-report-") as tmp:
            path = Path(tmp, name)
            if format == "md":  # one file: pictures inline
                from bienmoc.report.text import write_markdown
                write_markdown(rep, path, images="inline")
            else:
                render(rep, path, format)
            body = path.read_bytes()
        return Response(body, media_type=MEDIA_TYPES[format], headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; "
                                   f"filename*=UTF-8''{quote(name)}"})

    return r
