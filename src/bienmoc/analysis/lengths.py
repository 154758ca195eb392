"""Border-wide figures: lengths per neighbour and province, the border belt, incident hotspots.

All measurements are in the metric CRS of a :class:`~bienmoc.locate.BorderModel` (UTM 48N/49N
by default, or the CRS the caller passes, e.g. a VN-2000 one).
"""
from __future__ import annotations

from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from bienmoc.geometry.locate import BorderModel
from bienmoc.model.source import frames
from bienmoc.model.numbers import number_sort_key

__all__ = ["border_lengths", "province_lengths", "border_belt", "features_in_belt",
           "hotspots", "incident_counts"]


def border_lengths(source, *, crs: object | None = None,
                   official_km: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Length per neighbour (km, gaps not counted) and, when known, the official figure.

    ``official_km`` overrides/extends the boundary layer's ``official_length_km``.
    """
    model = BorderModel.from_source(source, crs)
    boundary = None if isinstance(source, BorderModel) else \
        frames(source, ["boundary"])["boundary"]
    official = {}
    if boundary is not None and "official_length_km" in boundary:
        official = {b: v for b, v in zip(boundary["border"], boundary["official_length_km"])
                    if pd.notna(v)}
    official.update(official_km or {})
    df = pd.DataFrame({"border": model.index.borders,
                       "length_km": [model.index.length_m[b] / 1000 for b in
                                     model.index.borders]})
    df["official_km"] = [official.get(b, np.nan) for b in df["border"]]
    df["difference_pct"] = (df["length_km"] / df["official_km"] - 1) * 100
    return df


def province_lengths(source, *, crs: object | None = None,
                     official_km: Mapping[tuple[str, str], float] | None = None
                     ) -> pd.DataFrame:
    """Border length (km) per border and province (nearest-province assignment along the line,
    sampled every 100 m), optionally with official figures keyed by (border, province)."""
    df = BorderModel.from_source(source, crs).province_lengths()
    off = official_km or {}
    df["official_km"] = [off.get((b, p), np.nan) for b, p in zip(df["border"], df["province"])]
    df["difference_pct"] = (df["length_km"] / df["official_km"] - 1) * 100
    return df


def border_belt(source, width_m: float, *, crs: object | None = None,
                widths_m: Mapping[str, float] | None = None) -> gpd.GeoDataFrame:
    """The band within ``width_m`` of the line on the home side, one polygon per border and
    province (a province's section of the line, from the same assignment as the lengths).

    ``widths_m`` sets a width per province (the belt is 100–1,000 m, set per province).
    """
    model = BorderModel.from_source(source, crs)
    rows = []
    for border in model.index.borders:
        k = model.index.borders.index(border)
        left = bool(model.index.home_left[k])
        runs = model.province_runs.get(border)
        length = model.index.length_m[border]
        if runs is None:
            runs = (np.array([0.0]), np.array([None], dtype=object))
        starts, names = runs
        ends = np.concatenate([starts[1:], [length]])
        parts = model.index.parts[border]
        part_len = np.array([p.length for p in parts])
        part_start = np.concatenate([[0.0], np.cumsum(part_len)[:-1]])
        for s, e, name in zip(starts, ends, names):
            w = (widths_m or {}).get(name, width_m)
            pieces = []
            for p, p0, pl in zip(parts, part_start, part_len):
                a, b = max(s, p0), min(e, p0 + pl)
                if b - a <= 0:
                    continue
                seg = substring(p, a - p0, b - p0)
                if seg.length == 0:
                    continue
                # single-sided buffers go left for a positive distance
                pieces.append(shapely.buffer(seg, w if left else -w, single_sided=True))
            if pieces:
                rows.append((border, name, float(w), shapely.union_all(pieces)))
    gdf = gpd.GeoDataFrame(rows, columns=["border", "province", "width_m", "geometry"],
                           geometry="geometry", crs=model.crs)
    gdf["area_km2"] = gdf.geometry.area / 1e6
    return gdf.to_crs(4326)


def features_in_belt(features: gpd.GeoDataFrame, belt: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The features that intersect the belt, with the belt's border and province."""
    if features.crs is None:
        features = features.set_crs(4326)
    joined = gpd.sjoin(features.to_crs(belt.crs),
                       belt[["border", "province", "geometry"]].rename(
                           columns={"border": "belt_border", "province": "belt_province"}),
                       predicate="intersects", how="inner")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined.drop(columns="index_right").to_crs(features.crs)


def _period(incidents: pd.DataFrame, start, end, date_field: str) -> pd.DataFrame:
    out = incidents
    if start is not None:
        out = out[out[date_field] >= pd.Timestamp(start)]
    if end is not None:
        out = out[out[date_field] <= pd.Timestamp(end)]
    return out


def incident_counts(incidents: pd.DataFrame, *, by=("border", "province", "kind"),
                    start=None, end=None, date_field: str = "reported_date") -> pd.DataFrame:
    """Incident counts per group for a period (inclusive dates)."""
    inc = _period(incidents, start, end, date_field)
    return (inc.groupby(list(by), dropna=False).size().rename("incidents").reset_index()
            .sort_values("incidents", ascending=False, kind="stable", ignore_index=True))


def hotspots(source, incidents: gpd.GeoDataFrame | None = None, *, bin_m: float = 1000.0,
             start=None, end=None, kinds=None, top: int | None = 10,
             date_field: str = "reported_date", crs: object | None = None) -> pd.DataFrame:
    """Incident counts per chainage bin (default 1 km) along each border, busiest first.

    Each bin names its border, start/end chainage (km), the province and the markers at its
    ends (``marker_from``/``marker_to``: the bracketing markers of the bin's two ends).
    """
    model = BorderModel.from_source(source, crs)
    if incidents is None:
        incidents = source.read("incidents")
    inc = _period(incidents, start, end, date_field)
    if kinds:
        inc = inc[inc["kind"].isin(list(kinds))]
    cols = ["border", "bin_start_km", "bin_end_km", "incidents", "province", "marker_from",
            "marker_to"]
    if not len(inc):
        return pd.DataFrame(columns=cols)
    loc = model.locate(inc)
    b = np.floor(loc["chainage_m"].to_numpy() / bin_m).astype(np.int64)
    counts = (pd.DataFrame({"border": loc["border"], "bin": b}).groupby(["border", "bin"])
              .size().rename("incidents").reset_index()
              .sort_values(["incidents", "border", "bin"], ascending=[False, True, True],
                           kind="stable", ignore_index=True))
    if top:
        counts = counts.head(top)
    counts["bin_start_km"] = counts["bin"] * bin_m / 1000
    counts["bin_end_km"] = (counts["bin"] + 1) * bin_m / 1000
    border = counts["border"].to_numpy(dtype=object)
    mid = (counts["bin"].to_numpy() + 0.5) * bin_m
    counts["province"] = model.province_at(border, mid)
    ends = []
    for which in (counts["bin"] * bin_m, (counts["bin"] + 1) * bin_m):
        xy = np.vstack([model.index.point_at(bd, [c])[0] if bd in model.index.borders
                        else [np.nan, np.nan] for bd, c in zip(border, which)]) \
            if len(counts) else np.empty((0, 2))
        pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=model.crs)
        ends.append(model.locate(pts))
    # the bin lies between the lowest- and highest-numbered markers bracketing its two ends
    brackets = zip(ends[0]["marker_before"], ends[0]["marker_after"], ends[1]["marker_before"],
                   ends[1]["marker_after"])
    lo_hi = [(min(ms, key=number_sort_key), max(ms, key=number_sort_key))
             if (ms := [m for m in four if m is not None]) else (None, None)
             for four in brackets]
    counts["marker_from"] = [a for a, _ in lo_hi]
    counts["marker_to"] = [b for _, b in lo_hi]
    return counts[cols]
