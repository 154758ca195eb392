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

from typing import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.analysis.progress import effective
from bienmoc.errors import InvalidData, NotFound, Problem
from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.model.frames import column_array, geo_frame, object_columns
from bienmoc.model.schema import REGION_BOUNDS, SCHEMAS, _is_missing, validate
from bienmoc.records.attribution import log_writes
from bienmoc.records.entry import (_border_codes, apply_overrides, border_model,
                                   check_allow, enter, reference_problems, transaction)
from bienmoc.records.rules import Context, RuleSettings, mark_updated, read_layer, run_rules

__all__ = ["record_progress", "record_inspection", "resurvey_marker", "record_incident",
           "record_incidents",
           "update_incident", "import_records", "append_records", "reference_problems",
           "INCIDENT_LOG", "fill_marker_elevations", "MARKER_LOG"]

#: The change log of incident updates (one row per changed field).
INCIDENT_LOG = "incident_changes"


def object_frame(columns: dict, geometry, crs, index=None, *,
                 geometry_name: str = "geometry") -> gpd.GeoDataFrame:
    """A GeoDataFrame of object columns (values as given: no str dtype inferred), built by
    :func:`bienmoc.model.frames.geo_frame` (the write path builds a few frames of 1-16 rows
    per API batch: ~40 µs each instead of ~0.5 ms through the public constructors)."""
    return geo_frame({k: column_array(v) for k, v in columns.items()}, geometry, crs,
                     index=index, geometry_name=geometry_name)


def _one(columns: dict, geometry=None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({k: [v] for k, v in columns.items()}, geometry=[geometry],
                            crs=STORAGE_CRS)


def import_records(store, kind: str, frame: pd.DataFrame, *, rows: Iterable[int] | None = None,
                   mode: str = "append", allow: Iterable[str] = (),
                   settings: RuleSettings | None = None, what: str | None = None,
                   user: str | None = None) -> gpd.GeoDataFrame:
    """Import records of any layer (``mode`` 'append' or 'replace'); ``rows`` are the source
    row numbers the messages name; ``user`` is logged in ``write_log``. Returns the records
    written."""
    if kind not in SCHEMAS:
        raise InvalidData(f"unknown kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    prepare = {"incidents": _fill_incident_place,
               "line_sections": _fill_section_place}.get(kind)
    return enter(store, kind, frame, rows=rows, mode=mode, allow=allow, settings=settings,
                 what=what, prepare=prepare, user=user)


def append_records(store, kind: str, records: pd.DataFrame, *, what: str | None = None,
                   allow: Iterable[str] = (), settings: RuleSettings | None = None,
                   user: str | None = None) -> gpd.GeoDataFrame:
    """Append ``records`` of ``kind`` (the same path as an import)."""
    return import_records(store, kind, records, allow=allow, settings=settings, what=what,
                          user=user)


def record_progress(store, work_id: str, date, percent: float, *, note: str | None = None,
                    disbursed_vnd: float | None = None, corrects: str | None = None,
                    allow: Iterable[str] = (), settings: RuleSettings | None = None,
                    user: str | None = None) -> gpd.GeoDataFrame:
    """Append one progress update of a work. Percent must not fall below the latest effective
    update dated on or before ``date`` (unless the record corrects an earlier one)."""
    rec = _one({"work_id": work_id, "date": date, "percent": percent,
                "disbursed_vnd": disbursed_vnd, "note": note, "corrects": corrects})

    def checks(ctx: Context) -> list[Problem]:
        if corrects is not None:
            return []
        prog = effective(read_layer(ctx.tx, "work_progress"))
        before = prog[(prog["work_id"] == work_id) & (prog["date"] <= ctx.data["date"].iloc[0])]
        if len(before):
            prev = float(before.sort_values("date")["percent"].iloc[-1])
            if prev > percent:
                return [Problem(1, "percent", f"{percent:g}% is below the previous update "
                                f"({prev:g}%); record a correction (--corrects ID) if the "
                                "earlier figure was wrong")]
        return []

    return enter(store, "work_progress", rec, allow=allow, settings=settings, what="progress",
                 checks=checks, user=user)


def record_inspection(store, border: str, marker: str, date, team: str, condition: str, *,
                      position: tuple[float, float] | None = None, notes: str | None = None,
                      photos: str | None = None, corrects: str | None = None,
                      allow: Iterable[str] = (), settings: RuleSettings | None = None,
                      idempotency_key: str | None = None, user: str | None = None
                      ) -> gpd.GeoDataFrame:
    """Append one inspection of a marker; ``position`` is the measured (lon, lat), if any.
    A retry with the same ``idempotency_key`` returns the first record and writes nothing."""
    geom = shapely.Point(*position) if position is not None else None
    rec = _one({"date": date, "border": border, "marker": marker, "team": team,
                "condition": condition, "notes": notes, "photos": photos,
                "corrects": corrects}, geom)
    return enter(store, "inspections", rec, allow=allow, settings=settings, what="inspection",
                 idempotency_key=idempotency_key, user=user)


def resurvey_marker(store, border: str, marker: str, position: tuple[float, float], date,
                    reason: str, *, surveyor: str | None = None, allow: Iterable[str] = (),
                    settings: RuleSettings | None = None, user: str | None = None
                    ) -> gpd.GeoDataFrame:
    """Move a marker's registered position to ``position`` (lon, lat), recording the resurvey
    with the previous position; both layers change in one transaction. The moved marker must
    still pass the marker rules (its own line, its province)."""
    allowed = check_allow(allow)
    settings = settings or RuleSettings()
    with transaction(store) as tx:
        markers = read_layer(tx, "markers")
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
                     checks=moved_marker, also=move, user=user)


#: what the write path derives for each incident from its position (geometry.locate's names)
INCIDENT_PLACE = ("side", "chainage_m", "distance_m", "marker_before", "marker_after")


def _fill_incident_place(tx, records: pd.DataFrame) -> pd.DataFrame:
    """Locate incidents on the line at every door: a missing border is the nearest line's, a
    missing province the polygon holding it, and :data:`INCIDENT_PLACE` (side, chainage,
    distance, the marker pair around it) is derived from the position (an area by its
    representative point). Positions that validation will refuse are left alone."""
    gname = getattr(records, "_geometry_column_name", None)  # (.geometry builds a GeoSeries)
    if not isinstance(records, gpd.GeoDataFrame) or gname not in records:
        return records
    n = len(records)
    crs = records.crs
    # the columns are gathered as arrays and the frame built once at the end: setting
    # columns one by one on a GeoDataFrame costs ~0.2 ms each, more than locating a point
    cols = object_columns(records)
    arr = cols.pop(gname)  # the geometries, as given (the frame keeps them)
    for col in ("border", "province"):
        cols[col] = cols[col].copy() if col in cols else np.full(n, None, dtype=object)
    for col in INCIDENT_PLACE:
        cols[col] = np.full(n, None, dtype=object)

    def done() -> gpd.GeoDataFrame:
        return object_frame(cols, arr, crs, records.index, geometry_name=gname)

    lonlat = arr if crs is None or crs == STORAGE_CRS else np.asarray(
        records.geometry.to_crs(STORAGE_CRS).values, dtype=object)
    x0, y0, x1, y1 = REGION_BOUNDS
    bounds = shapely.bounds(lonlat)
    ok = np.isfinite(bounds).all(axis=1) & (bounds[:, 0] >= x0) & (bounds[:, 2] <= x1) \
        & (bounds[:, 1] >= y0) & (bounds[:, 3] <= y1)
    ok &= shapely.is_valid(lonlat)
    if not ok.any():
        return done()
    model = border_model(tx, with_markers=True)
    if model is None:
        return done()
    idx = np.flatnonzero(ok)
    # once, for the line and the provinces (an area by its representative point)
    xy = model.index.lonlat_to_metric(shapely.get_coordinates(
        shapely.point_on_surface(lonlat[idx])))
    loc = model.locate_columns(xy, describe=False)
    # filled as whole columns (one assignment each, not one per row: this runs per API batch)
    border, province = cols["border"], cols["province"]
    found_b = np.asarray(loc["border"], dtype=object)
    found_p = np.asarray(loc["province"], dtype=object)
    for k, i in enumerate(idx):
        if _is_missing(border[i]):  # (what validation counts as no value)
            border[i] = found_b[k]
        if _is_missing(province[i]) and not _is_missing(found_p[k]):
            province[i] = found_p[k]
    for col in INCIDENT_PLACE:
        cols[col][idx] = [None if _is_missing(v) else v
                          for v in np.asarray(loc[col], dtype=object)]
    return done()


def _fill_section_place(tx, records: pd.DataFrame) -> gpd.GeoDataFrame:
    """A line section's geometry is its line between from_m and to_m (any given geometry is
    replaced: the chainage is the record); a missing province is the one holding most of it.
    Rows whose border or chainage validation will refuse are left without geometry."""
    from bienmoc.geometry.sections import chainage_lines, province_shares
    from bienmoc.model.schema import _parse_number_value

    def num(v):
        try:
            return float(_parse_number_value(v, False))
        except Exception:  # noqa: BLE001 - validation reports it, naming row and field
            return np.nan

    frame = pd.DataFrame(records).drop(columns=["geometry"], errors="ignore").copy()
    n = len(frame)
    model = border_model(tx)
    geoms = gpd.GeoSeries([None] * n, crs=STORAGE_CRS)
    if model is not None and n and {"border", "from_m", "to_m"} <= set(frame.columns):
        border = [str(b).strip() if isinstance(b, str) else None for b in frame["border"]]
        f = np.array([num(v) for v in frame["from_m"]])
        t = np.array([num(v) for v in frame["to_m"]])
        known = np.array([b in model.index.length_m for b in border]) & (f < t)
        if known.any():
            idx = np.flatnonzero(known)
            geoms.iloc[idx] = chainage_lines(model.index, [border[i] for i in idx], f[idx],
                                             t[idx]).values
        if "province" not in frame:
            frame["province"] = None
        prov = frame["province"].to_numpy(dtype=object).copy()
        for i in np.flatnonzero(known):
            if prov[i] is None or (isinstance(prov[i], float) and np.isnan(prov[i])) or (
                    isinstance(prov[i], str) and not prov[i].strip()):
                shares = province_shares(model, border[i], f[i], t[i])
                prov[i] = max(shares, key=shares.get) if shares else None
        frame["province"] = prov
    return gpd.GeoDataFrame(frame, geometry=geoms.values, crs=STORAGE_CRS)


def record_incident(store, kind: str, geometry, *, reported_date=None, status: str = "reported",
                    border: str | None = None, province: str | None = None,
                    occurred_date=None, description: str | None = None,
                    allow: Iterable[str] = (), settings: RuleSettings | None = None,
                    idempotency_key: str | None = None, user: str | None = None
                    ) -> gpd.GeoDataFrame:
    """Append one incident (a point or an area, lon/lat). ``reported_date`` defaults to today;
    a missing border is the nearest line's, a missing province the polygon holding it.
    A retry with the same ``idempotency_key`` returns the first record and writes nothing."""
    settings = settings or RuleSettings()
    if reported_date is None:
        reported_date = settings.day().date()
    if isinstance(geometry, (tuple, list)):
        geometry = shapely.Point(*geometry[:2])
    rec = _one({"kind": kind, "status": status, "border": border, "province": province,
                "occurred_date": occurred_date, "reported_date": reported_date,
                "description": description}, geometry)
    return enter(store, "incidents", rec, allow=allow, settings=settings, what="incident",
                 prepare=_fill_incident_place, idempotency_key=idempotency_key, user=user)


def record_incidents(store, incidents: list[Mapping], *, allow: Iterable[str] = (),
                     settings: RuleSettings | None = None, user: str | None = None
                     ) -> gpd.GeoDataFrame:
    """Append several incidents at once (the same rules as :func:`record_incident`, one
    vectorised validation and one write): each mapping has ``kind``, ``geometry`` (a shapely
    geometry or (lon, lat)) and optionally the other fields of :func:`record_incident`. On any
    problem nothing is written and the message names the row (1-based position)."""
    settings = settings or RuleSettings()
    today = settings.day().date()
    cols = ("kind", "status", "border", "province", "occurred_date", "reported_date",
            "description")
    geoms = [shapely.Point(*g[:2]) if isinstance(g, (tuple, list)) else g
             for g in (i["geometry"] for i in incidents)]
    values = {c: [i.get(c, "reported" if c == "status" else None) for i in incidents]
              for c in cols}
    values["reported_date"] = [today if v is None else v for v in values["reported_date"]]
    rec = object_frame(values, geoms, STORAGE_CRS)
    return enter(store, "incidents", rec, allow=allow, settings=settings, what="incidents",
                 prepare=_fill_incident_place, user=user)


def _stored_text(v) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):  # as GDAL writes a GeoPackage DATETIME
        return v.strftime("%Y-%m-%dT%H:%M:%S")
    return str(v)


def update_incident(store, record_id: str, values: Mapping[str, object], *,
                    allow: Iterable[str] = (), settings: RuleSettings | None = None,
                    note: str | None = None, if_match: str | Iterable[str] | None = None,
                    user: str | None = None) -> dict[str, tuple]:
    """Change attributes of an incident (status, description, dates...) in place and log each
    change in :data:`INCIDENT_LOG`. The changed record passes the same rules as a new one
    (problems of unchanged fields are not held against it). Returns {field: (old, new)}.

    ``if_match``: the ETag(s) of the copy the caller changed (:mod:`bienmoc.records.versions`;
    an HTTP ``If-Match`` value is accepted as it is). It is compared with the record as it
    stands inside the write transaction; a record changed meanwhile raises
    :class:`~bienmoc.records.versions.StaleRecord` and nothing is written.

    ``user`` is named in each change-log row (``changed_by``) and in ``write_log``."""
    from bienmoc.records.versions import StaleRecord, etag_matches, frame_etags

    allowed = check_allow(allow)
    settings = settings or RuleSettings()
    schema = SCHEMAS["incidents"]
    fixed = ("id", "overrides") + INCIDENT_PLACE  # the place is derived from the position
    changeable = ", ".join(c for c in schema.columns if c not in fixed)
    if not values:
        raise InvalidData(Problem(None, None, "nothing to change: give at least one of "
                                  f"{changeable}"), "incident")
    bad = [k for k in values if k not in schema.columns or k in fixed]
    if bad:
        raise InvalidData(Problem(None, bad[0], f"field {bad[0]!r} cannot be changed; "
                                  f"fields: {changeable}"), "incident")
    with transaction(store) as tx:
        inc = read_layer(tx, "incidents")
        hit = (inc["id"] == record_id).to_numpy()
        if not hit.any():
            raise NotFound(f"no incident {record_id!r}")
        rec = inc[hit].reset_index(drop=True)
        if if_match is not None:
            current = frame_etags("incidents", rec)[0]
            if not etag_matches(if_match, current):
                raise StaleRecord(record_id, current)
        for k, v in values.items():
            rec[k] = pd.Series([v], dtype=object)
        changes = _update_checked(tx, "incidents", rec, np.array([1]), list(values),
                                  allowed=allowed, settings=settings, log_layer=INCIDENT_LOG,
                                  note=note, user=user, what="incident")
        return changes.get(record_id, {})


def _stored_value(v):
    """A validated value as an in-place update stores it: numbers stay numbers, times as GDAL
    writes a GeoPackage DATETIME, the rest as text."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return _stored_text(v)


def _update_checked(tx, kind: str, rec: gpd.GeoDataFrame, rows: np.ndarray, changed: list[str],
                    *, allowed, settings: RuleSettings, log_layer: str, note, user,
                    what: str) -> dict[str, dict]:
    """The one path of in-place changes (an incident's PATCH, filled marker elevations): the
    changed records ``rec`` (whole, with the new values) pass the layer's schema and its rules
    as new records do - problems of fields that did not change are not held against them -
    then each record's changed fields are written and logged in ``log_layer``, attributed to
    ``user``. Problems of rules in ``allowed`` are stored on the record (``overrides``).
    Returns {record id: {field: (old, new)}} for the records that changed."""
    data = validate(kind, rec, rows=rows, borders=_border_codes(read_layer(tx, "boundary")),
                    what=what)
    ctx = Context(tx, kind, data, rows, settings, lambda: border_model(tx))
    found = [p for p in run_rules(ctx) if p.field in changed
             or (p.field == "geometry" and "border" in changed)]
    blocking = [p for p in found if p.rule not in allowed]
    if blocking:
        raise InvalidData(blocking, what)
    if found and "overrides" in data:
        apply_overrides(data, rows, found, kind)
    flagged = {int(p.row) for p in found}
    out: dict[str, dict] = {}
    for i, r in enumerate(rows):
        values = {k: _stored_value(data[k].iloc[i]) for k in changed}
        if int(r) in flagged:
            values["overrides"] = data["overrides"].iloc[i]
        rid = str(data["id"].iloc[i])
        got = tx.update_fields(kind, rid, values, log_layer=log_layer, note=note,
                               **({"user": user} if user is not None else {}))
        if got:
            out[rid] = got
    if out:
        log_writes(tx, kind, list(out), "update", user)
    mark_updated(tx, kind)
    return out


#: The change log of in-place marker changes (filled elevations), one row per changed field.
MARKER_LOG = "marker_changes"


def fill_marker_elevations(store, elevations: Mapping[str, float], *,
                           note: str | None = None, user: str | None = None,
                           settings: RuleSettings | None = None) -> pd.DataFrame:
    """Set ``elevation_m`` of the markers whose id is a key of ``elevations`` and that have
    none recorded; a recorded elevation is never overwritten, a NaN value is skipped. The new
    values pass the markers schema (its elevation range) and the marker rules, as an
    incident's change does (:func:`_update_checked`), before anything is written, all in one
    transaction, each change logged in :data:`MARKER_LOG` with ``note``. Returns the filled
    markers: ``id, border, number, elevation_m``."""
    cols = ["id", "border", "number", "elevation_m"]
    with transaction(store) as tx:
        markers = read_layer(tx, "markers")
        if not len(markers):
            return pd.DataFrame(columns=cols)
        given = pd.Series({str(k): float(v) for k, v in elevations.items()}, dtype=float)
        empty = markers["elevation_m"].isna().to_numpy()
        new = markers["id"].map(given).to_numpy(dtype=float)
        hit = empty & np.isfinite(new)
        if not hit.any():
            return pd.DataFrame(columns=cols)
        rec = markers[hit].copy()
        rec["elevation_m"] = new[hit]
        _update_checked(tx, "markers", rec, np.flatnonzero(hit) + 1, ["elevation_m"],
                        allowed=frozenset(), settings=settings or RuleSettings(),
                        log_layer=MARKER_LOG, note=note, user=user, what="markers")
    return pd.DataFrame(rec[cols]).reset_index(drop=True)
