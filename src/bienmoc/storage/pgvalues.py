"""Values between pandas frames and PostgreSQL columns (the PostGIS store's rows in and out)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.model.schema import LAYERS, SCHEMAS, conform
from bienmoc.storage.pgconn import _EWKB

def _missing(v) -> bool:
    return v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v)))


def _converter(pgtype: str):
    """A function turning one pandas/Python value into what a column of ``pgtype`` takes."""
    if pgtype == "date":
        return lambda v: None if _missing(v) else pd.Timestamp(v).date()
    if pgtype.startswith("timestamp"):
        def ts(v):
            if _missing(v):
                return None
            t = pd.Timestamp(v)
            return (t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t).to_pydatetime()
        return ts
    if pgtype == "boolean":
        return lambda v: None if _missing(v) else bool(v)
    if pgtype == "bigint":
        return lambda v: None if _missing(v) else int(v)
    if pgtype == "double precision":
        return lambda v: None if _missing(v) else float(v)
    return lambda v: None if _missing(v) else (v if isinstance(v, str) else str(v))


def _column_values(values: pd.Series, pgtype: str) -> list:
    """What :func:`_converter` gives for each value, computed for the whole column (bulk
    writes: a converter call per value cost more than the COPY itself)."""
    missing = values.isna().to_numpy()
    try:
        if pgtype == "date":
            out = pd.to_datetime(values).dt.date.to_numpy(dtype=object)
        elif pgtype == "double precision":
            out = pd.to_numeric(values).to_numpy(dtype=float).astype(object)
        elif pgtype in ("bigint", "boolean") and values.dtype.kind in "iub" or str(
                values.dtype) in ("Int64", "boolean"):
            out = values.to_numpy(dtype=object)
            if pgtype == "boolean":
                out = np.array([v if v is None or isinstance(v, bool) else bool(v)
                                for v in out], dtype=object)
        elif pgtype == "text" and values.dtype == object:
            out = values.to_numpy(dtype=object)
            if not all(isinstance(v, str) for v in out[~missing]):
                raise TypeError("not all text")
        else:
            raise TypeError(pgtype)
    except (TypeError, ValueError, AttributeError):  # mixed content: value by value
        conv = _converter(pgtype)
        return [conv(v) for v in values.astype(object).tolist()]
    out = np.array(out, dtype=object)  # a writable copy (pandas may hand out a view)
    out[missing] = None
    return out.tolist()


_COPY_TYPES = {"date": "date", "boolean": "bool", "bigint": "int8",
               "double precision": "float8", "text": "text",
               "timestamp without time zone": "timestamp"}


def _geometries(values) -> list:
    arr = np.asarray(values, dtype=object)
    out: list = [None] * len(arr)
    have = ~shapely.is_missing(arr)
    if have.any():
        wkb = shapely.to_wkb(shapely.set_srid(arr[have], 4326), include_srid=True,
                             byte_order=1)
        for i, b in zip(np.flatnonzero(have), wkb):
            out[i] = _EWKB(b)
    return out


def _text(v):
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(v)
    return v if isinstance(v, str) else str(v)


_DTYPES = {"text": "object", "date": "datetime64[ms]", "bool": "boolean", "int": "Int64",
           "float": "float64"}


def _typed(layer: str, df: pd.DataFrame) -> bool:
    """Whether the columns read from PostgreSQL already have the canonical dtypes of
    :func:`conform` (the table's columns are typed from the schema), so that conform's
    column-by-column rebuild — 2/3 of the time of an API page of 100 features, the SQL being
    ~1 ms — can be skipped. Datetime fields (conform keeps Python datetimes) always conform."""
    for f in SCHEMAS[layer].fields:
        want = "object" if f.is_enum else _DTYPES.get(f.type)
        if want is None or f.name not in df.columns or str(df[f.name].dtype) != want:
            return False
    return True


def _canonical(layer: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame as :func:`conform` returns it, for frames :func:`_typed` accepts: the
    schema's column order, the geometry last (text columns hold str or None already)."""
    names = [f.name for f in SCHEMAS[layer].fields]
    return gpd.GeoDataFrame(gdf[names], geometry=gdf.geometry.values, crs="EPSG:4326")


def _frame(layer: str, rows: list, names: list[str], cols: dict[str, str], geo: bool):
    """The rows of a SELECT (fid, names..., WKB) as the canonical frame of ``layer``."""
    data = list(zip(*rows)) if rows else [()] * (1 + len(names) + geo)
    fids = np.asarray(data[0], dtype=np.int64)
    n = len(fids)
    frame = {}
    for k, c in enumerate(names):
        t, vals = cols[c], list(data[k + 1])
        if t == "date" or t.startswith("timestamp"):
            frame[c] = pd.Series(pd.to_datetime(pd.Series(vals, dtype=object)),
                                 dtype="datetime64[ms]")
        elif t == "boolean":
            frame[c] = pd.Series(vals, dtype="boolean")
        elif t == "bigint":
            frame[c] = pd.Series(vals, dtype="Int64")
        elif t == "double precision":
            frame[c] = pd.Series([np.nan if v is None else v for v in vals], dtype="float64")
        else:
            frame[c] = pd.Series(vals, dtype=object)
    df = pd.DataFrame(frame, index=pd.RangeIndex(n))
    if layer in LAYERS:
        geoms = shapely.from_wkb(np.array(data[-1], dtype=object)) if geo and n else \
            np.full(n, None, dtype=object)
        gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS).values,
                               crs=STORAGE_CRS)
        return (_canonical(layer, gdf) if _typed(layer, df) else conform(layer, gdf)), fids
    if not geo:
        return df, fids
    geoms = shapely.from_wkb(np.array(data[-1], dtype=object)) if n else \
        np.empty(0, dtype=object)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS).values,
                            crs=STORAGE_CRS), fids


def _small_cell(pgtype: str):
    """:func:`_converter` for JSON: dates and timestamps as ISO text (what the column's input
    function reads back exactly), the rest as Python scalars."""
    if pgtype == "date":
        return lambda v: (v if isinstance(v, pd.Timestamp) else pd.Timestamp(v)
                          ).date().isoformat()
    if pgtype.startswith("timestamp"):
        conv = _converter(pgtype)
        return lambda v: conv(v).isoformat()
    if pgtype == "boolean":
        return bool
    if pgtype == "bigint":
        return int
    if pgtype == "double precision":
        return float
    return lambda v: v if type(v) is str else str(v)


def _json_rows(data, names: list[str], cols: dict[str, str], ids: list | None,
               gname: str | None) -> str:
    """The rows of ``data`` (columns ``names``, the geometry ``gname`` as hex EWKB) as one JSON
    array of objects, for ``json_populate_recordset`` (a small batch: one parameter, one
    constant statement per layer and column set, so psycopg and the server reuse its plan).

    Hand-written rather than :func:`_column_values`: for a few rows pandas' per-column
    overhead (a Series per column, isna, to_numpy: ~40 us each) was most of an insert's CPU;
    here the frame becomes one object array (one pandas call) and each cell one Python step.
    Values are typed as :func:`_converter` types them (a missing value: JSON null, which the
    column reads as NULL). Raises ValueError for a value JSON cannot carry (inf): the caller
    then takes the general path."""
    import json

    arr = data.to_numpy(dtype=object)
    pos = {c: i for i, c in enumerate(data.columns)}
    missing = pd.isna(arr)
    out_cols = []
    for c in names:
        j = pos[c]
        col, miss = arr[:, j], missing[:, j]
        if c == "id" and ids is not None:
            out_cols.append(list(ids))
            continue
        conv = _small_cell(cols[c])
        out_cols.append([None if m else conv(v) for v, m in zip(col.tolist(), miss.tolist())])
    keys = list(names)
    if gname is not None:
        g = np.asarray(arr[:, pos[gname]], dtype=object)
        have = ~shapely.is_missing(g)
        hexes = np.full(len(g), None, dtype=object)
        if have.any():
            hexes[have] = shapely.to_wkb(shapely.set_srid(g[have], 4326), hex=True,
                                         include_srid=True, byte_order=1)
        keys.append("geom")
        out_cols.append(hexes.tolist())
    rows = [dict(zip(keys, r)) for r in zip(*out_cols)]
    return json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
