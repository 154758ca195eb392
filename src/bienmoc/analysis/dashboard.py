"""The dashboard figures: the report numbers of one province, one border or the whole country.

:func:`dashboard_figures` never recomputes a figure: each comes from the one library function
that the CLI also uses (``status`` → :func:`~bienmoc.analysis.status.marker_status`,
``progress`` → :func:`~bienmoc.analysis.progress.progress_summary` /
:func:`~bienmoc.analysis.progress.stalled_works`, ``inspections due`` →
:func:`~bienmoc.analysis.inspections.inspections_due`, incident counts →
:func:`~bienmoc.analysis.lengths.incident_counts`), called on the same frames read once.

The incident period is ``start``..``end`` inclusive (default: the 12 months to ``as_of``);
the previous period is the one of the same number of days ending the day before ``start``.
"""
from __future__ import annotations

import pandas as pd

from bienmoc.model.places import in_area
from bienmoc.analysis.inspections import inspections_due
from bienmoc.analysis.lengths import incident_counts
from bienmoc.analysis.progress import (DEFAULT_STALL_DAYS, WorkStatus, as_of_date,
                                       progress_summary, stalled_works, work_status)
from bienmoc.analysis.status import ACTION_CONDITIONS, marker_status
from bienmoc.model.schema import GateStatus
from bienmoc.model.source import frames

__all__ = ["dashboard_figures", "LAYERS"]

LAYERS = ("markers", "gates", "incidents", "inspections", "works", "work_progress")


def _plain(v):
    """A JSON-friendly scalar (numpy numbers → int/float, NaN/NaT → None, dates → ISO)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if hasattr(v, "item"):
        return v.item()
    return v


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _counts(inc: pd.DataFrame, by: tuple[str, ...], start, end) -> dict:
    if not len(inc):
        return {}
    c = incident_counts(inc, by=by, start=start, end=end)
    if len(by) == 1:
        return {k: int(n) for k, n in zip(c[by[0]], c["incidents"])}
    return {"|".join(map(str, k)): int(n) for *k, n in c[list(by) + ["incidents"]]
            .itertuples(index=False)}


def dashboard_figures(source, *, province: str | None = None, border: str | None = None,
                      start=None, end=None, as_of=None,
                      stall_days: int = DEFAULT_STALL_DAYS) -> dict:
    """The dashboard numbers as a plain (JSON-serialisable) dict.

    Parameters
    ----------
    source : a store, or a mapping of layer frames.
    province, border : the area (None: national).
    start, end : the incident period (ISO or dd/mm/yyyy; inclusive); default the 12 months
        to ``as_of``.
    as_of : the date of works status and inspections due (default today).

    Keys: ``area``, ``as_of``, ``period`` and ``previous_period`` (ISO dates), ``markers``
    (the :func:`marker_status` total row), ``conditions`` (needing action by condition),
    ``inspections`` (``overdue``, ``never``, ``due`` total), ``works`` (the
    :func:`progress_summary` total row), ``stalled`` (the :func:`stalled_works` rows),
    ``gates`` (by status), ``incidents`` (``total``, ``previous_total``, ``change``,
    ``change_pct``, ``by_kind``, ``by_status``, ``previous_by_kind``, ``monthly`` — month
    'YYYY-MM' → count, every month of the period listed, ``open`` — all open incidents),
    ``patrols`` (started in the period: ``total``, ``unilateral``, ``joint``, ``fixes``; with a
    ``border`` and a store, ``covered_km`` and ``line_km`` of
    :func:`bienmoc.analysis.coverage.coverage` over the period; patrols have no province).
    """
    d = as_of_date(as_of)
    end_d = as_of_date(end) if end is not None else d
    start_d = as_of_date(start) if start is not None else (end_d - pd.DateOffset(years=1)
                                                           + pd.Timedelta(days=1))
    if start_d > end_d:
        from bienmoc.errors import InvalidData
        raise InvalidData(f"the period starts ({start_d:%d/%m/%Y}) after it ends "
                          f"({end_d:%d/%m/%Y})")
    days = (end_d - start_d).days + 1
    prev_end = start_d - pd.Timedelta(days=1)
    prev_start = prev_end - pd.Timedelta(days=days - 1)
    fr = frames(source, LAYERS)
    area = {"border": border, "province": province}

    st = marker_status(fr, by=(), **area).iloc[0]
    works = progress_summary(fr, as_of=d, by=(), stall_days=stall_days, **area)
    stalled = stalled_works(fr, as_of=d, stall_days=stall_days, **area)
    due = inspections_due(fr, as_of=d, **area)
    # the stalled list shows the budget disbursed: the same derived figure as progress's
    budget = work_status(fr, as_of=d, stall_days=stall_days).set_index("id")[
        ["budget_planned_vnd", "budget_disbursed_vnd"]]
    for k in ["works_total"] + [s.value for s in WorkStatus]:
        works[k] = works[k].astype("int64")

    inc = pd.DataFrame(in_area(fr["incidents"], border, province)).drop(
        columns="geometry", errors="ignore")
    inc = inc.assign(month=pd.to_datetime(inc["reported_date"]).dt.strftime("%Y-%m"))
    monthly = _counts(inc, ("month",), start_d, end_d)
    months = pd.period_range(start_d, end_d, freq="M").strftime("%Y-%m")
    total = sum(_counts(inc, ("kind",), start_d, end_d).values())
    prev_total = sum(_counts(inc, ("kind",), prev_start, prev_end).values())

    # (a row via .iloc would upcast the counts to float: records keep each column's type)
    w = _records(works)[0] if len(works) else None
    work_keys = ["works_total"] + [s.value for s in WorkStatus] + [
        "percent_complete", "budget_planned_vnd", "budget_disbursed_vnd", "disbursed_pct"]
    patrols = _patrol_figures(source, border, start_d, end_d)
    return {
        "area": area,
        "as_of": d.strftime("%Y-%m-%d"),
        "stall_days": stall_days,
        "period": {"start": start_d.strftime("%Y-%m-%d"), "end": end_d.strftime("%Y-%m-%d"),
                   "days": days},
        "previous_period": {"start": prev_start.strftime("%Y-%m-%d"),
                            "end": prev_end.strftime("%Y-%m-%d")},
        "markers": {k: _plain(v) for k, v in st.items()},
        "conditions": {c: int(st[c]) for c in ACTION_CONDITIONS} | {
            "needs_action": int(st["needs_action"])},
        "inspections": {"due": len(due), "never": int(due["never_inspected"].sum()),
                        "overdue": int((~due["never_inspected"]).sum())},
        "works": {k: (w[k] if w is not None else 0) for k in work_keys},
        "stalled": [r | {"budget_planned_vnd": _plain(budget["budget_planned_vnd"].get(r["id"])),
                         "budget_disbursed_vnd": _plain(budget["budget_disbursed_vnd"].get(
                             r["id"]))} for r in _records(stalled)],
        "gates": {s.value: int(st[f"gates_{s.value}"]) for s in GateStatus} | {
            "total": int(st["gates_total"])},
        "incidents": {
            "total": total, "previous_total": prev_total, "change": total - prev_total,
            "change_pct": (round(100 * (total - prev_total) / prev_total, 1)
                           if prev_total else None),
            "by_kind": _counts(inc, ("kind",), start_d, end_d),
            "by_status": _counts(inc, ("status",), start_d, end_d),
            "previous_by_kind": _counts(inc, ("kind",), prev_start, prev_end),
            "monthly": {m: monthly.get(m, 0) for m in months},
            "open": int(st["incidents_open"]),
        },
        "patrols": patrols,
    }


def _patrol_figures(source, border, start_d, end_d) -> dict:
    """Patrols started in the period (by kind), and the line covered when a border is given."""
    p = frames(source, ("patrols",))["patrols"]
    if border is not None:
        p = p[p["border"] == border]
    start = pd.to_datetime(p["start_time"], utc=True, format="ISO8601").dt.tz_convert(
        "Asia/Ho_Chi_Minh").dt.tz_localize(None).dt.normalize() if len(p) else pd.Series(
        [], dtype="datetime64[ns]")
    p = p[((start >= start_d) & (start <= end_d)).to_numpy()]
    out = {"total": len(p), "unilateral": int((p["kind"] == "unilateral").sum()),
           "joint": int((p["kind"] == "joint").sum()),
           "fixes": int(pd.to_numeric(p["fixes"]).fillna(0).sum()),
           "covered_km": None, "line_km": None}
    if border is not None and hasattr(source, "read") and len(p):
        from bienmoc.analysis.coverage import coverage
        from bienmoc.geometry.locate import BorderModel

        model = BorderModel.from_source(source)
        cov = coverage(source, model, border, start=start_d.date(), end=end_d.date())
        out["covered_km"] = round(cov.covered_m() / 1000, 3)
        out["line_km"] = round(model.index.length_m[border] / 1000, 3)
    return out
