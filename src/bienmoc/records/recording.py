"""Recording from scripts, the CLI and the API: imports, progress, inspections, resurveys and
incidents.

Every function takes the store (or an open transaction) first and goes through
:func:`bienmoc.records.entry.enter`: schema validation, references, the domain rules of
:mod:`bienmoc.records.rules`, then one atomic write; on any problem nothing is written.
``allow`` names rules overridden for a true exception (stored on the record and logged).
History is append-only; a correction is a new record whose ``corrects`` names the record it
replaces.
"""
from __future__ import annotations

import datetime as _dt
from typing import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.analysis.progress import effective
from bienmoc.errors import InvalidData, NotFound, Problem
from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.model.schema import SCHEMAS, validate
from bienmoc.records.entry import (apply_overrides, border_model, check_allow, enter,
                                   reference_problems, transaction)
from bienmoc.records.rules import Context, RuleSettings, run_rules

__all__ = ["record_progress", "record_inspection", "resurvey_marker", "record_incident",
           "update_incident", "import_records", "append_records", "reference_problems",
           "INCIDENT_LOG"]

#: The change log of incident updates (one row per changed field).
INCIDENT_LOG = "incident_changes"


def _one(columns: dict, geometry=None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({k: [v] for k, v in columns.items()}, geometry=[geometry],
                            crs=STORAGE_CRS)


def import_records(store, kind: str, frame: pd.DataFrame, *, rows: Iterable[int] | None = None,
                   mode: str = "append", allow: Iterable[str] = (),
                   settings: RuleSettings | None = None, what: str | None = None
                   ) -> gpd.GeoDataFrame:
    """Import records of any layer (``mode`` 'append' or 'replace'); ``rows`` are the source
    row numbers the messages name. Returns the records written."""
    if kind not in SCHEMAS:
        raise InvalidData(f"unknown kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    prepare = _fill_incident_place if kind == "incidents" else None
    return enter(store, kind, frame, rows=rows, mode=mode, allow=allow, settings=settings,
                 what=what, prepare=prepare)


def append_records(store, kind: str, records: pd.DataFrame, *, what: str | None = None,
                   allow: Iterable[str] = (), settings: RuleSettings | None = None
                   ) -> gpd.GeoDataFrame:
    """Append ``records`` of ``kind`` (the same path as an import)."""
    return import_records(store, kind, records, allow=allow, settings=settings, what=what)


def record_progress(store, work_id: str, date, percent: float, *, note: str | None = None,
                    disbursed_vnd: float | None = None, corrects: str | None = None,
                    allow: Iterable[str] = (), settings: RuleSettings | None = None
                    ) -> gpd.GeoDataFrame:
    """Append one progress update of a work. Percent must not fall below the latest effective
    update dated on or before ``date`` (unless the record corrects an earlier one)."""
    rec = _one({"work_id": work_id, "date": date, "percent": percent,
                "disbursed_vnd": disbursed_vnd, "note": note, "corrects": corrects})

    def checks(ctx: Context) -> list[Problem]:
        if corrects is not None:
            return []
        prog = effective(ctx.tx.read("work_progress"))
        before = prog[(prog["work_id"] == work_id) & (prog["date"] <= ctx.data["date"].iloc[0])]
        if len(before):
            prev = float(before.sort_values("date")["percent"].iloc[-1])
            if prev > percent:
                return [Problem(1, "percent", f"{percent:g}% is below the previous update "
                                f"({prev:g}%); record a correction (--corrects ID) if the "
                                "earlier figure was wrong")]
        return []

    return enter(store, "work_progress", rec, allow=allow, settings=settings, what="progress",
                 checks=checks)


def record_inspection(store, border: str, marker: str, date, team: str, condition: str, *,
                      position: tuple[float, float] | None = None, notes: str | None = None,
                      photos: str | None = None, corrects: str | None = None,
                      allow: Iterable[str] = (), settings: RuleSettings | None = None
                      ) -> gpd.GeoDataFrame:
    """Append one inspection of a marker; ``position`` is the measured (lon, lat), if any."""
    geom = shapely.Point(*position) if position is not None else None
    rec = _one({"date": date, "border": border, "marker": marker, "team": team,
                "condition": condition, "notes": notes, "photos": photos,
                "corrects": corrects}, geom)
    return enter(store, "inspections", rec, allow=allow, settings=settings, what="inspection")


def resurvey_marker(store, border: str, marker: str, position: tuple[float, float], date,
                    reason: str, *, surveyor: str | None = None, allow: Iterable[str] = (),
                    settings: RuleSettings | None = None) -> gpd.GeoDataFrame:
    """Move a marker's registered position to ``position`` (lon, lat), recording the resurvey
    with the previous position; both layers change in one transaction. The moved marker must
    still pass the marker rules (its own line, its province)."""
    allowed = check_allow(allow)
    settings = settings or RuleSettings()
    with transaction(store) as tx:
        markers = tx.read("markers")
        hit = ((markers["border"] == border) & (markers["number"] == marker)).to_numpy()
        old = markers.loc[hit, "geometry"].iloc[0] if hit.any() else None
        rec = _one({"date": date, "border": border, "marker": marker,
                    "previous_wkt": (shapely.to_wkt(old, rounding_precision=7)
                                     if old is not None else "POINT EMPTY"),
                    "reason": reason, "surveyor": surveyor}, shapely.Point(*position))

        def moved_marker(ctx: Context) -> list[Problem]:
            if not hit.any():
                return []
            one = markers[hit].copy()
            one["geometry"] = [ctx.data.geometry.iloc[0]]
            mctx = Context(ctx.tx, "markers", one, np.array([1]), ctx.settings, ctx.model)
            found = run_rules(mctx)
            moved_marker.allowed = [p for p in found if p.rule in allowed]
            return found

        def move(tx_, data: gpd.GeoDataFrame) -> None:
            if not hit.any():
                return
            out = markers.copy()
            out.loc[hit, "geometry"] = data.geometry.iloc[0]
            if getattr(moved_marker, "allowed", None):
                sub = out[hit].copy()
                apply_overrides(sub, np.array([1]), moved_marker.allowed, "markers")
                out.loc[hit, "overrides"] = sub["overrides"].to_numpy()
            tx_.replace("markers", out)

        return enter(tx, "resurveys", rec, allow=allowed, settings=settings, what="resurvey",
                     checks=moved_marker, also=move)


def _fill_incident_place(ctx: Context) -> None:
    """An incident without border/province takes the nearest line's border and the province
    polygon of its position."""
    d = ctx.data
    need_b, need_p = d["border"].isna().to_numpy(), d["province"].isna().to_numpy()
    if not (need_b.any() or need_p.any()):
        return
    model = ctx.model()
    xy = ctx.metric_xy()
    ok = np.isfinite(xy[:, 0])
    if model is None or not ok.any():
        return
    if need_b.any():
        sel = need_b & ok
        d.loc[sel, "border"] = model.index.locate_xy(xy[sel, 0], xy[sel, 1]).border
    if need_p.any() and model.provinces:
        sel = need_p & ok
        d.loc[sel, "province"] = model.provinces.of_xy(xy[sel, 0], xy[sel, 1])


def record_incident(store, kind: str, geometry, *, reported_date=None, status: str = "reported",
                    border: str | None = None, province: str | None = None,
                    occurred_date=None, description: str | None = None,
                    allow: Iterable[str] = (), settings: RuleSettings | None = None
                    ) -> gpd.GeoDataFrame:
    """Append one incident (a point or an area, lon/lat). ``reported_date`` defaults to today;
    a missing border is the nearest line's, a missing province the polygon holding it."""
    settings = settings or RuleSettings()
    if reported_date is None:
        reported_date = settings.day().date()
    if isinstance(geometry, (tuple, list)):
        geometry = shapely.Point(*geometry[:2])
    rec = _one({"kind": kind, "status": status, "border": border, "province": province,
                "occurred_date": occurred_date, "reported_date": reported_date,
                "description": description}, geometry)
    return enter(store, "incidents", rec, allow=allow, settings=settings, what="incident",
                 prepare=_fill_incident_place)


def _stored_text(v) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return str(v)


def update_incident(store, record_id: str, values: Mapping[str, object], *,
                    allow: Iterable[str] = (), settings: RuleSettings | None = None,
                    note: str | None = None) -> dict[str, tuple]:
    """Change attributes of an incident (status, description, dates...) in place and log each
    change in :data:`INCIDENT_LOG`. The changed record passes the same rules as a new one
    (problems of unchanged fields are not held against it). Returns {field: (old, new)}."""
    allowed = check_allow(allow)
    settings = settings or RuleSettings()
    schema = SCHEMAS["incidents"]
    bad = [k for k in values if k not in schema.columns or k in ("id", "overrides")]
    if bad:
        raise InvalidData(Problem(None, bad[0], f"field {bad[0]!r} cannot be changed; "
                                  f"fields: {', '.join(schema.columns[1:-1])}"), "incident")
    with transaction(store) as tx:
        inc = tx.read("incidents")
        hit = (inc["id"] == record_id).to_numpy()
        if not hit.any():
            raise NotFound(f"no incident {record_id!r}")
        rec = inc[hit].reset_index(drop=True)
        for k, v in values.items():
            rec[k] = pd.Series([v], dtype=object)
        boundary = tx.read("boundary")
        data = validate("incidents", rec, borders=set(boundary["border"]) or None,
                        what="incident")
        ctx = Context(tx, "incidents", data, np.array([1]), settings, lambda: border_model(tx))
        found = [p for p in run_rules(ctx) if p.field in values
                 or (p.field == "geometry" and "border" in values)]
        blocking = [p for p in found if p.rule not in allowed]
        if blocking:
            raise InvalidData(blocking, "incident")
        out = {k: _stored_text(data[k].iloc[0]) for k in values}
        if found:
            apply_overrides(data, np.array([1]), found, "incidents")
            out["overrides"] = data["overrides"].iloc[0]
        return tx.update_fields("incidents", record_id, out, log_layer=INCIDENT_LOG,
                                note=note)
