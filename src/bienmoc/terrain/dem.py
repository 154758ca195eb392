"""DEM access: any GDAL raster or VRT, in any CRS, read in windows, sampled at points.

Users bring their own DEM (SRTM / Copernicus GLO-30 tiles, a VRT of many tiles, a provincial
DEM in VN-2000, ...). :func:`open_dem` opens it with rasterio; :meth:`Dem.sample` transforms
the query coordinates to the DEM's CRS with pyproj and reads only the blocks of the raster
that hold them (never the whole raster: a national VRT of GLO-30 tiles is tens of GB).

Nodata (the band's nodata value, its mask, or NaN) comes back as NaN, never -32768 m.
Elevations are assumed to be in metres (SRTM, GLO-30 and VN DEMs are).

The bilinear interpolation and the block gathering are a few lines of numpy written here:
rasterio's ``sample`` is nearest-only and reads one window per point, and
``WarpedVRT``/``reproject`` would resample the whole query extent rather than the points.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from bienmoc.errors import BienmocError, InvalidData

#: Environment variable naming the default DEM (``--dem`` wins over it).
DEM_ENV = "BIENMOC_DEM"

#: Side of the square blocks (pixels) a query reads at a time: at most 1 MB of float32 each.
BLOCK = 512

METHODS = ("bilinear", "nearest")


class DemError(BienmocError):
    """A DEM that cannot be found, opened or used (the message names the file)."""


@dataclass(frozen=True)
class _Cells:
    """Ground size of a cell in metres (per query point) and the grid's orientation."""

    dx_m: np.ndarray
    dy_m: np.ndarray
    east_sign: float   # +1 when columns grow eastwards
    north_sign: float  # +1 when rows grow southwards (north-up rasters)


class Dem:
    """An open DEM (rasterio dataset, band ``band``); use as a context manager or ``close()``.

    Attributes: ``path``, ``crs`` (pyproj CRS), ``transform`` (affine), ``width``,
    ``height``, ``nodata``, ``is_geographic``. ``reads`` counts the windows read (tests check
    that a query reads only what it needs).
    """

    def __init__(self, path: str | os.PathLike, band: int = 1):
        import rasterio

        self.path = str(path)
        try:
            self._ds = rasterio.open(self.path)
        except rasterio.errors.RasterioIOError as e:
            raise DemError(f"cannot open the DEM {self.path}: {e}") from None
        ds = self._ds
        if ds.crs is None:
            ds.close()
            raise DemError(f"the DEM {self.path} declares no CRS (give it one, e.g. with "
                           f"gdal_edit.py -a_srs EPSG:4326)")
        if not 1 <= band <= ds.count:
            ds.close()
            raise DemError(f"the DEM {self.path} has {ds.count} band(s), not band {band}")
        t = ds.transform
        if t.b != 0 or t.d != 0:
            ds.close()
            raise DemError(f"the DEM {self.path} is rotated; warp it north-up first "
                           f"(gdalwarp)")
        self.band = band
        self.crs = CRS.from_user_input(ds.crs.to_wkt())
        self.transform = t
        self.width, self.height = ds.width, ds.height
        self.nodata = ds.nodatavals[band - 1]
        self.is_geographic = bool(self.crs.is_geographic)
        self.reads = 0
        self._transformers: dict[str, Transformer] = {}

    # -- life cycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._ds.close()

    def __enter__(self) -> "Dem":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Dem({self.path!r}, {self.width}x{self.height}, "
                f"crs={self.crs.to_string()}, nodata={self.nodata})")

    # -- coordinates -----------------------------------------------------------------------
    def to_dem_xy(self, x, y, crs: object = "EPSG:4326") -> tuple[np.ndarray, np.ndarray]:
        """Coordinates from ``crs`` (default lon/lat) to the DEM's CRS (pyproj, always x/y)."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        src = CRS.from_user_input(crs)
        if src == self.crs:
            return x, y
        key = src.to_wkt()
        if key not in self._transformers:
            self._transformers[key] = Transformer.from_crs(src, self.crs, always_xy=True)
        return self._transformers[key].transform(x, y)

    def pixel(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (col, row) of DEM-CRS coordinates; pixel centres are at .5."""
        t = self.transform
        return (np.asarray(x, float) - t.c) / t.a, (np.asarray(y, float) - t.f) / t.e

    # -- reading -------------------------------------------------------------------------
    def values_at(self, rows, cols) -> np.ndarray:
        """Elevations (float64) of integer pixel ``rows``/``cols`` (any shape): NaN outside
        the raster and where the band has no data. Reads only the BLOCK x BLOCK blocks that
        hold the requested pixels, each once."""
        from rasterio.windows import Window

        rows, cols = np.asarray(rows, float), np.asarray(cols, float)
        ok = np.isfinite(rows) & np.isfinite(cols)   # points pyproj could not transform
        rows = np.where(ok, rows, -1).astype(np.int64)
        cols = np.where(ok, cols, -1).astype(np.int64)
        out = np.full(rows.shape, np.nan)
        r, c, o = rows.ravel(), cols.ravel(), out.reshape(-1)
        inside = (r >= 0) & (r < self.height) & (c >= 0) & (c < self.width)
        idx = np.flatnonzero(inside)
        if not len(idx):
            return out
        br, bc = r[idx] // BLOCK, c[idx] // BLOCK
        key = br * (self.width // BLOCK + 2) + bc
        order = np.argsort(key, kind="stable")
        keys, starts = np.unique(key[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for s, e in zip(starts, ends):
            sel = idx[order[s:e]]
            r0, c0 = int(r[sel[0]] // BLOCK * BLOCK), int(c[sel[0]] // BLOCK * BLOCK)
            h, w = min(BLOCK, self.height - r0), min(BLOCK, self.width - c0)
            data = self._ds.read(self.band, window=Window(c0, r0, w, h), masked=True)
            self.reads += 1
            block = np.ma.filled(data.astype(np.float64), np.nan)
            o[sel] = block[r[sel] - r0, c[sel] - c0]
        return out

    def sample(self, x, y, crs: object = "EPSG:4326", method: str = "bilinear") -> np.ndarray:
        """Elevations (m) at points given in ``crs``; NaN outside the DEM or on nodata.

        ``nearest`` takes the cell holding the point; ``bilinear`` weighs the four cell
        centres around it (exact on a plane) and is NaN if one it gives weight has no data.
        """
        if method not in METHODS:
            raise InvalidData(f"unknown sampling method {method!r}; use one of "
                              f"{', '.join(METHODS)}")
        dx, dy = self.to_dem_xy(x, y, crs)
        col, row = self.pixel(dx, dy)
        if method == "nearest":
            return self.values_at(np.floor(row), np.floor(col))
        # the four cell centres around the point; in the outer half-cell of the raster the
        # edge cells (clipped weights), so the whole raster extent has values
        fc, fr = col - 0.5, row - 0.5
        c0 = np.clip(np.floor(fc), 0, max(self.width - 2, 0))
        r0 = np.clip(np.floor(fr), 0, max(self.height - 2, 0))
        tc, tr = np.clip(fc - c0, 0.0, 1.0), np.clip(fr - r0, 0.0, 1.0)
        z = self.values_at(np.stack([r0, r0, r0 + 1, r0 + 1]), np.stack([c0, c0 + 1, c0, c0 + 1]))
        w = [(1 - tr) * (1 - tc), (1 - tr) * tc, tr * (1 - tc), tr * tc]
        # a zero weight on a nodata cell must not poison the value; any used nodata -> NaN
        used_nan = np.zeros(tc.shape, bool)
        for wi, zi in zip(w, z):
            used_nan |= (wi > 0) & np.isnan(zi)
        val = sum(np.where(wi > 0, wi * np.nan_to_num(zi), 0.0) for wi, zi in zip(w, z))
        return np.where(used_nan | ~_inside(col, row, self), np.nan, val)

    def cells_at(self, x, y) -> _Cells:
        """Ground size (m) of the cells at DEM-CRS points: on a geographic DEM the metres of
        a degree of longitude/latitude at each point's latitude on the CRS's ellipsoid."""
        t = self.transform
        x = np.asarray(x, float)
        if not self.is_geographic:
            f = self.crs.axis_info[0].unit_conversion_factor if self.crs.axis_info else 1.0
            one = np.ones(x.shape)
            return _Cells(abs(t.a) * f * one, abs(t.e) * f * one, math.copysign(1, t.a),
                          -math.copysign(1, t.e))
        ell = self.crs.ellipsoid
        a = ell.semi_major_metre
        e2 = 1 - (ell.semi_minor_metre / a) ** 2
        phi = np.radians(np.asarray(y, float))
        s2 = np.sin(phi) ** 2
        n = a / np.sqrt(1 - e2 * s2)                  # prime vertical radius
        m = a * (1 - e2) / (1 - e2 * s2) ** 1.5       # meridian radius
        deg = math.pi / 180
        return _Cells(abs(t.a) * deg * n * np.cos(phi), abs(t.e) * deg * m,
                      math.copysign(1, t.a), -math.copysign(1, t.e))


def _inside(col, row, dem: Dem) -> np.ndarray:
    return (col >= 0) & (col <= dem.width) & (row >= 0) & (row <= dem.height)


def open_dem(path: str | os.PathLike | None = None, band: int = 1) -> Dem:
    """Open the DEM at ``path`` (any GDAL raster or VRT), or the one named by
    ``$BIENMOC_DEM`` when ``path`` is None."""
    path = path if path is not None else os.environ.get(DEM_ENV)
    if not path:
        raise DemError(f"no DEM given: pass a path (--dem PATH) or set ${DEM_ENV}")
    p = Path(path).expanduser()
    if not p.exists() and not str(path).startswith(("/vsi", "http://", "https://")):
        raise DemError(f"no DEM at {path}")
    return Dem(p if p.exists() else path, band=band)


def _as_dem(dem) -> tuple[Dem, bool]:
    """(Dem, opened_here) for a Dem, a path or None ($BIENMOC_DEM)."""
    if isinstance(dem, Dem):
        return dem, False
    return open_dem(dem), True


def point_xy(data: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray, CRS]:
    """x, y and CRS of point features (a missing CRS is taken as EPSG:4326)."""
    import shapely

    gs = data.geometry if isinstance(data, gpd.GeoDataFrame) else data
    geoms = np.asarray(gs.values, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad |= ~bad & (shapely.get_type_id(np.where(bad, None, geoms)) != 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        from bienmoc.errors import Problem

        raise InvalidData([Problem(row, "geometry", "elevations need a point geometry")],
                          "points")
    xy = shapely.get_coordinates(geoms) if len(geoms) else np.empty((0, 2))
    return xy[:, 0], xy[:, 1], CRS.from_user_input(gs.crs or "EPSG:4326")


def elevations(data: gpd.GeoDataFrame, dem=None, method: str = "bilinear") -> gpd.GeoDataFrame:
    """``data`` (points, any CRS) with an ``elevation_m`` column from ``dem`` (a :class:`Dem`,
    a path, or None for ``$BIENMOC_DEM``); NaN where the DEM has no data."""
    d, opened = _as_dem(dem)
    try:
        x, y, crs = point_xy(data)
        out = data.copy()
        out["elevation_m"] = d.sample(x, y, crs=crs, method=method)
        return out
    finally:
        if opened:
            d.close()

