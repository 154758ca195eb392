"""Elevation profile along a border line, sampled every ``step`` metres of chainage.

Chainage is the distance along the line in the BorderModel's metric CRS
(:class:`bienmoc.geometry.linear.LineIndex`). Where a border is several parts (a
MultiLineString), the straight connector between the end of one part and the start of the
next has no chainage length: the profile jumps across it and never samples it (the gap is
not border). The ``part`` column says which part each sample lies on, so a plot can break
the line there.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from bienmoc.errors import InvalidData
from bienmoc.terrain.dem import _as_dem
from bienmoc.terrain.slope import slope_aspect

PROFILE_COLUMNS = ["chainage_m", "lon", "lat", "elevation_m"]


def _range(length: float, from_km: float | None, to_km: float | None) -> tuple[float, float]:
    a = 0.0 if from_km is None else from_km * 1000.0
    b = length if to_km is None else min(to_km * 1000.0, length)
    if a < 0 or a > length:
        raise InvalidData(f"--from-km {from_km} is outside the line (0 to "
                          f"{length / 1000:.3f} km)")
    if b <= a:
        raise InvalidData(f"--to-km {to_km} must be after --from-km {from_km or 0}")
    return a, b


def _parts(index, k: int, chainage: np.ndarray) -> np.ndarray:
    """0-based part number of each chainage on border ``k`` (a new part after each gap)."""
    segs = np.flatnonzero(index.bid == k)
    part_of_seg = np.cumsum(index.gap[segs])
    real = ~index.gap[segs]
    starts, parts = index.cum0[segs][real], part_of_seg[real]
    i = np.clip(np.searchsorted(starts, chainage, side="right") - 1, 0, len(starts) - 1)
    return parts[i]


def profile(model, border: str, dem=None, *, step: float = 100.0,
            from_km: float | None = None, to_km: float | None = None,
            method: str = "bilinear", slope: bool = False) -> pd.DataFrame:
    """Rows ``chainage_m, lon, lat, elevation_m, part`` every ``step`` m of chainage on
    ``border`` from ``from_km`` to ``to_km`` (default: the whole line; the end is always
    included). ``model``: a BorderModel, a store or frames (see BorderModel.from_source);
    ``dem``: a Dem, a path or None for ``$BIENMOC_DEM``. ``slope=True`` adds ``slope_deg`` and
    ``aspect_deg`` of the DEM cell under each sample."""
    from bienmoc.geometry.locate import BorderModel

    if not step > 0:
        raise InvalidData(f"step must be > 0 m, got {step}")
    bm = BorderModel.from_source(model)
    idx = bm.index
    k = idx._border_id(border)
    a, b = _range(idx.length_m[border], from_km, to_km)
    ch = np.arange(a, b, step)
    if not len(ch) or ch[-1] < b:
        ch = np.append(ch, b)
    xy = idx.point_at(border, ch)
    lon, lat = Transformer.from_crs(bm.crs, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1])
    d, opened = _as_dem(dem)
    try:
        z = d.sample(xy[:, 0], xy[:, 1], crs=bm.crs, method=method)
        out = pd.DataFrame({"chainage_m": ch, "lon": lon, "lat": lat, "elevation_m": z,
                            "part": _parts(idx, k, ch)})
        if slope:
            out["slope_deg"], out["aspect_deg"] = slope_aspect(d, xy[:, 0], xy[:, 1], bm.crs)
        return out
    finally:
        if opened:
            d.close()


def marker_elevations(model, border: str, dem=None, *, from_km: float | None = None,
                      to_km: float | None = None, method: str = "bilinear") -> pd.DataFrame:
    """The markers of ``border`` with their chainage (m, the mean of a marker's parts
    projected on the line) and the elevation of the line there: rows ``number, chainage_m,
    lon, lat, elevation_m`` in chainage order, within ``from_km``..``to_km``."""
    from bienmoc.geometry.locate import BorderModel

    bm = BorderModel.from_source(model)
    idx = bm.index
    idx._border_id(border)
    a, b = _range(idx.length_m[border], from_km, to_km)
    m = bm.markers.get(border)
    cols = ["number", "chainage_m", "lon", "lat", "elevation_m"]
    if m is None:
        return pd.DataFrame(columns=cols)
    keep = (m.chainage >= a) & (m.chainage <= b)
    ch = m.chainage[keep]
    xy = idx.point_at(border, ch) if len(ch) else np.empty((0, 2))
    lon, lat = Transformer.from_crs(bm.crs, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1])
    d, opened = _as_dem(dem)
    try:
        z = d.sample(xy[:, 0], xy[:, 1], crs=bm.crs, method=method)
    finally:
        if opened:
            d.close()
    return pd.DataFrame({"number": m.position[keep], "chainage_m": ch, "lon": lon, "lat": lat,
                         "elevation_m": z}, columns=cols)
