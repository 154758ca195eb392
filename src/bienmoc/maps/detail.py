"""Geometry behind the readable maps: province outlines clipped off the boundary line, and
markers due for inspection counted per section of the line (for the zooms where single rings
would merge into a smear). Computed in a metric CRS; the callers cache per data version."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.geometry.crs import metric_crs
from bienmoc.model.numbers import parse_number

__all__ = ["province_lines", "due_sections", "CLIP_M", "OUTLINE_TOL_M"]

#: Province outlines within this distance of the boundary line are dropped: the line is
#: drawn once (the boundary), not twice as two slightly offset strokes.
CLIP_M = 250.0
#: Simplification of the clipped outlines (metres).
OUTLINE_TOL_M = 150.0


def province_lines(provinces: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame,
                   clip_m: float = CLIP_M, tol_m: float = OUTLINE_TOL_M) -> gpd.GeoDataFrame:
    """Each province's outline minus a ``clip_m`` buffer of the boundary lines (EPSG:4326).

    Simplification comes after the clipping (it keeps the end points, and the vertices it
    keeps are ≥ ``clip_m`` from the line), so no outline creeps back onto the boundary."""
    prov = provinces[provinces.geometry.notna()]
    if not len(prov):
        return gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326)
    crs = metric_crs(boundary if len(boundary) else prov)
    outlines = np.asarray(prov.to_crs(crs).geometry.boundary.values, dtype=object)
    lines = boundary[boundary.geometry.notna()]
    if len(lines):
        zone = shapely.union_all(np.asarray(lines.to_crs(crs).geometry.values, dtype=object))
        zone = shapely.buffer(zone, clip_m)
        outlines = shapely.difference(outlines, zone)
    outlines = shapely.simplify(outlines, tol_m, preserve_topology=False)
    out = gpd.GeoDataFrame({"name": prov["name"].to_numpy(dtype=object)}, geometry=outlines,
                           crs=crs).to_crs(4326)
    return out[~out.geometry.is_empty].reset_index(drop=True)


def due_sections(markers: pd.DataFrame, due: np.ndarray, model, section_km: float) -> list:
    """Markers due for inspection counted per section of ``section_km`` along the line.

    ``markers``: columns lon, lat, border, number; ``due``: 1 overdue, 2 never inspected, 0
    not due (as in progress_data). Returns rows ``[lon, lat, overdue, never, border, km_from,
    km_to]`` placed at the mean position of the due markers of the section. A border the
    model does not know is cut into sections of 20 marker numbers instead (km_from/km_to
    then None)."""
    sel = np.asarray(due) > 0
    if not sel.any():
        return []
    m = markers.loc[sel, ["lon", "lat", "border", "number"]].copy()
    m["due"] = np.asarray(due)[sel]
    m["bin"] = -1
    m["unit"] = "km"
    known = set(model.index.borders) if model is not None else set()
    pts = gpd.GeoSeries(shapely.points(m["lon"].to_numpy(float), m["lat"].to_numpy(float)),
                        crs=4326)
    for b in m["border"].unique():
        rows = (m["border"] == b).to_numpy()
        if b in known:
            xy = model.index.to_metric_xy(pts[rows])
            ch = model.index.locate_on(b, xy[:, 0], xy[:, 1]).chainage_m
            m.loc[rows, "bin"] = np.floor(np.asarray(ch) / (section_km * 1000)).astype(int)
        else:
            m.loc[rows, "bin"] = [parse_number(n).main // 20 for n in m.loc[rows, "number"]]
            m.loc[rows, "unit"] = "number"
    out = []
    for (b, k, unit), g in m.groupby(["border", "bin", "unit"], sort=True):
        lo, hi = (k * section_km, (k + 1) * section_km) if unit == "km" else (None, None)
        out.append([round(float(g["lon"].mean()), 5), round(float(g["lat"].mean()), 5),
                    int((g["due"] == 1).sum()), int((g["due"] == 2).sum()), b,
                    None if lo is None else float(lo), None if hi is None else float(hi)])
    return out
