"""Intervisibility of consecutive markers along a border, from a DEM.

A sight line runs straight (in the BorderModel's metric CRS) from an observer ``observer_height``
metres above the ground at one marker to a target ``target_height`` metres above the ground at
the next. It is sampled every ``step`` metres (default: half the DEM cell, in ground metres), all
pairs' samples in ONE :meth:`Dem.sample` call. At a sample ``d1`` metres from the observer and
``d2`` from the target, the ground is raised by the earth's curvature less refraction::

    drop = d1 * d2 * (1 - k) / (2 R)        k = 0.13 (refraction), R = 6 371 000 m

(the height of the chord above a sphere of effective radius R / (1 - k)). ``clearance_m`` is the
least height of the sight line above that ground over the samples strictly between the ends,
negative when the ground blocks the line; the worst sample is the obstruction. The few lines
of numpy are written here because GDAL's line-of-sight (``GDALIsLineOfSightVisible``, 3.9+) is
per-pair, on raster pixels, and without refraction.

Marker positions are the points of the border line at the markers' chainages (as
:func:`bienmoc.terrain.profile.marker_elevations`), in numbering order.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from bienmoc.errors import InvalidData
from bienmoc.terrain.dem import Dem, _as_dem

#: Mean earth radius (m) and the refraction coefficient of the curvature correction.
EARTH_RADIUS_M = 6_371_000.0
REFRACTION_K = 0.13
#: Pairs farther apart than this (m) are flagged ``too_far``.
MAX_RANGE_M = 5_000.0

COLUMNS = ["marker_from", "marker_to", "distance_m", "visible", "clearance_m",
           "obstruction_chainage_m", "obstruction_lon", "obstruction_lat", "too_far"]


def curvature_drop(d1, d2, k: float = REFRACTION_K, radius: float = EARTH_RADIUS_M):
    """Apparent rise (m) of the ground at distances d1, d2 from the two ends of a sight line."""
    return np.asarray(d1, float) * np.asarray(d2, float) * (1 - k) / (2 * radius)


def default_step(dem: Dem, x, y, crs) -> float:
    """Half the smaller ground size (m) of a DEM cell around the points."""
    dx, dy = dem.to_dem_xy(np.atleast_1d(x), np.atleast_1d(y), crs)
    cells = dem.cells_at(dx, dy)
    size = np.nanmin(np.minimum(cells.dx_m, cells.dy_m)) if len(dx) else np.nan
    return float(size) / 2 if np.isfinite(size) and size > 0 else 15.0


def sight_lines(dem: Dem, xa, ya, xb, yb, crs, *, observer_height: float = 1.5,
                target_height: float = 1.5, step: float | None = None,
                k: float = REFRACTION_K, radius: float = EARTH_RADIUS_M,
                method: str = "bilinear") -> pd.DataFrame:
    """Line of sight between point pairs (metric ``crs`` coordinates), vectorised.

    Rows (one per pair): ``distance_m, z_from, z_to`` (ground), ``visible``, ``clearance_m``
    (least height of the line above the curvature-raised ground between the ends; NaN when the
    line has no interior sample or the DEM has no data on it), ``x, y, fraction`` of the worst
    sample. ``visible`` is False where the clearance is NaN and the DEM has no data.
    """
    xa, ya, xb, yb = (np.atleast_1d(np.asarray(v, float)) for v in (xa, ya, xb, yb))
    n = len(xa)
    dist = np.hypot(xb - xa, yb - ya)
    if step is None:
        step = default_step(dem, np.r_[xa, xb], np.r_[ya, yb], crs)
    if not step > 0:
        raise InvalidData(f"step must be > 0 m, got {step}")
    ends = dem.sample(np.r_[xa, xb], np.r_[ya, yb], crs=crs, method=method)
    za, zb = ends[:n] + observer_height, ends[n:] + target_height
    # interior samples of every pair, concatenated: pair p has m[p] of them
    m = np.maximum(np.ceil(dist / step).astype(np.int64) - 1, 0)
    pair = np.repeat(np.arange(n), m)
    start = np.cumsum(m) - m
    j = np.arange(m.sum()) - start[pair] + 1              # 1 .. m[p]
    f = j / (m[pair] + 1.0)                               # fraction along the line
    px = xa[pair] + f * (xb - xa)[pair]
    py = ya[pair] + f * (yb - ya)[pair]
    ground = dem.sample(px, py, crs=crs, method=method)
    d1 = f * dist[pair]
    ground = ground + curvature_drop(d1, dist[pair] - d1, k, radius)
    clear = za[pair] + f * (zb - za)[pair] - ground
    out_clear = np.full(n, np.nan)
    worst = np.full(n, -1, np.int64)
    has = m > 0
    if has.any():
        # per-pair minimum with NaN (no data) sorting last: a NaN anywhere makes the pair NaN
        key = np.where(np.isnan(clear), np.inf, clear)
        order = np.lexsort((key, pair))
        first = order[start[has]]
        worst[has] = first
        out_clear[has] = clear[first]
        nan_any = np.bincount(pair, np.isnan(clear), minlength=n) > 0
        out_clear[nan_any] = np.nan
    bad_end = np.isnan(za) | np.isnan(zb)
    out_clear[bad_end] = np.nan
    # no interior sample: the line is visible if both ends have data
    visible = np.where(has, out_clear > 0, ~bad_end)
    w = worst >= 0
    fx, ox, oy = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    fx[w], ox[w], oy[w] = f[worst[w]], px[worst[w]], py[worst[w]]
    return pd.DataFrame({"distance_m": dist, "z_from": ends[:n], "z_to": ends[n:],
                         "visible": visible, "clearance_m": out_clear,
                         "x": ox, "y": oy, "fraction": fx})


def _markers(bm, border: str):
    """(numbers, chainages, xy) of the marker positions of ``border`` in numbering order."""
    m = bm.markers.get(border)
    if m is None or len(m.position) == 0:
        return np.empty(0, object), np.empty(0), np.empty((0, 2))
    pos, ch = m.position, m.chainage
    if m.direction < 0:
        pos, ch = pos[::-1], ch[::-1]
    return pos, ch, bm.index.point_at(border, ch)


def intervisibility(model, border: str, dem=None, *, observer_height: float = 1.5,
                    target_height: float = 1.5, max_range_m: float = MAX_RANGE_M,
                    step: float | None = None, k: float = REFRACTION_K,
                    method: str = "bilinear") -> pd.DataFrame:
    """One row per consecutive pair of marker positions of ``border`` in numbering order:
    ``marker_from, marker_to, distance_m`` (straight, metric), ``visible``, ``clearance_m``,
    ``obstruction_chainage_m/lon/lat`` (the worst point of the sight line; its chainage is that
    of the nearest point of the border), ``too_far`` (distance > ``max_range_m``). Where the
    DEM has no data at an end or on the line, ``clearance_m`` is NaN and ``visible`` False.

    ``model``: a BorderModel, a store or frames; ``dem``: a Dem, a path or None
    (``$BIENMOC_DEM``)."""
    from bienmoc.geometry.locate import BorderModel

    bm = BorderModel.from_source(model)
    bm.index._border_id(border)
    pos, ch, xy = _markers(bm, border)
    if len(pos) < 2:
        return pd.DataFrame(columns=COLUMNS)
    d, opened = _as_dem(dem)
    try:
        s = sight_lines(d, xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1], bm.crs,
                        observer_height=observer_height, target_height=target_height,
                        step=step, k=k, method=method)
    finally:
        if opened:
            d.close()
    ox, oy = s["x"].to_numpy(), s["y"].to_numpy()
    ok = np.isfinite(ox)
    och = np.full(len(s), np.nan)
    if ok.any():
        och[ok] = bm.index.locate_on(border, ox[ok], oy[ok]).chainage_m
    lon, lat = Transformer.from_crs(bm.crs, "EPSG:4326", always_xy=True).transform(ox, oy)
    return pd.DataFrame({"marker_from": pos[:-1], "marker_to": pos[1:],
                         "distance_m": s["distance_m"], "visible": s["visible"],
                         "clearance_m": s["clearance_m"], "obstruction_chainage_m": och,
                         "obstruction_lon": lon, "obstruction_lat": lat,
                         "too_far": s["distance_m"].to_numpy() > max_range_m},
                        columns=COLUMNS)


def propose_stakes(model, border: str, dem=None, *, observer_height: float = 1.5,
                   target_height: float = 1.5, spacing_m: float = 50.0,
                   step: float | None = None, k: float = REFRACTION_K,
                   max_stakes: int = 20, method: str = "bilinear",
                   pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stakes on the border line between non-intervisible consecutive markers.

    ``pairs`` is :func:`intervisibility`'s answer for the same border, DEM and heights when the
    caller already has it (it is computed otherwise).

    Candidates every ``spacing_m`` of chainage between the two markers. When one candidate
    sees both neighbours, the one with the largest least clearance is proposed; otherwise a
    greedy chain: from the marker, the farthest candidate it sees, and so on until the next
    marker is seen (each stake sees the one before and after). Rows ``marker_from, marker_to,
    number`` (``main/sub`` after the first marker's main number, unused sub-numbers),
    ``chainage_m, lon, lat, found`` (False: no chain within ``max_stakes``; nothing proposed).
    """
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.model.numbers import parse_number

    bm = BorderModel.from_source(model)
    if pairs is None:
        pairs = intervisibility(bm, border, dem, observer_height=observer_height,
                                target_height=target_height, step=step, k=k, method=method)
    cols = ["marker_from", "marker_to", "number", "chainage_m", "lon", "lat", "found"]
    blocked = pairs[~pairs["visible"].astype(bool) & pairs["clearance_m"].notna()]
    if not len(blocked):
        return pd.DataFrame(columns=cols)
    pos, ch, _ = _markers(bm, border)
    chain_of = dict(zip(pos, ch))
    used: dict[int, set[int]] = {}
    for p in pos:
        nb = parse_number(p)
        used.setdefault(nb.main, set()).add(nb.sub)
    rows = []
    to_ll = Transformer.from_crs(bm.crs, "EPSG:4326", always_xy=True)
    d, opened = _as_dem(dem)
    try:
        h = target_height   # a stake is seen at this height, and looks on from it

        def sees(ca: float, cbs: np.ndarray, eye: float) -> pd.DataFrame:
            a = bm.index.point_at(border, np.array([ca]))
            b = bm.index.point_at(border, cbs)
            return sight_lines(d, np.full(len(cbs), a[0, 0]), np.full(len(cbs), a[0, 1]),
                               b[:, 0], b[:, 1], bm.crs, observer_height=eye,
                               target_height=h, step=step, k=k, method=method)

        for r in blocked.itertuples(index=False):
            ca, cb = chain_of[r.marker_from], chain_of[r.marker_to]
            n = max(int(abs(cb - ca) // spacing_m), 1)
            cand = ca + (cb - ca) * np.arange(1, n) / n
            chosen: list[float] = []
            if len(cand):
                va = sees(ca, cand, observer_height)
                vb = sees(cb, cand, observer_height)
                both = (va["visible"] & vb["visible"]).to_numpy()
                if both.any():
                    least = np.minimum(va["clearance_m"], vb["clearance_m"]).to_numpy()
                    chosen = [cand[both][np.nanargmax(np.where(np.isnan(least[both]), -np.inf,
                                                               least[both]))]]
                else:
                    cur, i0, eye = ca, 0, observer_height
                    while len(chosen) < max_stakes:
                        rest = np.append(cand[i0:], cb)
                        v = sees(cur, rest, eye)["visible"].to_numpy()
                        if v[-1]:
                            break
                        seen = np.flatnonzero(v[:-1])
                        if not len(seen):
                            chosen = []
                            break
                        cur, i0, eye = rest[seen[-1]], i0 + seen[-1] + 1, h
                        chosen.append(cur)
                    else:
                        chosen = []
            main = parse_number(r.marker_from).main
            taken = used.setdefault(main, set())
            if not chosen:
                rows.append((r.marker_from, r.marker_to, None, np.nan, np.nan, np.nan, False))
                continue
            xy = bm.index.point_at(border, np.array(chosen))
            lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
            sub = 0
            for c, lo, la in zip(chosen, lon, lat):
                sub += 1
                while sub in taken:
                    sub += 1
                taken.add(sub)
                rows.append((r.marker_from, r.marker_to, f"{main}/{sub}", float(c), lo, la,
                             True))
    finally:
        if opened:
            d.close()
    return pd.DataFrame(rows, columns=cols)


__all__ = ["intervisibility", "propose_stakes", "sight_lines", "curvature_drop",
           "EARTH_RADIUS_M", "REFRACTION_K", "MAX_RANGE_M"]
