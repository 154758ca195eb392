"""The periodic report's content: :func:`build_report` fills a :class:`~bienmoc.report.model.Report`
from the store. Every number comes from the library function the CLI also uses (never
recomputed here): :func:`~bienmoc.analysis.dashboard.dashboard_figures` (marker status,
conditions, inspections due, works summary and stalled list, gates, incidents in the period and
the previous one, monthly counts), :func:`~bienmoc.analysis.status.marker_status` per border
section, :func:`~bienmoc.analysis.progress.progress_summary` / ``work_status``,
:func:`~bienmoc.analysis.inspections.inspections_done` / ``current_condition`` /
``inspections_due``, :func:`~bienmoc.analysis.lengths.incident_counts` / ``hotspots`` and, when
installed, ``bienmoc.analysis.demarcation.demarcation_summary``.

``Report.figures`` keys (stable; templates reach them as ``{{ figures.markers.built }}``):

=====================================  ====================================================
``scope.province``, ``scope.border``   the area (None: not restricted)
``period.start``, ``period.end``       ISO dates, inclusive; ``period.days``, ``period.label``
``previous.start/end/total``           the previous period of the same length, its incidents
``year_before.start/end/total``        the same period a year before, its incidents
``as_of``                              date of works status and inspections due (ISO)
``markers.total/built/under_construction/planned``  marker positions (``marker_status``)
``stakes.total/built``                 reference stakes; ``markers.sentence`` the report
                                       sentence ("cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12")
``markers.sections``                   per border × province: border, province, sentence,
                                       markers_built, markers_total, stakes_built, stakes_total
``conditions.damaged/displaced/destroyed/missing/needs_action``  current conditions
``inspections.in_period/unilateral/joint``  effective inspections dated in the period
``inspections.due/overdue/never``      built markers due as of ``as_of``
``patrols.total/unilateral/joint``     patrols started in the period in the area (a province:
                                       those whose track crosses it)
``patrols.coverage``                   per border of the area with patrols: border, covered_km,
                                       line_km, covered_pct, sections, sections_unvisited
                                       (:func:`~bienmoc.analysis.coverage.coverage`, clipped
                                       to the province; only from a store holding the fixes)
``works.total/not_started/in_progress/stalled/completed``  works by derived status
``works.percent_complete``, ``works.budget_planned_vnd``, ``works.budget_disbursed_vnd``,
``works.disbursed_pct``                ``progress_summary`` total row
``works.stalled_list``                 ``stalled_works`` rows + budgets
``works.completed_in_period``          count; ``works.completed_list`` their id/title/section
``incidents.total``                    reported in the period ("phát hiện")
``incidents.handled``                  of those, resolved ("xử lý")
``incidents.violations``, ``incidents.violations_handled``  kinds in :data:`VIOLATION_KINDS`
``incidents.change``, ``incidents.change_pct``  against the previous period
``incidents.by_kind``, ``incidents.by_status``, ``incidents.by_kind_status`` ('kind|status')
``incidents.monthly``                  'YYYY-MM' → count, every month of the period
``incidents.open``                     all incidents not resolved (any date)
``incidents.top_sections``             hotspots: border, marker_from, marker_to, incidents
``gates.total`` and ``gates.<status>``  gates by status; ``gates.by_kind`` kind → count
``gates.changes``                      gates opened or changing status in the period
``demarcation.demarcated_km``, ``demarcation.not_demarcated_km``, ``demarcation.total_km``
                                       only when ``demarcation_summary`` is available
=====================================  ====================================================
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from bienmoc.model.places import province_key
from bienmoc.model.places import in_area
from bienmoc.model.labels import catalogue
from bienmoc.analysis.dashboard import dashboard_figures
from bienmoc.analysis.inspections import current_condition, inspections_done
from bienmoc.analysis.lengths import hotspots, incident_counts
from bienmoc.analysis.progress import WorkStatus, progress_summary, work_status
from bienmoc.analysis.status import ACTION_CONDITIONS, marker_status
from bienmoc.errors import InvalidData
from bienmoc.model.dates import parse_date
from bienmoc.model.schema import GateStatus, label
from bienmoc.model.source import frames
from bienmoc.report.model import Image, Placeholder, Report, Section, Table
from bienmoc.report.labels import TEXT as _T
from bienmoc.report.period import period_label

__all__ = ["build_report", "VIOLATION_KINDS", "TOP_SECTION_M"]

#: Incident kinds that are violations of the border-management agreement ("vi phạm Hiệp định
#: về Quy chế quản lý biên giới"): building works at the line and encroachment. The Lạng Sơn
#: seed's "02 vụ vi phạm Hiệp định" (9 months of 2020) are the demo's two `construction` ones.
VIOLATION_KINDS = ("construction", "encroachment")
#: Longest list table (markers needing action, inspections due); the rest is counted.
MAX_ROWS = 40
#: Chainage bin (m) of the "areas with most incidents" ("khu vực mốc X – Y").
TOP_SECTION_M = 5000.0

_LAYERS = ("markers", "gates", "incidents", "inspections", "works", "work_progress",
           "boundary", "provinces", "patrols")


_t = catalogue(_T)


def _d(d, lang: str) -> str:
    """A date as reports write it (dd/mm/yyyy)."""
    return pd.Timestamp(d).strftime("%d/%m/%Y")


def _n(v: int, lang: str) -> str:
    """A count as Vietnamese reports write it: two digits under 10 ("02 vụ")."""
    v = int(v)
    return f"{v:02d}" if lang == "vi" and 0 < v < 10 else str(v)


def _money(v, lang: str) -> str:
    if v is None or pd.isna(v):
        return ""
    text = f"{float(v):,.0f}"
    return text.replace(",", ".") if lang == "vi" else text


def _pct(v, lang: str) -> str:
    if v is None or pd.isna(v):
        return "–"
    text = f"{float(v):.1f}"
    return text.replace(".", ",") if lang == "vi" else text


def _canonical_province(fr, province: str | None) -> str | None:
    if province is None:
        return None
    names = list(fr["provinces"]["name"].dropna()) + list(fr["markers"]["province"].dropna())
    for n in names:
        if province_key(n) == province_key(province):
            return n
    raise InvalidData(f"unknown province: {province!r}")


def build_report(source, *, province: str | None = None, border: str | None = None,
                 start, end, lang: str = "vi", as_of=None, with_maps: bool = True,
                 stall_days: int | None = None) -> Report:
    """The periodic report of a province (or a border, or the whole land border) for the
    period ``start``..``end`` (inclusive; ISO or dd/mm/yyyy, see :func:`parse_period` for
    shortcuts). Works status and inspections due are taken as of ``as_of`` (default: the
    period's end, which is also the report's date). ``with_maps`` renders the map and chart."""
    if lang not in ("vi", "en"):
        raise InvalidData(f"unknown language: {lang!r} (vi or en)")
    try:
        start_d, end_d = parse_date(start), parse_date(end)
        as_of_d = parse_date(as_of) if as_of is not None else end_d
    except ValueError as e:
        raise InvalidData(str(e)) from None
    if start_d > end_d:
        raise InvalidData(f"the period starts ({start_d:%d/%m/%Y}) after it ends "
                          f"({end_d:%d/%m/%Y})")
    fr = frames(source, _LAYERS)
    province = _canonical_province(fr, province)
    if border is not None and border not in set(fr["boundary"]["border"]) | set(
            fr["markers"]["border"]):
        raise InvalidData(f"unknown border: {border!r}")
    extra = {} if stall_days is None else {"stall_days": stall_days}
    dash = dashboard_figures(fr, province=province, border=border, start=start_d, end=end_d,
                             as_of=as_of_d, **extra)
    plabel = period_label(start_d, end_d, lang)
    fig: dict[str, object] = {
        "scope.province": province, "scope.border": border,
        "period.start": start_d.isoformat(), "period.end": end_d.isoformat(),
        "period.days": dash["period"]["days"], "period.label": plabel,
        "as_of": as_of_d.isoformat(),
    }
    bnames = {b: (nv if lang == "vi" else ne) for b, nv, ne in zip(
        fr["boundary"]["border"], fr["boundary"]["name_vi"], fr["boundary"]["name_en"])}
    if province:
        area = _t("area_p", lang, p=province)
    elif border:
        area = _t("area_b", lang, b=bnames.get(border, border))
    else:
        area = _t("area_n", lang)
    place = province or _t("national", lang)
    rep = Report(
        lang=lang,
        issuing_body=_t("body_p" if province else "body_n", lang,
                        P=(province or "").upper()),
        number=_t("number_p" if province else "number_n", lang), place=place,
        issued=as_of_d, title=_t("title", lang),
        subtitle=_t("subtitle", lang, area=area, period=plabel),
        period_start=start_d, period_end=end_d,
        scope={"province": province, "border": border},
        recipients=list(_t("recipients", lang)),
        signer=_t("signer" if province else "chairman", lang))
    intro = Section("", [Placeholder(_t("ph_basis", lang)),
                         _t("intro", lang, as_of=_d(as_of_d, lang), period=plabel,
                            start=_d(start_d, lang), end=_d(end_d, lang))])
    rep.sections.append(intro)
    rep.sections.append(_markers_section(source, fr, dash, fig, lang, province, border,
                                         as_of_d, bnames))
    if with_maps:
        rep.sections[-1].blocks.append(_map(fr, lang, province, border, start_d, end_d,
                                            as_of_d))
    rep.sections.append(_inspections_section(source, fr, dash, fig, lang, province, border,
                                             start_d, end_d, as_of_d))
    rep.sections.append(_works_section(fr, dash, fig, lang, province, border, start_d,
                                       end_d, as_of_d, stall_days))
    rep.sections.append(_incidents_section(fr, dash, fig, lang, province, border, start_d,
                                           end_d, with_maps))
    rep.sections.append(_gates_section(fr, dash, fig, lang, province, border, start_d, end_d))
    rep.sections.append(Section(_t("s_assess", lang), [
        Placeholder(_t("ph_meetings", lang)), Placeholder(_t("ph_notes", lang)),
        Placeholder(_t("ph_difficulties", lang))]))
    rep.sections.append(Section(_t("s_next", lang), [
        Placeholder(_t("ph_plans", lang)), Placeholder(_t("ph_proposals", lang))]))
    rep.figures = fig
    return rep


def _markers_section(source, fr, dash, fig, lang, province, border, as_of_d,
                     bnames) -> Section:
    sec = Section(_t("s_markers", lang))
    m = dash["markers"]
    fig.update({"markers.total": m["markers_total"], "markers.built": m["markers_built"],
                "markers.under_construction": m["markers_under_construction"],
                "markers.planned": m["markers_planned"], "stakes.total": m["stakes_total"],
                "stakes.built": m["stakes_built"],
                "markers.sentence": m["summary_en" if lang == "en" else "summary_vi"]})
    rows = marker_status(fr, by=("border", "province"), border=border, province=province)
    rows = rows[rows["markers_total"] + rows["stakes_total"] > 0]
    sections = []
    for r in rows.itertuples(index=False):
        sentence = r.summary_en if lang == "en" else r.summary_vi
        sections.append({"border": r.border, "province": r.province, "sentence": sentence,
                         "markers_built": int(r.markers_built),
                         "markers_total": int(r.markers_total),
                         "stakes_built": int(r.stakes_built),
                         "stakes_total": int(r.stakes_total)})
        sec.blocks.append(_t("section_sentence", lang, bname=bnames.get(r.border, r.border),
                             p=r.province, built=r.markers_built, total=r.markers_total,
                             sbuilt=r.stakes_built, stotal=r.stakes_total, sentence=sentence))
    fig["markers.sections"] = sections
    c = dash["conditions"]
    fig.update({f"conditions.{k}": v for k, v in c.items()})
    if c["needs_action"]:
        detail = ", ".join(f"{label(k, lang)} {c[k]}" for k in ACTION_CONDITIONS if c[k])
        sec.blocks.append(_t("conditions", lang, n=c["needs_action"], detail=detail))
        cur = in_area(current_condition(fr, as_of=as_of_d), border, province)
        cur = cur[cur["condition"].isin(ACTION_CONDITIONS)]
        everything = len(cur)
        cur = cur.head(MAX_ROWS)
        sec.blocks.append(Table(_t("cond_table", lang), pd.DataFrame({
            _t("h_border", lang): cur["border"].to_numpy(),
            _t("h_number", lang): cur["number"].to_numpy(),
            _t("h_kind", lang): [label(k, lang) for k in cur["kind"]],
            _t("h_condition", lang): [label(k, lang) for k in cur["condition"]],
            _t("h_last", lang): [_d(x, lang) if pd.notna(x) else "" for x in
                                 cur["last_inspection"]]})))
        if everything > len(cur):
            sec.blocks.append(_t("due_more", lang, n=everything - len(cur)))
    else:
        sec.blocks.append(_t("no_conditions", lang))
    try:
        from bienmoc.analysis.demarcation import demarcation_summary
    except ImportError:  # the line-sections layer is not part of this install yet
        demarcation_summary = None
    if demarcation_summary is not None:
        # the store itself: its line-sections layer is not among the frames read above
        ds = demarcation_summary(source, province=province, border=border)
        if len(ds):
            done, todo, total = (float(ds[k].sum()) for k in
                                 ("demarcated_km", "not_demarcated_km", "total_km"))
            fig.update({"demarcation.demarcated_km": round(done, 1),
                        "demarcation.not_demarcated_km": round(todo, 1),
                        "demarcation.total_km": round(total, 1)})
            sec.blocks.append(_t("demarcation", lang, done=_pct(done, lang),
                                 todo=_pct(todo, lang), total=_pct(total, lang)))
    return sec


def _map(fr, lang, province, border, start_d, end_d, as_of_d) -> Image:
    from bienmoc.analysis.inspections import apply_current_condition
    from bienmoc.report.charts import area_map_png

    markers = in_area(apply_current_condition(fr["markers"], fr["inspections"], as_of=as_of_d),
                    border, province)
    works = in_area(fr["works"], border, province)
    ws = work_status(fr, as_of=as_of_d)
    inc = in_area(fr["incidents"], border, province)
    inc = inc[(inc["reported_date"] >= pd.Timestamp(start_d))
              & (inc["reported_date"] <= pd.Timestamp(end_d))]
    bnd = fr["boundary"] if border is None else fr["boundary"][fr["boundary"]["border"] == border]
    png = area_map_png(markers=markers.to_crs(4326), works_status=ws, works=works.to_crs(4326),
                       incidents=inc.to_crs(4326), boundary=bnd.to_crs(4326),
                       provinces=fr["provinces"].to_crs(4326), province=province, lang=lang)
    return Image(_t("map", lang), png, width_mm=160.0)


def _inspections_section(source, fr, dash, fig, lang, province, border, start_d, end_d,
                         as_of_d) -> Section:
    from bienmoc.analysis.inspections import inspections_due

    sec = Section(_t("s_inspections", lang))
    done = inspections_done(fr, start=start_d, end=end_d, border=border, province=province)
    teams = done["team"].value_counts()
    i = dash["inspections"]
    fig.update({"inspections.in_period": len(done),
                "inspections.unilateral": int(teams.get("unilateral", 0)),
                "inspections.joint": int(teams.get("joint", 0)),
                "inspections.due": i["due"], "inspections.overdue": i["overdue"],
                "inspections.never": i["never"]})
    sec.blocks.append(_t("inspections", lang, n=len(done), u=fig["inspections.unilateral"],
                         j=fig["inspections.joint"], as_of=_d(as_of_d, lang),
                         overdue=i["overdue"], never=i["never"]))
    if i["due"]:
        due = inspections_due(fr, as_of=as_of_d, border=border, province=province)
        shown = due.head(MAX_ROWS)
        sec.blocks.append(Table(_t("due_table", lang), pd.DataFrame({
            _t("h_border", lang): shown["border"].to_numpy(),
            _t("h_number", lang): shown["number"].to_numpy(),
            _t("h_kind", lang): [label(k, lang) for k in shown["kind"]],
            _t("h_last", lang): [_d(x, lang) if pd.notna(x) else "–" for x in
                                 shown["last_inspection"]],
            _t("h_due", lang): [_d(x, lang) if pd.notna(x) else "–" for x in
                                shown["due_date"]],
            _t("h_overdue", lang): [str(x) if pd.notna(x) else "–" for x in
                                    shown["days_overdue"]]})))
        if len(due) > len(shown):
            sec.blocks.append(_t("due_more", lang, n=len(due) - len(shown)))
    _patrol_blocks(source, fr, sec, fig, lang, province, border, start_d, end_d)
    return sec


def _patrol_blocks(source, fr, sec, fig, lang, province, border, start_d, end_d) -> None:
    """Patrols of the period in the area and, per border, the share of the line they
    covered (:func:`bienmoc.analysis.coverage.coverage`; a province's report: its sections)."""
    p = fr["patrols"]
    if len(p):
        start = pd.to_datetime(p["start_time"], utc=True, format="ISO8601").dt.tz_convert(
            "Asia/Ho_Chi_Minh").dt.tz_localize(None).dt.normalize()
        p = p[((start >= pd.Timestamp(start_d)) & (start <= pd.Timestamp(end_d))).to_numpy()]
        if border is not None:
            p = p[p["border"] == border]
        if province and len(p):
            prov = fr["provinces"]
            shape = prov[prov["name"].str.casefold() == province.casefold()].geometry
            p = p[p.geometry.intersects(shape.union_all())] if len(shape) else p.iloc[:0]
    n, u, j = len(p), int((p["kind"] == "unilateral").sum()), int((p["kind"] == "joint").sum())
    fig.update({"patrols.total": n, "patrols.unilateral": u, "patrols.joint": j,
                "patrols.coverage": []})
    if not n:
        sec.blocks.append(_t("no_patrols", lang))
        return
    sec.blocks.append(_t("patrols", lang, n=_n(n, lang), u=_n(u, lang), j=_n(j, lang)))
    if not hasattr(source, "read"):
        return
    from bienmoc.analysis.coverage import coverage
    from bienmoc.geometry.locate import BorderModel

    model = BorderModel.from_source(source)
    names = {b: (nv if lang == "vi" else ne) for b, nv, ne in zip(
        fr["boundary"]["border"], fr["boundary"]["name_vi"], fr["boundary"]["name_en"])}
    borders = set(p["border"].dropna())
    if province:  # the lines that pass through the province
        m = fr["markers"]
        borders &= set(m.loc[m["province"].fillna("").str.casefold() == province.casefold(),
                             "border"])
    for b in sorted(borders):
        cov = coverage(source, model, b, start=start_d, end=end_d, province=province)
        if province:  # the length of the line in the province (the model's province runs)
            pl = model.province_lengths()
            line_km = float(pl.loc[(pl["border"] == b) & (pl["province"].astype(str)
                                   .str.casefold() == province.casefold()), "length_km"].sum())
        else:
            line_km = model.index.length_m[b] / 1000
        covered_km = cov.covered_m() / 1000
        unvisited = int((cov.sections["covered_share"].fillna(0) == 0).sum())
        pct = 100 * covered_km / line_km if line_km else 0.0
        fig["patrols.coverage"].append({
            "border": b, "covered_km": round(covered_km, 1), "line_km": round(line_km, 1),
            "covered_pct": round(pct, 1), "sections": len(cov.sections),
            "sections_unvisited": unvisited})
        sec.blocks.append(_t("patrol_cover", lang, bname=names.get(b, b),
                             covered=_pct(covered_km, lang), total=_pct(line_km, lang),
                             pct=_pct(pct, lang), unvisited=unvisited,
                             sections=len(cov.sections)))


def _works_section(fr, dash, fig, lang, province, border, start_d, end_d, as_of_d,
                   stall_days) -> Section:
    sec = Section(_t("s_works", lang))
    w = dash["works"]
    fig.update({"works.total": w["works_total"]})
    fig.update({f"works.{s.value}": w[s.value] for s in WorkStatus})
    fig.update({f"works.{k}": w[k] for k in ("percent_complete", "budget_planned_vnd",
                                            "budget_disbursed_vnd", "disbursed_pct")})
    fig["works.stalled_list"] = dash["stalled"]
    if not w["works_total"]:
        sec.blocks.append(_t("no_works", lang))
    else:
        sec.blocks.append(_t("works", lang, total=w["works_total"], ns=w["not_started"],
                             ip=w["in_progress"], st=w["stalled"], co=w["completed"],
                             pct=_pct(w["percent_complete"], lang),
                             planned=_money(w["budget_planned_vnd"], lang),
                             disb=_money(w["budget_disbursed_vnd"], lang),
                             dpct=_pct(w["disbursed_pct"], lang)))
        extra = {} if stall_days is None else {"stall_days": stall_days}
        by_kind = progress_summary(fr, as_of=as_of_d, by=("kind",), border=border,
                                   province=province, **extra)
        frame = pd.DataFrame({_t("h_kind", lang): [label(k, lang) for k in by_kind["kind"]],
                              _t("h_total", lang): by_kind["works_total"]})
        for s in WorkStatus:
            frame[label(s, lang)] = by_kind[s.value].to_numpy()
        frame[_t("h_pct", lang)] = [_pct(v, lang) for v in by_kind["percent_complete"]]
        frame[_t("h_planned", lang)] = [_money(v, lang) for v in by_kind["budget_planned_vnd"]]
        frame[_t("h_disb", lang)] = [_money(v, lang) for v in by_kind["budget_disbursed_vnd"]]
        sec.blocks.append(Table(_t("works_table", lang), frame))
    stalled = dash["stalled"]
    if stalled:
        names = "; ".join(f"{r['title']} ({r['section']})" for r in stalled)
        sec.blocks.append(_t("stalled", lang, n=len(stalled), list=names))
        sec.blocks.append(Table(_t("stalled_table", lang), pd.DataFrame({
            _t("h_section", lang): [r["section"] for r in stalled],
            _t("h_title", lang): [r["title"] for r in stalled],
            _t("h_pct", lang): [_pct(r["percent"], lang) for r in stalled],
            _t("h_idle", lang): [r["days_idle"] if r["days_idle"] is not None else "–"
                                 for r in stalled],
            _t("h_planned", lang): [_money(r["budget_planned_vnd"], lang) for r in stalled],
            _t("h_disb", lang): [_money(r["budget_disbursed_vnd"], lang) for r in stalled]})))
    # completed in the period: completed as of its end, not yet the day before it starts
    extra = {} if stall_days is None else {"stall_days": stall_days}
    after = in_area(work_status(fr, as_of=end_d, **extra), border, province)
    before = work_status(fr, as_of=start_d - dt.timedelta(days=1), **extra).set_index("id")
    done = after[(after["status"] == WorkStatus.COMPLETED.value)
                 & (after["id"].map(before["status"]) != WorkStatus.COMPLETED.value)]
    fig["works.completed_in_period"] = len(done)
    fig["works.completed_list"] = [{"id": a, "title": b, "section": c} for a, b, c in
                                   zip(done["id"], done["title"], done["section"])]
    names = (": " + "; ".join(f"{t} ({s})" for t, s in zip(done["title"], done["section"]))
             if len(done) else "")
    sec.blocks.append(_t("completed", lang, n=len(done), list=names))
    return sec


def _incidents_section(fr, dash, fig, lang, province, border, start_d, end_d,
                       with_maps) -> Section:
    from bienmoc.report.charts import monthly_chart_png

    sec = Section(_t("s_incidents", lang))
    d = dash["incidents"]
    inc = pd.DataFrame(in_area(fr["incidents"], border, province)).drop(columns="geometry",
                                                                       errors="ignore")
    ks = (incident_counts(inc, by=("kind", "status"), start=start_d, end=end_d)
          if len(inc) else pd.DataFrame(columns=["kind", "status", "incidents"]))
    by_ks = {f"{k}|{s}": int(n) for k, s, n in zip(ks["kind"], ks["status"], ks["incidents"])}
    handled = int(d["by_status"].get("resolved", 0))
    viol = sum(int(n) for k, n in d["by_kind"].items() if k in VIOLATION_KINDS)
    viol_h = sum(n for ks_, n in by_ks.items()
                 if ks_.split("|")[0] in VIOLATION_KINDS and ks_.endswith("|resolved"))
    ys, ye = (pd.Timestamp(start_d) - pd.DateOffset(years=1),
              pd.Timestamp(end_d) - pd.DateOffset(years=1))
    year = (int(incident_counts(inc, by=("kind",), start=ys, end=ye)["incidents"].sum())
            if len(inc) else 0)
    fig.update({"incidents.total": d["total"], "incidents.handled": handled,
                "incidents.violations": viol, "incidents.violations_handled": viol_h,
                "previous.start": dash["previous_period"]["start"],
                "previous.end": dash["previous_period"]["end"],
                "previous.total": d["previous_total"],
                "year_before.start": ys.strftime("%Y-%m-%d"),
                "year_before.end": ye.strftime("%Y-%m-%d"), "year_before.total": year,
                "incidents.change": d["change"], "incidents.change_pct": d["change_pct"],
                "incidents.by_kind": d["by_kind"], "incidents.by_status": d["by_status"],
                "incidents.by_kind_status": by_ks, "incidents.monthly": d["monthly"],
                "incidents.open": d["open"]})
    sec.blocks.append(_t("incidents", lang, n=_n(d["total"], lang), h=_n(handled, lang),
                         v=_n(viol, lang), vh=_n(viol_h, lang)))
    ch = d["change"]
    trend = (_t("up", lang, d=_n(ch, lang)) if ch > 0 else
             _t("down", lang, d=_n(-ch, lang)) if ch < 0 else _t("same", lang))
    sec.blocks.append(_t("compare", lang, ps=_d(dash["previous_period"]["start"], lang),
                         pe=_d(dash["previous_period"]["end"], lang),
                         p=_n(d["previous_total"], lang), trend=trend, ys=_d(ys, lang),
                         ye=_d(ye, lang), y=_n(year, lang)))
    if by_ks:
        kinds = list(d["by_kind"])
        statuses = [s for s in ("reported", "verifying", "negotiating", "resolved")]
        frame = pd.DataFrame({_t("h_kind_inc", lang): [label(k, lang) for k in kinds],
                              _t("h_total", lang): [d["by_kind"][k] for k in kinds]})
        for s in statuses:
            frame[label(s, lang)] = [by_ks.get(f"{k}|{s}", 0) for k in kinds]
        sec.blocks.append(Table(_t("kind_table", lang), frame))
    top = []
    if d["total"]:
        hs = hotspots(fr, in_area(fr["incidents"], border, province), bin_m=TOP_SECTION_M,
                      start=start_d, end=end_d, top=5)
        top = [{"border": b, "marker_from": a, "marker_to": z, "incidents": int(n)}
               for b, a, z, n in zip(hs["border"], hs["marker_from"], hs["marker_to"],
                                     hs["incidents"]) if a is not None]
        if top:
            sec.blocks.append(_t("top", lang, list="; ".join(
                _t("top_item", lang, a=r["marker_from"], b=r["marker_to"],
                   n=_n(r["incidents"], lang)) for r in top)))
    fig["incidents.top_sections"] = top
    sec.blocks.append(_t("open", lang, n=_n(d["open"], lang)))
    if with_maps:
        sec.blocks.append(Image(_t("chart", lang), monthly_chart_png(d["monthly"], lang=lang),
                                width_mm=150.0))
    return sec


def _gates_section(fr, dash, fig, lang, province, border, start_d, end_d) -> Section:
    sec = Section(_t("s_gates", lang))
    g = dash["gates"]
    fig.update({f"gates.{k}": v for k, v in g.items()})
    gates = pd.DataFrame(in_area(fr["gates"], border, province)).drop(columns="geometry",
                                                                     errors="ignore")
    by_kind = gates["kind"].value_counts()
    fig["gates.by_kind"] = {k: int(n) for k, n in by_kind.items()}
    if not g["total"]:
        sec.blocks.append(_t("no_gates", lang))
        fig["gates.changes"] = []
        return sec
    detail = "; ".join([", ".join(f"{label(k, lang)} {n}" for k, n in by_kind.items())]
                       + [", ".join(f"{label(s.value, lang)} {g[s.value]}" for s in GateStatus
                                    if g[s.value])])
    sec.blocks.append(_t("gates", lang, n=g["total"], detail=detail))
    sec.blocks.append(Table(_t("gates_table", lang), pd.DataFrame({
        _t("h_name", lang): gates["name"].to_numpy(),
        _t("h_pair", lang): gates["paired_gate"].fillna("").to_numpy(),
        _t("h_kind", lang): [label(k, lang) for k in gates["kind"]],
        _t("h_status", lang): [label(s, lang) for s in gates["status"]],
        _t("h_date", lang): [_d(x, lang) if pd.notna(x) else "" for x in
                             gates["status_date"]]})))
    s, e = pd.Timestamp(start_d), pd.Timestamp(end_d)
    changed = gates[gates["opened_date"].between(s, e) | gates["status_date"].between(s, e)]
    fig["gates.changes"] = [{"id": i, "name": n, "status": st, "date": (
        pd.Timestamp(sd).strftime("%Y-%m-%d") if pd.notna(sd) else None)}
        for i, n, st, sd in zip(changed["id"], changed["name"], changed["status"],
                                changed["status_date"])]
    if len(changed):
        sec.blocks.append(_t("gate_changes", lang, list="; ".join(
            f"{n} – {p}: {label(st, lang)} ({_d(sd, lang)})" for n, p, st, sd in
            zip(changed["name"], changed["paired_gate"].fillna(""), changed["status"],
                changed["status_date"]))))
    else:
        sec.blocks.append(_t("no_gate_changes", lang))
    return sec
