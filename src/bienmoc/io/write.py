"""Writing layers and tables: GeoJSON, GeoPackage, Shapefile (zip), CSV and XLSX.

What every export guarantees:

* **All or nothing.** The file is written beside the target and renamed into place, so a
  failed export never leaves half a file; problems a format cannot represent (a mixed layer
  into one ``.shp``, text longer than a DBF field) are refused before anything is written.
* **Ordinary permissions.** Files get ``0o666 & ~umask`` (0644 typically), as any program's.
* **Safe cells** (OWASP "CSV injection"). A text cell starting with ``=``, ``+``, ``-``, ``@``,
  tab or CR would be run as a formula by a spreadsheet. CSV writes it with a leading ``'``;
  XLSX types the cell as a string (never a formula). Numbers stay numbers. To keep every text
  intact through a CSV round trip, a text that itself starts with ``'`` is written with a
  second ``'``; CSV import (:func:`unescape_cell`) removes one leading ``'`` only when the next
  character is one of ``= + - @ tab CR '`` - exactly what export added. XLSX needs no prefix,
  so XLSX import strips nothing.
* **Round trips.** Every file written here imports back (:func:`bienmoc.io.read_source`):
  Shapefile dates are ISO text (DBF has no date-time type), a layer mixing geometry types is
  written as one Shapefile per type (``incidents_point.shp``, ``incidents_polygon.shp``) in
  the zip, XLSX keeps dates as dates and numbers as numbers.
"""
from __future__ import annotations

import datetime as _dt
import io as _io
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import numpy as np
import openpyxl
import openpyxl.styles
import openpyxl.utils
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from bienmoc.errors import InvalidData, Problem
from bienmoc.fmt import fmt_bool, is_missing
from bienmoc.geometry.crs import STORAGE_CRS, crs_code, is_vn2000, parse_crs
from bienmoc.model.schema import SCHEMAS, conform, label

__all__ = ["EXPORT_FORMATS", "export_layer", "to_display", "write_xlsx", "escape_cell",
           "unescape_cell", "FORMULA_START", "csv_text"]

EXPORT_FORMATS = ("geojson", "gpkg", "shp", "csv", "xlsx")
#: First characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DBF_TEXT_BYTES = 254
_XLSX_CELL_CHARS = 32767  # Excel's limit; longer text is cut when the workbook is read
#: Shapefile geometry families: a .shp file holds one of them (with its Multi- form).
_SHP_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line",
               "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}


def escape_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs as a formula (numbers and other values unchanged)."""
    if isinstance(value, str) and value and (value[0] in FORMULA_START or value[0] == "'"):
        return "'" + value
    return value


def unescape_cell(value: object) -> object:
    """Undo :func:`escape_cell`: drop one leading ``'`` before a formula character or ``'``."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and \
            (value[1] in FORMULA_START or value[1] == "'"):
        return value[1:]
    return value


def csv_text(df: pd.DataFrame, **to_csv) -> str:
    """``df.to_csv`` with every formula-like text cell escaped (:func:`escape_cell`)."""
    return (df.map(escape_cell) if len(df) else df).to_csv(index=False, **to_csv)


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
        elif f.type == "bool":  # Có/Không, Yes/No: what import reads back as yes/no
            out[f.name] = [None if is_missing(v) else fmt_bool(v, lang) for v in out[f.name]]
        names[f.name] = (f.vi if lang == "vi" else f.en) or f.name
    return out.rename(columns=names)


def _tabular(gdf: gpd.GeoDataFrame, iso_dates: bool = True) -> pd.DataFrame:
    """Points as lon/lat (x/y when projected) columns, other geometries as WKT; dates as ISO
    text (CSV) or kept as dates (XLSX)."""
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geom = gdf.geometry
    for col in df.columns:
        if iso_dates and pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d").where(df[col].notna(), None)
    projected = gdf.crs is not None and gdf.crs.is_projected
    digits = 3 if projected else 7  # mm in metres; 7 decimals of a degree is 1 cm
    is_point = (geom.geom_type == "Point").fillna(False)
    if len(geom) and geom.notna().any() and is_point[geom.notna()].all():
        xname, yname = ("x", "y") if projected else ("lon", "lat")
        df[xname] = geom.x.round(digits)
        df[yname] = geom.y.round(digits)
    elif geom.notna().any():
        df["wkt"] = [None if g is None else shapely.to_wkt(g, rounding_precision=digits)
                     for g in geom]
    return df


def _with_crs(gdf: gpd.GeoDataFrame, kind: str | None, crs: object | None) -> gpd.GeoDataFrame:
    """``gdf`` in ``crs``; markers' VN-2000 columns restated in ``crs`` when it is VN-2000.

    Surveyed coordinates are transformed from their own VN-2000 CRS to the target (both on the
    VN-2000 datum, so no datum shift is involved); markers without them are transformed from
    their WGS 84 position. Always pyproj between EPSG codes.
    """
    if crs is None:
        return gdf
    target = parse_crs(crs)
    out = gdf.to_crs(target)
    if kind == "markers" and is_vn2000(target):
        n = len(out)
        east = np.full(n, np.nan)
        north = np.full(n, np.nan)
        src = gdf.get("vn2000_crs", pd.Series([None] * n, index=gdf.index))
        have = gdf["vn2000_e"].notna() & gdf["vn2000_n"].notna() & src.notna() \
            if "vn2000_e" in gdf else pd.Series(False, index=gdf.index)
        for code in sorted(set(src[have])):
            rows = (have & (src == code)).to_numpy()
            t = Transformer.from_crs(CRS.from_user_input(code), target, always_xy=True)
            east[rows], north[rows] = t.transform(gdf["vn2000_e"].to_numpy()[rows],
                                                  gdf["vn2000_n"].to_numpy()[rows])
        rest = ~have.to_numpy() & out.geometry.notna().to_numpy()
        east[rest], north[rest] = out.geometry.x.to_numpy()[rest], out.geometry.y.to_numpy()[rest]
        out["vn2000_e"] = np.round(east, 3)
        out["vn2000_n"] = np.round(north, 3)
        out["vn2000_crs"] = [crs_code(target) if np.isfinite(e) else None for e in east]
    return out


def export_layer(gdf: gpd.GeoDataFrame, fmt: str, output: str | os.PathLike | BinaryIO, *,
                 kind: str | None = None, lang: str | None = None,
                 crs: object | None = None) -> None:
    """Write ``gdf`` as ``fmt`` to a path or a binary stream (e.g. ``sys.stdout.buffer``).

    CSV is UTF-8 with a byte-order mark and CRLF line ends, which Excel opens with Vietnamese
    diacritics intact; Shapefile to a stream (or a ``.zip`` path) is a zip of its parts.
    ``lang`` ('vi'/'en') translates headers and enum values (for CSV/XLSX reports). ``crs``
    writes the geometry in that CRS (CSV: ``x``/``y`` columns; import them with ``--crs``);
    for markers in a VN-2000 CRS the ``vn2000_*`` columns are stated in it too.
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidData(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if kind is not None:
        gdf = conform(kind, gdf)
    gdf = _with_crs(gdf, kind, crs)
    if fmt in ("csv", "xlsx"):
        table = to_display(_tabular(gdf, iso_dates=fmt == "csv"), kind, lang)
        if fmt == "csv":
            data = csv_text(table, lineterminator="\r\n").encode("utf-8-sig")
        else:
            _check_cell_sizes(table)
            sheet = ({"vi": SCHEMAS[kind].vi, "en": SCHEMAS[kind].en}.get(lang, kind)
                     if kind else "data")
            data = _xlsx_bytes({sheet: table}, lang)
        _emit(data, output)
        return
    out_df = gdf.copy()
    for col in out_df.columns:
        if str(out_df[col].dtype) == "boolean":
            out_df[col] = out_df[col].fillna(False).astype(bool)
    name = kind or "layer"
    if fmt == "shp":
        _export_shp(out_df, name, output)
        return
    # geospatial formats via pyogrio, through a temporary folder (GDAL writes files, not streams)
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        if fmt == "geojson":
            target = tmp / f"{name}.geojson"
            # RFC 7946 is WGS 84 only; another CRS is declared in the file's "crs" member
            wgs84 = out_df.crs is None or out_df.crs.equals(STORAGE_CRS)
            # one digit more than the 1 cm kept elsewhere: GDAL 3.12 rounds 104.6000003 to
            # 104.6 at COORDINATE_PRECISION=7 (measured), losing 3 cm
            opts = {"COORDINATE_PRECISION": 8 if wgs84 else 4}
            if wgs84:
                opts["RFC7946"] = "YES"
            pyogrio.write_dataframe(out_df, target, driver="GeoJSON", layer_options=opts)
        else:
            target = tmp / f"{name}.gpkg"
            # keep LineString and MultiLineString as they are (pyogrio would promote a mix)
            pyogrio.write_dataframe(out_df, target, layer=name, driver="GPKG",
                                    promote_to_multi=False)
        _emit(target.read_bytes(), output)


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)


def _check_cell_sizes(table: pd.DataFrame) -> None:
    """Refuse text an Excel cell cannot hold (long WKT of a boundary line, a province)."""
    problems = []
    for col in table.columns:
        if not _is_text(table[col]):
            continue
        size = table[col].map(lambda v: len(v) if isinstance(v, str) else 0).to_numpy()
        for i in np.flatnonzero(size > _XLSX_CELL_CHARS):
            problems.append(Problem(int(i) + 1, str(col), f"text of {int(size[i])} characters "
                                    f"does not fit an Excel cell ({_XLSX_CELL_CHARS} at most): "
                                    "export as csv, gpkg or geojson"))
    if problems:
        raise InvalidData(problems)


def _shp_parts(gdf: gpd.GeoDataFrame, name: str) -> dict[str, gpd.GeoDataFrame]:
    """One frame per Shapefile geometry family (records without geometry go with the first)."""
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        if pd.api.types.is_datetime64_any_dtype(gdf[col]):  # DBF has dates, not date-times
            gdf[col] = gdf[col].dt.strftime("%Y-%m-%d").where(gdf[col].notna(), None)
        elif _is_text(gdf[col]):
            size = gdf[col].map(lambda v: len(v.encode("utf-8")) if isinstance(v, str) else 0)
            if len(size) and size.max() > _DBF_TEXT_BYTES:
                row = int(np.argmax(size.to_numpy()))
                raise InvalidData(Problem(
                    row + 1, col, f"text of {int(size.max())} bytes does not fit a Shapefile "
                    f"field ({_DBF_TEXT_BYTES} bytes at most): export as gpkg or geojson"))
    family = gdf.geometry.geom_type.map(_SHP_FAMILY)
    kinds = [k for k in ("point", "line", "polygon") if (family == k).any()]
    if len(kinds) <= 1:
        return {name: gdf}
    parts = {}
    for i, k in enumerate(kinds):
        mask = (family == k) | (family.isna() if i == 0 else False)
        parts[f"{name}_{k}"] = gdf[mask.to_numpy()]
    return parts


def _export_shp(gdf: gpd.GeoDataFrame, name: str, output) -> None:
    parts = _shp_parts(gdf, name)
    direct = isinstance(output, (str, os.PathLike)) and Path(output).suffix.lower() == ".shp"
    if direct and len(parts) > 1:
        raise InvalidData(Problem(
            None, "geometry", f"{name} mixes geometry types ({', '.join(parts)}), which one "
            f"Shapefile cannot hold: export to a .zip, which holds one .shp per type"))
    # the parts go to a temporary folder beside the target and are renamed into place
    where = Path(output).parent if direct else None
    with tempfile.TemporaryDirectory(dir=where, prefix=".bienmoc-") as tmpd:
        tmp = Path(tmpd)
        base = Path(output).stem if direct else None
        # DBF limits (10-character names) are expected here; import maps the cut names back,
        # so GDAL's warnings are noise.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="(Normalized/laundered|Field .* "
                                    "created as)", category=RuntimeWarning)
            for part, frame in parts.items():
                pyogrio.write_dataframe(frame, tmp / f"{base or part}.shp",
                                        driver="ESRI Shapefile", encoding="UTF-8")
        files = sorted(tmp.iterdir())
        if direct:
            for f in files:
                os.replace(f, where / f.name)
            return
        buf = _io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f.name)
        _emit(buf.getvalue(), output)


def _xl_value(v: object) -> object:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date() if v == v.normalize() else v.to_pydatetime()
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


#: Number formats of XLSX cells: dates as Vietnamese officials write them, text as text ("@":
#: a cell edited later stays text, so a marker number 3/2 never turns into a date).
XLSX_DATE = "dd/mm/yyyy"
XLSX_DATETIME = "dd/mm/yyyy hh:mm"
#: ... and as English readers get them from ``--lang en`` (ISO 8601)
XLSX_DATE_EN = "yyyy-mm-dd"
XLSX_DATETIME_EN = "yyyy-mm-dd hh:mm"
XLSX_TEXT = "@"
#: Whole numbers of 10 000 and more (money in đồng, counts of metres) with thousands separators
#: (Excel and LibreOffice show them in the reader's locale: 89.000.000.000 in vi-VN).
XLSX_THOUSANDS = "#,##0"
_MAX_WIDTH, _MIN_WIDTH = 60, 6
_BAD_SHEET_CHARS = str.maketrans({c: "-" for c in "[]:*?/\\"})


def _sheet_title(name: object, taken: set[str]) -> str:
    """A valid, unique sheet name: Excel forbids ``[]:*?/\\`` and more than 31 characters."""
    base = (str(name).translate(_BAD_SHEET_CHARS).strip("'") or "data")[:31]
    title, n = base, 2
    while title.lower() in taken:
        title = f"{base[:28]}-{n}"
        n += 1
    taken.add(title.lower())
    return title


def _column_style(values: list, lang: str | None = None) -> tuple[str | None, int]:
    """(number format, width in characters) of one column's data cells: dates dd/mm/yyyy
    (yyyy-mm-dd for English), text columns typed text, numbers left General; width from the
    longest shown value."""
    present = [v for v in values if v is not None]
    fmt = None
    if present and all(isinstance(v, (_dt.date, _dt.datetime)) for v in present):
        timed = any(isinstance(v, _dt.datetime) for v in present)
        fmt = XLSX_DATETIME if timed else XLSX_DATE
        if lang == "en":
            fmt = XLSX_DATETIME_EN if timed else XLSX_DATE_EN
        return fmt, len(fmt)
    if any(isinstance(v, str) for v in present):
        fmt = XLSX_TEXT
    elif present and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                         and float(v).is_integer() for v in present) \
            and max(abs(v) for v in present) >= 10_000:
        fmt = XLSX_THOUSANDS
        return fmt, max(len(f"{v:,.0f}") for v in present)
    longest = max((max(len(line) for line in str(v).split("\n")) for v in present), default=0)
    return fmt, longest


def _xlsx_bytes(sheets: dict[str, pd.DataFrame], lang: str | None = None) -> bytes:
    """Workbook bytes that officials can use at once, in Excel and LibreOffice: one sheet per
    table; real dates (``dd/mm/yyyy``) and numbers; text cells typed as strings (never
    formulas, never re-read as dates or numbers); a bold, frozen header row with an autofilter
    over the table; column widths from the content."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    bold = openpyxl.styles.Font(bold=True)
    taken: set[str] = set()
    for name, df in sheets.items():
        ws = wb.create_sheet(_sheet_title(name, taken))
        header = [str(c) for c in df.columns]
        ws.append(header)
        columns = [[_xl_value(v) for v in df[c].tolist()] for c in df.columns] \
            if len(df.columns) else []
        for row in zip(*columns):
            ws.append(list(row))
        for j, (title, values) in enumerate(zip(header, columns), start=1):
            fmt, width = _column_style(values, lang)
            letter = openpyxl.utils.get_column_letter(j)
            for (cell,) in ws.iter_rows(min_row=1, max_row=len(values) + 1, min_col=j,
                                        max_col=j):
                if cell.data_type == "f":  # openpyxl takes any text starting with '=' as one
                    cell.data_type = "s"
                if cell.row == 1:
                    cell.font = bold
                elif fmt is not None and cell.value is not None \
                        and (fmt == XLSX_TEXT) == isinstance(cell.value, str):
                    cell.number_format = fmt
            # +2 for the autofilter's drop-down button; long text wraps at _MAX_WIDTH
            ws.column_dimensions[letter].width = min(_MAX_WIDTH, max(
                _MIN_WIDTH, width, len(title)) + 2)
        ws.freeze_panes = "A2"
        # printed (or converted to PDF): landscape, all columns on one page width, the header
        # row repeated on every page
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.print_title_rows = "1:1"
        if header:
            ws.auto_filter.ref = f"A1:{openpyxl.utils.get_column_letter(len(header))}" \
                                 f"{len(df) + 1}"
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_xlsx(sheets: dict[str, pd.DataFrame], output, lang: str | None = None) -> None:
    """Write tables to an XLSX workbook, one sheet each (dates as dates shown dd/mm/yyyy, or
    yyyy-mm-dd when ``lang`` is 'en'; text as UTF-8)."""
    clean = {}
    for name, df in sheets.items():
        df = df.copy()
        for col in df.columns:
            if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                df[col] = df[col].dt.tz_localize(None)
        clean[name] = df
    _emit(_xlsx_bytes(clean, lang), output)


def _umask() -> int:
    # os.umask is the only portable way to read the mask: set it and put it straight back
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _emit(data, output) -> None:
    """Write ``data`` (bytes, or a list or iterator of buffers written one after the other as
    they come, never joined in memory) to a path or a binary stream."""
    parts = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    if isinstance(output, (str, os.PathLike)):
        path = Path(output)
        # write beside the target, then rename: a failed export never leaves half a file.
        # mkstemp creates 0600; give the file the permissions any new file gets (umask).
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for p in parts:
                    fh.write(p)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        for p in parts:
            output.write(p)
        if hasattr(output, "flush"):
            output.flush()
