"""Reading and writing files: GeoJSON, GeoPackage, Shapefile, CSV and (export only) XLSX.

All geospatial formats go through pyogrio; CSV goes through pandas so that columns stay text
until :func:`bienmoc.schema.validate` parses them and reports every bad value.

* :func:`read_source` - a file as raw records (+ their 1-based row numbers), in EPSG:4326.
* :func:`import_layer` - read, validate against the store, write atomically (all or nothing).
* :func:`export_layer` - write a layer to a path or a binary stream in any supported format.
"""
from __future__ import annotations

import io as _io
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.errors import InvalidData, Problem
from bienmoc.model.schema import SCHEMAS, conform, label, validate

__all__ = ["read_source", "import_layer", "export_layer", "EXPORT_FORMATS", "IMPORT_FORMATS",
           "format_from_path", "to_display", "write_xlsx"]

IMPORT_FORMATS = ("geojson", "gpkg", "shp", "csv")
EXPORT_FORMATS = ("geojson", "gpkg", "shp", "csv", "xlsx")
_EXT = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp",
        ".zip": "shp", ".csv": "csv", ".xlsx": "xlsx"}
_LON = ("lon", "lng", "long", "longitude", "kinh_do", "kinh độ")
_LAT = ("lat", "latitude", "vi_do", "vĩ độ")
_X = ("x",)
_Y = ("y",)
_WKT = ("wkt", "geometry", "geom")


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


def _read_csv(path: Path, crs: object | None, encoding: str | None,
              kind: str | None) -> gpd.GeoDataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InvalidData(Problem(None, None, f"{path.name} is empty"))
    enc = encoding or "utf-8"
    text = _decode(raw, path, "utf-8-sig" if enc.replace("_", "-").lower() in
                   ("utf-8", "utf8") else enc)
    sep = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    if df.empty:
        raise InvalidData(Problem(None, None, f"{path.name} has a header but no rows"))
    lower = {c.strip().casefold(): c for c in df.columns}
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
        for i, (xs, ys) in enumerate(zip(df[xcol], df[ycol])):
            if xs.strip() == "" and ys.strip() == "":
                continue
            try:
                geoms[i] = shapely.Point(float(xs.replace(",", ".")), float(ys.replace(",", ".")))
            except ValueError:
                problems.append(Problem(i + 1, f"{xcol}/{ycol}",
                                        f"coordinates {xs!r}, {ys!r} are not numbers"))
        df = df.drop(columns=[xcol, ycol])
    elif wcol is not None:
        for i, w in enumerate(df[wcol]):
            if w.strip() == "":
                continue
            try:
                geoms[i] = shapely.from_wkt(w)
            except shapely.errors.GEOSException as e:
                problems.append(Problem(i + 1, wcol, f"not WKT geometry: {e}"))
        df = df.drop(columns=[wcol])
    elif kind is None or SCHEMAS[kind].geometry_required:
        raise InvalidData(Problem(None, "geometry", f"{path.name} has no coordinate columns: "
                                  "give lon/lat (or x/y with --crs) or a WKT column"))
    if problems:
        raise InvalidData(problems)
    if projected and crs is None:
        source_crs = None  # x/y read as lon/lat; validation flags projected-looking values
    else:
        source_crs = crs if crs is not None else STORAGE_CRS
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=source_crs))
    return gdf


def read_source(path: str | os.PathLike, kind: str | None = None, *, crs: object | None = None,
                encoding: str | None = None, layer: str | None = None
                ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Read a file as raw records and their 1-based row numbers, in EPSG:4326 when possible.

    ``crs`` is the source CRS for files that do not declare one (CSV x/y columns, a Shapefile
    without ``.prj``); a declared CRS always wins for GeoJSON/GeoPackage/Shapefile.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidData(Problem(None, None, f"file not found: {path}"))
    fmt = format_from_path(path)
    if fmt == "xlsx":
        raise InvalidData("XLSX is an export format only; save the sheet as CSV UTF-8")
    if fmt == "csv":
        gdf = _read_csv(path, crs, encoding, kind)
    else:
        if path.stat().st_size == 0:
            raise InvalidData(Problem(None, None, f"{path.name} is empty"))
        src = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else path
        try:
            gdf = pyogrio.read_dataframe(src, layer=layer, encoding=encoding, use_arrow=False)
        except Exception as e:  # pyogrio.errors.DataSourceError etc.
            raise InvalidData(Problem(None, None, f"cannot read {path.name}: {e}")) from None
        if gdf.crs is None and crs is not None:
            gdf = gdf.set_crs(crs)
    if len(gdf) == 0:
        raise InvalidData(Problem(None, None, f"{path.name} holds no records"))
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(STORAGE_CRS)
    gdf = _rename_known(gdf, kind)
    return gdf, np.arange(1, len(gdf) + 1)


def import_layer(store, kind: str, path: str | os.PathLike, *, crs: object | None = None,
                 encoding: str | None = None, mode: str = "append", layer: str | None = None,
                 allow=(), settings=None) -> gpd.GeoDataFrame:
    """Import a file into ``store``: every row is validated (schema, references and the domain
    rules of :mod:`bienmoc.records`); on any problem nothing is written.

    Returns the validated records that were written. Raises :class:`InvalidData` listing every
    bad row (row number, field, reason). ``allow`` names rules overridden for true exceptions.
    """
    from bienmoc.records import import_records

    if kind not in SCHEMAS:
        raise InvalidData(f"unknown kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    raw, rows = read_source(path, kind, crs=crs, encoding=encoding, layer=layer)
    return import_records(store, kind, raw, rows=rows, mode=mode, allow=allow,
                          settings=settings, what=f"{Path(path).name}")


# -- writing -----------------------------------------------------------------------------

def to_display(gdf: gpd.GeoDataFrame, kind: str | None, lang: str | None) -> pd.DataFrame:
    """Translate headers and enum values to ``lang`` ('vi'/'en'); ``None`` keeps the codes."""
    if lang is None or kind is None:
        return gdf
    out = gdf.copy()
    names = {}
    for f in SCHEMAS[kind].fields:
        if f.name not in out:
            continue
        if f.is_enum:
            out[f.name] = [None if v is None else label(f.type(v), lang) for v in out[f.name]]
        names[f.name] = (f.vi if lang == "vi" else f.en) or f.name
    return out.rename(columns=names)


def _tabular(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points as lon/lat columns, other geometries as WKT; dates as ISO text."""
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geom = gdf.geometry
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d").where(df[col].notna(), None)
    is_point = (geom.geom_type == "Point").fillna(False)
    if len(geom) and is_point[geom.notna()].all():
        df["lon"] = geom.x.round(7)
        df["lat"] = geom.y.round(7)
    else:
        df["wkt"] = [None if g is None else shapely.to_wkt(g, rounding_precision=7) for g in geom]
    return df


def export_layer(gdf: gpd.GeoDataFrame, fmt: str, output: str | os.PathLike | BinaryIO, *,
                 kind: str | None = None, lang: str | None = None) -> None:
    """Write ``gdf`` as ``fmt`` to a path or a binary stream (e.g. ``sys.stdout.buffer``).

    CSV is UTF-8 with a byte-order mark and CRLF line ends, which Excel opens with Vietnamese
    diacritics intact; Shapefile to a stream (or a ``.zip`` path) is a zip of its parts.
    ``lang`` ('vi'/'en') translates headers and enum values (for CSV/XLSX reports).
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidData(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if kind is not None:
        gdf = conform(kind, gdf)
    if fmt in ("csv", "xlsx"):
        table = to_display(_tabular(gdf), kind, lang)
        buf = _io.BytesIO()
        if fmt == "csv":
            buf.write(table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
        else:
            with pd.ExcelWriter(buf, engine="openpyxl") as xl:
                sheet = (SCHEMAS[kind].vi if lang == "vi" else kind) if kind else "data"
                table.to_excel(xl, index=False, sheet_name=sheet[:31])
        _emit(buf.getvalue(), output)
        return
    # geospatial formats via pyogrio, through a temporary folder when the target is a stream
    # or a zip, since GDAL writes Shapefiles as several files.
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        out_df = gdf.copy()
        for col in out_df.columns:
            if str(out_df[col].dtype) == "boolean":
                out_df[col] = out_df[col].fillna(False).astype(bool)
        name = kind or "layer"
        if fmt == "geojson":
            target = tmp / f"{name}.geojson"
            pyogrio.write_dataframe(out_df, target, driver="GeoJSON",
                                    layer_options={"COORDINATE_PRECISION": 7, "RFC7946": "YES"})
        elif fmt == "gpkg":
            target = tmp / f"{name}.gpkg"
            pyogrio.write_dataframe(out_df, target, layer=name, driver="GPKG")
        else:
            shp_dir = tmp / "shp"
            shp_dir.mkdir()
            direct = isinstance(output, (str, os.PathLike)) and \
                Path(output).suffix.lower() == ".shp"
            # DBF limits (10-character names, no DateTime type) are expected here; import maps
            # the cut names back and parses the dates, so GDAL's warnings are noise.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="(Normalized/laundered|Field .* "
                                        "created as)", category=RuntimeWarning)
                pyogrio.write_dataframe(out_df, output if direct else shp_dir / f"{name}.shp",
                                        driver="ESRI Shapefile", encoding="UTF-8")
            if direct:
                return
            target = tmp / f"{name}.zip"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
                for part in sorted(shp_dir.iterdir()):
                    z.write(part, part.name)
        _emit(target.read_bytes(), output)


def write_xlsx(sheets: dict[str, pd.DataFrame], output) -> None:
    """Write tables to an XLSX workbook, one sheet each (dates as dates, text as UTF-8)."""
    buf = _io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, df in sheets.items():
            df = df.copy()
            for col in df.columns:
                if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                    df[col] = df[col].dt.tz_localize(None)
            df.to_excel(xl, index=False, sheet_name=name[:31])
    _emit(buf.getvalue(), output)


def _emit(data: bytes, output) -> None:
    if isinstance(output, (str, os.PathLike)):
        path = Path(output)
        # write beside the target, then rename: a failed export never leaves half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        output.write(data)
        if hasattr(output, "flush"):
            output.flush()

