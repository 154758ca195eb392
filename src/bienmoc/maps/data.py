"""Compact JSON payloads of the maps (what the browser draws), from a store or from frames.

The payloads are small on purpose: coordinates rounded to 1e-5° (~1 m), enum values as indexes
into a per-payload ``enums`` table, one array per record. Popups are built from them in the
browser (``api/static/bienmoc/maps.js``). Every function takes a store (results cached by the
store's data version, so an edit shows up at once) or a mapping of layer name → frame.

* :func:`base_data` — provinces, neighbouring countries and boundary lines (simplified in
  metres), the vector base map that needs no tile server;
* :func:`progress_data` — markers (construction status, current condition, inspection due,
  works on them), works (derived status, stalled), gates;
* :func:`incidents_data` — incidents filtered by border, province, date range, kinds and
  statuses; for a view (``bbox``, ``zoom``): the points with their popup fields (side of the
  border and "khu vực mốc X – Y" location from :class:`~bienmoc.locate.BorderModel`) when at
  most ``limit`` fall in the view, else counts per grid cell (server-side clustering).
"""
from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from typing import Callable, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.model.places import in_area
from bienmoc.geometry.crs import metric_crs, to_metric
from bienmoc.errors import InvalidData
from bienmoc.analysis.inspections import DEFAULT_CYCLE_MONTHS, inspections_due, current_condition
from bienmoc.geometry.locate import NEIGHBOURS, BorderModel
from bienmoc.model.numbers import parse_number
from bienmoc.analysis.progress import DEFAULT_STALL_DAYS, as_of_date, work_status
from bienmoc.model.schema import (Condition, ConstructionStatus, IncidentKind, IncidentStatus, MarkerKind)
from bienmoc.maps.detail import due_sections, province_lines
from bienmoc.maps.style import CONDITION_COLOURS, DUE_SECTION_KM

__all__ = ["base_data", "progress_data", "incidents_data", "safe_json", "POINTS_LIMIT",
           "data_version", "cached", "parse_bbox", "parse_codes", "simplify_m"]

#: Incidents are sent one by one when at most this many fall in the (padded) view.
POINTS_LIMIT = 3000
#: Size of a server-side cluster cell, in screen pixels at the requested zoom.
CELL_PX = 80
#: Description text longer than this is cut in the payload (the full text is in the store).
DESCRIPTION_MAX = 600

_PROVINCE_TOL_M = 800.0
_BOUNDARY_TOL_M = 30.0
_NEIGHBOUR_BAND_M = 40_000.0


def simplify_m(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplify geometries with a tolerance in metres (in the metric CRS), back to EPSG:4326."""
    if not len(gdf):
        return gdf
    metric = to_metric(gdf)
    metric = metric.set_geometry(metric.geometry.simplify(tolerance_m, preserve_topology=True))
    return metric.to_crs(gdf.crs)


# -- caching by data version ---------------------------------------------------------------

class _LRU:
    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return True, self.data[key]
        return False, None

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.maxsize:
                self.data.popitem(last=False)


_CACHE = _LRU(96)
_BUILD_LOCKS: dict = {}
_BUILD_LOCKS_LOCK = threading.Lock()


def data_version(source) -> str | None:
    """The store's data version (None for a mapping of frames: nothing is cached)."""
    if isinstance(source, Mapping):
        return None
    return source.version()


def cached(source, key: tuple, build: Callable, version: str | None = None):
    """``build()`` once per (store, data version, key); a mapping source is never cached.

    Concurrent requests for the same missing key build it once (the others wait)."""
    if isinstance(source, Mapping):
        return build()
    version = version or source.version()
    full = (getattr(source, "uri", id(source)), version) + key
    hit, value = _CACHE.get(full)
    if hit:
        return value
    with _BUILD_LOCKS_LOCK:
        lock = _BUILD_LOCKS.setdefault(full, threading.Lock())
    with lock:
        hit, value = _CACHE.get(full)
        if not hit:
            value = build()
            _CACHE.put(full, value)
    with _BUILD_LOCKS_LOCK:
        _BUILD_LOCKS.pop(full, None)
    return value


def _layer(source, name: str) -> gpd.GeoDataFrame:
    """A layer (shared, read-only): from the mapping, or read once per store version."""
    if isinstance(source, Mapping):
        if name in source:
            return source[name]
        from bienmoc.model.schema import empty_layer
        return empty_layer(name)
    return cached(source, ("layer", name), lambda: source.read(name))


def _model(source) -> BorderModel:
    return cached(source, ("model",), lambda: BorderModel(
        _layer(source, "boundary"), _layer(source, "markers"), _layer(source, "provinces")))


# -- JSON --------------------------------------------------------------------------------

_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def safe_json(obj) -> str:
    """JSON that can stand inside a ``<script>`` element: ``<``, ``>``, ``&`` and U+2028/2029
    are escaped, so no data can close the script (``</script>``) or start markup."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, rep in _JS_ESCAPES.items():
        text = text.replace(ch, rep)
    return text


def _iso(v) -> str | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return pd.Timestamp(v).strftime("%Y-%m-%d")


def _txt(v) -> str | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return str(v)


def _num(v) -> float | None:
    if v is None or pd.isna(v):
        return None
    v = float(v)
    return int(v) if v.is_integer() else round(v, 2)


def _round_coords(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, 5))


def _geojson(gdf: gpd.GeoDataFrame, props: Iterable[str]) -> dict:
    props = list(props)
    geoms = _round_coords(np.asarray(gdf.geometry.values, dtype=object))
    feats = []
    for geom, rec in zip(geoms, gdf[props].itertuples(index=False, name=None)):
        if geom is None or geom.is_empty:
            continue
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
                      "properties": {k: _txt(v) for k, v in zip(props, rec)}})
    return {"type": "FeatureCollection", "features": feats}


class _Codes:
    """Values of one column as indexes into a table (the payload's ``enums``)."""

    def __init__(self, values: Iterable[str] = ()):
        self.table: list = list(values)
        self.index = {v: i for i, v in enumerate(self.table)}

    def __call__(self, values) -> list[int]:
        out = []
        for v in values:
            v = _txt(v)
            i = self.index.get(v)
            if i is None:
                i = self.index[v] = len(self.table)
                self.table.append(v)
            out.append(i)
        return out


def parse_bbox(bbox) -> tuple[float, float, float, float] | None:
    """'west,south,east,north' (degrees) → tuple; None passes."""
    if bbox is None or bbox == "":
        return None
    try:
        vals = [float(x) for x in (bbox.split(",") if isinstance(bbox, str) else bbox)]
    except (TypeError, ValueError):
        raise InvalidData(f"bbox must be west,south,east,north in degrees, not {bbox!r}") \
            from None
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals) or vals[0] > vals[2] \
            or vals[1] > vals[3]:
        raise InvalidData(f"bbox must be west,south,east,north in degrees, not {bbox!r}")
    return tuple(vals)


def parse_codes(values, enum, what: str) -> list[str] | None:
    """A comma list (or list) of enum codes/labels → codes; None/empty = no filter."""
    if values is None or values == "" or values == []:
        return None
    items = values.split(",") if isinstance(values, str) else list(values)
    out = []
    for v in items:
        try:
            out.append(enum.parse(v).value)
        except ValueError as e:
            raise InvalidData(f"{what}: {e}") from None
    return out


def _date(v, what: str) -> pd.Timestamp | None:
    if v is None or v == "":
        return None
    try:
        return pd.Timestamp(v).normalize()
    except (ValueError, TypeError):
        raise InvalidData(f"{what}: not a date: {v!r} (write YYYY-MM-DD)") from None


# -- the vector base map -------------------------------------------------------------------

def _neighbour_bands(boundary: gpd.GeoDataFrame, provinces: gpd.GeoDataFrame
                     ) -> gpd.GeoDataFrame:
    """Each neighbour country drawn as a band along its border on the neighbour's side (the
    store holds no country polygons): a one-sided buffer of the line, minus the provinces."""
    if not len(boundary):
        return gpd.GeoDataFrame({"border": [], "label_at": [], "name_vi": [], "name_en": []},
                                geometry=[], crs=4326)
    crs = metric_crs(boundary)
    lines = boundary.to_crs(crs)
    prov = provinces.to_crs(crs) if len(provinces) else None
    home = None
    if prov is not None:
        home = shapely.union_all(np.asarray(prov.geometry.simplify(500).buffer(0).values))
    out_geoms, codes, label_at = [], [], []
    for row in lines.itertuples(index=False):
        sign = -1.0 if str(row.home_side) == "left" else 1.0   # neighbour on the other side
        parts = shapely.get_parts(row.geometry.simplify(500))
        band = shapely.union_all([shapely.buffer(p, sign * _NEIGHBOUR_BAND_M, single_sided=True)
                                  for p in parts if p.length > 0])
        if home is not None:
            band = band.difference(home)
        band = band.simplify(1000)
        out_geoms.append(band)
        codes.append(row.border)
        label_at.append(band.point_on_surface() if not band.is_empty else None)
    gdf = gpd.GeoDataFrame({"border": codes}, geometry=out_geoms, crs=crs).to_crs(4326)
    pts = gpd.GeoSeries(label_at, crs=crs).to_crs(4326)
    gdf["label_at"] = [None if p is None or p.is_empty else [round(p.x, 4), round(p.y, 4)]
                       for p in pts]
    gdf["name_vi"] = [NEIGHBOURS.get(c, (c, c))[0] for c in gdf["border"]]
    gdf["name_en"] = [NEIGHBOURS.get(c, (c, c))[1] for c in gdf["border"]]
    return gdf


def base_data(source, *, border: str | None = None) -> dict:
    """Provinces, neighbouring countries and boundary lines as GeoJSON (simplified)."""
    def build():
        boundary = _layer(source, "boundary")
        provinces = _layer(source, "provinces")
        lines = boundary if not border else boundary[boundary["border"] == border]
        bands = _neighbour_bands(lines, provinces)
        neigh = _geojson(bands, ["border", "name_vi", "name_en"])
        for f, at in zip(neigh["features"], bands["label_at"]):
            f["properties"]["label_at"] = at
        out = {"neighbours": neigh,
               "provinces": _geojson(simplify_m(provinces[["name", "geometry"]],
                                                _PROVINCE_TOL_M), ["name"])
               if len(provinces) else None,
               # outlines drawn apart, clipped off the boundary (drawn once, above them)
               "province_lines": _geojson(province_lines(provinces, boundary), ["name"])
               if len(provinces) else None,
               "boundary": _geojson(simplify_m(lines[["border", "name_vi", "name_en",
                                                      "geometry"]], _BOUNDARY_TOL_M),
                                    ["border", "name_vi", "name_en"]) if len(lines) else None}
        return out
    return cached(source, ("base", border), build)


def bounds_of(source, kind: str, border: str | None = None, province: str | None = None
              ) -> tuple[float, float, float, float]:
    """Initial view: the filtered markers (or incidents), else the boundary, else Vietnam."""
    def build():
        for name in ((kind, "boundary") if kind != "boundary" else ("boundary",)):
            df = _layer(source, name)
            if name != "boundary":
                df = in_area(df, border, province)
            elif border:
                df = df[df["border"] == border]
            df = df[df.geometry.notna()] if len(df) else df
            if len(df):
                return tuple(float(v) for v in df.total_bounds)
        return (102.0, 8.4, 109.5, 23.4)
    return cached(source, ("bounds", kind, border, province), build)


# -- markers, works, gates --------------------------------------------------------------

def progress_data(source, *, border: str | None = None, province: str | None = None,
                  as_of=None, stall_days: int = DEFAULT_STALL_DAYS,
                  cycle_months: Mapping[str, int] | None = None, works: bool = True,
                  gates: bool = True) -> dict:
    """Markers (status, current condition, inspection due, works on them), works and gates.

    As of the date ``as_of`` (default today): a marker whose ``built_date`` is later shows as
    under construction; conditions are those of the latest inspection ≤ as_of; works have the
    status :func:`bienmoc.progress.work_status` derives; markers are due for inspection as
    :func:`bienmoc.inspections.inspections_due` says (``due``: 1 overdue, 2 never inspected).
    """
    d = as_of_date(as_of)
    cyc = tuple(sorted((cycle_months or {}).items()))
    key = ("progress", border, province, d.strftime("%Y-%m-%d"), stall_days, cyc, works, gates)
    return cached(source, key, lambda: _progress(source, border, province, d, stall_days,
                                                 dict(cyc), works, gates))


def _progress(source, border, province, d, stall_days, cycle_months, with_works, with_gates):
    markers = in_area(_layer(source, "markers"), border, province)
    markers = markers[markers.geometry.notna()]
    inspections = _layer(source, "inspections")
    frames = {"markers": markers, "inspections": inspections}
    cur = current_condition(frames, as_of=d)
    due = inspections_due(frames, as_of=d, cycle_months={**DEFAULT_CYCLE_MONTHS,
                                                         **cycle_months}, include_ok=True)
    due_key = dict(zip(zip(due["border"], due["number"]),
                       zip(due["is_due"], due["never_inspected"], due["days_overdue"])))
    ws = pd.DataFrame()
    works_layer = _layer(source, "works")
    if len(works_layer):
        ws = work_status({"works": works_layer,
                          "work_progress": _layer(source, "work_progress")},
                         as_of=d, stall_days=stall_days)
        ws = in_area(ws, border, province)
    # works on a marker position (or a section's end markers) flag those markers
    flag: dict = {}
    for w in ws.itertuples(index=False) if len(ws) else []:
        if w.status == "completed":
            continue
        level = 2 if w.status == "stalled" else 1
        for n in (w.marker_from, w.marker_to):
            if isinstance(n, str):
                k = (w.border, parse_number(n).position)
                flag[k] = max(flag.get(k, 0), level)
    status = markers["construction_status"].to_numpy(dtype=object).copy()
    built_date = pd.to_datetime(markers["built_date"])
    later = (status == "built") & built_date.notna().to_numpy() & (built_date > d).to_numpy()
    status[later] = ConstructionStatus.UNDER_CONSTRUCTION.value
    E = {"border": _Codes(), "province": _Codes(), "kind": _Codes(m.value for m in MarkerKind),
         "construction_status": _Codes(m.value for m in ConstructionStatus),
         "condition": _Codes(m.value for m in Condition)}
    xs = np.round(markers.geometry.x.to_numpy(), 5)
    ys = np.round(markers.geometry.y.to_numpy(), 5)
    rows = []
    for x, y, num, b, p, k, s, c, last in zip(
            xs, ys, markers["number"], E["border"](markers["border"]),
            E["province"](markers["province"]), E["kind"](markers["kind"]),
            E["construction_status"](status), E["condition"](cur["condition"]),
            cur["last_inspection"]):
        bcode = E["border"].table[b]
        is_due, never, overdue = due_key.get((bcode, num), (False, False, None))
        due_flag = 2 if (is_due and never) else (1 if is_due else 0)
        rows.append([float(x), float(y), num, b, p, k, s, c, _iso(last), due_flag,
                     int(overdue) if due_flag == 1 and pd.notna(overdue) else 0,
                     flag.get((bcode, parse_number(num).position), 0)])
    out = {"as_of": d.strftime("%Y-%m-%d"), "complete": True,
           "enums": {k: v.table for k, v in E.items()},
           "markers": {"fields": ["lon", "lat", "number", "border", "province", "kind",
                                  "construction_status", "condition", "last_inspection",
                                  "due", "days_overdue", "works"], "rows": rows},
           "counts": {"markers": len(rows),
                      "overdue": sum(r[9] == 1 for r in rows),
                      "never_inspected": sum(r[9] == 2 for r in rows),
                      "needs_action": sum(E["condition"].table[r[7]] in CONDITION_COLOURS
                                          for r in rows)}}
    # below the zoom where rings separate, the due markers are counted per section of line
    model = _model(source) if len(rows) else None
    out["due_sections"] = due_sections(
        pd.DataFrame({"lon": [r[0] for r in rows], "lat": [r[1] for r in rows],
                      "border": [E["border"].table[r[3]] for r in rows],
                      "number": [r[2] for r in rows]}),
        np.array([r[9] for r in rows], dtype=int), model, DUE_SECTION_KM)
    if with_works:
        out["works"] = _works_rows(ws, works_layer, _layer(source, "markers"))
        out["counts"]["works"] = len(out["works"])
        out["counts"]["stalled"] = sum(w["status"] == "stalled" for w in out["works"])
    if with_works:  # the progress map: line sections by demarcation status
        out["sections"] = _sections(source, border, province)
    if with_gates:
        gates = in_area(_layer(source, "gates"), border, province)
        gates = gates[gates.geometry.notna()]
        out["gates"] = [{"id": _txt(g.id), "lon": round(g.geometry.x, 5),
                         "lat": round(g.geometry.y, 5),
                         "name": _txt(g.name), "paired_gate": _txt(g.paired_gate),
                         "kind": _txt(g.kind), "status": _txt(g.status),
                         "border": _txt(g.border), "province": _txt(g.province)}
                        for g in gates.itertuples(index=False)]
    return out


def _sections(source, border, province) -> dict:
    """Line sections (GeoJSON, simplified like the boundary) with status and chainage."""
    sec = in_area(_layer(source, "line_sections"), border, province)
    sec = sec[sec.geometry.notna()] if len(sec) else sec
    props = ["id", "border", "province", "status", "from_m", "to_m", "document"]
    if not len(sec):
        return {"type": "FeatureCollection", "features": []}
    out = _geojson(simplify_m(sec[props + ["geometry"]], _BOUNDARY_TOL_M), props)
    for f in out["features"]:  # chainages as numbers, not text
        p = f["properties"]
        p["from_m"], p["to_m"] = _num(float(p["from_m"])), _num(float(p["to_m"]))
    return out


def _works_rows(ws: pd.DataFrame, works: gpd.GeoDataFrame, markers: gpd.GeoDataFrame
                ) -> list[dict]:
    """Works with their derived status; a work without geometry is drawn at its marker."""
    if not len(ws):
        return []
    geom = dict(zip(works["id"], works.geometry))
    pos = {}
    for b, n, g in zip(markers["border"], markers["number"], markers.geometry):
        if g is not None:
            pos.setdefault((b, parse_number(n).position), g)
    out = []
    for w in ws.itertuples(index=False):
        g = geom.get(w.id)
        if g is None or g.is_empty:
            g = pos.get((w.border, parse_number(w.marker_from).position)) \
                if isinstance(w.marker_from, str) else None
        out.append({"id": w.id, "title": _txt(w.title), "kind": _txt(w.kind),
                    "border": _txt(w.border), "province": _txt(w.province),
                    "section": _txt(w.section), "status": w.status,
                    "percent": _num(w.percent), "planned_end": _iso(w.planned_end),
                    "last_update": _iso(w.last_update),
                    "days_idle": None if pd.isna(w.days_idle) else int(w.days_idle),
                    "days_overdue": int(w.days_overdue),
                    "budget_planned_vnd": _num(w.budget_planned_vnd),
                    "contractor": _txt(w.contractor),
                    "geometry": None if g is None else json.loads(
                        shapely.to_geojson(_round_coords(np.array([g], dtype=object))[0]))})
    return out


# -- incidents ------------------------------------------------------------------------------

def _incidents_table(source) -> pd.DataFrame:
    """Incidents as plain columns with a representative point (lon, lat), cached."""
    def build():
        inc = _layer(source, "incidents")
        inc = inc[inc.geometry.notna() & ~inc.geometry.is_empty]
        pts = inc.geometry.representative_point()
        df = pd.DataFrame({
            "id": inc["id"].to_numpy(dtype=object), "kind": inc["kind"].to_numpy(dtype=object),
            "status": inc["status"].to_numpy(dtype=object),
            "border": inc["border"].to_numpy(dtype=object),
            "province": inc["province"].to_numpy(dtype=object),
            "reported": pd.to_datetime(inc["reported_date"]).to_numpy(),
            "occurred": pd.to_datetime(inc["occurred_date"]).to_numpy(),
            "description": inc["description"].to_numpy(dtype=object),
            "lon": np.round(pts.x.to_numpy(), 5), "lat": np.round(pts.y.to_numpy(), 5)})
        return df
    return cached(source, ("incidents_table",), build)


def incidents_data(source, *, border: str | None = None, province: str | None = None,
                   date_from=None, date_to=None, kinds=None, statuses=None, bbox=None,
                   zoom: int | None = None, lang: str = "vi", limit: int | None | str = "default"
                   ) -> dict:
    """Incidents for a view: ``mode`` "points" (each with its popup fields) or "cells"
    (``[lon, lat, count, cell_lon, cell_lat]`` per grid cell of ``CELL_PX`` pixels at
    ``zoom``). ``complete`` says the points are every incident of the filters, whatever the
    view (then the browser stops asking as the view moves). ``date_from``/``date_to`` filter
    the reported date (inclusive). ``limit`` defaults to :data:`POINTS_LIMIT`; None sends
    every point (notebooks)."""
    if limit == "default":
        limit = POINTS_LIMIT
    kinds = parse_codes(kinds, IncidentKind, "kind")
    statuses = parse_codes(statuses, IncidentStatus, "status")
    d0, d1 = _date(date_from, "from"), _date(date_to, "to")
    box = parse_bbox(bbox)
    if zoom is not None and not 0 <= int(zoom) <= 24:
        raise InvalidData(f"zoom must be 0…24, not {zoom!r}")
    fkey = (border, province, _iso(d0), _iso(d1), tuple(kinds or ()), tuple(statuses or ()))
    key = ("incidents", fkey, box, zoom, lang, limit)
    return cached(source, key, lambda: _incidents(source, fkey, kinds, statuses, d0, d1, box,
                                                  zoom, lang, limit))


def _filtered_incidents(source, fkey, kinds, statuses, d0, d1) -> pd.DataFrame:
    def build():
        df = in_area(_incidents_table(source), fkey[0], fkey[1])
        if kinds:
            df = df[df["kind"].isin(kinds)]
        if statuses:
            df = df[df["status"].isin(statuses)]
        if d0 is not None:
            df = df[df["reported"] >= d0]
        if d1 is not None:
            df = df[df["reported"] <= d1]
        return df
    return cached(source, ("incidents_filtered",) + fkey, build)


def _incidents(source, fkey, kinds, statuses, d0, d1, box, zoom, lang, limit) -> dict:
    df = _filtered_incidents(source, fkey, kinds, statuses, d0, d1)
    total = len(df)
    E = {"kind": _Codes(m.value for m in IncidentKind),
         "status": _Codes(m.value for m in IncidentStatus), "border": _Codes(),
         "province": _Codes()}
    out = {"total": total, "complete": False}
    if limit is None or total <= limit:
        view, out["complete"] = df, True
    else:
        view = df
        if box is not None:
            w, s, e, n = box
            view = df[(df["lon"] >= w) & (df["lon"] <= e) & (df["lat"] >= s) & (df["lat"] <= n)]
    out["in_view"] = len(view)
    if limit is not None and len(view) > limit:
        z = 6 if zoom is None else int(zoom)
        cell = 360.0 / (256 * 2 ** z) * CELL_PX
        ix = np.floor(view["lon"].to_numpy() / cell).astype(np.int64)
        iy = np.floor(view["lat"].to_numpy() / cell).astype(np.int64)
        keys, inv, counts = np.unique(ix * 10_000_000 + iy, return_inverse=True,
                                      return_counts=True)
        sx = np.bincount(inv, weights=view["lon"].to_numpy()) / counts
        sy = np.bincount(inv, weights=view["lat"].to_numpy()) / counts
        cx = (np.floor_divide(keys, 10_000_000) + 0.5) * cell
        cy = (np.mod(keys, 10_000_000) + 0.5) * cell
        out.update(mode="cells", cell_deg=cell, cells=[
            [round(float(a), 5), round(float(b), 5), int(c), round(float(p), 5),
             round(float(q), 5)] for a, b, c, p, q in zip(sx, sy, counts, cx, cy)])
        out["enums"] = {k: v.table for k, v in E.items()}
        return out
    rows = []
    if len(view):
        pts = gpd.GeoSeries(shapely.points(view["lon"].to_numpy(), view["lat"].to_numpy()),
                            crs=4326)
        model = _model(source)
        if model.index.borders:
            loc = model.locate(pts)
            side = loc["side"].to_numpy(dtype=object)
            where = loc[f"location_{lang}"].to_numpy(dtype=object)
        else:
            side = np.full(len(view), None, dtype=object)
            where = side
        for rec, sd, wh, k, st, b, p in zip(
                view[["lon", "lat", "id", "reported", "occurred", "description"]].itertuples(
                    index=False, name=None), side, where,
                E["kind"](view["kind"]), E["status"](view["status"]), E["border"](view["border"]),
                E["province"](view["province"])):
            lon, lat, iid, rep, occ, desc = rec
            desc = _txt(desc)
            if desc is not None and len(desc) > DESCRIPTION_MAX:
                desc = desc[:DESCRIPTION_MAX] + "…"
            rows.append([float(lon), float(lat), _txt(iid), k, st, b, p, _iso(rep), _iso(occ),
                         _txt(sd), _txt(wh), desc])
    out.update(mode="points", points={
        "fields": ["lon", "lat", "id", "kind", "status", "border", "province", "reported",
                   "occurred", "side", "location", "description"], "rows": rows})
    out["enums"] = {k: v.table for k, v in E.items()}
    return out
