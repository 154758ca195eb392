"""Slope and aspect by Horn's method (as ``gdaldem slope``/``gdaldem aspect``), in metres.

Horn (1981): on the 3x3 window ``z1 z2 z3 / z4 z5 z6 / z7 z8 z9`` (top row first)

    dz/dx = ((z3 + 2 z6 + z9) - (z1 + 2 z4 + z7)) / (8 dx)
    dz/dy = ((z1 + 2 z2 + z3) - (z7 + 2 z8 + z9)) / (8 dy)     (y northwards)

slope = atan(|grad z|), aspect = the azimuth (0 = north, clockwise) the slope faces, i.e.
the downhill direction; NaN on flat cells (gdaldem writes -9999 there) and where any of
the nine cells has no data (gdaldem without ``-compute_edges``).

Cell sizes are ground metres: on a geographic DEM the metres of a degree of longitude and
latitude at the cell's latitude (:meth:`Dem.cells_at`), so slopes are right on SRTM/GLO-30
tiles without the ``-s 111120`` approximation (which ignores cos(latitude)). Unlike
``gdaldem aspect``, which ignores the cell size, the aspect here is also right for
non-square cells. The few lines of numpy are written here because rasterio/GDAL expose
Horn's method only as whole-raster ``gdaldem`` processing, not at points.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bienmoc.terrain.dem import Dem, _as_dem, point_xy


def horn(win: np.ndarray, dx_m, dy_m, east_sign: float = 1.0, north_sign: float = 1.0
         ) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect (degrees) of 3x3 windows ``win[..., 3, 3]`` (row 0 first).

    ``dx_m``/``dy_m``: ground size of a cell (broadcast against ``win[..., 0, 0]``);
    ``east_sign`` -1 when columns grow westwards, ``north_sign`` -1 when rows grow northwards.
    """
    w = np.asarray(win, float)
    gx = ((w[..., 0, 2] + 2 * w[..., 1, 2] + w[..., 2, 2])
          - (w[..., 0, 0] + 2 * w[..., 1, 0] + w[..., 2, 0])) / (8 * np.asarray(dx_m))
    gy = ((w[..., 0, 0] + 2 * w[..., 0, 1] + w[..., 0, 2])
          - (w[..., 2, 0] + 2 * w[..., 2, 1] + w[..., 2, 2])) / (8 * np.asarray(dy_m))
    nodata = np.isnan(w[..., 1, 1])               # Horn ignores z5; gdaldem does not
    gx, gy = np.where(nodata, np.nan, gx), np.where(nodata, np.nan, gy)
    ge, gn = gx * east_sign, gy * north_sign      # gradient towards east and north
    slope = np.degrees(np.arctan(np.hypot(ge, gn)))
    aspect = np.degrees(np.arctan2(-ge, -gn)) % 360.0
    aspect = np.where((ge == 0) & (gn == 0) | np.isnan(slope), np.nan, aspect)
    return slope, aspect


def slope_grid(z: np.ndarray, dx_m, dy_m, east_sign: float = 1.0, north_sign: float = 1.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect (degrees) of every cell of the array ``z`` (NaN on the one-cell
    border, as gdaldem without ``-compute_edges``). ``dx_m`` may be one value per row (a
    geographic DEM: cells narrow towards the pole)."""
    z = np.asarray(z, float)
    h, w = z.shape
    slope = np.full((h, w), np.nan)
    aspect = np.full((h, w), np.nan)
    if h < 3 or w < 3:
        return slope, aspect
    win = sliding_window_view(z, (3, 3))           # (h-2, w-2, 3, 3), no copy
    dx = np.broadcast_to(np.asarray(dx_m, float), (h,))[1:-1, None]
    dy = np.broadcast_to(np.asarray(dy_m, float), (h,))[1:-1, None]
    s, a = horn(win, dx, dy, east_sign, north_sign)
    slope[1:-1, 1:-1], aspect[1:-1, 1:-1] = s, a
    return slope, aspect


def slope_aspect(dem: Dem, x, y, crs: object = "EPSG:4326") -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect (degrees) of the DEM cells holding the points (x, y in ``crs``): the
    values ``gdaldem slope/aspect`` writes for those cells. NaN outside the DEM, on nodata
    within the 3x3 window, and (aspect) on flat cells."""
    dx, dy = dem.to_dem_xy(x, y, crs)
    col, row = dem.pixel(dx, dy)
    ok = np.isfinite(row) & np.isfinite(col)
    r = np.where(ok, np.floor(row), -2).astype(np.int64)
    c = np.where(ok, np.floor(col), -2).astype(np.int64)
    off = np.arange(-1, 2)
    rr = r[..., None, None] + off[:, None]
    cc = c[..., None, None] + off[None, :]
    win = dem.values_at(*np.broadcast_arrays(rr, cc))
    t = dem.transform
    cy = t.f + (r + 0.5) * t.e                      # latitude of the cell centre
    cells = dem.cells_at(dx, cy)
    return horn(win, cells.dx_m, cells.dy_m, cells.east_sign, cells.north_sign)


def terrain_at(data: gpd.GeoDataFrame, dem=None, method: str = "bilinear") -> gpd.GeoDataFrame:
    """``data`` (points, any CRS) with ``elevation_m``, ``slope_deg`` and ``aspect_deg``."""
    d, opened = _as_dem(dem)
    try:
        x, y, crs = point_xy(data)
        out = data.copy()
        out["elevation_m"] = d.sample(x, y, crs=crs, method=method)
        out["slope_deg"], out["aspect_deg"] = slope_aspect(d, x, y, crs=crs)
        return out
    finally:
        if opened:
            d.close()


def hillshade_grid(z: np.ndarray, dx_m, dy_m, azimuth: float = 315.0, altitude: float = 45.0,
                   z_factor: float = 1.0, east_sign: float = 1.0, north_sign: float = 1.0
                   ) -> np.ndarray:
    """Hillshade of the array ``z`` as ``gdaldem hillshade`` (defaults: light from azimuth
    315°, altitude 45°): ``1 + 254 * cos(angle between the light and the cell's normal)``,
    1 where the cell faces away from the light, NaN on the one-cell border and where the 3x3
    window has no data (gdaldem writes 0 there). Gradients by Horn in ground metres as
    :func:`slope_grid` (``dx_m`` may be one value per row); round for gdaldem's bytes."""
    z = np.asarray(z, float)
    h, w = z.shape
    out = np.full((h, w), np.nan)
    if h < 3 or w < 3:
        return out
    win = sliding_window_view(z, (3, 3))
    dx = np.broadcast_to(np.asarray(dx_m, float), (h,))[1:-1, None]
    dy = np.broadcast_to(np.asarray(dy_m, float), (h,))[1:-1, None]
    gx = ((win[..., 0, 2] + 2 * win[..., 1, 2] + win[..., 2, 2])
          - (win[..., 0, 0] + 2 * win[..., 1, 0] + win[..., 2, 0])) / (8 * dx)
    gy = ((win[..., 0, 0] + 2 * win[..., 0, 1] + win[..., 0, 2])
          - (win[..., 2, 0] + 2 * win[..., 2, 1] + win[..., 2, 2])) / (8 * dy)
    ge, gn = gx * east_sign * z_factor, gy * north_sign * z_factor   # towards east, north
    az, alt = np.radians(azimuth), np.radians(altitude)
    cang = (np.sin(alt) - np.cos(alt) * (ge * np.sin(az) + gn * np.cos(az))) / np.sqrt(
        1 + ge ** 2 + gn ** 2)
    shade = np.where(cang <= 0, 1.0, 1.0 + 254.0 * cang)
    shade[np.isnan(win[..., 1, 1])] = np.nan
    out[1:-1, 1:-1] = shade
    return out
