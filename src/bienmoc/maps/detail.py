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
#: drawn once (the boundary), not twice as two slightly offset strokes. Province polygons
#: usually come from another, coarser source than the line: in the demo data 3,353 km of
#: province outline lie within 250 m of the 4,768 km line, 4,427 km within 800 m and 4,463 km
#: within 1 km (hence 1 km; the junctions of two provinces stop 1 km short of the line).
CLIP_M = 1000.0
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
        # a line simplified by s and buffered by clip_m + s covers the clip_m buffer of the
        # original (and is several times faster to build on a detailed line)
        s = min(50.0, clip_m / 4)
        zone = shapely.buffer(shapely.simplify(zone, s), clip_m + s, quad_segs=4)
        outlines = shapely.difference(outlines, zone)
    outlines = shapely.simplify(outlines, tol_m, preserve_topology=False)
    out = gpd.GeoDataFrame({"name": prov["name"].to_numpy(dtype=object)}, geometry=outlines,
                           crs=crs).to_crs(4326)
    return out[~out.geometry.is_empty].reset_index(drop=True)


def due_sections(markers: pd.DataFrame, due: np.ndarray, model,
                 sizes_km: tuple[float, ...]) -> list:
    """Markers due for inspection counted per section of the line, for each section length
    of ``sizes_km`` (the browser picks the one that keeps counts apart at its zoom).

    ``markers``: columns lon, lat, border, number; ``due``: 1 overdue, 2 never inspected, 0
    not due (as in progress_data). Returns ``[[size_km, rows], ...]`` with rows ``[lon, lat,
    overdue, never, border, km_from, km_to]`` placed at the mean position of the due markers
    of the section. A border the model does not know is cut by marker numbers instead
    (size_km / 2 numbers a section; km_from/km_to then None)."""
    sel = np.asarray(due) > 0
    if not sel.any():
        return [[float(s), []] for s in sizes_km]
    m = markers.loc[sel, ["lon", "lat", "border", "number"]].copy()
    m["due"] = np.asarray(due)[sel]
    m["ch"] = np.nan
    known = set(model.index.borders) if model is not None else set()
    pts = gpd.GeoSeries(shapely.points(m["lon"].to_numpy(float), m["lat"].to_numpy(float)),
                        crs=4326)
    for b in m["border"].unique():
        rows = (m["border"] == b).to_numpy()
        if b in known:
            xy = model.index.to_metric_xy(pts[rows])
            m.loc[rows, "ch"] = model.index.locate_on(b, xy[:, 0], xy[:, 1]).chainage_m
    m["by_km"] = m["ch"].notna()
    main = np.array([parse_number(n).main for n in m["number"]], dtype=float)
    out = []
    for size in sizes_km:
        km_bin = np.floor(m["ch"].to_numpy(float) / (size * 1000))
        num_bin = np.floor(main / max(size / 2, 1))
        m["bin"] = np.where(m["by_km"], km_bin, num_bin).astype(int)
        rows = []
        for (b, k, by_km), g in m.groupby(["border", "bin", "by_km"], sort=True):
            rows.append([round(float(g["lon"].mean()), 5), round(float(g["lat"].mean()), 5),
                         int((g["due"] == 1).sum()), int((g["due"] == 2).sum()), b,
                         float(k * size) if by_km else None,
                         float((k + 1) * size) if by_km else None])
        out.append([float(size), rows])
    return out
