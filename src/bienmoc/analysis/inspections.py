"""Inspections: current condition, inspection cycles, displacement, resurveys, history.

* A marker's **current condition** is that of its latest effective inspection (corrections
  replace what they correct); a marker never inspected keeps its registered condition.
* **Due**: under a cycle policy per marker kind (default large markers every 12 months, others
  every 24), a built marker is due when its last inspection + cycle ≤ the as-of date; a built
  marker never inspected is due at once (``never_inspected``).
* **Displacement**: distance (m, metric CRS) from the registered position to the position
  measured at the latest effective inspection that measured one.
* The **registered position** changes only through :func:`resurvey_marker`, which records the
  resurvey (with the previous position) and moves the marker in one atomic write.
"""
from __future__ import annotations

from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.model.places import in_area
from bienmoc.geometry.crs import metric_crs
from bienmoc.model.source import frames
from bienmoc.errors import InvalidData, NotFound
from bienmoc.model.numbers import parse_number
from bienmoc.analysis.progress import as_of_date, effective, section_label
from bienmoc.model.schema import label

__all__ = ["DEFAULT_CYCLE_MONTHS", "DEFAULT_DISPLACEMENT_TOLERANCE_M", "current_condition",
           "inspections_due", "displacement", "displaced_markers", "marker_history",
           "apply_current_condition", "inspections_done"]

DEFAULT_CYCLE_MONTHS = {"large": 12, "medium": 24, "small": 24, "stake": 24}
DEFAULT_DISPLACEMENT_TOLERANCE_M = 1.0


def _latest(inspections: pd.DataFrame, as_of=None, with_position: bool = False
            ) -> pd.DataFrame:
    """Latest effective inspection per (border, marker) dated ≤ as_of."""
    if inspections is None or not len(inspections):
        return pd.DataFrame(columns=["border", "marker", "date", "condition", "id", "geometry"])
    ins = effective(inspections)
    if as_of is not None:
        ins = ins[ins["date"] <= as_of_date(as_of)]
    if with_position:
        ins = ins[ins.geometry.notna() & ~ins.geometry.is_empty]
    ins = ins.assign(_order=np.arange(len(ins)))
    return (ins.sort_values(["border", "marker", "date", "_order"])
            .groupby(["border", "marker"], sort=False).tail(1).drop(columns="_order"))


def current_condition(source, *, as_of=None) -> pd.DataFrame:
    """Per marker: registered condition, last inspection date and current condition."""
    f = frames(source, ("markers", "inspections"))
    m = pd.DataFrame(f["markers"]).drop(columns="geometry")[
        ["border", "number", "kind", "province", "construction_status", "condition"]]
    last = _latest(f.get("inspections"), as_of).set_index(["border", "marker"])
    key = pd.MultiIndex.from_arrays([m["border"], m["number"]])
    m["last_inspection"] = pd.to_datetime(last["date"].reindex(key).to_numpy()).astype(
        "datetime64[ms]")
    found = last["condition"].reindex(key).to_numpy()
    m["registered_condition"] = m["condition"]
    m["condition"] = np.where(pd.notna(found), found, m["condition"])
    return m.reset_index(drop=True)


def apply_current_condition(markers: gpd.GeoDataFrame, inspections: pd.DataFrame | None,
                            as_of=None) -> gpd.GeoDataFrame:
    """A copy of ``markers`` whose ``condition`` is the current (inspected) condition."""
    if inspections is None or not len(inspections):
        return markers
    cur = current_condition({"markers": markers, "inspections": inspections}, as_of=as_of)
    out = markers.copy()
    out["condition"] = cur["condition"].to_numpy()
    return out


def inspections_due(source, *, as_of=None, cycle_months: Mapping[str, int] | None = None,
                    border: str | None = None, province: str | None = None,
                    include_ok: bool = False) -> pd.DataFrame:
    """Built markers due for inspection as of ``as_of`` (overdue and never inspected first)."""
    d = as_of_date(as_of)
    cycles = {**DEFAULT_CYCLE_MONTHS, **(cycle_months or {})}
    cur = current_condition(source, as_of=d)
    cur = cur[cur["construction_status"] == "built"]
    cur = in_area(cur, border, province)
    months = cur["kind"].map(cycles).fillna(24).astype(int)
    due = [pd.NaT if pd.isna(t) else t + pd.DateOffset(months=int(k))
           for t, k in zip(cur["last_inspection"], months)]
    cur = cur.assign(cycle_months=months.to_numpy(),
                     due_date=pd.to_datetime(pd.Series(due, index=cur.index)).astype(
                         "datetime64[ms]"))
    cur["never_inspected"] = cur["last_inspection"].isna()
    cur["days_overdue"] = (d - cur["due_date"]).dt.days.astype("Int64")
    cur["is_due"] = cur["never_inspected"] | (cur["due_date"] <= d)
    if not include_ok:
        cur = cur[cur["is_due"]]
    cur = cur.assign(_k=[(parse_number(n).main, parse_number(n).sub, parse_number(n).part)
                         for n in cur["number"]])
    cur = cur.sort_values(["never_inspected", "days_overdue", "border", "_k"],
                          ascending=[True, False, True, True], na_position="last")
    cols = ["border", "number", "province", "kind", "condition", "last_inspection",
            "cycle_months", "due_date", "days_overdue", "never_inspected"]
    return cur[cols + (["is_due"] if include_ok else [])].reset_index(drop=True)


def displacement(source, *, as_of=None, crs: object | None = None) -> pd.DataFrame:
    """Per marker with a measured position: the displacement (m) from its registered position
    at its latest effective inspection that measured one."""
    f = frames(source, ("markers", "inspections"))
    markers, ins = f["markers"], f.get("inspections")
    cols = ["border", "number", "province", "kind", "inspection_id", "inspected",
            "condition_found", "displacement_m"]
    last = _latest(ins, as_of, with_position=True)
    if not len(last):
        return pd.DataFrame(columns=cols)
    mcrs = metric_crs(markers, crs)
    reg = markers.set_index(["border", "number"])
    key = pd.MultiIndex.from_arrays([last["border"], last["marker"]])
    known = key.isin(reg.index)
    last, key = last[known], key[known]
    registered = gpd.GeoSeries(reg.geometry.reindex(key).to_numpy(), crs=markers.crs)
    measured = gpd.GeoSeries(last.geometry.to_numpy(), crs=markers.crs)
    dist = shapely.distance(np.asarray(registered.to_crs(mcrs).values),
                            np.asarray(measured.to_crs(mcrs).values))
    out = pd.DataFrame({"border": last["border"].to_numpy(), "number": last["marker"].to_numpy(),
                        "province": reg["province"].reindex(key).to_numpy(),
                        "kind": reg["kind"].reindex(key).to_numpy(),
                        "inspection_id": last["id"].to_numpy(),
                        "inspected": last["date"].to_numpy(),
                        "condition_found": last["condition"].to_numpy(),
                        "displacement_m": dist})
    return out[cols]


def displaced_markers(source, *, tolerance_m: float = DEFAULT_DISPLACEMENT_TOLERANCE_M,
                      as_of=None, crs: object | None = None) -> pd.DataFrame:
    """Markers measured farther than ``tolerance_m`` from their registered position."""
    d = displacement(source, as_of=as_of, crs=crs)
    return d[d["displacement_m"] > tolerance_m].sort_values(
        "displacement_m", ascending=False, ignore_index=True)


def _in_section(number: str, lo: str, hi: str | None) -> bool:
    """Is marker ``number`` (any part) the marker ``lo`` or within the section lo–hi?"""
    n = parse_number(number)
    a = parse_number(lo)
    key = (n.main, n.sub)
    if hi is None or (isinstance(hi, float) and np.isnan(hi)):
        return key == (a.main, a.sub)
    b = parse_number(hi)
    lo_k, hi_k = sorted([(a.main, a.sub), (b.main, b.sub)])
    return lo_k <= key <= hi_k


def marker_history(source, number: str, *, border: str | None = None) -> pd.DataFrame:
    """Everything recorded about a marker position (all its parts), oldest first:
    construction dates, works on it or on a section containing it with their progress
    updates, inspections (corrections marked), resurveys."""
    f = frames(source, ("markers", "works", "work_progress", "inspections", "resurveys"))
    pos = parse_number(number)
    m = f["markers"]
    parts = m[[parse_number(n).position == pos.position and (not pos.part or
               parse_number(n).part == pos.part) for n in m["number"]]]
    if border:
        parts = parts[parts["border"] == border]
    if not len(parts):
        raise NotFound(f"no marker {number}" + (f" on border {border}" if border else ""))
    rows = []
    names = set(zip(parts["border"], parts["number"]))
    for r in parts.itertuples(index=False):
        for field, vi, en in (("planned_date", "kế hoạch xây dựng", "construction planned"),
                              ("built_date", "xây dựng xong", "built")):
            v = getattr(r, field)
            if pd.notna(v):
                rows.append((v, r.border, r.number, "construction", None,
                             f"mốc {r.number}: {vi}", f"marker {r.number}: {en}"))
    works = f.get("works")
    prog = f.get("work_progress")
    if works is not None and len(works):
        borders = {b for b, _ in names}
        in_section = np.array([_in_section(pos.position, a, b) for a, b in
                               zip(works["marker_from"], works["marker_to"])], dtype=bool)
        mine = works[works["border"].isin(borders).to_numpy() & in_section]
        for w in mine.itertuples(index=False):
            sec = section_label(w.marker_from, w.marker_to)
            for field, vi, en in (("planned_start", "dự kiến khởi công", "planned start"),
                                  ("actual_start", "khởi công", "started"),
                                  ("planned_end", "dự kiến hoàn thành", "planned end"),
                                  ("actual_end", "hoàn thành", "completed")):
                v = getattr(w, field)
                if pd.notna(v):
                    rows.append((v, w.border, sec, "work", w.id, f"{w.title}: {vi}",
                                 f"{w.title} ({w.kind}, {sec}): {en}"))
            if prog is not None and len(prog):
                replaced = set(prog["corrects"].dropna())
                for p in prog[prog["work_id"] == w.id].itertuples(index=False):
                    tag_vi = " (đã được đính chính)" if p.id in replaced else ""
                    tag_en = " (corrected later)" if p.id in replaced else ""
                    fix_vi = f" — đính chính {p.corrects}" if isinstance(p.corrects, str) else ""
                    fix_en = f" — corrects {p.corrects}" if isinstance(p.corrects, str) else ""
                    note = f": {p.note}" if isinstance(p.note, str) else ""
                    ov_vi, ov_en = _override_tags(p)
                    rows.append((p.date, w.border, sec, "progress", p.id,
                                 f"{w.title}: {p.percent:g}%{note}{fix_vi}{tag_vi}{ov_vi}",
                                 f"{w.title}: {p.percent:g}%{note}{fix_en}{tag_en}{ov_en}"))
    ins = f.get("inspections")
    if ins is not None and len(ins):
        replaced = set(ins["corrects"].dropna())
        mine = ins[[(b, n) in names for b, n in zip(ins["border"], ins["marker"])]]
        for i in mine.itertuples(index=False):
            team_vi = "song phương" if i.team == "joint" else "đơn phương"
            fix = f" — đính chính {i.corrects}" if isinstance(i.corrects, str) else ""
            fix_en = f" — corrects {i.corrects}" if isinstance(i.corrects, str) else ""
            tag = " (đã được đính chính)" if i.id in replaced else ""
            tag_en = " (corrected later)" if i.id in replaced else ""
            ov_vi, ov_en = _override_tags(i)
            rows.append((i.date, i.border, i.marker, "inspection", i.id,
                         f"kiểm tra {team_vi}: {label(i.condition, 'vi')}{fix}{tag}{ov_vi}",
                         f"{i.team} inspection: {label(i.condition, 'en')}{fix_en}{tag_en}"
                         f"{ov_en}"))
    rs = f.get("resurveys")
    if rs is not None and len(rs):
        mine = rs[[(b, n) in names for b, n in zip(rs["border"], rs["marker"])]]
        for s in mine.itertuples(index=False):
            ov_vi, ov_en = _override_tags(s)
            rows.append((s.date, s.border, s.marker, "resurvey", s.id,
                         f"đo đạc lại vị trí: {s.reason}{ov_vi}",
                         f"position resurveyed: {s.reason}{ov_en}"))
    out = pd.DataFrame(rows, columns=["date", "border", "marker", "event", "record_id",
                                      "description_vi", "description_en"])
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ms]")
    order = {"construction": 0, "work": 1, "progress": 2, "inspection": 3, "resurvey": 4}
    out["_o"] = out["event"].map(order)
    return out.sort_values(["date", "_o"], kind="stable").drop(columns="_o").reset_index(
        drop=True)


def _override_tags(rec) -> tuple[str, str]:
    """' [ngoại lệ: ...]' / ' [override: ...]' for a record entered with an overridden rule
    (see :mod:`bienmoc.records.rules`); the stored text is the English rule message."""
    from bienmoc.messages import to_vi

    text = getattr(rec, "overrides", None)
    if not isinstance(text, str) or not text:
        return "", ""
    parts = [t.partition(": ") for t in text.split(" | ")]
    vi = " | ".join(f"{r}: {to_vi(m)}" if m else r for r, _, m in parts)
    return f" [ngoại lệ được chấp nhận: {vi}]", f" [override: {text}]"


def _check_marker(markers: pd.DataFrame, border: str, number: str) -> pd.Series:
    hit = markers[(markers["border"] == border) & (markers["number"] == number)]
    if not len(hit):
        raise InvalidData(f"no marker {number} on border {border}")
    return hit.iloc[0]


def inspections_done(source, *, start=None, end=None, border: str | None = None,
                     province: str | None = None) -> pd.DataFrame:
    """The effective inspections dated ``start``..``end`` (inclusive) of the markers of the area,
    with the marker's province: what a periodic report counts as inspections done in the period
    (by ``team``: unilateral / joint). A correction replaces the record it corrects."""
    f = frames(source, ("markers", "inspections"))
    ins = f.get("inspections")
    cols = ["id", "date", "border", "marker", "province", "team", "condition"]
    if ins is None or not len(ins):
        return pd.DataFrame(columns=cols)
    ins = pd.DataFrame(effective(ins)).drop(columns="geometry", errors="ignore")
    if start is not None:
        ins = ins[ins["date"] >= as_of_date(start)]
    if end is not None:
        ins = ins[ins["date"] <= as_of_date(end)]
    m = pd.DataFrame(f["markers"])[["border", "number", "province"]].drop_duplicates(
        ["border", "number"]).rename(columns={"number": "marker"})
    ins = ins.merge(m, on=["border", "marker"], how="left")
    ins = in_area(ins, border, province)
    return ins[cols].sort_values(["date", "id"], ignore_index=True)
