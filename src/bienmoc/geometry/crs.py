"""Coordinate reference systems: storage in EPSG:4326, measurement in a metric CRS.

Lengths and distances are never computed in degrees. The default metric CRS is the WGS 84 UTM
zone (48N, EPSG:32648, or 49N, EPSG:32649) holding the data's centre; users may pass any
projected CRS instead, e.g. a VN-2000 one (EPSG:3405 VN-2000 / UTM 48N, or a provincial TM-3
zone such as EPSG:9206). Transformations always go through pyproj between EPSG codes (never
proj4 strings, which drop the VN-2000 datum shift).
"""
from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from bienmoc.errors import InvalidData

__all__ = ["STORAGE_CRS", "metric_crs", "to_metric", "check_metric"]

#: Every layer is stored in WGS 84 longitude/latitude.
STORAGE_CRS = CRS.from_epsg(4326)


def check_metric(crs: object) -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS`, refusing geographic (degree) systems."""
    c = CRS.from_user_input(crs)
    if not c.is_projected:
        raise InvalidData(f"CRS {c.to_string()} is not projected: distances need metres")
    unit = c.axis_info[0].unit_name if c.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise InvalidData(f"CRS {c.to_string()} measures in {unit}, not metres")
    return c


def metric_crs(data: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
               crs: object | None = None) -> CRS:
    """The metric CRS to measure ``data`` in: ``crs`` if given, else its UTM 48N/49N zone."""
    if crs is not None:
        return check_metric(crs)
    lon = 105.0
    if data is not None and len(data):
        geo = data.to_crs(STORAGE_CRS) if data.crs is not None and not data.crs.equals(
            STORAGE_CRS) else data
        xmin, _, xmax, _ = geo.total_bounds
        lon = (xmin + xmax) / 2
    return CRS.from_epsg(32649 if lon >= 108.0 else 32648)


def to_metric(data, crs: object | None = None):
    """Project a GeoDataFrame/GeoSeries to :func:`metric_crs` (or ``crs``)."""
    return data.to_crs(metric_crs(data, crs))
