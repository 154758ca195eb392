"""Coordinate reference systems: storage in EPSG:4326, measurement in a metric CRS.

Lengths and distances are never computed in degrees. The default metric CRS is the WGS 84 UTM
zone holding the data's centre (48N, EPSG:32648, for 102-108 °E; 49N, EPSG:32649, for
108-114 °E); users may pass any projected CRS instead, e.g. a VN-2000 one (EPSG:3405 VN-2000 /
UTM 48N, or a provincial TM-3 zone such as EPSG:9206), but only one whose scale error over the
data stays within :data:`MAX_SCALE_ERROR` (0.1 %): Web Mercator (7 % too long at 21 °N) or a
UTM zone far from the data's meridian is refused with a message naming a suitable CRS.
Transformations always go through pyproj between EPSG codes (never proj4 strings, which drop
the VN-2000 datum shift).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Proj

from bienmoc.errors import InvalidData

__all__ = ["STORAGE_CRS", "MAX_SCALE_ERROR", "metric_crs", "to_metric", "check_metric",
           "scale_error", "utm_crs", "is_vn2000", "crs_code", "parse_crs"]

#: Every layer is stored in WGS 84 longitude/latitude.
STORAGE_CRS = CRS.from_epsg(4326)
#: Largest relative scale error (|k - 1|) a metric CRS may have anywhere over the data.
MAX_SCALE_ERROR = 0.001
_SAMPLE = 2000  # coordinates sampled to bound the scale error (evenly over the data)


def parse_crs(value: object) -> CRS:
    """A CRS given by a user (``EPSG:9206``, ``9206``, a pyproj CRS...) as :class:`CRS`.

    PROJ strings (``+proj=utm ...``) are refused: they carry no datum transformation, so
    VN-2000 coordinates would land about 200 m off.
    """
    if isinstance(value, CRS):
        return value
    if isinstance(value, str) and value.strip().startswith("+"):
        raise InvalidData(f"CRS {value!r} is a PROJ string, which drops datum shifts: give an "
                          "EPSG code, e.g. EPSG:9206 for VN-2000 / TM-3 104°")
    try:
        return CRS.from_user_input(int(value) if str(value).strip().isdigit() else value)
    except Exception as e:  # pyproj.exceptions.CRSError
        raise InvalidData(f"unknown CRS {value!r}: {e}") from None


def crs_code(crs: CRS) -> str:
    """``EPSG:nnnn`` when the CRS has an EPSG code, else its name."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def is_vn2000(crs: object | None) -> bool:
    """Whether ``crs`` is a projected VN-2000 system (UTM or TM-3 zone on the VN-2000 datum)."""
    if crs is None:
        return False
    c = CRS.from_user_input(crs)
    datum = c.geodetic_crs.datum.name if c.geodetic_crs is not None else ""
    return c.is_projected and datum == "Vietnam 2000"


def _lonlat(data) -> np.ndarray:
    """Up to :data:`_SAMPLE` lon/lat coordinates of ``data``, evenly spread over its vertices."""
    geo = data.to_crs(STORAGE_CRS) if data.crs is not None and not data.crs.equals(
        STORAGE_CRS) else data
    geoms = np.asarray(geo.geometry.values if isinstance(geo, gpd.GeoDataFrame) else geo.values,
                       dtype=object)
    geoms = geoms[~shapely.is_missing(geoms)]
    xy = shapely.get_coordinates(geoms)
    if len(xy) > _SAMPLE:
        xy = xy[np.linspace(0, len(xy) - 1, _SAMPLE).astype(int)]
    return xy


def scale_error(crs: object, lonlat: np.ndarray) -> float:
    """Largest |k - 1| of ``crs`` (meridional or parallel scale) at the lon/lat points.

    Uses PROJ's own projection factors (:meth:`pyproj.Proj.get_factors`), so it holds for any
    projection PROJ knows (transverse Mercator, Mercator, Lambert...).
    """
    lonlat = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    if len(lonlat) == 0:
        return 0.0
    f = Proj(CRS.from_user_input(crs)).get_factors(lonlat[:, 0], lonlat[:, 1])
    k = np.concatenate([np.asarray(f.meridional_scale), np.asarray(f.parallel_scale)])
    k = k[np.isfinite(k)]
    return float(np.abs(k - 1).max()) if len(k) else float("inf")


def utm_crs(lon: float, lat: float = 15.0) -> CRS:
    """The WGS 84 UTM zone holding ``lon``/``lat`` (zones are 6° wide from 180 °W)."""
    zone = int(np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60))
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _default(lonlat: np.ndarray) -> CRS:
    if len(lonlat) == 0:
        return CRS.from_epsg(32648)  # Vietnam's western half, where most of the border runs
    xmin, ymin = lonlat.min(axis=0)
    xmax, ymax = lonlat.max(axis=0)
    return utm_crs((xmin + xmax) / 2, (ymin + ymax) / 2)


def check_metric(crs: object, data: gpd.GeoDataFrame | gpd.GeoSeries | None = None) -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS`, refusing degree systems and, when ``data`` is
    given, a CRS whose scale error over the data exceeds :data:`MAX_SCALE_ERROR`."""
    c = parse_crs(crs)
    if not c.is_projected:
        raise InvalidData(f"CRS {crs_code(c)} is not projected: distances need metres")
    unit = c.axis_info[0].unit_name if c.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise InvalidData(f"CRS {crs_code(c)} measures in {unit}, not metres")
    if data is not None and len(data):
        xy = _lonlat(data)
        err = scale_error(c, xy)
        if err > MAX_SCALE_ERROR:
            good = _default(xy)
            raise InvalidData(
                f"CRS {crs_code(c)} distorts distances by up to {err * 100:.2f} % over the data "
                f"(limit {MAX_SCALE_ERROR * 100:g} %): use {crs_code(good)} ({good.name}) or "
                "the VN-2000 zone of the province instead")
    return c


def metric_crs(data: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
               crs: object | None = None) -> CRS:
    """The metric CRS to measure ``data`` in: ``crs`` if given (checked against the data's
    scale error), else the UTM zone of the data's centre (EPSG:32648 without data)."""
    if crs is not None:
        return check_metric(crs, data)
    if data is None or not len(data):
        return CRS.from_epsg(32648)
    return _default(_lonlat(data))


def to_metric(data, crs: object | None = None):
    """Project a GeoDataFrame/GeoSeries to :func:`metric_crs` (or ``crs``)."""
    return data.to_crs(metric_crs(data, crs))
