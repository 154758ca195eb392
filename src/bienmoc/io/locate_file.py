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

import contextlib
import gc
import io as _io
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.geometry.locate import BorderModel, warm_compiled
from bienmoc.io.write import FORMULA_START, _emit, _tabular, _umask, escape_cell, export_layer

__all__ = ["locate_file", "write_located", "start_warming", "LOCATE_FORMATS"]

#: Formats :func:`locate_file` writes itself ("table" is left to the caller).
LOCATE_FORMATS = ("geojson", "csv")


def locate_file(path: str | os.PathLike, source, *, fmt: str | None = "geojson",
                output: str | os.PathLike | BinaryIO | None = None, crs: object | None = None,
                xy: str | None = None, metric_crs: object | None = None,
                check: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None
                ) -> gpd.GeoDataFrame:
    """Locate the features of the file at ``path`` against ``source`` (a store, a
    :class:`~bienmoc.geometry.locate.BorderModel` or frames) and, when ``fmt`` is one of
    :data:`LOCATE_FORMATS` and ``output`` is given, write them there. Returns the located
    features (EPSG:4326). ``check`` may vet or fix the frame read (e.g. set a missing CRS)."""
    model = warming = None
    if os.path.isfile(path) and os.path.getsize(path) >= _WARM_BYTES:
        # beside the read (GDAL and the WKB decoding release the GIL): the model from frames
        # (a store is read in this thread: its connection belongs to it) and the compiled code
        helper = ThreadPoolExecutor(1)
        if isinstance(source, Mapping):
            model = helper.submit(BorderModel.from_source, source, crs=metric_crs)
        warming = helper.submit(warm_compiled)
        helper.shutdown(wait=False)
    with _no_gc():
        return _locate_file(path, source, fmt, output, crs, xy, metric_crs, check, model,
                            warming)


def start_warming(path: str | os.PathLike) -> None:
    """Begin loading the compiled kernels in a background thread when the file at ``path`` is
    large enough for :func:`locate_file` to use them: for callers with slow work of their own
    before it (the CLI reads the store and builds the model first, ~0.5 s that the ~0.7 s CPU
    of numba's import and cached code can overlap). :func:`locate_file` still waits for the
    load to finish (the lock of ``warm_compiled``) before its threads call the kernels."""
    if os.path.isfile(path) and os.path.getsize(path) >= _WARM_BYTES:
        threading.Thread(target=warm_compiled, name="bienmoc-warm", daemon=True).start()


#: Input files from this size on (~100k points) load the compiled kernels in a thread while
#: the file is read (numba's import and cached code: ~0.7 s CPU that would otherwise come
#: before the locating threads start), and build a model from frames there too.
_WARM_BYTES = 8 << 20


@contextlib.contextmanager
def _no_gc():
    """The cyclic garbage collector paused: a million shapely geometries (and Python objects
    of the frames) are GC-tracked, and the collections their allocation triggers traverse all
    of them again and again (measured: ``shapely.from_wkb`` of 1M points 0.39 s with the
    collector, 0.22 s without). Nothing here builds reference cycles; the collector resumes
    (and finds whatever there is) afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _locate_file(path, source, fmt, output, crs, xy, metric_crs, check, model, warming
                 ) -> gpd.GeoDataFrame:
    from bienmoc.geometry.locate import locate
    from bienmoc.io.files import XY_ORDERS, read_source

    data, _ = read_source(path, crs=crs, xy=xy or XY_ORDERS[0], arrow=True)
    if check is not None:
        data = check(data)
    model = model.result() if model is not None else \
        BorderModel.from_source(source, crs=metric_crs)
    if warming is not None:
        warming.result()  # compiled code is first called by one thread only, never by several
    out = locate(data, model)
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


def _emit_parts(parts, output) -> None:
    """Write buffers one after the other (as they come) to a path (beside it, then renamed
    into place) or a binary stream, without joining them in memory."""
    _emit(parts, output)


#: Rows per CSV slice: slices are formatted in threads and written in order as they are done
#: (the file write overlaps the formatting; a few slices in memory, not the whole file).
_CSV_SLICE = 65536
_FORMULA_BYTES = np.frombuffer("".join((*FORMULA_START, "'")).encode("ascii"), np.uint8)


def _csv_table(gdf: gpd.GeoDataFrame) -> pa.Table | None:
    """The table ``export_layer`` writes as CSV (``_tabular``: points as rounded lon/lat or
    x/y), as Arrow columns, with formula-like text cells escaped (None: a column that Arrow
    cannot hold)."""
    geo = gdf.geometry.name
    arr = np.asarray(gdf.geometry.array, dtype=object)
    if len(arr) and (shapely.get_type_id(arr) == 0).all() and not shapely.is_empty(arr).any() \
            and not any(pd.api.types.is_datetime64_any_dtype(gdf[c]) for c in gdf.columns):
        # all points: _tabular's columns without copying the frame (same rounding)
        projected = gdf.crs is not None and gdf.crs.is_projected
        xy = shapely.get_coordinates(arr).round(3 if projected else 7)
        cols = {c: gdf[c] for c in gdf.columns if c != geo}
        names = ("x", "y") if projected else ("lon", "lat")
        cols[names[0]], cols[names[1]] = xy[:, 0], xy[:, 1]
    else:
        table = _tabular(gdf, iso_dates=True)
        cols = {c: table[c] for c in table.columns}
    out = {}
    try:
        for name, s in cols.items():
            a = pa.array(s, from_pandas=True)
            if isinstance(s, pd.Series) and (isinstance(s.dtype, pd.StringDtype) or
                                             s.dtype == object) and _formula_like(a):
                a = pa.array(s.map(escape_cell), from_pandas=True)
            out[str(name)] = a
        return pa.table(out)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _formula_like(a: pa.Array) -> bool:
    """Whether any cell of a column may need :func:`escape_cell` (True for anything but an
    Arrow string column, whose first bytes are checked: the formula characters are ASCII, so a
    first byte equal to one of them is that character)."""
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        return True
    if isinstance(a, pa.ChunkedArray):
        return any(_formula_like(c) for c in a.chunks)
    if len(a) == 0 or a.null_count == len(a):
        return False
    bufs = a.buffers()
    off = np.frombuffer(bufs[1], np.int64 if pa.types.is_large_string(a.type) else np.int32)
    off = off[a.offset:a.offset + len(a) + 1]
    if bufs[2] is None:
        return False
    data = np.frombuffer(bufs[2], np.uint8)
    ok = off[1:] > off[:-1]
    if a.null_count:
        ok &= a.is_valid().to_numpy(zero_copy_only=False)
    return bool(np.isin(data[off[:-1][ok]], _FORMULA_BYTES).any())


def _csv_parts(gdf: gpd.GeoDataFrame):
    """:func:`_csv_bytes` as consecutive buffers, an iterator (None if a column does not
    convert): slices of rows formatted by Arrow in threads (C++, without the GIL), handed out
    in order as soon as each is done."""
    at = _csv_table(gdf)
    if at is None:
        return None
    from bienmoc.geometry.linear import threads

    def part(a):
        buf = _io.BytesIO()
        pacsv.write_csv(at.slice(a, _CSV_SLICE), buf, pacsv.WriteOptions(
            include_header=a == 0, eol="\r\n", batch_size=_CSV_SLICE))
        return buf.getbuffer()

    def run():
        yield "\ufeff".encode("utf-8")
        starts = range(0, max(len(at), 1), _CSV_SLICE)
        workers = threads()
        if workers == 1 or len(starts) == 1:
            yield from (part(a) for a in starts)
            return
        with ThreadPoolExecutor(workers) as pool:
            pending = []
            for a in starts:  # at most 2 slices per thread ahead of the writer
                pending.append(pool.submit(part, a))
                if len(pending) > 2 * workers:
                    yield pending.pop(0).result()
            for f in pending:
                yield f.result()
    return run()


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
