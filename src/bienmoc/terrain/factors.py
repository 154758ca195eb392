"""Landslide conditioning factors of a DEM window, their classes and the default weights.

Five factors, all from the DEM alone (lithology, land cover and rainfall are not in bienmoc's
data; a user with them should use a full susceptibility study):

``slope_deg``
    Horn's slope (:func:`bienmoc.terrain.slope.slope_grid`, as ``gdaldem slope``).
``relief_m``
    Local relief: highest minus lowest cell in a square window of half-width
    ``relief_radius_m`` (default 250 m, a 500 m window) - the "relative relief" factor.
``profile_curv`` / ``plan_curv`` (1/m)
    Second derivatives of the 3x3 quadratic of Zevenbergen & Thorne (1987):
    ``zx, zy, zxx, zyy, zxy`` in ground metres (x east, y north), ``p = zx² + zy²``;
    profile ``(zxx zx² + 2 zxy zx zy + zyy zy²) / (p (1 + p)^1.5)`` - curvature along the
    slope, **positive = concave** (the slope flattens downhill, as at a foot of slope);
    plan ``(zxx zy² - 2 zxy zx zy + zyy zx²) / p^1.5`` - curvature of the contour,
    **positive = convergent** (a hollow: flow gathers), negative = divergent (a spur).
    Undefined (NaN) on flat cells, which count as "straight".
``drainage_m``
    Distance to the nearest drainage cell: a cell whose D8 contributing area (O'Callaghan &
    Mark 1984: each cell drains to the steepest of its 8 neighbours) reaches
    ``channel_area_m2`` (default 1 km², a usual order of magnitude for channel heads on 30 m
    DEMs). Distances by the exact Euclidean distance transform in ground metres.
    Approximations, documented: no depression filling (a pit ends its flow paths; SRTM/GLO-30
    pits are small), flats do not route flow, and contributing areas count only the cells of
    the window read (:mod:`bienmoc.terrain.risk` reads each tile with a halo of at least 2 km,
    so a catchment larger than that is under-counted at the tile's edge). No river layer is
    needed; with a mapped river network, distances to it would be better.

Why hand-written: D8 accumulation is one sparse triangular solve ``(I - R) a = 1`` (R: the
receiver matrix) with scipy, a few lines; pysheds/richdem/whitebox would add a heavy dependency
for this one quantity. Curvature follows the published formulas above verbatim.

Classes (class 0 first) and the weighted-factor ratings (1 = least, 5 = most susceptible):

============== ========================================== ==================
factor         classes                                    ratings
============== ========================================== ==================
slope_deg      <10, 10-20, 20-30, 30-40, >=40 °            1, 2, 3, 4, 5
relief_m       <50, 50-100, 100-200, 200-300, >=300 m      1, 2, 3, 4, 5
profile_curv   convex (< -t), straight, concave (> t)      3, 1, 4
plan_curv      divergent (< -t), straight, convergent      2, 1, 4
drainage_m     <50, 50-100, 100-200, 200-500, >=500 m      5, 4, 3, 2, 1
============== ========================================== ==================

with ``t = 0.0005 /m`` (0.05 in ArcGIS's "1/100 m" curvature units). The weights of the
weighted linear combination come from the Analytic Hierarchy Process (Saaty 1980): the
principal eigenvector of the pairwise comparison matrix :data:`AHP_MATRIX` (slope strongest,
then relief, drainage, the two curvatures), consistency ratio :data:`AHP_CR` < 0.1 as the
method requires. They are defaults that rank the factors as AHP landslide studies commonly do;
when the store holds landslide incidents, :mod:`bienmoc.terrain.risk` fits frequency ratios
from them instead.
"""
from __future__ import annotations

import numpy as np

from bienmoc.terrain.slope import slope_grid

__all__ = ["FACTORS", "CLASS_EDGES", "CLASS_LABELS", "RATINGS", "AHP_MATRIX", "AHP_WEIGHTS",
           "AHP_CR", "CURV_T", "curvatures", "local_relief", "d8_accumulation",
           "drainage_distance", "factor_grids", "classify", "n_classes"]

FACTORS = ("slope_deg", "relief_m", "profile_curv", "plan_curv", "drainage_m")
#: |curvature| (1/m) below which a cell counts as straight.
CURV_T = 0.0005
CLASS_EDGES = {
    "slope_deg": (10.0, 20.0, 30.0, 40.0),
    "relief_m": (50.0, 100.0, 200.0, 300.0),
    "profile_curv": (-CURV_T, CURV_T),
    "plan_curv": (-CURV_T, CURV_T),
    "drainage_m": (50.0, 100.0, 200.0, 500.0),
}
CLASS_LABELS = {
    "slope_deg": ("<10°", "10–20°", "20–30°", "30–40°", "≥40°"),
    "relief_m": ("<50 m", "50–100 m", "100–200 m", "200–300 m", "≥300 m"),
    "profile_curv": ("convex", "straight", "concave"),
    "plan_curv": ("divergent", "straight", "convergent"),
    "drainage_m": ("<50 m", "50–100 m", "100–200 m", "200–500 m", "≥500 m"),
}
RATINGS = {
    "slope_deg": (1, 2, 3, 4, 5),
    "relief_m": (1, 2, 3, 4, 5),
    "profile_curv": (3, 1, 4),
    "plan_curv": (2, 1, 4),
    "drainage_m": (5, 4, 3, 2, 1),
}
#: Pairwise comparisons (Saaty's 1-9 scale), rows/columns in :data:`FACTORS` order.
AHP_MATRIX = np.array([
    [1, 2, 5, 5, 3],
    [1 / 2, 1, 3, 3, 2],
    [1 / 5, 1 / 3, 1, 1, 1 / 2],
    [1 / 5, 1 / 3, 1, 1, 1 / 2],
    [1 / 3, 1 / 2, 2, 2, 1],
])
_RI = {3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32}   # Saaty's random consistency index


def _ahp(m: np.ndarray) -> tuple[dict[str, float], float]:
    vals, vecs = np.linalg.eig(m)
    i = int(np.argmax(vals.real))
    w = np.abs(vecs[:, i].real)
    w = w / w.sum()
    n = len(m)
    ci = (vals[i].real - n) / (n - 1)
    return dict(zip(FACTORS, (float(v) for v in w))), float(ci / _RI[n])


AHP_WEIGHTS, AHP_CR = _ahp(AHP_MATRIX)


def n_classes(factor: str) -> int:
    return len(CLASS_EDGES[factor]) + 1


def classify(factor: str, values: np.ndarray) -> np.ndarray:
    """Class numbers (0-based, int8) of ``values``; NaN curvature counts as straight, NaN
    distance (no drainage in the window) as the farthest class; other NaN -> -1."""
    v = np.asarray(values, float)
    c = np.searchsorted(np.asarray(CLASS_EDGES[factor]), v, side="right").astype(np.int8)
    nan = np.isnan(v)
    if factor in ("profile_curv", "plan_curv"):
        c[nan] = 1
    elif factor == "drainage_m":
        c[nan] = n_classes(factor) - 1
    else:
        c[nan] = -1
    return c


def _derivatives(z, dx, dy):
    """zx, zy, zxx, zyy, zxy at interior cells (north-up array: row 0 is north)."""
    z1, z2, z3 = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    z4, z5, z6 = z[1:-1, :-2], z[1:-1, 1:-1], z[1:-1, 2:]
    z7, z8, z9 = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    zx = (z6 - z4) / (2 * dx)
    zy = (z2 - z8) / (2 * dy)
    zxx = (z4 - 2 * z5 + z6) / dx ** 2
    zyy = (z2 - 2 * z5 + z8) / dy ** 2
    zxy = (z3 + z7 - z1 - z9) / (4 * dx * dy)
    return zx, zy, zxx, zyy, zxy


def curvatures(z: np.ndarray, dx_m, dy_m) -> tuple[np.ndarray, np.ndarray]:
    """Profile and plan curvature (1/m) of a north-up array (``dx_m`` may be one value per
    row); NaN on the one-cell border and on flat cells."""
    z = np.asarray(z, float)
    h, w = z.shape
    prof, plan = np.full((h, w), np.nan), np.full((h, w), np.nan)
    if h < 3 or w < 3:
        return prof, plan
    dx = np.broadcast_to(np.asarray(dx_m, float), (h,))[1:-1, None]
    dy = np.broadcast_to(np.asarray(dy_m, float), (h,))[1:-1, None]
    zx, zy, zxx, zyy, zxy = _derivatives(z, dx, dy)
    p = zx ** 2 + zy ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = (zxx * zx ** 2 + 2 * zxy * zx * zy + zyy * zy ** 2) / (p * (1 + p) ** 1.5)
        kc = (zxx * zy ** 2 - 2 * zxy * zx * zy + zyy * zx ** 2) / p ** 1.5
    flat = p < 1e-12
    prof[1:-1, 1:-1] = np.where(flat, np.nan, kp)
    plan[1:-1, 1:-1] = np.where(flat, np.nan, kc)
    return prof, plan


def local_relief(z: np.ndarray, half_cols: int, half_rows: int) -> np.ndarray:
    """Max minus min of the cells within ``half_rows`` x ``half_cols`` of each cell (no-data
    cells ignored; windows are cut at the array's edge)."""
    from scipy import ndimage

    z = np.asarray(z, float)
    size = (2 * half_rows + 1, 2 * half_cols + 1)
    hi = ndimage.maximum_filter(np.where(np.isnan(z), -np.inf, z), size=size, mode="nearest")
    lo = ndimage.minimum_filter(np.where(np.isnan(z), np.inf, z), size=size, mode="nearest")
    out = hi - lo
    out[np.isnan(z)] = np.nan
    return out


_NB = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def d8_accumulation(z: np.ndarray, dx_m: float, dy_m: float) -> np.ndarray:
    """Contributing area (m²) of each cell by D8 (the cell itself included); NaN on no
    data. A cell with no lower neighbour (a pit, a flat) drains nowhere."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve_triangular

    z = np.asarray(z, float)
    h, w = z.shape
    n = h * w
    zp = np.pad(z, 1, constant_values=np.nan)
    best = np.zeros((h, w))
    recv = np.full((h, w), -1, dtype=np.int64)
    rr, cc = np.mgrid[0:h, 0:w]
    for dr, dc in _NB:
        nb = zp[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
        drop = (z - nb) / np.hypot(dr * dy_m, dc * dx_m)
        take = np.nan_to_num(drop, nan=-np.inf) > best
        best = np.where(take, drop, best)
        recv = np.where(take, (rr + dr) * w + (cc + dc), recv)
    src = np.flatnonzero(recv.ravel() >= 0)
    dst = recv.ravel()[src]
    # order cells from high to low: every cell comes before its receiver, so I - R is
    # lower triangular in that order and one triangular solve gives the accumulation
    order = np.argsort(-np.nan_to_num(z.ravel(), nan=-np.inf), kind="stable")
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    m = sparse.csr_matrix((-np.ones(len(src)), (pos[dst], pos[src])), shape=(n, n))
    m = (m + sparse.identity(n, format="csr")).tocsr()
    acc = spsolve_triangular(m, np.ones(n), lower=True)
    out = acc[pos].reshape(h, w) * (dx_m * dy_m)
    out[np.isnan(z)] = np.nan
    return out


def drainage_distance(z: np.ndarray, dx_m: float, dy_m: float,
                      channel_area_m2: float = 1e6) -> np.ndarray:
    """Distance (m) from each cell to the nearest cell whose D8 contributing area reaches
    ``channel_area_m2``; NaN when the window holds no such cell."""
    from scipy import ndimage

    acc = d8_accumulation(z, dx_m, dy_m)
    channel = np.nan_to_num(acc) >= channel_area_m2
    if not channel.any():
        return np.full(z.shape, np.nan)
    d = ndimage.distance_transform_edt(~channel, sampling=(dy_m, dx_m))
    d[np.isnan(z)] = np.nan
    return d


def factor_grids(z: np.ndarray, dx_m, dy_m, *, relief_radius_m: float = 250.0,
                 channel_area_m2: float = 1e6) -> dict[str, np.ndarray]:
    """The five factors of every cell of the north-up array ``z`` (``dx_m`` per row or one
    value; relief windows and drainage distances use the window's mean cell size)."""
    z = np.asarray(z, float)
    slope, _ = slope_grid(z, dx_m, dy_m)
    prof, plan = curvatures(z, dx_m, dy_m)
    mdx = float(np.mean(dx_m))
    mdy = float(np.mean(dy_m))
    relief = local_relief(z, max(int(round(relief_radius_m / mdx)), 1),
                          max(int(round(relief_radius_m / mdy)), 1))
    drain = drainage_distance(z, mdx, mdy, channel_area_m2)
    return {"slope_deg": slope, "relief_m": relief, "profile_curv": prof, "plan_curv": plan,
            "drainage_m": drain}
