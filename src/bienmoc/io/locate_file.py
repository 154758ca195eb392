"""``bienmoc locate FILE`` as one function: read a file, locate its features, write the result.

Built for millions of points (issue 15: 1M points end to end in a few seconds on two cores):

* **Reading** goes through :func:`bienmoc.io.files.read_source` with ``arrow=True``: pyogrio
  reads GeoPackage/GeoJSON/Shapefile as Arrow (``use_arrow=True``), CSV is parsed by
  ``pyarrow.csv`` (multi-threaded) and its coordinate columns are converted column-wise;
  anything unusual falls back to the ordinary reader, which reports bad rows the usual way.
* **Locating** is :meth:`bienmoc.geometry.locate.BorderModel.locate` (threads over slices,
  descriptions built from arrays).
* **Writing** CSV uses ``pyarrow.csv.write_csv`` with the same contract as
  :func:`bienmoc.io.write.export_layer` (UTF-8 with BOM, CRLF, formula-like text cells
  escaped, points as ``lon``/``lat``); GeoJSON goes through pyogrio with ``use_arrow=True`` into
  a file beside the target that is renamed into place (never half a file).
"""
from __future__ import annotations

import io as _io
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyogrio

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.io.write import FORMULA_START, _emit, _tabular, _umask, escape_cell, export_layer

__all__ = ["locate_file", "write_located", "LOCATE_FORMATS"]

#: Formats :func:`locate_file` writes itself ("table" is left to the caller).
LOCATE_FORMATS = ("geojson", "csv")
_FORMULA_RE = "^[" + "".join("\\" + c if c in "-\\]^" else c for c in
                             (*FORMULA_START, "'")).replace("\t", "\\t").replace("\r", "\\r") + "]"


def locate_file(path: str | os.PathLike, source, *, fmt: str | None = "geojson",
                output: str | os.PathLike | BinaryIO | None = None, crs: object | None = None,
                xy: str | None = None, metric_crs: object | None = None,
                check: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None
                ) -> gpd.GeoDataFrame:
    """Locate the features of the file at ``path`` against ``source`` (a store, a
    :class:`~bienmoc.geometry.locate.BorderModel` or frames) and, when ``fmt`` is one of
    :data:`LOCATE_FORMATS` and ``output`` is given, write them there. Returns the located
    features (EPSG:4326). ``check`` may vet or fix the frame read (e.g. set a missing CRS)."""
    from bienmoc.geometry.locate import BorderModel, locate
    from bienmoc.io.files import XY_ORDERS, read_source

    data, _ = read_source(path, crs=crs, xy=xy or XY_ORDERS[0], arrow=True)
    if check is not None:
        data = check(data)
    out = locate(data, BorderModel.from_source(source, crs=metric_crs))
    if out.crs is not None and not out.crs.equals(STORAGE_CRS):
        out = out.to_crs(STORAGE_CRS)
    if fmt in LOCATE_FORMATS and output is not None:
        write_located(out, fmt, output)
    return out


def write_located(gdf: gpd.GeoDataFrame, fmt: str, output) -> None:
    """Write located features as ``fmt`` ('csv' or 'geojson') to a path or binary stream, as
    :func:`bienmoc.io.write.export_layer` would (it is used where the fast path cannot be)."""
    if fmt == "csv":
        parts = _csv_parts(gdf)
        if parts is None:
            export_layer(gdf, "csv", output)
        else:
            _emit_parts(parts, output)
    elif fmt == "geojson":
        _write_geojson(gdf, output)
    else:
        export_layer(gdf, fmt, output)


def _csv_bytes(gdf: gpd.GeoDataFrame) -> bytes | None:
    """The CSV ``export_layer`` writes, by Arrow (None if a column does not convert)."""
    parts = _csv_parts(gdf)
    return None if parts is None else b"".join(parts)


def _emit_parts(parts: list, output) -> None:
    """Write buffers one after the other to a path (beside it, then renamed into place) or a
    binary stream, without joining them in memory."""
    _emit(parts, output)


def _csv_parts(gdf: gpd.GeoDataFrame) -> list | None:
    """:func:`_csv_bytes` as consecutive buffers (slices formatted in threads)."""
    table = _tabular(gdf, iso_dates=True)
    for col in table.columns:
        s = table[col]
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            arr = pa.array(s, from_pandas=True) if s.dtype != object else None
            if arr is None or not pa.types.is_string(arr.type) and \
                    not pa.types.is_large_string(arr.type):
                # object columns: escape cell by cell (rare: all-missing or mixed columns)
                table[col] = s.map(escape_cell)
                continue
            hit = pc.match_substring_regex(arr, _FORMULA_RE)
            if pc.any(hit).as_py():
                table[col] = s.map(escape_cell)
    try:
        at = pa.Table.from_pandas(table, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    from bienmoc.geometry.linear import split_run

    def part(a, b):  # Arrow formats in C++ without the GIL: slices are written in threads
        buf = _io.BytesIO()
        pacsv.write_csv(at.slice(a, b - a), buf, pacsv.WriteOptions(
            include_header=a == 0, eol="\r\n", batch_size=65536))
        return buf.getbuffer()
    return ["\ufeff".encode("utf-8"), *split_run(part, len(at))]


def _write_geojson(gdf: gpd.GeoDataFrame, output) -> None:
    """GeoJSON through pyogrio's Arrow writer, with export_layer's options (RFC 7946 in WGS 84,
    8 decimals); to a path: written beside it and renamed into place."""
    out = gdf.copy()
    for col in out.columns:
        if str(out[col].dtype) == "boolean":
            out[col] = out[col].fillna(False).astype(bool)
    wgs84 = out.crs is None or out.crs.equals(STORAGE_CRS)
    opts = {"COORDINATE_PRECISION": 8 if wgs84 else 4}
    if wgs84:
        opts["RFC7946"] = "YES"
    to_path = isinstance(output, (str, os.PathLike))
    folder = Path(output).parent if to_path else None
    with tempfile.TemporaryDirectory(dir=folder) as tmpd:
        target = Path(tmpd) / "layer.geojson"
        pyogrio.write_dataframe(out, target, driver="GeoJSON", layer_options=opts,
                                use_arrow=True)
        if to_path:
            os.chmod(target, 0o666 & ~_umask())
            os.replace(target, output)
        else:
            with open(target, "rb") as fh:
                shutil.copyfileobj(fh, output, 1 << 22)
            if hasattr(output, "flush"):
                output.flush()
