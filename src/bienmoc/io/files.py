"""Reading files: GeoJSON, GeoPackage, Shapefile (a .shp or a zip of them), CSV and XLSX.

All geospatial formats go through pyogrio; CSV goes through pandas and XLSX through openpyxl,
so that cells stay as written until :func:`bienmoc.model.schema.validate` parses them and
reports every bad value. Writing lives in :mod:`bienmoc.io.write` (re-exported here).

* :func:`read_source` - a file as raw records (+ their 1-based row numbers), in EPSG:4326.
* :func:`import_layer` - read, validate against the store, write atomically (all or nothing).
* :func:`export_layer` - write a layer to a path or a binary stream in any supported format.

Coordinates in tables (CSV/XLSX): ``lon``/``lat`` columns, or ``x``/``y`` in the CRS given as
``crs`` (``xy="northing,easting"`` reads them the Vietnamese survey way, X = northing), or a
``wkt`` column. Markers read from a VN-2000 projected CRS keep their surveyed coordinates in
``vn2000_n``/``vn2000_e``/``vn2000_crs`` (unless the file states them already).
"""
from __future__ import annotations

import io as _io
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from bienmoc.errors import InvalidData, Problem
from bienmoc.geometry.crs import STORAGE_CRS, crs_code, is_vn2000, parse_crs
from bienmoc.io.write import (EXPORT_FORMATS, export_layer, to_display, unescape_cell,
                              write_xlsx)
from bienmoc.model.schema import REGION_BOUNDS, SCHEMAS

__all__ = ["read_source", "import_layer", "export_layer", "EXPORT_FORMATS", "IMPORT_FORMATS",
           "format_from_path", "to_display", "write_xlsx", "XY_ORDERS"]

IMPORT_FORMATS = ("geojson", "gpkg", "shp", "csv", "xlsx")
#: Orders of x/y columns: GIS (x = easting) or Vietnamese survey sheets (X = northing).
XY_ORDERS = ("easting,northing", "northing,easting")
_EXT = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp",
        ".zip": "shp", ".csv": "csv", ".xlsx": "xlsx"}
_LON = ("lon", "lng", "long", "longitude", "kinh_do", "kinh độ")
_LAT = ("lat", "latitude", "vi_do", "vĩ độ")
_X = ("x",)
_Y = ("y",)
_WKT = ("wkt", "geometry", "geom")
# GDAL writes a date-time into a DBF text field as 2004/06/22 00:00:00 (bienmoc < 0.x did)
_DBF_DATETIME = re.compile(r"^(\d{4})/(\d{2})/(\d{2})(?: 00:00:00)?$")


def format_from_path(path: str | os.PathLike) -> str:
    """Guess the format from a file name (``.geojson``, ``.gpkg``, ``.shp``/``.zip``...)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _EXT:
        raise InvalidData(f"cannot tell the format of {path}: use one of "
                          f"{', '.join(sorted(_EXT))}")
    return _EXT[suffix]


# -- reading -----------------------------------------------------------------------------

def _rename_known(df: pd.DataFrame, kind: str | None) -> pd.DataFrame:
    """Map Vietnamese/English header labels and Shapefile-truncated names to field codes."""
    if kind is None:
        return df
    fields = SCHEMAS[kind].fields
    mapping = {}
    for col in df.columns:
        if not isinstance(col, str) or col in SCHEMAS[kind].columns:
            continue
        key = col.strip().casefold()
        hits = [f.name for f in fields if key in (f.vi.casefold(), f.en.casefold(),
                                                   f.name.casefold())]
        if not hits and len(col) == 10:  # DBF field names are cut at 10 characters
            hits = [f.name for f in fields if f.name.startswith(col)]
        if len(hits) == 1:
            mapping[col] = hits[0]
    return df.rename(columns=mapping)


def _decode(raw: bytes, path: Path, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InvalidData(Problem(
            None, None,
            f"{path.name} is not valid {encoding} (byte 0x{raw[e.start]:02x} at line {line}); "
            "save it as UTF-8 (Excel: 'CSV UTF-8') or pass --encoding, e.g. cp1258 for "
            "Windows Vietnamese")) from None


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InvalidData(Problem(None, None, f"{path.name} is empty"))
    enc = encoding or "utf-8"
    text = _decode(raw, path, "utf-8-sig" if enc.replace("_", "-").lower() in
                   ("utf-8", "utf8") else enc)
    sep = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    # cells bienmoc's export protected against formula injection get their text back
    return df.map(unescape_cell) if len(df) else df


def _read_csv_arrow(path: Path, encoding: str | None) -> pd.DataFrame | None:
    """:func:`_read_csv` by ``pyarrow.csv`` (multi-threaded, for millions of rows): the same
    table of text cells, or None for anything it does not read the same way (another
    encoding, ragged rows, duplicate headers...), which the pandas reader then handles."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if encoding is not None and encoding.replace("_", "-").lower() not in ("utf-8", "utf8"):
        return None
    with open(path, "rb") as fh:
        head = fh.read(1 << 16).decode("utf-8-sig", errors="ignore")
    if not head.strip():
        return None
    line = head.splitlines()[0]
    sep = ";" if line.count(";") > line.count(",") else ","
    names = next(csv.reader([line], delimiter=sep))
    if len(set(names)) != len(names) or "" in names:
        return None
    try:
        table = pacsv.read_csv(path, pacsv.ReadOptions(encoding="utf8"),
                               pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                               pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                    strings_can_be_null=False,
                                                    quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError):
        return None
    if table.column_names != names or any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype(na_value=np.nan)}.get)
    for col in df.columns:  # cells bienmoc's export protected against formula injection
        if len(df) and pc.any(pc.match_substring_regex(table[col], "^'[=+\\-@\\t\\r']")).as_py():
            df[col] = df[col].map(unescape_cell)
    return df


def _points_fast(xs: pd.Series, ys: pd.Series, north_first: bool) -> np.ndarray | None:
    """The points of two text columns of coordinates, column-wise (Arrow's correctly rounded
    number parsing, as ``float``); None when a cell needs the row-wise path (blank on one side
    only, not a number, not finite), which then reports it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (isinstance(xs.dtype, pd.StringDtype) and isinstance(ys.dtype, pd.StringDtype)):
        return None
    ax, ay = (pc.utf8_trim_whitespace(pa.array(s, from_pandas=True)) for s in (xs, ys))
    if ax.null_count or ay.null_count:
        return None
    bx, by = pc.equal(ax, ""), pc.equal(ay, "")
    if not pc.all(pc.equal(bx, by)).as_py():
        return None
    try:
        x, y = (pc.cast(pc.replace_substring(pc.if_else(bx, "0", a), ",", "."), pa.float64())
                .to_numpy(zero_copy_only=False) for a in (ax, ay))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    geoms = shapely.points(y, x) if north_first else shapely.points(x, y)
    geoms[bx.to_numpy(zero_copy_only=False)] = None
    return geoms


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    """The first (or the named) sheet as a table of cell values: text, numbers and dates as
    Excel stores them; formulas are never evaluated (their cached value is read)."""
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise InvalidData(Problem(None, None, f"cannot read {path.name}: {e}")) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InvalidData(Problem(None, None, f"{path.name} has no sheet {sheet!r}; it has "
                                      f"{', '.join(wb.sheetnames)}"))
        rows = list(wb[sheet or wb.sheetnames[0]].iter_rows(values_only=True))
    finally:
        wb.close()
    rows = [r for r in rows if any(v is not None and str(v).strip() != "" for v in r)]
    if not rows:
        raise InvalidData(Problem(None, None, f"{path.name} is empty"))
    header = ["" if v is None else str(v).strip() for v in rows[0]]
    keep = [i for i, h in enumerate(header) if h]
    body = [[r[i] if i < len(r) else None for i in keep] for r in rows[1:]]
    return pd.DataFrame(body, columns=[header[i] for i in keep], dtype=object)


def _number(v: object) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return float(str(v).strip().replace(",", "."))


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""


def _in_region(g: gpd.GeoSeries) -> np.ndarray:
    xmin, ymin, xmax, ymax = REGION_BOUNDS
    x, y = g.x.to_numpy(), g.y.to_numpy()
    return (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)


def _swapped_xy(geoms: np.ndarray, crs: object, xcol: str, ycol: str, xy: str) -> list[Problem]:
    """Rows whose x/y fall outside the border region as read but inside it swapped."""
    ok = ~shapely.is_missing(geoms)
    if not ok.any():
        return []
    pts = gpd.GeoSeries(geoms[ok], crs=crs)
    swap = gpd.GeoSeries(shapely.points(pts.y.to_numpy(), pts.x.to_numpy()), crs=crs)
    bad = ~_in_region(pts.to_crs(STORAGE_CRS)) & _in_region(swap.to_crs(STORAGE_CRS))
    other = XY_ORDERS[1] if xy == XY_ORDERS[0] else XY_ORDERS[0]
    rows = np.flatnonzero(ok)[bad] + 1
    code = crs_code(CRS.from_user_input(crs))
    return [Problem(int(r), f"{xcol}/{ycol}", f"coordinates lie outside the border region as "
                    f"{xy} in {code} but inside it as {other}: Vietnamese survey sheets write "
                    f"X = northing, Y = easting; pass --xy {other}") for r in rows]


def _table_frame(df: pd.DataFrame, name: str, crs: object | None, kind: str | None,
                 xy: str, fast: bool = False) -> gpd.GeoDataFrame:
    """A table's coordinate columns (lon/lat, x/y or WKT) as the geometry of a GeoDataFrame."""
    if df.empty:
        raise InvalidData(Problem(None, None, f"{name} has a header but no rows"))
    if xy not in XY_ORDERS:
        raise InvalidData(f"unknown --xy order {xy!r}; expected {' or '.join(XY_ORDERS)}")
    lower = {str(c).strip().casefold(): c for c in df.columns}
    pick = lambda names: next((lower[n] for n in names if n in lower), None)  # noqa: E731
    xcol, ycol = pick(_LON), pick(_LAT)
    projected = False
    if xcol is None or ycol is None:
        xcol, ycol = pick(_X), pick(_Y)
        projected = xcol is not None and ycol is not None
    wcol = pick(_WKT)
    problems: list[Problem] = []
    geoms = np.full(len(df), None, dtype=object)
    if xcol is not None and ycol is not None:
        north_first = projected and xy == XY_ORDERS[1]
        got = _points_fast(df[xcol], df[ycol], north_first) if fast else None
        if got is not None:
            geoms = got
        for i, (xs, ys) in enumerate([] if got is not None else zip(df[xcol], df[ycol])):
            if _blank(xs) and _blank(ys):
                continue
            try:
                a, b = _number(xs), _number(ys)
            except ValueError:
                problems.append(Problem(i + 1, f"{xcol}/{ycol}",
                                        f"coordinates {xs!r}, {ys!r} are not numbers"))
                continue
            geoms[i] = shapely.Point(b, a) if north_first else shapely.Point(a, b)
        df = df.drop(columns=[xcol, ycol])
    elif wcol is not None:
        for i, w in enumerate(df[wcol]):
            if _blank(w):
                continue
            try:
                geoms[i] = shapely.from_wkt(str(w))
            except shapely.errors.GEOSException as e:
                problems.append(Problem(i + 1, wcol, f"not WKT geometry: {e}"))
        df = df.drop(columns=[wcol])
    elif kind is None or SCHEMAS[kind].geometry_required:
        raise InvalidData(Problem(None, "geometry", f"{name} has no coordinate columns: "
                                  "give lon/lat (or x/y with --crs) or a WKT column"))
    if problems:
        raise InvalidData(problems)
    if projected and crs is not None:
        problems = _swapped_xy(geoms, crs, xcol, ycol, xy)
        if problems:
            raise InvalidData(problems)
    if projected and crs is None:
        source_crs = None  # x/y read as lon/lat; validation flags projected-looking values
    else:
        source_crs = crs if crs is not None else STORAGE_CRS
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=source_crs))


def _read_geo(path: Path, fmt: str, encoding: str | None, layer: str | None,
              arrow: bool = False) -> gpd.GeoDataFrame:
    """A geospatial file through pyogrio; a zip holding several Shapefiles (a mixed layer as
    bienmoc exports it) is read whole, its files one after the other."""
    if path.stat().st_size == 0:
        raise InvalidData(Problem(None, None, f"{path.name} is empty"))
    src = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        layers = [layer] if layer is not None or fmt != "shp" else \
            [str(n) for n in pyogrio.list_layers(src)[:, 0]]
        frames = [(_read_arrow(src, name, encoding) if arrow and fmt != "shp" else None)
                  for name in (layers or [None])]
        frames = [f if f is not None else
                  pyogrio.read_dataframe(src, layer=name, encoding=encoding, use_arrow=arrow)
                  for f, name in zip(frames, layers or [None])]
    except InvalidData:
        raise
    except Exception as e:  # pyogrio.errors.DataSourceError etc.
        raise InvalidData(Problem(None, None, f"cannot read {path.name}: {e}")) from None
    frames = [f for f in frames if len(f)] or frames[:1]
    crss = {f.crs.to_wkt() if f.crs is not None else None for f in frames}
    if len(crss) > 1:
        raise InvalidData(Problem(None, None, f"the Shapefiles in {path.name} are in different "
                                  "CRSs; import them one by one (--layer)"))
    gdf = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    if fmt == "shp":  # text a DBF holds for dates written as date-times by GDAL
        for col in gdf.columns:
            if col != gdf.geometry.name and not pd.api.types.is_numeric_dtype(gdf[col]) and \
                    not pd.api.types.is_datetime64_any_dtype(gdf[col]):
                gdf[col] = [(lambda m: f"{m[1]}-{m[2]}-{m[3]}" if m else v)(
                    _DBF_DATETIME.match(v) if isinstance(v, str) else None) for v in gdf[col]]
    return gdf


def _read_arrow(src: str, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame | None:
    """``pyogrio.read_dataframe(..., use_arrow=True)`` for millions of rows: the same frame,
    with the WKB decoded in threads (shapely releases the GIL) and text columns kept as Arrow
    strings; None when the layer has no single WKB geometry column (pyogrio then reads it)."""
    import pyarrow as pa

    from bienmoc.geometry.linear import split_run

    meta, table = pyogrio.read_arrow(src, layer=layer, encoding=encoding)
    gname = meta.get("geometry_name") or "wkb_geometry"
    if gname not in table.column_names:
        return None
    wkb = table.column(gname).combine_chunks()
    if not (pa.types.is_binary(wkb.type) or pa.types.is_large_binary(wkb.type) or
            pa.types.is_binary(getattr(wkb.type, "storage_type", None)) or
            pa.types.is_large_binary(getattr(wkb.type, "storage_type", None))):
        return None
    if isinstance(wkb, pa.ExtensionArray):
        wkb = wkb.storage
    geoms = _wkb_points(wkb)
    if geoms is None:
        raw = wkb.to_numpy(zero_copy_only=False)
        geoms = np.concatenate(split_run(lambda a, b: shapely.from_wkb(raw[a:b]), len(raw)))
    strings = pd.StringDtype(na_value=np.nan)
    df = table.drop_columns([gname]).to_pandas(
        types_mapper={pa.string(): strings, pa.large_string(): strings}.get)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=meta.get("crs")))


#: One 2D point in little-endian WKB: byte order 1, type 1, x, y (21 bytes, unaligned).
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def wkb_point_xy(wkb) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) of an Arrow WKB column holding only 2D little-endian points (what GDAL hands out
    for a point layer: a 21-byte record per row), read straight from the Arrow buffer - no
    Python ``bytes`` object per row nor GEOS parsing each (``shapely.from_wkb`` of 1M points
    costs ~0.3-0.7 s CPU more, measured). None for anything else (nulls, other types, Z,
    big-endian, empty points): the caller then uses shapely."""
    import pyarrow as pa

    if isinstance(wkb, pa.ChunkedArray):
        wkb = wkb.combine_chunks()
    n = len(wkb)
    if n == 0 or wkb.null_count or not (pa.types.is_binary(wkb.type) or
                                        pa.types.is_large_binary(wkb.type)):
        return None
    bufs = wkb.buffers()
    off = np.frombuffer(bufs[1], np.int64 if pa.types.is_large_binary(wkb.type) else np.int32)
    off = off[wkb.offset:wkb.offset + n + 1]
    if bufs[2] is None or off[-1] - off[0] != n * _WKB_POINT.itemsize or \
            not (np.diff(off) == _WKB_POINT.itemsize).all():
        return None
    rec = np.frombuffer(bufs[2], np.uint8)[off[0]:off[-1]].view(_WKB_POINT)
    x, y = rec["x"], rec["y"]
    if not ((rec["order"] == 1).all() and (rec["type"] == 1).all()) or \
            np.isnan(x).any() or np.isnan(y).any():
        return None
    return x, y


def _wkb_points(wkb) -> np.ndarray | None:
    """Shapely points of an Arrow WKB column of 2D points (:func:`wkb_point_xy`), made by
    ``shapely.points`` in threads: the same geometries as ``shapely.from_wkb``. None for
    anything else, which ``from_wkb`` then reads."""
    from bienmoc.geometry.linear import split_run

    xy = wkb_point_xy(wkb)
    if xy is None:
        return None
    x, y = xy
    return np.concatenate(split_run(lambda a, b: shapely.points(x[a:b], y[a:b]), len(x)))


def _keep_vn2000(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Markers given in a VN-2000 projected CRS: their surveyed northing/easting and CRS code
    go to ``vn2000_n``/``vn2000_e``/``vn2000_crs`` where the file does not state them."""
    n = len(gdf)
    cols = {c: (gdf[c] if c in gdf else pd.Series([None] * n, index=gdf.index, dtype=object))
            for c in ("vn2000_n", "vn2000_e", "vn2000_crs")}
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    is_pt = np.array([g is not None and g.geom_type == "Point" and not g.is_empty
                      for g in geoms], dtype=bool)
    fill = is_pt & cols["vn2000_n"].map(_blank).to_numpy() & \
        cols["vn2000_e"].map(_blank).to_numpy()
    if not fill.any():
        return gdf
    gdf = gdf.copy()
    code = crs_code(gdf.crs)
    n_, e_, c_ = (cols[c].astype(object).to_numpy().copy() for c in
                  ("vn2000_n", "vn2000_e", "vn2000_crs"))
    xy = shapely.get_coordinates(geoms[fill])
    e_[fill], n_[fill] = np.round(xy[:, 0], 3), np.round(xy[:, 1], 3)
    c_[fill] = code
    gdf["vn2000_n"], gdf["vn2000_e"], gdf["vn2000_crs"] = n_, e_, c_
    return gdf


def read_source(path: str | os.PathLike, kind: str | None = None, *, crs: object | None = None,
                encoding: str | None = None, layer: str | None = None,
                xy: str = XY_ORDERS[0], arrow: bool = False
                ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Read a file as raw records and their 1-based row numbers, in EPSG:4326 when possible.

    ``crs`` is the source CRS for files that do not declare one (CSV/XLSX x/y columns, a
    Shapefile without ``.prj``); a declared CRS always wins for GeoJSON/GeoPackage/Shapefile.
    ``xy`` is the order of CSV/XLSX ``x``/``y`` columns: ``"easting,northing"`` (GIS) or
    ``"northing,easting"`` (Vietnamese survey sheets). ``layer`` names a GeoPackage layer, a
    Shapefile in a zip or an XLSX sheet. In a zip of several Shapefiles the row numbers run on
    from one file to the next. ``arrow=True`` reads through Arrow (pyogrio ``use_arrow``,
    ``pyarrow.csv``; for millions of rows; column types may differ slightly, e.g. datetime
    resolution).
    """
    path = Path(path)
    if not path.exists():
        raise InvalidData(Problem(None, None, f"file not found: {path}"))
    fmt = format_from_path(path)
    crs = parse_crs(crs) if crs is not None else None
    if fmt in ("csv", "xlsx"):
        table = _read_csv_arrow(path, encoding) if fmt == "csv" and arrow else None
        if table is None or table.empty:
            table = _read_csv(path, encoding) if fmt == "csv" else _read_xlsx(path, layer)
        gdf = _table_frame(table, path.name, crs, kind, xy, fast=arrow)
    else:
        gdf = _read_geo(path, fmt, encoding, layer, arrow)
        if gdf.crs is None and crs is not None:
            gdf = gdf.set_crs(crs)
    if len(gdf) == 0:
        raise InvalidData(Problem(None, None, f"{path.name} holds no records"))
    gdf = _rename_known(gdf, kind)
    if kind == "markers" and is_vn2000(gdf.crs):
        gdf = _keep_vn2000(gdf)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(STORAGE_CRS)
    return gdf, np.arange(1, len(gdf) + 1)


def not_the_store(store, path: str | os.PathLike) -> None:
    """Refuse to import a store's own file into it: GDAL (which reads import files) and the
    store's SQLite would then hold the same file from two SQLite libraries in one process,
    whose POSIX locks release each other and break the store's write-ahead log."""
    own = getattr(store, "path", None)
    if own is not None and Path(path).exists() and Path(path).resolve() == Path(own).resolve():
        raise InvalidData(Problem(None, None, f"{Path(path).name} is the store itself: export "
                                  "the layer to a file first, or import from another store"))


def import_layer(store, kind: str, path: str | os.PathLike, *, crs: object | None = None,
                 encoding: str | None = None, mode: str = "append", layer: str | None = None,
                 xy: str = XY_ORDERS[0], allow=(), settings=None, user: str | None = None
                 ) -> gpd.GeoDataFrame:
    """Import a file into ``store`` (``user``: named in the store's ``write_log``): every row is validated (schema, references and the domain
    rules of :mod:`bienmoc.records`); on any problem nothing is written.

    Returns the validated records that were written. Raises :class:`InvalidData` listing every
    bad row (row number, field, reason). ``allow`` names rules overridden for true exceptions.
    """
    from bienmoc.records import import_records

    if kind not in SCHEMAS:
        raise InvalidData(f"unknown kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    not_the_store(store, path)
    raw, rows = read_source(path, kind, crs=crs, encoding=encoding, layer=layer, xy=xy)
    return import_records(store, kind, raw, rows=rows, mode=mode, allow=allow,
                          settings=settings, what=f"{Path(path).name}", user=user)


