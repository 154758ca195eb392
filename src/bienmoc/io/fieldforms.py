"""Field data: the XLSForm teams fill on phones, and the exports their tools produce.

* :func:`build_xlsform` writes an XLSForm (ODK Collect, KoboToolbox, Enketo) for incidents or
  inspections: the schema's enums as choice lists labelled in Vietnamese and English, the
  store's markers as a searchable, border-filtered choice, a geopoint whose accuracy must be
  within ``max_accuracy_m``. pyxform (the reference XLSForm converter) checks it.
* :func:`read_field_export` reads what field teams send back, detected from the file itself:

  - an **ODK Central** CSV zip (or its main CSV): groups joined with ``-`` in the headers
    (``details-kind``), a geopoint split into ``<q>-Latitude/-Longitude/-Altitude/-Accuracy``,
    ``meta-instanceID`` and ``KEY``; each repeat in its own CSV linked by ``PARENT_KEY``;
    submissions a reviewer rejected (``ReviewState``) are left out;
  - a **KoboToolbox** CSV (``;`` or ``,``; groups joined with ``/``; a geopoint as
    ``_<q>_latitude/_longitude/_altitude/_precision``; ``_uuid``) or GeoJSON export;
  - a **QField** GeoPackage layer (the schema's columns, a ``uuid`` column when the project
    has one, the position's accuracy in ``horizontal_accuracy``/``accuracy``).

* :func:`import_field_export` imports them through the one rule layer
  (:func:`bienmoc.records.import_records`): every row is validated and, for incidents, located
  on the line; a fix less accurate than ``max_accuracy_m`` refuses its row (the message names
  it); the submission's id is kept with the record (the store's idempotency key), so importing
  the same export again adds nothing.
"""
from __future__ import annotations

import io as _io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import shapely

from bienmoc.errors import InvalidData, Problem
from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.model import enums
from bienmoc.model.layers import SCHEMAS
from bienmoc.model.numbers import sort_numbers

__all__ = ["FORM_KINDS", "DEFAULT_MAX_ACCURACY_M", "build_xlsform", "detect_field_export",
           "read_field_export", "import_field_export", "FieldExport"]

#: Layers that field teams collect with a form.
FORM_KINDS = ("incidents", "inspections")
#: Fixes less accurate than this (metres, the receiver's own estimate) are refused.
DEFAULT_MAX_ACCURACY_M = 20.0
_VI, _EN = "Tiếng Việt (vi)", "English (en)"
_LOCATION = "location"
_PHOTOS = "photos"


# -- the form ---------------------------------------------------------------------------------

def _labels(kind: str, name: str) -> tuple[str, str]:
    f = SCHEMAS[kind].field(name)
    return f.vi, f.en


def _enum_list(enum) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in enum.__name__).lstrip("_")


def _survey(kind: str, max_accuracy_m: float) -> tuple[list[dict], list]:
    """Survey rows and the enums whose choice lists they use."""
    acc = f"{max_accuracy_m:g}"
    location = {
        "type": "geopoint", "name": _LOCATION,
        "label::" + _VI: "Vị trí (GPS)" if kind == "incidents" else "Vị trí mốc (GPS)",
        "label::" + _EN: "Position (GPS)" if kind == "incidents" else "Marker position (GPS)",
        "required": "yes",
        # ODK Collect keeps the fix once the receiver reports this accuracy
        "parameters": f"capture-accuracy={acc}",
        "constraint": f"selected-at(., 3) <= {acc}",
        "constraint_message::" + _VI: f"Độ chính xác phải tốt hơn {acc} m",
        "constraint_message::" + _EN: f"Accuracy must be better than {acc} m"}
    rows: list[dict] = []

    def q(qtype: str, name: str, **extra) -> None:
        vi, en = _labels(kind, name)
        rows.append({"type": qtype, "name": name, "label::" + _VI: vi, "label::" + _EN: en,
                     **extra})

    if kind == "incidents":
        used = [enums.IncidentKind, enums.IncidentStatus]
        rows.append({"type": "begin group", "name": "details", "label::" + _VI: "Vụ việc",
                     "label::" + _EN: "Incident"})
        q(f"select_one {_enum_list(enums.IncidentKind)}", "kind", required="yes")
        q(f"select_one {_enum_list(enums.IncidentStatus)}", "status", required="yes",
          default="reported")
        q("date", "occurred_date", constraint=". <= today()")
        q("date", "reported_date", required="yes", default="today()",
          constraint=". <= today() and (${occurred_date} = '' or . >= ${occurred_date})")
        q("text", "description", appearance="multiline")
        rows.append({"type": "end group"})
        rows.append(location)
    else:
        used = [enums.InspectionTeam, enums.FoundCondition]
        q("select_one border", "border", required="yes")
        q("select_one marker", "marker", required="yes", appearance="autocomplete",
          choice_filter="border = ${border}")
        q("date", "date", required="yes", default="today()", constraint=". <= today()")
        q(f"select_one {_enum_list(enums.InspectionTeam)}", "team", required="yes")
        q(f"select_one {_enum_list(enums.FoundCondition)}", "condition", required="yes")
        q("text", "notes", appearance="multiline")
        rows.append(location)
        rows.append({"type": "begin repeat", "name": _PHOTOS, "label::" + _VI: "Ảnh",
                     "label::" + _EN: "Photos"})
        rows.append({"type": "image", "name": "photo", "label::" + _VI: "Ảnh",
                     "label::" + _EN: "Photo"})
        rows.append({"type": "end repeat"})
    rows.append({"type": "start", "name": "start"})
    rows.append({"type": "end", "name": "end"})
    return rows, used


def _choices(kind: str, used: list, store) -> list[dict]:
    out = []
    for enum in used:
        for member in enum:
            out.append({"list_name": _enum_list(enum), "name": member.value,
                        "label::" + _VI: member.vi, "label::" + _EN: member.en})
    if kind == "inspections":
        boundary = store.read("boundary") if store is not None else None
        markers = store.read("markers") if store is not None else None
        if boundary is None or not len(boundary) or markers is None or not len(markers):
            raise InvalidData("an inspections form lists the store's borders and markers: "
                              "the store has none")
        for _, b in boundary.sort_values("border").iterrows():
            out.append({"list_name": "border", "name": b["border"],
                        "label::" + _VI: b["name_vi"],
                        "label::" + _EN: b["name_en"] or b["name_vi"]})
        for border, grp in markers.groupby("border", sort=True):
            for number in sort_numbers(grp["number"].unique()):
                # choice names must be unique in a list and XML-safe: the border joins them
                out.append({"list_name": "marker", "name": _marker_choice(border, number),
                            "label::" + _VI: f"Mốc {number}", "label::" + _EN: f"Marker {number}",
                            "border": border})
    return out


def _marker_choice(border: str, number: str) -> str:
    """A marker's choice name: unique across borders (numbers repeat from one border to the
    next) and without spaces (a select's values are space-separated)."""
    return f"{border}:{number}".replace(" ", "_")


def _marker_from_choice(value: str) -> str:
    return value.partition(":")[2].replace("_", " ") if ":" in value else value


def build_xlsform(kind: str, path: str | os.PathLike, *, store=None,
                  max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M, check: bool = True) -> Path:
    """Write the XLSForm for ``kind`` ('incidents' or 'inspections') to ``path``.

    Inspections need ``store`` (its borders and markers become the choice lists). With
    ``check`` the form is converted by pyxform, which raises on any error in it.
    """
    if kind not in FORM_KINDS:
        raise InvalidData(f"no field form for {kind!r}; expected one of {', '.join(FORM_KINDS)}")
    survey, used = _survey(kind, max_accuracy_m)
    choices = _choices(kind, used, store)
    wb = openpyxl.Workbook()
    sheets = {"survey": survey, "choices": choices, "settings": [{
        "form_title": f"bienmoc – {SCHEMAS[kind].vi}", "form_id": f"bienmoc_{kind}",
        "version": pd.Timestamp.now(tz="UTC").strftime("%Y%m%d%H"),
        "default_language": _VI, "instance_name":
            "concat(${kind}, ' ', ${reported_date})" if kind == "incidents"
            else "concat(${border}, ' ', ${marker}, ' ', ${date})"}]}
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        cols = list(dict.fromkeys(k for r in rows for k in r))
        ws.append(cols)
        for r in rows:
            ws.append([r.get(c) for c in cols])
    path = Path(path)
    wb.save(path)
    if check:
        from pyxform.xls2xform import convert

        convert(xlsform=str(path), validate=False)
    return path


# -- reading exports --------------------------------------------------------------------------

@dataclass
class FieldExport:
    """Submissions read from a field tool's export, in the schema's columns."""

    tool: str                    # 'odk', 'kobo' or 'qfield'
    records: gpd.GeoDataFrame    # schema columns + geometry (EPSG:4326)
    rows: np.ndarray             # the row number of each record in the export (1-based)
    keys: np.ndarray             # the submission ids, prefixed by the tool
    accuracy: np.ndarray         # metres (NaN: not recorded)
    excluded: dict               # reason -> count of submissions left out (rejected, ...)


def _csv_text(raw: bytes) -> pd.DataFrame:
    text = raw.decode("utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    sep = ";" if first.count(";") > first.count(",") else ","
    return pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)


def detect_field_export(path: str | os.PathLike) -> str | None:
    """'odk', 'kobo', 'qfield' or None (not a field tool's export)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    if name.lower().endswith(".csv"):
                        head = z.read(name)[:4096].decode("utf-8-sig", "replace")
                        if "KEY" in head.splitlines()[0].replace(";", ",").split(","):
                            return "odk"
            return None
        if suffix == ".csv":
            with open(path, "rb") as fh:
                head = fh.read(8192).decode("utf-8-sig", "replace").splitlines()
            cols = head[0].replace(";", ",").split(",") if head else []
            cols = [c.strip().strip('"') for c in cols]
            if "_uuid" in cols or any(c.startswith("_") and c.endswith("_latitude")
                                      for c in cols):
                return "kobo"
            if "KEY" in cols and any(c.endswith("instanceID") or c.endswith("-Latitude")
                                     for c in cols):
                return "odk"
            return None
        if suffix in (".geojson", ".json"):
            info = pyogrio.read_info(path)
            return "kobo" if "_uuid" in list(info["fields"]) else None
        if suffix == ".gpkg":
            layers = pyogrio.list_layers(path)
            for name in layers[:, 0]:
                fields = list(pyogrio.read_info(path, layer=name)["fields"])
                if any(f in fields for f in ("uuid", "horizontal_accuracy", "accuracy")):
                    return "qfield"
            return None
    except (OSError, zipfile.BadZipFile, UnicodeError, pyogrio.errors.DataSourceError):
        return None
    return None


def _geopoints(df: pd.DataFrame, suffixes: tuple[str, str, str, str]) -> tuple[str, ...] | None:
    """The name of the geopoint question whose columns end with ``suffixes`` (lat, lon, alt,
    accuracy), e.g. ``details-location`` for ODK's ``details-location-Latitude``."""
    lat = suffixes[0]
    found = [c[: -len(lat)] for c in df.columns if c.endswith(lat)]
    if not found:
        return None
    base = found[0]
    return tuple(base + s for s in suffixes)


def _short(col: str, sep: str) -> str:
    return col.rsplit(sep, 1)[-1]


def _frame(df: pd.DataFrame, kind: str, sep: str, lat: str, lon: str, acc: str | None,
           what: str) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Schema columns (group prefixes dropped) + a point geometry + the accuracy column."""
    problems = []
    x = pd.to_numeric(df[lon].replace("", np.nan), errors="coerce").to_numpy(float)
    y = pd.to_numeric(df[lat].replace("", np.nan), errors="coerce").to_numpy(float)
    for i in np.flatnonzero(~(np.isfinite(x) & np.isfinite(y))):
        problems.append(Problem(int(i) + 1, _LOCATION, f"no position (columns {lat}, {lon}): "
                                f"{df[lat].iloc[i]!r}, {df[lon].iloc[i]!r}"))
    if problems:
        raise InvalidData(problems, what)
    accuracy = (pd.to_numeric(df[acc].replace("", np.nan), errors="coerce").to_numpy(float)
                if acc and acc in df else np.full(len(df), np.nan))
    wanted = set(SCHEMAS[kind].columns) - {"id", "overrides"}
    cols = {}
    for c in df.columns:
        name = _short(c, sep)
        if name in wanted and name not in cols:
            cols[name] = df[c].replace("", None).to_numpy(dtype=object)
    out = gpd.GeoDataFrame(cols, geometry=shapely.points(x, y), crs=STORAGE_CRS)
    if kind == "inspections" and "marker" in out:
        out["marker"] = [_marker_from_choice(v) if isinstance(v, str) else v
                         for v in out["marker"]]
    return out, accuracy


def _read_odk(path: Path, kind: str) -> FieldExport:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            tables = {n: _csv_text(z.read(n)) for n in z.namelist() if n.lower().endswith(".csv")}
    else:
        tables = {path.name: _csv_text(path.read_bytes())}
    mains = [n for n, t in tables.items() if "PARENT_KEY" not in t.columns]
    if len(mains) != 1:
        raise InvalidData(f"{path.name}: expected one main CSV (without PARENT_KEY) in the "
                          f"ODK export, found {len(mains)}: {', '.join(mains)}")
    df = tables[mains[0]]
    excluded = {}
    if "ReviewState" in df:
        rejected = df["ReviewState"].str.lower().eq("rejected")
        if rejected.any():
            excluded["rejected"] = int(rejected.sum())
    rows = np.arange(1, len(df) + 1)
    cols = _geopoints(df, ("-Latitude", "-Longitude", "-Altitude", "-Accuracy"))
    if cols is None:
        raise InvalidData(f"{path.name}: no geopoint columns (…-Latitude, …-Longitude) in the "
                          "ODK export")
    records, accuracy = _frame(df, kind, "-", cols[0], cols[1], cols[3], path.name)
    # repeats: the photos of a submission, in their own CSV linked by PARENT_KEY
    for name, t in tables.items():
        if name == mains[0] or "PARENT_KEY" not in t or kind != "inspections":
            continue
        photo = next((c for c in t.columns if _short(c, "-") == "photo"), None)
        if photo is None:
            continue
        # a nested repeat's PARENT_KEY names the submission's KEY followed by /group[n]
        parent = t["PARENT_KEY"].str.split("/").str[0]
        joined = t[t[photo] != ""].groupby(parent.loc[t[photo] != ""])[photo].agg("; ".join)
        records["photos"] = df["KEY"].map(joined).to_numpy(dtype=object)
    key_col = next((c for c in df.columns if _short(c, "-") == "instanceID"), "KEY")
    keys = ("odk:" + df[key_col].astype(str)).to_numpy(dtype=object)
    keep = ~df["ReviewState"].str.lower().eq("rejected").to_numpy() if "ReviewState" in df \
        else np.ones(len(df), bool)
    return FieldExport("odk", records[keep].reset_index(drop=True), rows[keep], keys[keep],
                       accuracy[keep], excluded)


def _read_kobo(path: Path, kind: str) -> FieldExport:
    if path.suffix.lower() == ".csv":
        df = _csv_text(path.read_bytes())
        lat = next((c for c in df.columns if c.startswith("_") and c.endswith("_latitude")), None)
        if lat is None:
            raise InvalidData(f"{path.name}: no geopoint columns (_<question>_latitude) in the "
                              "KoboToolbox export")
        base = lat[: -len("_latitude")]
        # the combined geopoint column ("lat lon alt precision") holds nothing more
        df = df.drop(columns=[c for c in df.columns if _short(c, "/") == base[1:]])
        records, accuracy = _frame(df, kind, "/", lat, base + "_longitude",
                                   base + "_precision", path.name)
    else:
        gdf = pyogrio.read_dataframe(path)
        gdf = gdf.to_crs(STORAGE_CRS) if gdf.crs is not None else gdf.set_crs(STORAGE_CRS)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object).where(
            lambda d: d.notna(), "").astype(str)
        df["__lon"], df["__lat"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        prec = next((c for c in df.columns if c.startswith("_") and c.endswith("_precision")),
                    "accuracy" if "accuracy" in df else None)
        records, accuracy = _frame(df, kind, "/", "__lat", "__lon", prec, path.name)
    key = "_uuid" if "_uuid" in df else next(
        (c for c in df.columns if _short(c, "/") == "instanceID"), None)
    if key is None:
        raise InvalidData(f"{path.name}: no submission id (_uuid) in the KoboToolbox export")
    keys = ("kobo:" + df[key].astype(str).str.removeprefix("uuid:")).to_numpy(dtype=object)
    return FieldExport("kobo", records, np.arange(1, len(df) + 1), keys, accuracy, {})


def _read_qfield(path: Path, kind: str, layer: str | None) -> FieldExport:
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if layer is None:
        cand = [n for n in names if n == kind] or names
        if len(cand) != 1:
            raise InvalidData(f"{path.name} has several layers ({', '.join(names)}): name one "
                              "with --layer")
        layer = cand[0]
    gdf = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)
    gdf = gdf.to_crs(STORAGE_CRS) if gdf.crs is not None else gdf.set_crs(STORAGE_CRS)
    if not len(gdf) or not gdf.geometry.geom_type.eq("Point").all():
        raise InvalidData(f"{path.name}:{layer}: expected a layer of points")
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.strftime("%Y-%m-%d")
    df = df.astype(object).where(df.notna(), "").astype(str)
    df["__lon"], df["__lat"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    acc = next((c for c in ("horizontal_accuracy", "accuracy") if c in df), None)
    records, accuracy = _frame(df, kind, "/", "__lat", "__lon", acc, f"{path.name}:{layer}")
    ids = df["uuid"].str.strip("{}") if "uuid" in df else \
        pd.Series([f"{path.stem}:{layer}:{fid}" for fid in gdf.index], dtype=object)
    keys = ("qfield:" + ids.astype(str)).to_numpy(dtype=object)
    return FieldExport("qfield", records, np.arange(1, len(df) + 1), keys, accuracy, {})


def read_field_export(path: str | os.PathLike, kind: str, *, layer: str | None = None,
                      tool: str | None = None) -> FieldExport:
    """Read an ODK Central, KoboToolbox or QField export of ``kind`` records."""
    path = Path(path)
    if kind not in FORM_KINDS:
        raise InvalidData(f"field exports hold {' or '.join(FORM_KINDS)}, not {kind!r}")
    tool = tool or detect_field_export(path)
    if tool == "odk":
        return _read_odk(path, kind)
    if tool == "kobo":
        return _read_kobo(path, kind)
    if tool == "qfield":
        return _read_qfield(path, kind, layer)
    raise InvalidData(f"{path.name} is not an ODK Central, KoboToolbox or QField export")


def import_field_export(store, kind: str, path: str | os.PathLike, *,
                        max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M, layer: str | None = None,
                        allow=(), settings=None, user: str | None = None
                        ) -> gpd.GeoDataFrame:
    """Import a field tool's export (see :func:`read_field_export`) into layer ``kind``
    (``user``: named in the store's ``write_log``).

    All or nothing, through :func:`bienmoc.records.import_records` (schema, references, rules;
    incidents located on the line). Rows whose fix is less accurate than ``max_accuracy_m`` are
    refused with the others' problems. Submissions already imported (their id is kept with
    the record) are skipped: the result's ``attrs`` say ``added``, ``skipped`` and
    ``excluded`` (rejected by a reviewer).
    """
    from bienmoc.records import import_records

    path = Path(path)
    from bienmoc.io.files import not_the_store

    not_the_store(store, path)
    export = read_field_export(path, kind, layer=layer)
    bad = np.flatnonzero(export.accuracy > max_accuracy_m)
    if len(bad):
        raise InvalidData([Problem(int(export.rows[i]), "accuracy",
                                   f"the GPS fix is accurate to {export.accuracy[i]:g} m, worse "
                                   f"than the {max_accuracy_m:g} m required")
                           for i in bad], path.name)
    records = export.records.copy()
    records["idempotency_key"] = export.keys
    data = import_records(store, kind, records, rows=export.rows, what=path.name, allow=allow,
                          settings=settings, user=user)
    data.attrs.update(added=int(len(data)), skipped=int(data.attrs.get("skipped", 0)),
                      excluded=dict(export.excluded), tool=export.tool)
    return data
