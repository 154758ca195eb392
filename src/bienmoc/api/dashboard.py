"""``/dashboard``: the report numbers of a province, a border or the whole country at a glance.

The figures are :func:`bienmoc.analysis.dashboard.dashboard_figures` (the same functions as
``bienmoc status/progress/hotspots``); this module only formats them. Every number links to the
map behind it. The monthly chart is SVG drawn here (no JS chart library: works offline); all
text goes through :func:`html.escape`; the one inline ``<style>`` is allowed by hash
(:func:`page_csp`), there is no script.
"""
from __future__ import annotations

import difflib
import unicodedata
from html import escape
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from bienmoc.model.places import province_key
from bienmoc.model.places import ascii_fold
from bienmoc.model.labels import catalogue
from bienmoc.analysis.dashboard import dashboard_figures
from bienmoc.analysis.progress import as_of_date
from bienmoc.maps.data import cached
from bienmoc.maps.filters import known_values
from bienmoc.analysis.status import _OPEN_INCIDENT
from bienmoc.api.security import page_csp
from bienmoc.api.settings import Settings
from bienmoc.fmt import fmt_date, fmt_number
from bienmoc.messages import to_vi
from bienmoc.model.dates import parse_date
from bienmoc.model.schema import GateStatus, IncidentKind, IncidentStatus
from bienmoc.analysis.progress import WorkStatus

__all__ = ["dashboard_router", "dashboard_html"]

_TEXT = {
    "title": ("Bảng tổng hợp biên giới", "Border dashboard"),
    "national": ("Toàn tuyến", "National"),
    "border": ("Tuyến", "Border"), "as_of": ("Tính đến ngày", "As of"),
    "period": ("Kỳ", "Period"), "markers": ("Cột mốc", "Markers"),
    "markers_built": ("Cột mốc đã xây dựng / tổng", "Marker positions built / total"),
    "stakes_built": ("Cọc dấu đã xây dựng / tổng", "Reference stakes built / total"),
    "conditions": ("Tình trạng cần xử lý", "Conditions needing action"),
    "damaged": ("hư hỏng", "damaged"), "displaced": ("xê dịch", "displaced"),
    "destroyed": ("bị phá hủy", "destroyed"), "missing": ("bị mất", "missing"),
    "needs_action": ("tổng cần xử lý", "total needing action"),
    "inspections": ("Kiểm tra mốc", "Inspections"),
    "overdue": ("quá hạn kiểm tra", "overdue"), "never": ("chưa kiểm tra lần nào", "never done"),
    "works": ("Công trình", "Works"), "percent": ("% hoàn thành", "% complete"),
    "budget": ("Kinh phí đã giải ngân / kế hoạch", "Budget disbursed / planned"),
    "stalled_list": ("Công trình chậm tiến độ", "Stalled works"),
    "section": ("Mốc / đoạn", "Marker / section"), "work": ("Công trình", "Work"),
    "days_idle": ("Số ngày không có tiến độ", "Days idle"),
    "days_overdue": ("Số ngày quá hạn", "Days overdue"),
    "disbursed": ("Đã giải ngân (VNĐ)", "Disbursed (VND)"),
    "gates": ("Cửa khẩu", "Border gates"),
    "incidents": ("Vụ việc trong kỳ", "Incidents in the period"),
    "previous": ("kỳ trước", "previous period"), "by_kind": ("Theo loại", "By kind"),
    "by_status": ("Theo trạng thái", "By status"), "open": ("chưa giải quyết xong (tất cả)",
                                                          "open (all time)"),
    "monthly": ("Vụ việc theo tháng", "Incidents per month"), "total": ("tổng", "total"),
    "none": ("Không có", "None"), "lang": ("English", "Tiếng Việt"),
    "not_found": ("Không tìm thấy", "Not found"),
    "unknown_province": ("Không có tỉnh", "Unknown province"),
    "unknown_border": ("Không có tuyến", "Unknown border"),
    "did_you_mean": ("Có phải là", "Did you mean"), "valid": ("Các giá trị hợp lệ",
                                                              "Valid values"),
    "bad_date": ("Ngày không hợp lệ", "Invalid date"), "home": ("Trang chủ", "Home"),
}

_CSS = ("body{font:15px/1.45 system-ui,sans-serif;max-width:66em;margin:1.5em auto;"
        "padding:0 1em;color:#222}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.1em;"
        "margin:1.2em 0 .4em}.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border:1px "
        "solid #ccc;border-radius:6px;padding:.6em .9em;min-width:13em}.big{font-size:1.7em;"
        "font-weight:600}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;"
        "padding:.2em .6em;text-align:left}td.n{text-align:right}a{color:#0645ad}"
        ".up{color:#b00}.down{color:#070}svg text{font:11px system-ui,sans-serif}")


#: the statuses status.marker_status counts as open (all but resolved), for the map link
_OPEN = ",".join(_OPEN_INCIDENT)


_t = catalogue(_TEXT)


def _label(enum, code: str, lang: str) -> str:
    try:
        m = enum(code)
    except ValueError:
        return code
    return m.en if lang == "en" else m.vi


def _dmy(iso: str | None, lang: str) -> str:
    """A date in the page's language (bienmoc.fmt: dd/mm/yyyy or yyyy-mm-dd)."""
    return "" if not iso else fmt_date(iso, lang)


def _nearest(value: str, valid: list[str]) -> list[str]:
    folded = {ascii_fold(v): v for v in valid}
    return [folded[n] for n in difflib.get_close_matches(ascii_fold(value), list(folded), n=3,
                                                         cutoff=0.5)]


def _a(href: str, text) -> str:
    return f'<a href="{escape(href)}">{escape(str(text))}</a>'


def _num(v, lang: str) -> str:
    return fmt_number(v, lang, 0)


def _page(title: str, body: str, lang: str) -> str:
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}"
            f"</body></html>")


def _chart(monthly: dict, link) -> str:
    """Monthly bars, each a link to the incidents map of that month (SVG presentation
    attributes only: no style attributes, so the strict CSP holds)."""
    months = list(monthly)
    n = max(len(months), 1)
    w, h, top = 40 * n + 40, 180, max(list(monthly.values()) + [1])
    bars = []
    for i, m in enumerate(months):
        v = monthly[m]
        bh = 130 * v / top
        x, y = 30 + 40 * i, 150 - bh
        p = pd.Period(m, "M")
        bars.append(f'<a href="{escape(link(p.start_time, p.end_time))}">'
                    f'<rect x="{x}" y="{y:.1f}" width="30" height="{max(bh, 0.5):.1f}" '
                    f'fill="#c0392b"><title>{escape(m)}: {v}</title></rect>'
                    f'<text x="{x + 15}" y="{y - 3:.1f}" text-anchor="middle">{v}</text>'
                    f'<text x="{x + 15}" y="166" text-anchor="middle">{p.strftime("%m/%y")}'
                    f'</text></a>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" role="img" id="monthly-chart">'
            f'<line x1="25" y1="150" x2="{w - 5}" y2="150" stroke="#555"/>{"".join(bars)}'
            f'</svg>')


def dashboard_html(f: dict, lang: str = "vi") -> str:
    """The dashboard page of the figures ``f`` (from :func:`dashboard_figures`)."""
    area = f["area"]
    base = {k: v for k, v in (("border", area["border"]), ("province", area["province"]))
            if v}
    per = f["period"]

    def url(path, **extra):
        q = {**base, "lang": lang, **{k: v for k, v in extra.items() if v is not None}}
        return f"{path}?{urlencode(q)}"

    progress = url("maps/progress", as_of=f["as_of"])

    def incidents(start=per["start"], end=per["end"], **kw):
        return url("maps/incidents", **{"from": str(start)[:10], "to": str(end)[:10]}, **kw)

    name = area["province"] or (_t("border", lang) + " " + area["border"] if area["border"]
                                else _t("national", lang))
    title = f'{_t("title", lang)} – {name}'
    mk = f["markers"]
    built = f"{mk['markers_built']}/{mk['markers_total']}"
    stakes = f"{mk['stakes_built']}/{mk['stakes_total']}"
    cards = (
        f'<div class="card">{escape(_t("markers_built", lang))}<div class="big" '
        f'id="markers-built">{_a(progress, built)}'
        f'</div></div><div class="card">{escape(_t("stakes_built", lang))}<div class="big" '
        f'id="stakes-built">{_a(progress, stakes)}</div>'
        f'</div>')
    sentence = escape(mk["summary_en" if lang == "en" else "summary_vi"])
    cond = "".join(f'<tr><td>{escape(_t(c, lang))}</td><td class="n">'
                   f'{_a(progress, f["conditions"][c])}</td></tr>' for c in f["conditions"])
    ins = f["inspections"]
    insp = "".join(f'<tr><td>{escape(_t(k, lang))}</td><td class="n" id="insp-{k}">'
                   f'{_a(progress, ins[k])}</td></tr>' for k in ("overdue", "never"))
    wk = f["works"]
    works = "".join(f'<tr><td>{escape(s.en if lang == "en" else s.vi)}</td><td class="n">'
                    f'{_a(progress, wk[s.value])}</td></tr>' for s in WorkStatus)
    pct_done = "–" if wk["percent_complete"] is None else f'{wk["percent_complete"]:g}'
    budget = (f'{_num(wk["budget_disbursed_vnd"] or 0, lang)} / '
              f'{_num(wk["budget_planned_vnd"] or 0, lang)}')
    works += (f'<tr><td>{escape(_t("total", lang))}</td><td class="n">'
              f'{_a(progress, wk["works_total"])}</td></tr>'
              f'<tr><td>{escape(_t("percent", lang))}</td><td class="n">'
              f'{_a(progress, pct_done)}</td></tr>'
              f'<tr><td>{escape(_t("budget", lang))}</td><td class="n">'
              f'{_a(progress, budget)}</td></tr>')
    heads = "".join(f"<th>{escape(_t(k, lang))}</th>" for k in
                    ("section", "work", "days_idle", "days_overdue", "percent", "disbursed"))
    stalled = "".join(
        f'<tr><td>{_a(progress, w["section"])}</td><td>{escape(str(w["title"] or ""))}</td>'
        f'<td class="n">{w["days_idle"] if w["days_idle"] is not None else "–"}</td>'
        f'<td class="n">{w["days_overdue"]}</td><td class="n">{w["percent"]:g}</td>'
        f'<td class="n">{_num(w["budget_disbursed_vnd"] or 0, lang)}</td></tr>'
        for w in f["stalled"]) or f'<tr><td colspan="6">{escape(_t("none", lang))}</td></tr>'
    gates = "".join(f'<tr><td>{escape(s.en if lang == "en" else s.vi)}</td><td class="n">'
                    f'{_a(progress, f["gates"][s.value])}</td></tr>' for s in GateStatus)
    inc = f["incidents"]
    cls = "up" if inc["change"] > 0 else ("down" if inc["change"] < 0 else "")
    pct = f' ({inc["change_pct"]:+g} %)' if inc["change_pct"] is not None else ""
    prev = f["previous_period"]
    change_text = f'{inc["change"]:+d}{pct}'
    kinds = list(dict.fromkeys([*inc["by_kind"], *inc["previous_by_kind"]]))
    by_kind = "".join(
        f'<tr><td>{escape(_label(IncidentKind, k, lang))}</td><td class="n">'
        f'{_a(incidents(kind=k), inc["by_kind"].get(k, 0))}</td><td class="n">'
        f'{_a(incidents(prev["start"], prev["end"], kind=k), inc["previous_by_kind"].get(k, 0))}'
        f'</td></tr>' for k in kinds) or \
        f'<tr><td colspan="3">{escape(_t("none", lang))}</td></tr>'
    by_status = "".join(
        f'<tr><td>{escape(_label(IncidentStatus, k, lang))}</td><td class="n">'
        f'{_a(incidents(status=k), n)}</td></tr>' for k, n in inc["by_status"].items()) or \
        f'<tr><td colspan="2">{escape(_t("none", lang))}</td></tr>'
    other = "en" if lang == "vi" else "vi"
    switch = "dashboard?" + urlencode({**base, "lang": other, "from": per["start"],
                                       "to": per["end"], "as_of": f["as_of"]})
    body = (
        f'<p><a href="./?lang={lang}">{escape(_t("home", lang))}</a> · '
        f'{_a(switch, _t("lang", lang))}</p><h1>{escape(title)}</h1>'
        f'<p>{escape(_t("as_of", lang))} {_dmy(f["as_of"], lang)} · '
        f'{escape(_t("period", lang))} '
        f'{_dmy(per["start"], lang)}–{_dmy(per["end"], lang)}</p>'
        f'<p id="sentence">{sentence}</p><div class="cards">{cards}</div>'
        f'<h2>{escape(_t("conditions", lang))}</h2><table>{cond}</table>'
        f'<h2>{escape(_t("inspections", lang))}</h2><table>{insp}</table>'
        f'<h2>{escape(_t("works", lang))}</h2><table>{works}</table>'
        f'<h2>{escape(_t("stalled_list", lang))}</h2><table id="stalled"><tr>{heads}</tr>'
        f'{stalled}</table>'
        f'<h2>{escape(_t("gates", lang))}</h2><table>{gates}</table>'
        f'<h2>{escape(_t("incidents", lang))}</h2><p><span class="big" id="incidents-total">'
        f'{_a(incidents(), inc["total"])}</span> · {escape(_t("previous", lang))} '
        f'({_dmy(prev["start"], lang)}–{_dmy(prev["end"], lang)}): '
        f'{_a(incidents(prev["start"], prev["end"]), inc["previous_total"])} · '
        f'<span class="{cls}" id="incidents-change">'
        f'{_a(incidents(prev["start"], per["end"]), change_text)}'
        f'</span> · '
        f'{escape(_t("open", lang))}: {_a(url("maps/incidents", status=_OPEN), inc["open"])}</p>'
        f'<h2>{escape(_t("by_kind", lang))}</h2><table id="by-kind"><tr><th></th>'
        f'<th>{escape(_t("period", lang))}</th><th>{escape(_t("previous", lang))}</th></tr>'
        f'{by_kind}</table><h2>{escape(_t("by_status", lang))}</h2><table id="by-status">'
        f'{by_status}</table><h2>{escape(_t("monthly", lang))}</h2>'
        f'{_chart(inc["monthly"], lambda a, b: incidents(a, b))}')
    return _page(title, body, lang)


def _problem_page(status: int, title: str, text: str, names: list[str], lang: str,
                  key: str = "did_you_mean") -> Response:
    items = "".join(f"<li>{_a('dashboard?' + urlencode(q | {'lang': lang}), label)}</li>"
                    for label, q in names)
    body = (f'<h1>{escape(title)}</h1><p>{escape(text)}</p>'
            + (f'<p>{escape(_t(key, lang))}:</p><ul id="nearest">{items}</ul>' if items else "")
            + f'<p><a href="./?lang={lang}">{escape(_t("home", lang))}</a></p>')
    page = _page(title, body, lang)
    return Response(page, status_code=status, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": page_csp(page)})


def _with_csp(page: str) -> tuple[str, str]:
    return page, page_csp(page)


def dashboard_router(store, settings: Settings) -> APIRouter:
    r = APIRouter(tags=["maps"])

    @r.get("/dashboard", response_class=Response)
    def dashboard(request: Request, lang: str | None = Query(None, pattern="^(vi|en)$"),
                  province: str | None = Query(None, max_length=100),
                  border: str | None = Query(None, max_length=20),
                  date_from: str | None = Query(None, alias="from", max_length=20),
                  date_to: str | None = Query(None, alias="to", max_length=20),
                  as_of: str | None = Query(None, max_length=20),
                  f: str | None = Query(None, pattern="^(html|json)$")) -> Response:
        """The report numbers of a province / border / the country, each linking to its map
        (``f=json``: the figures of :func:`bienmoc.analysis.dashboard.dashboard_figures`)."""
        lang = lang or settings.lang
        dates = {}
        for k, v in (("from", date_from), ("to", date_to), ("as_of", as_of)):
            try:
                dates[k] = parse_date(v) if v else None
            except ValueError as e:
                why = to_vi(str(e)) if lang == "vi" else str(e)
                return _problem_page(400, _t("bad_date", lang), f"{k}={v}: {why}", [], lang)
        if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
            return _problem_page(400, _t("bad_date", lang),
                                 f"from {dates['from']:%d/%m/%Y} > to {dates['to']:%d/%m/%Y}",
                                 [], lang)
        if border is not None:
            valid = known_values(store)["border"]
            hit = [b for b in valid if b.casefold() == border.strip().casefold()]
            if not hit:
                return _problem_page(404, _t("not_found", lang),
                                     f'{_t("unknown_border", lang)}: {border}',
                                     [(b, {"border": b}) for b in valid], lang, "valid")
            border = hit[0]
        if province is not None:
            valid = known_values(store)["province"]
            text = unicodedata.normalize("NFC", province).strip()
            hit = [p for p in valid if province_key(p) == province_key(text)]
            if not hit:
                near = _nearest(text, valid)
                return _problem_page(404, _t("not_found", lang),
                                     f'{_t("unknown_province", lang)}: {province}',
                                     [(p, {"province": p}) for p in near or valid], lang,
                                     "did_you_mean" if near else "valid")
            province = hit[0]
        # built once per data version and query (a write changes the version: rebuilt at the
        # next request); "today" is part of the key when no date is given
        today = as_of_date(None).strftime("%Y-%m-%d")
        key = ("dashboard", province, border, *(str(dates[k]) for k in ("from", "to", "as_of")),
               today)
        figures = cached(store, key, lambda: dashboard_figures(
            store, province=province, border=border, start=dates["from"], end=dates["to"],
            as_of=dates["as_of"]))
        if f == "json":
            return JSONResponse(figures, headers={"Cache-Control": "no-cache"})
        page, csp = cached(store, key + ("html", lang), lambda: _with_csp(
            dashboard_html(figures, lang)))
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"})

    return r
