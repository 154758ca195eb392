"""Layer schemas: column names, enums with Vietnamese/English labels, and complete validation.

Every layer is a GeoDataFrame in EPSG:4326 whose columns follow a :class:`LayerSchema`.
:func:`validate` checks *all* rows and raises one :class:`~bienmoc.errors.InvalidData` listing
every problem (row number, field, reason); when it passes it returns a copy with canonical dtypes:

============  ==========================================================
schema type   pandas dtype
============  ==========================================================
text / enum   ``object`` (Python ``str``, ``None`` when empty)
int           ``Int64``
float         ``float64``
bool          ``boolean``
date          ``datetime64[ms]`` (a date: time of day is always 00:00)
datetime      ``object``: ISO 8601 text with its UTC offset kept
              (``2026-11-05T08:30:00+07:00``; see :func:`~bienmoc.model.dates.parse_datetime`)
============  ==========================================================

Enum values are stored as short English codes (``"built"``); on input the Vietnamese or English
label is accepted too (``"đã xây dựng"``, ``"Built"``), case-insensitively.
"""
from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.errors import InvalidData, Problem
from bienmoc.model.enums import (  # noqa: F401 - re-exported: schema is their public home
    Arrangement, Condition, ConstructionStatus, DemarcationStatus, FoundCondition, GateKind, GateStatus, HomeSide,
    IncidentKind, IncidentStatus, InspectionTeam, MarkerKind, WorkKind, label)
from bienmoc.model.dates import parse_date, parse_datetime
from bienmoc.model.frames import column_array, geo_frame, object_columns
from bienmoc.model.numbers import parse_number
from bienmoc.model.fields import Field, LayerSchema  # noqa: F401 - re-exported
from bienmoc.model.layers import IMPORTABLE, LAYERS, SCHEMAS  # noqa: F401 - re-exported

__all__ = [
    "MarkerKind", "Arrangement", "ConstructionStatus", "Condition", "GateKind", "GateStatus",
    "WorkKind", "InspectionTeam", "FoundCondition", "IncidentKind", "IncidentStatus", "HomeSide",
    "DemarcationStatus",
    "Field", "LayerSchema", "SCHEMAS", "LAYERS", "IMPORTABLE", "label", "validate", "conform",
    "empty_layer",
    "REGION_BOUNDS",
]



#: Generous lon/lat window around Vietnam's land borders: coordinates outside it are rejected
#: (they are swapped lat/lon, another country, or projected numbers read as degrees).
REGION_BOUNDS = (97.0, 5.0, 115.0, 26.0)


# -- validation --------------------------------------------------------------------------

def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


#: Control characters refused in text (C0 and C1 except tab, newline, carriage return).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _shorten(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[:n] + "…"


def _parse_date(v: object) -> pd.Timestamp:
    if isinstance(v, (pd.Timestamp, _dt.datetime)) and getattr(v, "tzinfo", None) is not None:
        v = pd.Timestamp(v).tz_convert(None)
    return pd.Timestamp(parse_date(v))


def _parse_bool(v: object) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    s = str(v).strip().casefold()
    if s in ("true", "1", "yes", "y", "có", "x"):
        return True
    if s in ("false", "0", "no", "n", "không"):
        return False
    raise ValueError(f"not a yes/no value: {v!r} (use true/false)")


def _parse_number_value(v: object, integer: bool) -> float | int:
    if isinstance(v, (bool, np.bool_)):
        raise ValueError(f"not a number: {v!r}")
    if isinstance(v, str):
        s = v.strip().replace(" ", "")
        try:
            x = float(s)
        except ValueError:
            raise ValueError(f"not a number: {v!r}") from None
    else:
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"not a number: {v!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"not a finite number: {v!r}")
    if integer:
        if x != int(x):
            raise ValueError(f"not a whole number: {v!r}")
        return int(x)
    return x


def _coerce_value(f: Field, v: object):
    """Return the canonical Python value of ``v`` for field ``f`` or raise ValueError."""
    if f.is_enum:
        return f.type.parse(v).value
    if f.type == "text":
        s = v if isinstance(v, str) else str(v)
        bad = _CONTROL.search(s)
        if bad:  # refused, never cut: SQLite/GDAL would store only the text before a NUL
            raise ValueError(f"control character U+{ord(bad.group()):04X} at position "
                             f"{bad.start() + 1} of {_shorten(s)!r}; only tab and newline "
                             "are allowed")
        s = unicodedata.normalize("NFC", s.strip())
        if f.max_len is not None and len(s) > f.max_len:
            raise ValueError(f"text longer than {f.max_len} characters ({len(s)})")
        return s
    if f.type == "date":
        return _parse_date(v)
    if f.type == "datetime":
        return parse_datetime(v)
    if f.type == "bool":
        return _parse_bool(v)
    if f.type in ("int", "float"):
        x = _parse_number_value(v, integer=f.type == "int")
        if f.min is not None and x < f.min:
            raise ValueError(f"{x} is below the minimum {f.min:g}")
        if f.max is not None and x > f.max:
            raise ValueError(f"{x} is above the maximum {f.max:g}")
        return x
    raise TypeError(f"unknown field type {f.type!r}")


_DTYPES = {"text": object, "int": "Int64", "float": "float64", "bool": "boolean",
           "date": "datetime64[ms]", "datetime": object}


def _column(f: Field, values: list) -> pd.Series:
    """Field ``f``'s canonical values (None where missing) as a Series of its dtype."""
    return pd.Series(_column_values(f, values), dtype=_DTYPES[f.type] if not f.is_enum
                     else object)


def _column_values(f: Field, values: list):
    """Field ``f``'s canonical values as the array a frame keeps (object, float64,
    datetime64[ms], Int64 or boolean)."""
    if f.is_enum or f.type in ("text", "datetime"):
        return column_array(values)
    if f.type == "date":
        return np.array([_NAT if v is None else np.datetime64(v, "ms") for v in values],
                        dtype="datetime64[ms]")
    if f.type == "float":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    return pd.array(values, dtype=_DTYPES[f.type])


_NAT = np.datetime64("NaT", "ms")
_BORDER_CODE = re.compile(r"[A-Z]{2}")


def empty_layer(kind: str) -> gpd.GeoDataFrame:
    """An empty, correctly typed layer."""
    schema = SCHEMAS[kind]
    cols = {f.name: _column(f, []) for f in schema.fields}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _geometry_problems(schema: LayerSchema, geoms: np.ndarray, rows: np.ndarray) -> list[Problem]:
    if len(geoms) and "Point" in schema.geometry_types and _points_fine(geoms):
        return []  # (the common case, e.g. an API batch of incidents: one vectorised check)
    problems: list[Problem] = []
    missing = shapely.is_missing(geoms)
    empty = np.zeros(len(geoms), bool)
    empty[~missing] = shapely.is_empty(geoms[~missing])
    types = np.array([None if m else g.geom_type for g, m in zip(geoms, missing | empty)],
                     dtype=object)
    xmin, ymin, xmax, ymax = REGION_BOUNDS
    for i, g in enumerate(geoms):
        r = int(rows[i])
        if missing[i] or empty[i]:
            if schema.geometry_required:
                problems.append(Problem(r, "geometry", "geometry is missing or empty"))
            continue
        if types[i] not in schema.geometry_types:
            problems.append(Problem(r, "geometry", f"wrong geometry type {types[i]}; "
                                    f"expected {' or '.join(schema.geometry_types)}"))
            continue
        coords = shapely.get_coordinates(g)
        if not np.isfinite(coords).all():
            problems.append(Problem(r, "geometry", "coordinates are not finite numbers"))
            continue
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
            if (np.abs(coords) > 1000).any():
                reason = (f"coordinates ({coords[0, 0]:.1f}, {coords[0, 1]:.1f}) look projected "
                          "(metres), not longitude/latitude: give the source CRS, e.g. "
                          "--crs EPSG:3405 for VN-2000 / UTM 48N")
            else:
                reason = (f"coordinates ({coords[0, 0]:g}, {coords[0, 1]:g}) are out of range "
                          "(longitude -180..180, latitude -90..90)")
            problems.append(Problem(r, "geometry", reason))
            continue
        if lo[0] < xmin or hi[0] > xmax or lo[1] < ymin or hi[1] > ymax:
            swapped = xmin <= coords[0, 1] <= xmax and ymin <= coords[0, 0] <= ymax
            reason = (f"coordinates ({coords[0, 0]:g}, {coords[0, 1]:g}) lie outside the border "
                      f"region (longitude {xmin:g}..{xmax:g}, latitude {ymin:g}..{ymax:g})")
            if swapped:
                reason += "; longitude and latitude look swapped"
            problems.append(Problem(r, "geometry", reason))
            continue
        if not shapely.is_valid(g):
            problems.append(Problem(r, "geometry",
                                    f"invalid geometry: {shapely.is_valid_reason(g)}"))
    return problems


def _points_fine(geoms: np.ndarray) -> bool:
    """True when every geometry is a finite point inside the border region: nothing for
    :func:`_geometry_problems` to report (its row-by-row checks name the problem otherwise)."""
    try:
        if not (shapely.get_type_id(geoms) == 0).all():  # (missing geometries are -1)
            return False
    except TypeError:  # not geometries at all
        return False
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms) or not np.isfinite(xy).all():  # (an empty point has none)
        return False
    x0, y0, x1, y1 = REGION_BOUNDS
    return bool(((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0)
                 & (xy[:, 1] <= y1)).all())


def _marker_problems(cols, rows: np.ndarray) -> list[Problem]:
    """Checks that tie 'number', 'arrangement' and 'part' together (``cols``: the column
    arrays)."""
    problems = []
    for i, (num, arr, part) in enumerate(zip(cols["number"], cols["arrangement"],
                                             cols["part"])):
        if num is None or arr is None:
            continue
        n = parse_number(num)
        p = None if part is pd.NA or part is None else int(part)
        r = int(rows[i])
        if n.part and p is not None and p != n.part:
            problems.append(Problem(r, "part", f"part {p} disagrees with number {num!r}"))
        eff = n.part or p
        if arr == Arrangement.SINGLE and eff:
            problems.append(Problem(r, "arrangement",
                                    f"single marker {num!r} cannot have a part index"))
        if arr in (Arrangement.DOUBLE, Arrangement.TRIPLE):
            if not eff:
                problems.append(Problem(r, "number", f"{arr} marker {num!r} needs a part "
                                        "index, e.g. '222(1)' and '222(2)'"))
            elif arr == Arrangement.DOUBLE and eff > 2:
                problems.append(Problem(r, "part", f"double marker {num!r} has part {eff} > 2"))
    return problems


def validate(kind: str, data: pd.DataFrame, *, existing: pd.DataFrame | None = None,
             rows: Iterable[int] | None = None, borders: Iterable[str] | None = None,
             what: str | None = None, assign_ids: bool = True) -> gpd.GeoDataFrame:
    """Validate and canonicalise a layer; raise :class:`InvalidData` listing every problem.

    Parameters
    ----------
    kind : layer name, one of :data:`LAYERS`.
    data : the records (GeoDataFrame in EPSG:4326, or with no CRS meaning lon/lat).
    existing : records already stored; keys must stay unique over ``existing`` + ``data``.
    rows : the 1-based source row number of each record (default 1..n).
    borders : known border codes; a record naming another border is rejected.
    assign_ids : give rows without an id the next free one (markers: always ``BORDER-NUMBER``);
        False leaves them empty for a transaction's ``append`` to allocate.
    """
    if kind not in SCHEMAS:
        raise InvalidData(f"unknown layer {kind!r}; expected one of {', '.join(LAYERS)}")
    schema = SCHEMAS[kind]
    n = len(data)
    rows_arr = np.arange(1, n + 1) if rows is None else np.asarray(list(rows), dtype=int)
    problems: list[Problem] = []
    if n == 0:
        return empty_layer(kind)

    gdf = data
    # (the geometry column by name: each ``.geometry``/``.crs`` builds a GeoSeries)
    gname = getattr(gdf, "_geometry_column_name", None) if isinstance(
        gdf, gpd.GeoDataFrame) else None
    if gname is not None and gname in gdf:
        crs = gdf.crs
        if crs is not None and crs.to_epsg() != 4326:
            gdf = gdf.to_crs(STORAGE_CRS)
    else:
        gname = None
    given = object_columns(gdf)
    geoms = given[gname] if gname is not None else np.full(n, None, dtype=object)

    unknown = [c for c in data.columns if c not in schema.columns
               and c != getattr(gdf, "_geometry_column_name", None)]
    out: dict[str, list] = {}
    for f in schema.fields:
        values = given[f.name] if f.name in given else [None] * n
        if f.required and f.name not in data.columns and not (f.name == "id"):
            problems.append(Problem(None, f.name, "required column is missing"))
            out[f.name] = [None] * n
            continue
        col = []
        numbered = f.name in ("number", "marker", "marker_from", "marker_to")
        border = f.name == "border"
        for i, v in enumerate(values):
            if _is_missing(v):
                if f.required:
                    problems.append(Problem(int(rows_arr[i]), f.name, "value is required"))
                col.append(None)
                continue
            try:
                val = _coerce_value(f, v)
                if numbered:
                    val = str(parse_number(val))
                if border and not _BORDER_CODE.fullmatch(val):
                    raise ValueError(f"border code {val!r} must be the neighbour's two-letter "
                                     "ISO code, e.g. CN, LA, KH")
            except InvalidData as e:
                problems.append(Problem(int(rows_arr[i]), f.name, e.problems[0].reason))
                val = None
            except ValueError as e:
                problems.append(Problem(int(rows_arr[i]), f.name, str(e)))
                val = None
            col.append(val)
        out[f.name] = col

    problems += _geometry_problems(schema, geoms, rows_arr)
    if borders is not None and "border" in out and kind != "boundary":
        known = set(borders)
        for i, b in enumerate(out["border"]):
            if b is not None and b not in known:
                problems.append(Problem(int(rows_arr[i]), "border", f"unknown border {b!r}; "
                                        f"the store has {', '.join(sorted(known)) or 'none'}"))

    if kind == "markers":  # the part index is implied by the number: 222(1) -> 1
        out["part"] = [p if p is not None or num is None else (parse_number(num).part or None)
                       for p, num in zip(out["part"], out["number"])]
    for f in schema.fields:  # a missing yes/no flag means no
        if f.type == "bool":
            out[f.name] = [False if v is None else v for v in out[f.name]]
    cols = {f.name: _column_values(f, out[f.name]) for f in schema.fields}
    if kind == "markers":
        problems += _marker_problems(cols, rows_arr)

    # ids: assign missing ones; keys unique over existing + new
    generated = np.zeros(n, bool)
    if "id" in schema.columns:
        generated = pd.isna(cols["id"])
        if generated.any() and (assign_ids or kind == "markers"):
            cols["id"] = cols["id"].copy()
            cols["id"][generated] = _new_ids(schema, cols, generated, existing)
    problems += _duplicate_problems(schema, cols, rows_arr, existing, generated)

    if problems:
        problems.sort(key=lambda p: (p.row if p.row is not None else 0, p.field or ""))
        raise InvalidData(problems, what)
    # built from the typed arrays as they are (bienmoc.model.frames): through the public
    # constructors the frame cost ~1 ms, most of a small API batch's validation
    out_gdf = geo_frame(cols, geoms, STORAGE_CRS)
    out_gdf.attrs["ignored_columns"] = unknown
    return out_gdf


def _new_ids(schema: LayerSchema, frame, mask, existing: pd.DataFrame | None) -> list[str]:
    """Ids for the rows of ``frame`` (a frame or a mapping of column arrays) where ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    if schema.name == "markers":
        return [f"{b}-{n}" for b, n in zip(np.asarray(frame["border"], dtype=object)[mask],
                                           np.asarray(frame["number"], dtype=object)[mask])]
    ids = np.asarray(frame["id"], dtype=object)
    taken = set(ids[pd.notna(ids)])
    if existing is not None and "id" in existing:
        taken |= set(existing["id"].dropna())
    pat = re.compile(rf"^{schema.id_prefix}-(\d+)$")
    nums = [int(m.group(1)) for t in taken if (m := pat.match(str(t)))]
    start = max(nums, default=0) + 1
    return [f"{schema.id_prefix}-{start + k:06d}" for k in range(int(mask.sum()))]


def _duplicate_problems(schema: LayerSchema, cols: dict, rows: np.ndarray,
                        existing: pd.DataFrame | None, generated: np.ndarray) -> list[Problem]:
    """Repeated keys within ``cols`` (column arrays) and against ``existing``."""
    problems = []
    keys = [schema.key]
    if "id" in schema.columns and schema.key != ("id",):
        keys.append(("id",))
    for key in keys:
        # (whole columns as arrays first: most API batches have no key to compare at all)
        valid = np.logical_and.reduce([pd.notna(np.asarray(cols[k], dtype=object))
                                       for k in key])
        if not valid.any():  # nothing to compare (e.g. ids the store will allocate)
            continue
        seen: dict[tuple, int] = {}
        if existing is not None and all(k in existing for k in key):
            for tup in existing[list(key)].itertuples(index=False):
                seen[tuple(tup)] = 0
        for i, t in enumerate(zip(*(cols[k] for k in key))):
            if not valid[i] or (key == ("id",) and generated[i]
                                and schema.key != ("id",)):
                continue  # an id derived from the key repeats only what the key check says
            label_ = ", ".join(f"{k}={v!r}" for k, v in zip(key, t))
            if t in seen:
                where = "already in the store" if seen[t] == 0 else f"also in row {seen[t]}"
                what_ = "marker number on one border" if key == ("border", "number") else "key"
                problems.append(Problem(int(rows[i]), key[-1],
                                        f"duplicate {what_} ({label_}): {where}"))
            else:
                seen[t] = int(rows[i])
    return problems


def conform(kind: str, data: pd.DataFrame) -> gpd.GeoDataFrame:
    """Cast an already-validated layer (e.g. read back from a store) to canonical dtypes.

    Unlike :func:`validate` it checks nothing: it only restores the dtypes a file format could
    not keep (dates read as datetimes or text, booleans read as integers, missing columns).
    """
    schema = SCHEMAS[kind]
    cols = {}
    n = len(data)
    for f in schema.fields:
        if f.name not in data.columns:
            cols[f.name] = _column(f, [None] * n)
            continue
        s = data[f.name]
        if (f.is_enum or f.type == "text") and pd.api.types.infer_dtype(
                s, skipna=True) in ("string", "empty"):  # already text: only blanks to None
            blank = s.isna().to_numpy() | s.astype(object).fillna("").astype(str).str.strip(
                ).eq("").to_numpy()
            vals = s.astype(object).to_numpy().copy()
            vals[blank] = None
            cols[f.name] = pd.Series(vals, dtype=object)
        elif f.is_enum or f.type == "text":
            cols[f.name] = pd.Series([None if _is_missing(v) else str(v) for v in s],
                                     dtype=object)
        elif f.type == "datetime":  # stored as canonical ISO text: kept as it is
            if pd.api.types.is_datetime64_any_dtype(s.dtype) or s.dtype == object and any(
                    not isinstance(v, str) and not _is_missing(v) for v in s[:1000]):
                vals = [None if _is_missing(v) else parse_datetime(v) for v in s]
            else:
                vals = s.astype(object).where(s.notna(), None).tolist()
            cols[f.name] = pd.Series(vals, dtype=object)
        elif f.type == "date":
            cols[f.name] = pd.to_datetime(s, errors="raise").dt.normalize().astype(
                "datetime64[ms]") if n else _column(f, [])
        elif f.type == "bool":
            cols[f.name] = pd.Series([None if _is_missing(v) else _parse_bool(v) for v in s],
                                     dtype="boolean")
        elif f.type == "int" and (isinstance(s.dtype, pd.Int64Dtype) or s.dtype.kind in "iu"):
            cols[f.name] = s.astype("Int64").reset_index(drop=True)
        elif f.type == "int":
            cols[f.name] = pd.Series([None if _is_missing(v) else int(v) for v in s],
                                     dtype="Int64")
        else:
            cols[f.name] = pd.to_numeric(s, errors="raise").astype("float64")
    frame = pd.DataFrame(cols, index=pd.RangeIndex(n))
    if isinstance(data, gpd.GeoDataFrame) and data.geometry.name in data:
        geom = gpd.GeoSeries(np.asarray(data.geometry.values, dtype=object),
                             crs=data.crs or STORAGE_CRS)
        if not geom.crs.equals(STORAGE_CRS):
            geom = geom.to_crs(STORAGE_CRS)
    else:
        geom = gpd.GeoSeries([None] * n, crs=STORAGE_CRS)
    return gpd.GeoDataFrame(frame, geometry=geom.values, crs=STORAGE_CRS)
