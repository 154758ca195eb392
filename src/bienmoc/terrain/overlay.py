"""Hillshade and slope-class images of a lon/lat box, for map overlays (no tile server).

:func:`overlay_png` renders ``width`` x ``height`` pixels covering ``bbox`` (lon/lat). The
pixel grid is regular in Web Mercator (EPSG:3857), the projection of the web maps, so a
Leaflet ``imageOverlay`` stretched over the box puts every pixel where it belongs. Each pixel
takes the value of the DEM cell under its centre (nearest): the DEM window under the box is
read once (decimated by averaging when it has many more cells than the image has pixels), its
hillshade (:func:`bienmoc.terrain.slope.hillshade_grid`, as gdaldem) or slope
(:func:`bienmoc.terrain.slope.slope_grid`, in ground metres) computed, then looked up.
Slope classes are those of the landslide factors (:data:`bienmoc.terrain.factors.CLASS_EDGES`).
Where the DEM has no data the image is transparent.
"""
from __future__ import annotations

import io
import math

import numpy as np
from pyproj import Transformer

from bienmoc.errors import InvalidData
from bienmoc.maps.style import SLOPE_CLASS_COLOURS as _STYLE_SLOPE
from bienmoc.terrain.dem import _as_dem
from bienmoc.terrain.factors import CLASS_EDGES

__all__ = ["overlay_rgba", "overlay_png", "SLOPE_CLASS_COLOURS", "KINDS", "MAX_PIXELS"]

KINDS = ("hillshade", "slope")
#: Slope classes (<10, 10-20, 20-30, 30-40, >=40 °) from green to red (the maps' legend).
SLOPE_CLASS_COLOURS = tuple(_STYLE_SLOPE.values())
HILLSHADE_ALPHA = 150
SLOPE_ALPHA = 140
MAX_PIXELS = 4096 * 4096

_TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
_FROM_MERC = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def overlay_rgba(dem, bbox, width: int, height: int, kind: str = "hillshade") -> np.ndarray:
    """RGBA array (height, width, 4) of ``kind`` over ``bbox`` = (min lon, min lat, max lon,
    max lat)."""
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    if kind not in KINDS:
        raise InvalidData(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    x0, y0, x1, y1 = (float(v) for v in bbox)
    if not (x0 < x1 and y0 < y1 and -180 <= x0 and x1 <= 180 and -85 <= y0 and y1 <= 85):
        raise InvalidData(f"bbox must be min lon, min lat, max lon, max lat; got {bbox}")
    if not (1 <= width and 1 <= height and width * height <= MAX_PIXELS):
        raise InvalidData(f"width x height must be 1 to {MAX_PIXELS} pixels")
    d, opened = _as_dem(dem)
    try:
        mx0, my0 = _TO_MERC.transform(x0, y0)
        mx1, my1 = _TO_MERC.transform(x1, y1)
        px = mx0 + (np.arange(width) + 0.5) / width * (mx1 - mx0)
        py = my1 - (np.arange(height) + 0.5) / height * (my1 - my0)   # row 0 north
        gx, gy = np.meshgrid(px, py)
        lon, lat = _FROM_MERC.transform(gx, gy)
        dx, dy = d.to_dem_xy(lon, lat, "EPSG:4326")
        col, row = d.pixel(dx, dy)
        ok = np.isfinite(col) & np.isfinite(row)
        out = np.zeros((height, width, 4), np.uint8)
        if not ok.any():
            return out
        c0 = int(max(math.floor(np.nanmin(col[ok])) - 2, 0))
        r0 = int(max(math.floor(np.nanmin(row[ok])) - 2, 0))
        c1 = int(min(math.ceil(np.nanmax(col[ok])) + 2, d.width))
        r1 = int(min(math.ceil(np.nanmax(row[ok])) + 2, d.height))
        if c0 >= c1 or r0 >= r1:
            return out
        # decimate (average) when the window has far more cells than the image has pixels
        f = max(int(math.floor(math.sqrt((c1 - c0) * (r1 - r0) / (4.0 * width * height)))), 1)
        shape = (max((r1 - r0) // f, 3), max((c1 - c0) // f, 3))
        data = d._ds.read(d.band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True,
                          out_shape=shape, resampling=Resampling.average)
        d.reads += 1
        z = np.ma.filled(data.astype(np.float64), np.nan)
        fr, fc = (r1 - r0) / shape[0], (c1 - c0) / shape[1]      # DEM cells per array cell
        t = d.transform
        ys = t.f + (r0 + (np.arange(shape[0]) + 0.5) * fr) * t.e
        xs = np.full(shape[0], t.c + (c0 + (c1 - c0) / 2) * t.a)
        cells = d.cells_at(xs, ys)
        args = (cells.dx_m * fc, cells.dy_m * fr)
        signs = dict(east_sign=cells.east_sign, north_sign=cells.north_sign)
        if kind == "hillshade":
            from bienmoc.terrain.slope import hillshade_grid

            v = hillshade_grid(z, *args, **signs)
        else:
            from bienmoc.terrain.slope import slope_grid

            v, _ = slope_grid(z, *args, **signs)
        ai = np.clip(np.floor((row - r0) / fr), 0, shape[0] - 1)
        aj = np.clip(np.floor((col - c0) / fc), 0, shape[1] - 1)
        inside = ok & (row >= 0) & (row < d.height) & (col >= 0) & (col < d.width)
        val = np.where(inside, v[np.where(ok, ai, 0).astype(int), np.where(ok, aj, 0)
                                  .astype(int)], np.nan)
    finally:
        if opened:
            d.close()
    good = np.isfinite(val)
    if kind == "hillshade":
        g = np.clip(np.round(np.nan_to_num(val)), 0, 255).astype(np.uint8)
        out[..., 0] = out[..., 1] = out[..., 2] = g
        out[..., 3] = np.where(good, HILLSHADE_ALPHA, 0)
    else:
        cls = np.searchsorted(np.asarray(CLASS_EDGES["slope_deg"]), np.nan_to_num(val),
                              side="right")
        pal = np.array([_rgb(c) for c in SLOPE_CLASS_COLOURS], np.uint8)
        out[..., :3] = pal[cls]
        out[..., 3] = np.where(good, SLOPE_ALPHA, 0)
    out[~good, :3] = 0
    return out


def overlay_png(dem, bbox, width: int, height: int, kind: str = "hillshade") -> bytes:
    """PNG bytes of :func:`overlay_rgba`."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(overlay_rgba(dem, bbox, width, height, kind), "RGBA").save(
        buf, format="PNG", optimize=False)
    return buf.getvalue()
