"""Landslide exposure of markers and border sections from a DEM (issue 14, item 7).

Susceptibility from the five DEM factors of :mod:`bienmoc.terrain.factors` (slope, local
relief, profile and plan curvature, distance to drainage), by one of two standard methods:

``wlc`` - weighted linear combination (no landslide inventory)
    index = Σ w_f · rating_f(class of the cell), ratings 1-5 per factor class and AHP weights
    (Saaty 1980) as documented in :mod:`bienmoc.terrain.factors`; the index lies in 1..5.
    Classes by fixed breaks on that rating scale: **low < 2** (on average "low" ratings),
    **high ≥ 3** (on average at least "moderate"), medium between.

``fr`` - frequency ratio (Lee & Pradhan 2007, and many since), used when the store holds at
least ``min_landslides`` landslide incidents (``kind = landslide``, "sạt lở, sụt lún") in the
study area: for each factor class ``FR = (share of landslide cells in the class) / (share of
all cells in the class)``, and the index of a cell is the sum of the FRs of its classes
(FR > 1: the class holds more landslides than its area would explain). The fit is checked by
the success-rate AUC: the probability that a landslide cell has a higher index than a cell
without one (ties count half; computed by ranks, the Mann-Whitney statistic). Classes by
quantiles of the index over the study area: **high = the cells at or above the 80th
percentile**, **low = below the 50th**, medium between (with discrete indexes, ties at a break
go to the upper class).

Study area: the DEM tiles (:data:`TILE` cells square) that hold a sample of the border line or
a landslide. Each tile is read once with a halo (≥ the relief radius and 2 km, for the D8
contributing areas) - windowed reads, never the whole raster. Every cell of the study area is
counted through its combination of factor classes (5·5·3·3·5 = 1125 possible), so the FR fit
and the AUC are exact and need memory only for the histogram, however long the border.

Per marker (its position on the line, at its chainage): the factors, the index and the class.
Per section (consecutive markers in numbering order): ``high_share``, the share of the line's
length between them in the high class (line samples every ``step`` m, default one cell).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from bienmoc.errors import InvalidData
from bienmoc.terrain.dem import Dem, _as_dem
from bienmoc.terrain.factors import (AHP_WEIGHTS, CLASS_LABELS, FACTORS, RATINGS, classify,
                                     factor_grids, n_classes)

__all__ = ["landslide_exposure", "Exposure", "frequency_ratio", "success_auc", "factors_at",
           "MARKER_COLUMNS", "SECTION_COLUMNS", "CLASSES", "TILE"]

TILE = 512
CLASSES = ("low", "medium", "high")
CLASS_VI = {"low": "thấp", "medium": "trung bình", "high": "cao"}
WLC_BREAKS = (2.0, 3.0)
FR_QUANTILES = (0.5, 0.8)
MARKER_COLUMNS = ["border", "marker", "chainage_m", "lon", "lat", "elevation_m", *FACTORS,
                  "index", "exposure"]
SECTION_COLUMNS = ["border", "marker_from", "marker_to", "length_m", "high_m", "high_share",
                   "mean_index", "max_exposure"]
_K = np.array([n_classes(f) for f in FACTORS])
_N_COMBOS = int(np.prod(_K))


def _decode(codes: np.ndarray) -> np.ndarray:
    """(n, 5) class numbers of combination codes (mixed radix, FACTORS order)."""
    out = np.empty((len(codes), len(FACTORS)), dtype=np.int64)
    rest = np.asarray(codes, np.int64)
    for j in range(len(FACTORS) - 1, -1, -1):
        out[:, j] = rest % _K[j]
        rest = rest // _K[j]
    return out


def _encode(classes: np.ndarray) -> np.ndarray:
    code = np.zeros(classes.shape[0], dtype=np.int64)
    for j in range(len(FACTORS)):
        code = code * _K[j] + classes[:, j]
    return code


@dataclass
class _Study:
    """Histogram of class combinations over the study area, and values at query cells."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(_N_COMBOS, np.int64))
    tiles: int = 0


def _cells_of(dem: Dem, x, y, crs) -> tuple[np.ndarray, np.ndarray]:
    dx, dy = dem.to_dem_xy(x, y, crs)
    col, row = dem.pixel(dx, dy)
    ok = np.isfinite(row) & np.isfinite(col)
    return (np.where(ok, np.floor(row), -1).astype(np.int64),
            np.where(ok, np.floor(col), -1).astype(np.int64))


def _read(dem: Dem, r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """Cells [r0, r0+h) x [c0, c0+w) as float64 with NaN outside the raster / on no data."""
    from rasterio.windows import Window

    out = np.full((h, w), np.nan)
    ra, ca = max(r0, 0), max(c0, 0)
    rb, cb = min(r0 + h, dem.height), min(c0 + w, dem.width)
    if ra >= rb or ca >= cb:
        return out
    data = dem._ds.read(dem.band, window=Window(ca, ra, cb - ca, rb - ra), masked=True)
    dem.reads += 1
    out[ra - r0:rb - r0, ca - c0:cb - c0] = np.ma.filled(data.astype(np.float64), np.nan)
    return out


def _tile_factors(dem: Dem, tr: int, tc: int, halo: int, relief_radius_m: float,
                  channel_area_m2: float):
    """Factors of tile (tr, tc) (core only) as a north-up, east-right array set."""
    r0, c0 = tr * TILE - halo, tc * TILE - halo
    n = TILE + 2 * halo
    z = _read(dem, r0, c0, n, n)
    t = dem.transform
    rows_y = t.f + (r0 + np.arange(n) + 0.5) * t.e
    cols_x = np.full(n, t.c + (c0 + n / 2) * t.a)
    cells = dem.cells_at(cols_x, rows_y)
    flip_r, flip_c = cells.north_sign < 0, cells.east_sign < 0
    zz = z[::-1] if flip_r else z
    zz = zz[:, ::-1] if flip_c else zz
    dxr = cells.dx_m[::-1] if flip_r else cells.dx_m
    f = factor_grids(zz, dxr, np.mean(cells.dy_m), relief_radius_m=relief_radius_m,
                     channel_area_m2=channel_area_m2)
    core = slice(halo, halo + TILE)
    out = {}
    for k, v in f.items():
        v = v[::-1] if flip_r else v
        v = v[:, ::-1] if flip_c else v
        out[k] = v[core, core]
    out["elevation_m"] = z[core, core]
    return out


def _gather(dem: Dem, queries: list[tuple[np.ndarray, np.ndarray]], *, relief_radius_m,
            channel_area_m2, extra_tiles: np.ndarray | None = None):
    """Factor values at each query's cells, and the study area's class histogram."""
    keys = []
    for rows, cols in queries:
        inside = (rows >= 0) & (rows < dem.height) & (cols >= 0) & (cols < dem.width)
        keys.append(np.where(inside, (rows // TILE) * 1_000_000 + cols // TILE, -1))
    tiles = np.unique(np.concatenate([k[k >= 0] for k in keys] + [np.empty(0, np.int64)]))
    cell = min(abs(dem.cells_at(np.array([dem.transform.c]),
                                np.array([dem.transform.f + dem.height / 2 * dem.transform.e])
                                ).dx_m[0]),
               abs(dem.cells_at(np.array([dem.transform.c]),
                                np.array([dem.transform.f])).dy_m[0]))
    halo = int(min(max(math.ceil(max(relief_radius_m, 2000.0) / cell), 2), 256))
    values = [{f: np.full(len(r), np.nan) for f in (*FACTORS, "elevation_m")}
              for r, _ in queries]
    study = _Study()
    for key in tiles:
        tr, tc = int(key // 1_000_000), int(key % 1_000_000)
        f = _tile_factors(dem, tr, tc, halo, relief_radius_m, channel_area_m2)
        cls = np.stack([classify(k, f[k]).ravel() for k in FACTORS], axis=1)
        valid = np.isfinite(f["elevation_m"].ravel()) & (cls >= 0).all(axis=1)
        study.counts += np.bincount(_encode(cls[valid]), minlength=_N_COMBOS)
        study.tiles += 1
        for (rows, cols), k, vals in zip(queries, keys, values):
            sel = np.flatnonzero(k == key)
            lr, lc = rows[sel] - tr * TILE, cols[sel] - tc * TILE
            for name in vals:
                vals[name][sel] = f[name][lr, lc]
    return values, study


def _classes_of(vals: dict) -> np.ndarray:
    return np.stack([classify(k, vals[k]) for k in FACTORS], axis=1)


def frequency_ratio(all_counts: np.ndarray, slide_counts: np.ndarray) -> dict[str, np.ndarray]:
    """FR of every class of every factor from combination histograms of all cells and of
    landslide cells: (share of landslide cells in the class) / (share of cells in it); 0 for a
    class with no cells."""
    combos = _decode(np.arange(_N_COMBOS))
    out = {}
    n_all, n_sl = all_counts.sum(), slide_counts.sum()
    for j, f in enumerate(FACTORS):
        a = np.bincount(combos[:, j], weights=all_counts, minlength=_K[j])
        s = np.bincount(combos[:, j], weights=slide_counts, minlength=_K[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            fr = (s / n_sl) / (a / n_all)
        out[f] = np.where(a > 0, np.nan_to_num(fr), 0.0)
    return out


def success_auc(index: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """AUC of the success-rate curve: P(index of a positive > index of a negative), ties
    half, from counts per distinct index value (``index``, ``positives`` and ``negatives``
    aligned). The Mann-Whitney U statistic divided by n_pos · n_neg."""
    order = np.argsort(index, kind="stable")
    idx, pos, neg = index[order], positives[order].astype(float), negatives[order].astype(float)
    uniq, inv = np.unique(idx, return_inverse=True)
    p = np.bincount(inv, weights=pos, minlength=len(uniq))
    n = np.bincount(inv, weights=neg, minlength=len(uniq))
    below = np.concatenate([[0.0], np.cumsum(n)[:-1]])
    n_pos, n_neg = p.sum(), n.sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((p * (below + 0.5 * n)).sum() / (n_pos * n_neg))


def _landslides(source, landslides, dem: Dem):
    """Points of landslide incidents (or the given frame), as (rows, cols) of DEM cells."""
    if landslides is None:
        from collections.abc import Mapping

        if isinstance(source, Mapping) and "incidents" not in source:
            return None
        if not isinstance(source, Mapping) and not hasattr(source, "read"):
            return None
        from bienmoc.model.source import frames

        inc = frames(source, ("incidents",))["incidents"]
        if not len(inc):
            return None
        landslides = inc[inc["kind"] == "landslide"]
    if landslides is None or not len(landslides):
        return None
    g = landslides.geometry
    g = g[g.notna() & ~g.is_empty]
    pts = shapely.point_on_surface(np.asarray(g.values, dtype=object))
    xy = shapely.get_coordinates(pts)
    rows, cols = _cells_of(dem, xy[:, 0], xy[:, 1], g.crs or "EPSG:4326")
    keep = (rows >= 0) & (rows < dem.height) & (cols >= 0) & (cols < dem.width)
    cells = np.unique(rows[keep] * dem.width + cols[keep])   # one per cell
    return cells // dem.width, cells % dem.width


@dataclass
class Exposure:
    """Result of :func:`landslide_exposure`."""

    markers: pd.DataFrame
    sections: pd.DataFrame
    method: str                      # "wlc" or "fr"
    weights: dict                    # WLC: AHP weights; FR: {factor: [FR per class]}
    breaks: tuple[float, float]      # index values of the low/medium and medium/high breaks
    auc: float | None = None
    landslides: int = 0              # landslide cells used for the fit
    study_cells: int = 0
    samples: pd.DataFrame | None = None

    def meta(self) -> dict:
        out = {"method": self.method, "breaks": [round(b, 6) for b in self.breaks],
               "auc": None if self.auc is None or not np.isfinite(self.auc) else
               round(self.auc, 4),
               "landslide_cells": self.landslides, "study_cells": self.study_cells}
        if self.method == "wlc":
            out["weights"] = {k: round(v, 4) for k, v in self.weights.items()}
            out["ratings"] = {k: list(v) for k, v in RATINGS.items()}
        else:
            out["frequency_ratio"] = {f: dict(zip(CLASS_LABELS[f], (round(float(x), 4)
                                                                    for x in v)))
                                      for f, v in self.weights.items()}
        return out


def _exposure_of(index: np.ndarray, breaks) -> np.ndarray:
    lab = np.full(len(index), None, dtype=object)
    ok = np.isfinite(index)
    lab[ok] = np.array(CLASSES, dtype=object)[np.searchsorted(breaks, index[ok], side="right")]
    return lab


def landslide_exposure(source, border: str, dem=None, *, step: float | None = None,
                       landslides: gpd.GeoDataFrame | None = None, method: str = "auto",
                       min_landslides: int = 5, relief_radius_m: float = 250.0,
                       channel_area_m2: float = 1e6) -> Exposure:
    """Landslide exposure of the markers and sections of ``border``.

    ``source``: a store, frames or a BorderModel (then no incidents unless ``landslides``);
    ``dem``: a Dem, a path or None (``$BIENMOC_DEM``). ``method``: "auto" (FR when at least
    ``min_landslides`` landslide cells fall on the study area, else WLC), "fr" or "wlc".
    ``landslides``: landslide points/areas to fit on instead of the store's incidents."""
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.terrain.visibility import _markers

    if method not in ("auto", "fr", "wlc"):
        raise InvalidData(f"method must be auto, fr or wlc, not {method!r}")
    bm = BorderModel.from_source(source)
    bm.index._border_id(border)
    d, opened = _as_dem(dem)
    try:
        pos, mch, mxy = _markers(bm, border)
        length = bm.index.length_m[border]
        if step is None:
            c = d.cells_at(*d.to_dem_xy(mxy[:1, 0] if len(mxy) else
                                        bm.index.point_at(border, np.array([0.0]))[:, 0],
                                        mxy[:1, 1] if len(mxy) else
                                        bm.index.point_at(border, np.array([0.0]))[:, 1],
                                        bm.crs))
            step = float(max(min(c.dx_m[0], c.dy_m[0]), 1.0))
        if not step > 0:
            raise InvalidData(f"step must be > 0 m, got {step}")
        sch = np.append(np.arange(0.0, length, step), length)
        sxy = bm.index.point_at(border, sch)
        queries = [_cells_of(d, sxy[:, 0], sxy[:, 1], bm.crs),
                   _cells_of(d, mxy[:, 0], mxy[:, 1], bm.crs) if len(mxy) else
                   (np.empty(0, np.int64), np.empty(0, np.int64))]
        slides = _landslides(source, landslides, d)
        if slides is not None:
            queries.append(slides)
        values, study = _gather(d, queries, relief_radius_m=relief_radius_m,
                                channel_area_m2=channel_area_m2)
    finally:
        if opened:
            d.close()
    samples_v, marker_v = values[0], values[1]
    slide_cls = None
    if slides is not None:
        sc = _classes_of(values[2])
        slide_cls = sc[(sc >= 0).all(axis=1)]
    n_sl = 0 if slide_cls is None else len(slide_cls)
    use_fr = method == "fr" or (method == "auto" and n_sl >= min_landslides)
    if use_fr and n_sl == 0:
        raise InvalidData("method 'fr' needs landslide incidents (kind = landslide) on the "
                          "DEM; none found")
    combos = _decode(np.arange(_N_COMBOS))
    auc = None
    if use_fr:
        slide_counts = np.bincount(_encode(slide_cls), minlength=_N_COMBOS)
        fr = frequency_ratio(study.counts, slide_counts)
        combo_index = sum(fr[f][combos[:, j]] for j, f in enumerate(FACTORS))
        auc = success_auc(combo_index, slide_counts, study.counts - slide_counts)
        breaks = tuple(_quantile(combo_index, study.counts, q) for q in FR_QUANTILES)
        weights = fr

        def index_of(cls):
            ok = (cls >= 0).all(axis=1)
            out = np.full(len(cls), np.nan)
            out[ok] = combo_index[_encode(cls[ok])]
            return out
    else:
        weights = dict(AHP_WEIGHTS)
        breaks = WLC_BREAKS

        def index_of(cls):
            ok = (cls >= 0).all(axis=1)
            out = np.zeros(len(cls))
            for j, f in enumerate(FACTORS):
                out += weights[f] * np.asarray(RATINGS[f], float)[np.clip(cls[:, j], 0, None)]
            return np.where(ok, out, np.nan)

    s_index = index_of(_classes_of(samples_v))
    m_index = index_of(_classes_of(marker_v)) if len(pos) else np.empty(0)
    s_exp = _exposure_of(s_index, breaks)
    m_exp = _exposure_of(m_index, breaks)
    to_ll = Transformer.from_crs(bm.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(mxy[:, 0], mxy[:, 1]) if len(pos) else ([], [])
    markers = pd.DataFrame({"border": border, "marker": pos, "chainage_m": mch, "lon": lon,
                            "lat": lat, "elevation_m": marker_v["elevation_m"],
                            **{f: marker_v[f] for f in FACTORS}, "index": m_index,
                            "exposure": m_exp}, columns=MARKER_COLUMNS)
    samples = pd.DataFrame({"chainage_m": sch, **{f: samples_v[f] for f in FACTORS},
                            "index": s_index, "exposure": s_exp})
    sections = _sections(border, pos, mch, sch, s_index, s_exp, length)
    return Exposure(markers, sections, "fr" if use_fr else "wlc", weights,
                    (float(breaks[0]), float(breaks[1])), auc, n_sl,
                    int(study.counts.sum()), samples)


def _quantile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """The weighted q-quantile of ``values`` with multiplicities ``counts``: the smallest
    value at which the cumulative share of cells reaches ``q``."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], counts[order].astype(float)
    cum = np.cumsum(c) / max(c.sum(), 1.0)
    i = int(np.searchsorted(cum, q, side="left"))
    return float(v[min(i, len(v) - 1)])


def _sections(border, pos, mch, sch, s_index, s_exp, length) -> pd.DataFrame:
    """Per consecutive pair of markers (numbering order): length and high-exposure share of
    the line between them (each line sample stands for the chainage up to the next one)."""
    rows = []
    if len(pos) >= 2:
        ends = np.append(sch[1:], sch[-1])       # sample i stands for [sch[i], sch[i+1])
        for a, b, ca, cb in zip(pos[:-1], pos[1:], mch[:-1], mch[1:]):
            lo, hi = min(ca, cb), max(ca, cb)
            over = np.minimum(ends, hi) - np.maximum(sch, lo)
            sel = over > 0
            ln = over[sel]
            known = np.isfinite(s_index[sel])
            high = float(ln[(s_exp[sel] == "high")].sum())
            total = float(hi - lo)
            mean = float(np.average(s_index[sel][known], weights=ln[known])) \
                if known.any() and ln[known].sum() > 0 else float("nan")
            ex = [e for e in s_exp[sel] if e is not None]
            worst = max(ex, key=CLASSES.index) if ex else None
            rows.append((border, a, b, total, high, high / total if total > 0 else np.nan,
                         mean, worst))
    return pd.DataFrame(rows, columns=SECTION_COLUMNS)


def factors_at(dem, x, y, crs: object = "EPSG:4326", *, relief_radius_m: float = 250.0,
               channel_area_m2: float = 1e6) -> pd.DataFrame:
    """The five factors, the WLC index and its class at points (x, y in ``crs``)."""
    d, opened = _as_dem(dem)
    try:
        values, _ = _gather(d, [_cells_of(d, np.atleast_1d(x), np.atleast_1d(y), crs)],
                            relief_radius_m=relief_radius_m, channel_area_m2=channel_area_m2)
    finally:
        if opened:
            d.close()
    v = values[0]
    cls = _classes_of(v)
    ok = (cls >= 0).all(axis=1)
    idx = np.zeros(len(cls))
    for j, f in enumerate(FACTORS):
        idx += AHP_WEIGHTS[f] * np.asarray(RATINGS[f], float)[np.clip(cls[:, j], 0, None)]
    idx = np.where(ok, idx, np.nan)
    out = pd.DataFrame({"elevation_m": v["elevation_m"], **{f: v[f] for f in FACTORS}})
    out["index"] = idx
    out["exposure"] = _exposure_of(idx, WLC_BREAKS)
    return out
