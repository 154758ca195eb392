"""Small frames built cheaply: the write path's GeoDataFrames of 1-16 records.

An API batch builds a few frames of a handful of rows. Through the public constructors
(``GeoDataFrame(dict, geometry=..., crs=...)``) each costs 0.2-0.8 ms whatever the rows: pandas
aligns every column's index, infers an Arrow string dtype for object columns (pandas 3) and
geopandas re-checks the geometry and CRS. :func:`geo_frame` takes columns that already have
their final dtype (object arrays, float arrays, pandas extension arrays) and builds the frame
from them as they are, through the same internal constructors pandas and geopandas use for
their own results (``DataFrame._from_arrays``, ``GeoDataFrame._from_mgr``): ~40 µs for 15
columns. Where those internals are missing, the public constructors are used instead (same
frame, slower); tests/test_frames.py compares both and checks that the fast path runs here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import geopandas as gpd
from geopandas.array import GeometryArray, from_shapely

__all__ = ["geo_frame", "column_array", "object_columns"]


def column_array(values, dtype=object):
    """``values`` (a list, array or Series) as a 1-D array of ``dtype`` without inference:
    object stays object (pandas 3 would make text an Arrow string column)."""
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=dtype)
    if dtype is object:
        if isinstance(values, np.ndarray) and values.dtype == object:
            return values
        out = np.empty(len(values), dtype=object)
        out[:] = list(values) if not isinstance(values, np.ndarray) else values
        return out
    return values


#: whether this pandas/geopandas has the internal constructors :func:`geo_frame` uses (else
#: it builds through the public ones; tests/test_frames.py checks which one runs)
FAST = hasattr(pd.DataFrame, "_from_arrays") and hasattr(gpd.GeoDataFrame, "_from_mgr")

_LABELS: dict[tuple, pd.Index] = {}


def _labels(names: tuple) -> pd.Index:
    """The column Index of ``names``, made once (an Index is immutable, so frames share it;
    building one infers its string dtype: ~0.25 ms)."""
    got = _LABELS.get(names)
    if got is None:
        if len(_LABELS) > 64:
            _LABELS.clear()
        got = _LABELS[names] = pd.Index(list(names))
    return got


def _public(columns: dict, geometry: GeometryArray, geometry_name: str, index):
    df = pd.DataFrame({k: pd.Series(v, index=index, copy=False) if isinstance(v, np.ndarray)
                       and v.dtype == object else v for k, v in columns.items()},
                      index=index)
    for k, v in columns.items():  # object columns stay object (no string inference)
        if isinstance(v, np.ndarray) and v.dtype == object and df[k].dtype != object:
            df[k] = pd.Series(v, index=index, dtype=object)
    df[geometry_name] = geometry
    return gpd.GeoDataFrame(df, geometry=geometry_name, crs=geometry.crs)


def geo_frame(columns: dict, geometry, crs, *, index=None,
              geometry_name: str = "geometry") -> gpd.GeoDataFrame:
    """A GeoDataFrame of ``columns`` (name -> array of its final dtype; lists become object
    arrays) and ``geometry`` (shapely objects or a GeometryArray) in ``crs``, the geometry
    column last."""
    geom = geometry if isinstance(geometry, GeometryArray) else from_shapely(
        np.asarray(geometry, dtype=object), crs=crs)
    if crs is not None and geom.crs is None:
        geom = GeometryArray(geom._data, crs=crs)
    n = len(geom)
    cols = {}
    for k, v in columns.items():
        if k == geometry_name:
            continue
        if isinstance(v, pd.Series):
            v = v.array if isinstance(v.dtype, pd.api.extensions.ExtensionDtype) \
                else v.to_numpy()
        elif not isinstance(v, (np.ndarray, pd.api.extensions.ExtensionArray)):
            v = column_array(v)
        if v.ndim != 1 or len(v) != n:
            raise ValueError(f"column {k!r} has {len(v)} values for {n} geometries")
        cols[k] = v
    index = pd.RangeIndex(n) if index is None else index
    if not FAST:  # pragma: no cover - pandas/geopandas without these internals
        return _public(cols, geom, geometry_name, index)
    df = pd.DataFrame._from_arrays([*cols.values(), geom],
                                   columns=_labels((*cols, geometry_name)), index=index,
                                   verify_integrity=False)
    gdf = gpd.GeoDataFrame._from_mgr(df._mgr, df._mgr.axes)
    gdf._geometry_column_name = geometry_name
    return gdf


def object_columns(data: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every column of ``data`` as an object array (the geometry's as shapely objects), read
    in one conversion (``to_numpy``: ~10 µs for a small frame, where 15 ``data[c]`` cost
    ~0.2 ms). A repeated column name keeps its first column."""
    arr = data.to_numpy(dtype=object)
    out: dict[str, np.ndarray] = {}
    for j, c in enumerate(data.columns):
        out.setdefault(c, arr[:, j])
    return out
