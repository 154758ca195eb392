"""Recording from scripts and the CLI: progress updates, inspections, resurveys.

Every record goes through the same validation as an import (:func:`bienmoc.validate`) plus the
references it makes (the work, the marker, the record it corrects), and is appended to the store
in one atomic write: on any problem nothing is written. History is append-only; a correction is
a new record whose ``corrects`` names the record it replaces.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
from typing import Callable, Iterable

import geopandas as gpd
import pandas as pd
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.errors import InvalidData, Problem
from bienmoc.analysis.progress import effective
from bienmoc.model.schema import validate

__all__ = ["record_progress", "record_inspection", "resurvey_marker", "reference_problems",
           "append_records"]


def reference_problems(kind: str, data: pd.DataFrame, store, rows: Iterable[int] | None = None,
                       ) -> list[Problem]:
    """Problems with what records of ``kind`` refer to (works, markers, corrected records)."""
    rows = list(rows) if rows is not None else list(range(1, len(data) + 1))
    problems: list[Problem] = []
    if kind == "work_progress":
        works = set(store.read("works")["id"])
        for r, w in zip(rows, data["work_id"]):
            if w is not None and w not in works:
                problems.append(Problem(r, "work_id", f"no work with id {w!r}"))
    if kind in ("inspections", "resurveys"):
        markers = store.read("markers")
        known = set(zip(markers["border"], markers["number"]))
        for r, b, m in zip(rows, data["border"], data["marker"]):
            if b is not None and m is not None and (b, m) not in known:
                problems.append(Problem(r, "marker", f"no marker {m} on border {b}"))
    if kind in ("inspections", "work_progress") and "corrects" in data:
        existing = store.read(kind)
        ids = set(existing["id"]) | set(data["id"].dropna())
        for r, c in zip(rows, data["corrects"]):
            if c is not None and c not in ids:
                problems.append(Problem(r, "corrects", f"no {kind} record {c!r} to correct"))
    return problems


def append_records(store, kind: str, records: pd.DataFrame | gpd.GeoDataFrame,
                   *, what: str | None = None,
                   checks: Callable[[gpd.GeoDataFrame], list[Problem]] | None = None
                   ) -> gpd.GeoDataFrame:
    """Validate ``records`` (schema + references + uniqueness against the store + the
    caller's ``checks``) and append them atomically. Returns the validated records."""
    with _write_lock(store):  # read, validate and write as one step (ids cannot be taken)
        existing = store.read(kind)
        boundary = store.read("boundary")
        borders = set(boundary["border"]) if len(boundary) else None
        data = validate(kind, records, existing=existing, borders=borders, what=what)
        problems = reference_problems(kind, data, store) + (checks(data) if checks else [])
        if problems:
            raise InvalidData(problems, what)
        store.write(kind, data, mode="append")
    return data


def _write_lock(store):
    """The store's transaction, or nothing for a backend without one."""
    tx = getattr(store, "transaction", None)
    return tx() if tx is not None else contextlib.nullcontext()


def _not_in_future(data: gpd.GeoDataFrame) -> list[Problem]:
    today = pd.Timestamp(_dt.date.today())
    return [Problem(i + 1, "date", f"{d.date()} is in the future")
            for i, d in enumerate(data["date"]) if pd.notna(d) and d > today]


def record_progress(store, work_id: str, date, percent: float, *, note: str | None = None,
                    disbursed_vnd: float | None = None, corrects: str | None = None
                    ) -> gpd.GeoDataFrame:
    """Append one progress update of a work. Percent must not fall below the latest effective
    update dated on or before ``date`` (unless the record corrects an earlier one), and the
    date may not lie in the future."""
    rec = gpd.GeoDataFrame({"work_id": [work_id], "date": [date], "percent": [percent],
                            "disbursed_vnd": [disbursed_vnd], "note": [note],
                            "corrects": [corrects]}, geometry=[None], crs=STORAGE_CRS)

    def checks(data: gpd.GeoDataFrame) -> list[Problem]:
        problems = _not_in_future(data)
        if corrects is None:
            prog = effective(store.read("work_progress"))
            before = prog[(prog["work_id"] == work_id) & (prog["date"] <= data["date"].iloc[0])]
            if len(before):
                prev = float(before.sort_values("date")["percent"].iloc[-1])
                if prev > percent:
                    problems.append(Problem(
                        1, "percent", f"{percent:g}% is below the previous update ({prev:g}%);"
                        " record a correction (--corrects ID) if the earlier figure was wrong"))
        return problems

    return append_records(store, "work_progress", rec, what="progress", checks=checks)


def record_inspection(store, border: str, marker: str, date, team: str, condition: str, *,
                      position: tuple[float, float] | None = None, notes: str | None = None,
                      photos: str | None = None, corrects: str | None = None
                      ) -> gpd.GeoDataFrame:
    """Append one inspection of a marker; ``position`` is the measured (lon, lat), if any."""
    geom = shapely.Point(*position) if position is not None else None
    rec = gpd.GeoDataFrame({"date": [date], "border": [border], "marker": [marker],
                            "team": [team], "condition": [condition], "notes": [notes],
                            "photos": [photos], "corrects": [corrects]},
                           geometry=[geom], crs=STORAGE_CRS)
    return append_records(store, "inspections", rec, what="inspection",
                          checks=_not_in_future)


def resurvey_marker(store, border: str, marker: str, position: tuple[float, float], date,
                    reason: str, *, surveyor: str | None = None) -> gpd.GeoDataFrame:
    """Move a marker's registered position to ``position`` (lon, lat), recording the resurvey
    with the previous position; both layers change in one atomic write."""
    with _write_lock(store):
        return _resurvey(store, border, marker, position, date, reason, surveyor)


def _resurvey(store, border, marker, position, date, reason, surveyor) -> gpd.GeoDataFrame:
    markers = store.read("markers")
    hit = (markers["border"] == border) & (markers["number"] == marker)
    if not hit.any():
        raise InvalidData(Problem(None, "marker", f"no marker {marker} on border {border}"),
                          "resurvey")
    old = markers.loc[hit, "geometry"].iloc[0]
    rec = gpd.GeoDataFrame({"date": [date], "border": [border], "marker": [marker],
                            "previous_wkt": [shapely.to_wkt(old, rounding_precision=7)],
                            "reason": [reason], "surveyor": [surveyor]},
                           geometry=[shapely.Point(*position)], crs=STORAGE_CRS)
    existing = store.read("resurveys")
    data = validate("resurveys", rec, existing=existing, what="resurvey")
    moved = markers.copy()
    moved.loc[hit, "geometry"] = data.geometry.iloc[0]
    moved = validate("markers", moved, what="resurvey")
    all_rs = gpd.GeoDataFrame(pd.concat([existing, data], ignore_index=True),
                              geometry="geometry", crs=STORAGE_CRS)
    store.write_many({"markers": moved, "resurveys": all_rs}, mode="replace")
    return data
