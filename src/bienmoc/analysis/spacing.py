"""Marker spacing along the line, and densification proposals for sections that are too long.

Spacing is the distance *along the line* (difference of chainages, gaps counting zero) between
consecutive marker positions in numbering order. A section longer than ``max_spacing_m`` gets
``ceil(spacing / max_spacing_m) - 1`` proposed reference stakes evenly placed on the line and
numbered after the section's first marker's main number (168/1, 168/2 between 168 and 169),
skipping sub-numbers already used on that border.
"""
from __future__ import annotations

import math


import geopandas as gpd
import numpy as np
import pandas as pd

from bienmoc.geometry.locate import BorderModel
from bienmoc.model.numbers import parse_number

__all__ = ["marker_spacing", "densify"]


def marker_spacing(source, *, border: str | None = None, crs: object | None = None
                   ) -> pd.DataFrame:
    """One row per pair of consecutive positions: border, marker_from, marker_to, chainage of
    both (m), spacing_m (along the line), province (at the section's middle)."""
    model = BorderModel.from_source(source, crs)
    rows = []
    for b, bm in model.markers.items():
        if border is not None and b != border or len(bm.position) < 2:
            continue
        pos, ch = bm.position, bm.chainage
        if bm.direction < 0:
            pos, ch = pos[::-1], ch[::-1]
        for i in range(len(pos) - 1):
            rows.append((b, pos[i], pos[i + 1], ch[i], ch[i + 1], abs(ch[i + 1] - ch[i])))
    df = pd.DataFrame(rows, columns=["border", "marker_from", "marker_to", "chainage_from_m",
                                     "chainage_to_m", "spacing_m"])
    if len(df):
        mid = (df["chainage_from_m"] + df["chainage_to_m"]).to_numpy() / 2
        df["province"] = model.province_at(df["border"].to_numpy(dtype=object), mid)
    else:
        df["province"] = []
    return df


def densify(source, *, max_spacing_m: float = 2000.0, border: str | None = None,
            crs: object | None = None) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Sections longer than ``max_spacing_m`` and the stakes proposed for them.

    Returns ``(sections, proposals)``: the long sections (as :func:`marker_spacing` rows plus
    ``stakes_needed``) and a GeoDataFrame (EPSG:4326) of proposed stakes with border,
    marker_from, marker_to, number, chainage_m.
    """
    if max_spacing_m <= 0:
        raise ValueError("max_spacing_m must be positive")
    model = BorderModel.from_source(source, crs)
    spacing = marker_spacing(model, border=border)
    long = spacing[spacing["spacing_m"] > max_spacing_m].copy()
    long["stakes_needed"] = [math.ceil(s / max_spacing_m) - 1 for s in long["spacing_m"]]
    used: dict[tuple[str, int], set[int]] = {}
    for b, bm in model.markers.items():
        for p in bm.position:
            n = parse_number(p)
            used.setdefault((b, n.main), set()).add(n.sub)
    props = []
    for row in long.itertuples(index=False):
        main = parse_number(row.marker_from).main
        taken = used.setdefault((row.border, main), set())
        k = row.stakes_needed
        chs = row.chainage_from_m + (row.chainage_to_m - row.chainage_from_m) * \
            np.arange(1, k + 1) / (k + 1)
        sub = 0
        for c in chs:
            sub += 1
            while sub in taken:
                sub += 1
            taken.add(sub)
            props.append((row.border, row.marker_from, row.marker_to, f"{main}/{sub}", c))
    prop = pd.DataFrame(props, columns=["border", "marker_from", "marker_to", "number",
                                        "chainage_m"])
    geoms = []
    for b, g in prop.groupby("border", sort=False):
        xy = model.index.point_at(b, g["chainage_m"].to_numpy())
        geoms.append(pd.Series(gpd.points_from_xy(xy[:, 0], xy[:, 1]), index=g.index))
    geom = pd.concat(geoms).reindex(prop.index) if geoms else pd.Series([], dtype=object)
    gdf = gpd.GeoDataFrame(prop, geometry=gpd.GeoSeries(geom.to_numpy(), crs=model.crs),
                           crs=model.crs).to_crs(4326)
    return long.reset_index(drop=True), gdf
