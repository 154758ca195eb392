"""The piece of a border line between two chainages, and chainage intervals per province.

Chainage follows :class:`~bienmoc.geometry.linear.LineIndex`: metres from the stored start of a
border's line, over its parts in order, the gaps between parts counting zero. Shapely's
``substring`` cuts one part; this module walks the parts (the same walk as
:func:`bienmoc.analysis.lengths.border_belt`), so a section may span a gap.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import substring

from bienmoc.geometry.crs import STORAGE_CRS

__all__ = ["chainage_line", "chainage_lines", "province_shares"]


def chainage_line(index, border: str, from_m: float, to_m: float):
    """The line of ``border`` between two chainages, in the index's metric CRS (None when the
    interval is empty or the border unknown)."""
    parts = index.parts.get(border)
    if not parts or not (to_m > from_m):
        return None
    pieces, p0 = [], 0.0
    for part in parts:
        pl = part.length
        a, b = max(from_m, p0), min(to_m, p0 + pl)
        if b > a:
            seg = substring(part, a - p0, b - p0)
            if seg.length > 0:
                pieces.append(seg)
        p0 += pl
    if not pieces:
        return None
    return pieces[0] if len(pieces) == 1 else shapely.MultiLineString(pieces)


def chainage_lines(index, borders, from_m, to_m) -> gpd.GeoSeries:
    """:func:`chainage_line` for each (border, from, to), as a GeoSeries in EPSG:4326."""
    geoms = [chainage_line(index, b, float(f), float(t))
             if b is not None and np.isfinite(f) and np.isfinite(t) else None
             for b, f, t in zip(borders, from_m, to_m)]
    return gpd.GeoSeries(geoms, crs=index.crs).to_crs(STORAGE_CRS)


def province_shares(model, border: str, from_m: float, to_m: float) -> dict[str, float]:
    """Metres of the interval [from_m, to_m] of ``border`` in each province, from the model's
    province runs (the province owning each stretch of the line); {} without provinces."""
    runs = model.province_runs.get(border)
    if runs is None:
        return {}
    starts, names = runs
    ends = np.concatenate([starts[1:], [model.index.length_m[border]]])
    out: dict[str, float] = {}
    for s, e, n in zip(starts, ends, names):
        m = min(e, to_m) - max(s, from_m)
        if m > 0 and n is not None:
            out[str(n)] = out.get(str(n), 0.0) + float(m)
    return out
