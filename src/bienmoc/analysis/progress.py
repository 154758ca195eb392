"""Construction and repair works: status derived from dates and progress updates.

A work's status is never typed in; it is derived as of a date ``D`` with a stall threshold of
``N`` days (default :data:`DEFAULT_STALL_DAYS`):

* **completed** — ``actual_end`` is set and ≤ D, or a progress update dated ≤ D says 100 %;
* **stalled** — not completed, and either D is *after* ``planned_end`` (a work completed on its
  planned end date is on time), or it has started and its last activity (latest progress update
  ≤ D, else ``actual_start``) is **N or more days** before D ("no progress update for N days":
  an update exactly N days ago makes the work stalled, N-1 days ago does not);
* **not started** — no ``actual_start`` ≤ D and no update with percent > 0 ≤ D;
* **in progress** — everything else.

``days_idle`` = D − last activity (started, not completed works); ``days_overdue`` =
D − ``planned_end`` when positive and not completed, else 0.

Progress updates are append-only: a correction is a new record whose ``corrects`` names the
record it replaces; :func:`effective` drops the replaced ones (the history keeps them).
"""
from __future__ import annotations

import datetime as _dt
from typing import Iterable

import numpy as np
import pandas as pd

from bienmoc.model.places import in_area
from bienmoc.model.source import frames
from bienmoc.errors import InvalidData
from bienmoc.model.dates import parse_date
from bienmoc.model.enums import _LABELS, _Labelled

__all__ = ["WorkStatus", "DEFAULT_STALL_DAYS", "effective", "work_status", "progress_summary",
           "stalled_works", "section_label", "as_of_date"]

DEFAULT_STALL_DAYS = 180


class WorkStatus(_Labelled):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    STALLED = "stalled"
    COMPLETED = "completed"


_LABELS[WorkStatus] = {
    WorkStatus.NOT_STARTED: ("chưa triển khai", "not started"),
    WorkStatus.IN_PROGRESS: ("đang thực hiện", "in progress"),
    WorkStatus.STALLED: ("chậm tiến độ", "stalled"),
    WorkStatus.COMPLETED: ("đã hoàn thành", "completed"),
}


def as_of_date(as_of=None) -> pd.Timestamp:
    """``as_of`` as a normalised Timestamp; today when None."""
    if as_of is None:
        return pd.Timestamp(_dt.date.today())
    try:
        return pd.Timestamp(parse_date(as_of))
    except ValueError as e:
        raise InvalidData(str(e)) from None


def effective(records: pd.DataFrame) -> pd.DataFrame:
    """The records not replaced by a correction (any record named in another's ``corrects``)."""
    if not len(records) or "corrects" not in records:
        return records
    replaced = set(records["corrects"].dropna())
    return records[~records["id"].isin(replaced)]


def section_label(marker_from, marker_to) -> str:
    """'222' or '168–168/2'."""
    if marker_to is None or (isinstance(marker_to, float) and np.isnan(marker_to)) \
            or marker_to == marker_from:
        return str(marker_from)
    return f"{marker_from}–{marker_to}"


def work_status(source, *, as_of=None, stall_days: int = DEFAULT_STALL_DAYS) -> pd.DataFrame:
    """One row per work with its derived status as of ``as_of`` (see the module docs)."""
    f = frames(source, ("works", "work_progress"))
    works = pd.DataFrame(f["works"]).drop(columns="geometry", errors="ignore").copy()
    prog = f.get("work_progress")
    d = as_of_date(as_of)
    cols = ["id", "title", "kind", "border", "province", "marker_from", "marker_to"]
    out = works[[c for c in cols if c in works]].copy()
    out["section"] = [section_label(a, b) for a, b in zip(works["marker_from"],
                                                          works["marker_to"])]
    if prog is not None and len(prog):
        p = effective(pd.DataFrame(prog).drop(columns="geometry", errors="ignore"))
        p = p[p["date"] <= d].reset_index(drop=True)
        p["_order"] = np.arange(len(p))
        last = (p.sort_values(["work_id", "date", "_order"]).groupby("work_id").tail(1)
                .set_index("work_id"))
        disb = (p[p["disbursed_vnd"].notna()].sort_values(["work_id", "date", "_order"])
                .groupby("work_id").tail(1).set_index("work_id")["disbursed_vnd"])
        started_by_update = set(p.loc[p["percent"] > 0, "work_id"])
    else:
        last = pd.DataFrame(columns=["percent", "date"])
        disb = pd.Series(dtype=float)
        started_by_update = set()
    last_pct = works["id"].map(last["percent"]).astype(float)
    last_date = (pd.to_datetime(works["id"].map(last["date"])).astype("datetime64[ms]")
                 if len(last) else pd.Series(pd.NaT, index=works.index, dtype="datetime64[ms]"))
    actual_start = works["actual_start"].where(works["actual_start"] <= d)
    actual_end = works["actual_end"].where(works["actual_end"] <= d)
    completed = actual_end.notna() | (last_pct >= 100)
    started = actual_start.notna() | works["id"].isin(started_by_update) | completed
    activity = last_date.where(last_date.notna(), actual_start)
    idle = (d - activity).dt.days.where(started & ~completed)
    overdue = (d - works["planned_end"]).dt.days
    overdue = overdue.where(~completed & overdue.notna() & (overdue > 0), 0).astype("int64")
    late = ~completed & works["planned_end"].notna() & (d > works["planned_end"])
    stalled = ~completed & (late | (started & idle.notna() & (idle >= stall_days)))
    status = np.select([completed, stalled, ~started],
                       [WorkStatus.COMPLETED.value, WorkStatus.STALLED.value,
                        WorkStatus.NOT_STARTED.value], WorkStatus.IN_PROGRESS.value)
    out["status"] = status
    out["percent"] = np.where(completed, 100.0, last_pct.fillna(0.0))
    out["last_update"] = last_date
    out["days_idle"] = idle.astype("Int64")
    out["days_overdue"] = overdue
    for c in ("planned_start", "planned_end", "actual_start", "actual_end"):
        out[c] = works[c]
    out["budget_planned_vnd"] = works["budget_planned_vnd"]
    out["budget_disbursed_vnd"] = works["id"].map(disb).astype(float).where(
        works["id"].isin(disb.index), works["budget_disbursed_vnd"])
    out["contractor"] = works.get("contractor")
    out["as_of"] = d
    return out.reset_index(drop=True)


def progress_summary(source, *, as_of=None, by: Iterable[str] = ("border", "province", "kind"),
                     border: str | None = None, province: str | None = None,
                     stall_days: int = DEFAULT_STALL_DAYS) -> pd.DataFrame:
    """Per group: works by status, mean percent complete, budget planned vs disbursed (VND)."""
    ws = work_status(source, as_of=as_of, stall_days=stall_days)
    ws = in_area(ws, border, province)
    by = list(by)
    for k in by:
        if k not in ws:
            raise InvalidData(f"cannot group works by {k!r}")
        ws[k] = ws[k].fillna("")
    g = ws.groupby(by, sort=True) if by else ws.groupby(np.zeros(len(ws)))
    out = g.agg(works_total=("id", "size"), percent_complete=("percent", "mean"),
                budget_planned_vnd=("budget_planned_vnd", "sum"),
                budget_disbursed_vnd=("budget_disbursed_vnd", "sum"))
    for s in WorkStatus:
        out[s.value] = g["status"].apply(lambda x, s=s: int((x == s.value).sum()))
    out["disbursed_pct"] = np.where(out["budget_planned_vnd"] > 0,
                                    100 * out["budget_disbursed_vnd"] / out[
                                        "budget_planned_vnd"].where(
                                        out["budget_planned_vnd"] > 0), np.nan)
    out = out.reset_index(drop=not by)
    order = by + ["works_total"] + [s.value for s in WorkStatus] + [
        "percent_complete", "budget_planned_vnd", "budget_disbursed_vnd", "disbursed_pct"]
    out = out[order]
    out["percent_complete"] = out["percent_complete"].round(1)
    out["disbursed_pct"] = out["disbursed_pct"].round(1)
    return out


def stalled_works(source, *, as_of=None, stall_days: int = DEFAULT_STALL_DAYS,
                  border: str | None = None, province: str | None = None) -> pd.DataFrame:
    """The stalled works: which marker or section, kind, days idle and days overdue."""
    ws = work_status(source, as_of=as_of, stall_days=stall_days)
    ws = ws[ws["status"] == WorkStatus.STALLED.value]
    ws = in_area(ws, border, province)
    cols = ["id", "title", "border", "province", "section", "kind", "percent", "last_update",
            "days_idle", "days_overdue", "planned_end"]
    return ws[cols].sort_values(["days_overdue", "id"], ascending=[False, True],
                                ignore_index=True)

