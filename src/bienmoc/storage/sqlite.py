"""The raw SQLite side of the GeoPackage store: geometry blobs, tables, one write transaction.

Everything bienmoc writes to a store goes through Python's ``sqlite3`` inside one SQLite
transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), so it is atomic with the reads and checks made
before it, and GDAL is never used on the store in the bienmoc process (two SQLite libraries in
one process drop each other's POSIX locks: SQLite's "multiple copies" hazard; GDAL reads the
store only from other programs - QGIS, ogrinfo - where the locks work as designed).

Hand-written rather than left to pyogrio because pyogrio (without pyarrow) cannot declare DATE
fields, cannot write inside a transaction that also reads and allocates ids, and cannot add the
UNIQUE index and idempotency column; the GeoPackage parts written here are the standard ones
(GeoPackage 1.2: ``gpkg_contents``, ``gpkg_geometry_columns``, the R-tree extension with the same
triggers GDAL creates, geometry blobs = "GP" header + envelope + ISO WKB).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import signal
import sqlite3
import struct
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.errors import StorageError

__all__ = ["connect", "encode_geometries", "decode_geometries", "create_base", "ensure_layer",
           "read_table", "fault", "fsync_path", "IDEMPOTENCY", "DuplicateKey"]

IDEMPOTENCY = "idempotency_key"
GEOM = "geom"
APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10200  # GeoPackage 1.2: opened without warnings by GDAL 3.6 (Debian 12)
META = "bienmoc_meta"  # key/value: schema migration level, write counter
SEQUENCES = "bienmoc_sequences"  # per layer: the last number handed out for generated ids
MIGRATION_LEVEL = "3"


def migration_level() -> str:
    """The level a store is migrated to: :data:`MIGRATION_LEVEL` and a digest of the layers'
    columns, so that a field added to a schema reaches stores written before (``migrate``
    adds the missing columns)."""
    import hashlib

    from bienmoc.model.schema import SCHEMAS

    cols = repr([(name, _schema_columns(name, None)[0]) for name in SCHEMAS])
    return f"{MIGRATION_LEVEL}-{hashlib.sha1(cols.encode()).hexdigest()[:12]}"


class DuplicateKey(StorageError):
    """An append would store an ``id`` that the layer already holds (nothing was written)."""

    def __init__(self, layer: str, ids: list[str]):
        self.layer, self.ids = layer, list(ids)
        super().__init__(f"layer {layer!r} already holds id(s) {', '.join(map(str, ids[:5]))}")


# -- fault injection and fsync (both tested; see tests/test_concurrency.py) -------------------
def fault(point: str) -> None:
    """Kill this process at ``point`` when ``BIENMOC_FAULT`` names it (tests only: a crash at a
    deterministic place inside a transaction, e.g. ``after-insert``)."""
    if os.environ.get("BIENMOC_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_path(path: Path | str) -> None:
    """fsync one file or folder (module-level so that tests can count the calls)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- connections -------------------------------------------------------------------------------
def _gpkg_header_len(b: bytes) -> int:
    return 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((b[3] >> 1) & 0x07, 0)


def _blob_geometry(blob):
    if blob is None:
        return None
    b = bytes(blob)
    if b[:2] != b"GP":
        return None
    return shapely.from_wkb(b[_gpkg_header_len(b):])


def _st_is_empty(blob):
    # the header's empty flag, as GDAL's ST_IsEmpty reads it (the spec requires the flag)
    if blob is None:
        return None
    if len(blob) > 3 and bytes(blob[:2]) == b"GP":
        return (blob[3] >> 4) & 1
    g = _blob_geometry(blob)
    return 1 if g is None or g.is_empty else 0


def _st_bound(i: int):
    def f(blob):
        if blob is None:
            return None
        b = bytes(blob)
        if b[:2] == b"GP" and (b[3] >> 1) & 0x07:  # the envelope in the header: no parsing
            minx, maxx, miny, maxy = struct.unpack_from("<4d" if b[3] & 1 else ">4d", b, 8)
            return (minx, miny, maxx, maxy)[i]
        if b[:2] == b"GP" and len(b) >= 29:  # a 2D point without envelope: read x, y
            start = _gpkg_header_len(b)
            order = "<" if b[start] == 1 else ">"
            if struct.unpack_from(order + "I", b, start + 1)[0] == 1:
                x, y = struct.unpack_from(order + "2d", b, start + 5)
                return (x, y, x, y)[i]
        g = _blob_geometry(b)
        return None if g is None or g.is_empty else float(g.bounds[i])
    return f


def connect(path: Path | str, *, readonly: bool = False, timeout: float = 30.0
            ) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the SQL functions the
    R-tree triggers call (``ST_IsEmpty``, ``ST_MinX`` ...) in their GeoPackage meaning."""
    if readonly:
        con = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=timeout,
                              isolation_level=None, check_same_thread=False)
    else:
        con = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                              check_same_thread=False)
    con.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")):
        con.create_function(name, 1, _st_bound(i), deterministic=True)
    return con


def q(name: str) -> str:
    """A quoted SQLite identifier (layer and field names come from code, never requests)."""
    return '"' + str(name).replace('"', '""') + '"'


# -- geometry blobs ----------------------------------------------------------------------------
def encode_geometries(geoms, srs_id: int = 4326) -> list:
    """GeoPackage blobs of shapely geometries: "GP", version 0, flags (little endian, an XY
    envelope except for points, the empty flag), srs_id, envelope, ISO WKB. None stays None."""
    arr = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(arr)
    out: list = [None] * len(arr)
    if missing.all():
        return out
    present = arr[~missing]
    wkb = shapely.to_wkb(present, byte_order=1, flavor="iso", output_dimension=2)
    bounds = shapely.bounds(present)
    empty = shapely.is_empty(present)
    points = shapely.get_type_id(present) == 0
    for k, i in enumerate(np.flatnonzero(~missing)):
        if empty[k]:
            head = struct.pack("<2sBBi", b"GP", 0, 0x01 | 0x10, srs_id)
        elif points[k]:
            head = struct.pack("<2sBBi", b"GP", 0, 0x01, srs_id)
        else:
            b = bounds[k]
            head = struct.pack("<2sBBi4d", b"GP", 0, 0x03, srs_id, b[0], b[2], b[1], b[3])
        out[i] = head + wkb[k]
    return out


def decode_geometries(blobs: Iterable) -> np.ndarray:
    """Shapely geometries of GeoPackage blobs (vectorised WKB parsing after the headers)."""
    blobs = list(blobs)
    wkbs = [None if b is None or bytes(b[:2]) != b"GP" else bytes(b)[_gpkg_header_len(b):]
            for b in blobs]
    if not wkbs:
        return np.empty(0, dtype=object)
    return shapely.from_wkb(np.array(wkbs, dtype=object))


# -- creating the file and its layers ---------------------------------------------------------
_SRS_4326 = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
             'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
             'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG",'
             '"9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]')

_BASE = [
    "CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER "
    "NOT NULL PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT "
    "NULL, definition TEXT NOT NULL, description TEXT)",
    "CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type "
    "TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME "
    "NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, "
    "max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY "
    "(srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL, column_name "
    "TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT "
    "NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), "
    "CONSTRAINT uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn FOREIGN KEY "
    "(table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gc_srs FOREIGN KEY "
    "(srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))",
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
    "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT "
    "ge_tce UNIQUE (table_name, column_name, extension_name))",
]


def create_base(con: sqlite3.Connection) -> None:
    """Make an empty database a GeoPackage 1.2 (inside the caller's transaction)."""
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {USER_VERSION}")
    for sql in _BASE:
        con.execute(sql)
    con.executemany(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [("Undefined Cartesian SRS", -1, "NONE", -1, "undefined",
          "undefined Cartesian coordinate reference system"),
         ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
          "undefined geographic coordinate reference system"),
         ("WGS 84 geodetic", 4326, "EPSG", 4326, _SRS_4326,
          "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid")])
    con.execute(f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {SEQUENCES} (layer TEXT PRIMARY KEY, "
                "last INTEGER NOT NULL)")


_SQL_TYPES = {"text": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "BOOLEAN",
              "date": "DATE",
              # ISO 8601 text with its UTC offset (a DATETIME column would be read back as UTC)
              "datetime": "TEXT"}


def _schema_columns(layer: str, data: pd.DataFrame | None) -> tuple[list[tuple[str, str]], str | None]:
    """[(column, SQL type)] and the geometry type name (None: an attributes table)."""
    from bienmoc.model.schema import SCHEMAS

    if layer in SCHEMAS:
        s = SCHEMAS[layer]
        cols = [(f.name, "TEXT" if f.is_enum else _SQL_TYPES[f.type]) for f in s.fields]
        cols.append((IDEMPOTENCY, "TEXT"))
        types = s.geometry_types
        gtype = None if not types else (types[0].upper() if len(types) == 1 else "GEOMETRY")
        return cols, gtype
    cols = []
    geom_name = _geometry_name(data)
    for c in (data.columns if data is not None else []):
        if c == geom_name:
            continue
        dt = str(data[c].dtype)
        t = ("DATETIME" if dt.startswith("datetime64") else "BOOLEAN" if dt in ("bool", "boolean")
             else "INTEGER" if dt.lower().startswith("int") else "REAL"
             if dt.startswith("float") else "TEXT")
        cols.append((str(c), t))
    return cols, ("GEOMETRY" if geom_name else None)


def _geometry_name(data) -> str | None:
    name = getattr(data, "_geometry_column_name", None)
    return name if isinstance(data, gpd.GeoDataFrame) and name in data.columns else None


def ensure_layer(con: sqlite3.Connection, layer: str, data: pd.DataFrame | None = None) -> None:
    """Create ``layer`` (in the caller's transaction) unless it exists: a features table with a
    generic or single geometry type and an R-tree index, or an attributes table; DATE fields;
    a UNIQUE index on ``id`` and an indexed idempotency column for bienmoc's layers."""
    if table_columns(con, layer):
        return
    cols, gtype = _schema_columns(layer, data)
    defs = ['"fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL']
    if gtype:
        defs.append(f'{q(GEOM)} {gtype}')
    defs += [f"{q(c)} {t}" for c, t in cols]
    con.execute(f"CREATE TABLE {q(layer)} ({', '.join(defs)})")
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES (?, ?, ?, ?)", (layer, "features" if gtype else "attributes", layer,
                                        4326 if gtype else 0))
    if has_table(con, "gpkg_ogr_contents"):  # GDAL's count cache: NULL = "count the rows"
        con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents VALUES (?, NULL)", (layer,))
    if gtype:
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, 4326, 0, 0)",
                    (layer, GEOM, gtype))
        _create_rtree(con, layer)
    _indexes(con, layer)


def _create_rtree(con: sqlite3.Connection, t: str) -> None:
    r, g = f"rtree_{t}_{GEOM}", GEOM
    con.execute("INSERT OR IGNORE INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
                "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (t, g))
    con.execute(f"CREATE VIRTUAL TABLE {q(r)} USING rtree(id, minx, maxx, miny, maxy)")
    ins = (f'INSERT OR REPLACE INTO {q(r)} VALUES (NEW."fid", ST_MinX(NEW.{q(g)}), '
           f'ST_MaxX(NEW.{q(g)}), ST_MinY(NEW.{q(g)}), ST_MaxY(NEW.{q(g)}))')
    full = f"(NEW.{q(g)} NOTNULL AND NOT ST_IsEmpty(NEW.{q(g)}))"
    none = f"(NEW.{q(g)} ISNULL OR ST_IsEmpty(NEW.{q(g)}))"
    for name, sql in [
        ("insert", f"AFTER INSERT ON {q(t)} WHEN {full} BEGIN {ins}; END"),
        ("update1", f'AFTER UPDATE OF {q(g)} ON {q(t)} WHEN OLD."fid" = NEW."fid" AND {full} '
                    f"BEGIN {ins}; END"),
        ("update2", f'AFTER UPDATE OF {q(g)} ON {q(t)} WHEN OLD."fid" = NEW."fid" AND {none} '
                    f'BEGIN DELETE FROM {q(r)} WHERE id = OLD."fid"; END'),
        ("update3", f'AFTER UPDATE ON {q(t)} WHEN OLD."fid" != NEW."fid" AND {full} BEGIN '
                    f'DELETE FROM {q(r)} WHERE id = OLD."fid"; {ins}; END'),
        ("update4", f'AFTER UPDATE ON {q(t)} WHEN OLD."fid" != NEW."fid" AND {none} BEGIN '
                    f'DELETE FROM {q(r)} WHERE id IN (OLD."fid", NEW."fid"); END'),
        ("delete", f"AFTER DELETE ON {q(t)} WHEN old.{q(g)} NOT NULL BEGIN "
                   f'DELETE FROM {q(r)} WHERE id = OLD."fid"; END'),
    ]:
        con.execute(f"CREATE TRIGGER {q(r + '_' + name)} {sql}")


def _indexes(con: sqlite3.Connection, layer: str) -> None:
    cols = table_columns(con, layer)
    if "id" in cols:  # ids unique by constraint, whoever writes (QGIS too)
        con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {q('uq_' + layer + '_id')} "
                    f"ON {q(layer)} (id)")
    if IDEMPOTENCY in cols:
        con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {q('uq_' + layer + '_idem')} ON "
                    f"{q(layer)} ({IDEMPOTENCY}) WHERE {IDEMPOTENCY} IS NOT NULL")


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (name,)).fetchone() is not None


def table_columns(con: sqlite3.Connection, layer: str) -> dict[str, str]:
    """{column: declared type (upper case)} of a table, in order; {} if absent."""
    return {r[1]: (r[2] or "").upper() for r in con.execute(f"PRAGMA table_info({q(layer)})")}


def geometry_column(con: sqlite3.Connection, layer: str) -> str | None:
    try:
        row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                          (layer,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def migrate(con: sqlite3.Connection, layers: Iterable[str]) -> None:
    """Bring a store written by an older bienmoc (or GDAL) up to date, inside the caller's
    write transaction: idempotency column and UNIQUE id index on bienmoc's layers, generic
    geometry type for mixed layers, GeoPackage 1.2 version number, DATE fields.

    Changing a field's declared type from DATETIME to DATE rewrites only the CREATE TABLE text
    (the procedure SQLite documents for schema changes that keep the stored format: both types
    have NUMERIC affinity) and cuts stored values to the date.
    """
    from bienmoc.model.schema import SCHEMAS

    create_base(con)
    con.execute(f"PRAGMA user_version = {USER_VERSION}")
    retype: list[tuple[str, str]] = []
    for layer in layers:
        cols = table_columns(con, layer)
        if not cols:
            continue
        if layer in SCHEMAS:
            for name, sql_type in _schema_columns(layer, None)[0]:
                if name not in cols:  # a field added to the schema since (idempotency too)
                    con.execute(f"ALTER TABLE {q(layer)} ADD COLUMN {q(name)} {sql_type}")
            want = _schema_columns(layer, None)[1]
            if want and geometry_column(con, layer):
                con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ? "
                            "WHERE table_name = ?", (want, layer))
            for f in SCHEMAS[layer].fields:
                if f.type == "date" and cols.get(f.name) == "DATETIME":
                    retype.append((layer, f.name))
        dup = con.execute(f"SELECT id, count(*) FROM {q(layer)} GROUP BY id HAVING count(*) > 1 "
                          "AND id IS NOT NULL LIMIT 5").fetchall() if "id" in cols else []
        if dup:
            raise StorageError(f"layer {layer!r} holds duplicate ids "
                               f"{', '.join(str(d[0]) for d in dup)}: fix them (e.g. in QGIS) "
                               "before bienmoc can add its unique index")
        _indexes(con, layer)
    if retype:
        for layer, col in retype:
            con.execute(f"UPDATE {q(layer)} SET {q(col)} = substr({q(col)}, 1, 10) "
                        f"WHERE {q(col)} IS NOT NULL")
        version = con.execute("PRAGMA schema_version").fetchone()[0]
        con.execute("PRAGMA writable_schema = ON")
        try:
            for layer, col in retype:
                sql = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                  "name = ?", (layer,)).fetchone()[0]
                new = re.sub(rf'({re.escape(q(col))}\s+)DATETIME', r"\1DATE", sql, count=1)
                con.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                            (new, layer))
            con.execute(f"PRAGMA schema_version = {version + 1}")
        finally:
            con.execute("PRAGMA writable_schema = OFF")
    con.execute(f"INSERT OR REPLACE INTO {META} VALUES ('migration', ?)", (migration_level(),))


# -- values in and out -------------------------------------------------------------------------
def _converter(sql_type: str):
    """A function turning one pandas/Python value into what a column of ``sql_type`` stores."""
    def missing(v) -> bool:
        return v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v)))

    if sql_type == "DATE":
        return lambda v: None if missing(v) else pd.Timestamp(v).strftime("%Y-%m-%d")
    if sql_type == "DATETIME":
        def dt(v):
            if missing(v):
                return None
            t = pd.Timestamp(v)
            if t.tzinfo is not None:
                t = t.tz_convert("UTC").tz_localize(None)
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        return dt
    if sql_type == "BOOLEAN":
        return lambda v: None if missing(v) else int(bool(v))
    if sql_type in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT"):
        return lambda v: None if missing(v) else int(v)
    if sql_type in ("REAL", "DOUBLE", "FLOAT"):
        return lambda v: None if missing(v) else float(v)
    return lambda v: None if missing(v) else (v if isinstance(v, str) else str(v))


def _column_values(values: pd.Series, sql_type: str) -> list:
    """What :func:`_converter` gives for each value, computed for the whole column."""
    present = values.notna().to_numpy()
    if sql_type in ("DATE", "DATETIME") and (values.dtype.kind == "M" or not present.any()):
        t = pd.to_datetime(values)
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        text = t.dt.strftime("%Y-%m-%d" if sql_type == "DATE" else "%Y-%m-%dT%H:%M:%S.%f")
        if sql_type == "DATETIME":
            text = text.str[:23] + "Z"
        out = text.astype(object).tolist()
    elif sql_type in ("DATE", "DATETIME"):
        return _to_sql(values, sql_type)
    elif sql_type in ("REAL", "DOUBLE", "FLOAT"):
        out = values.astype("float64").tolist()
    elif sql_type in ("INTEGER", "INT") and isinstance(values.dtype, np.dtype) and \
            values.dtype.kind in "iu":
        return values.tolist()  # numpy integers, never missing: already what is stored
    elif sql_type == "TEXT" and pd.api.types.is_string_dtype(values.dtype) and (
            values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) == "string"):
        out = values.tolist()  # only strings (object/str/Arrow): no per-value conversion
    else:
        conv = _converter(sql_type)
        out = [conv(v) for v in values.astype(object).tolist()]
        return out
    return [v if ok else None for v, ok in zip(out, present)]


def _to_sql(values: pd.Series, sql_type: str) -> list:
    conv = _converter(sql_type)
    return [conv(v) for v in values.astype(object)]


def rows_for(con: sqlite3.Connection, layer: str, data: pd.DataFrame,
             columns: tuple[dict, str | None] | None = None,
             ids: list | None = None) -> tuple[list[str], list[tuple]]:
    """The column names and value tuples that store ``data`` in ``layer``'s table
    (``columns``: the table's (columns, geometry column) if known; ``ids`` replace the id
    column's values)."""
    cols, gcol = columns or (table_columns(con, layer), geometry_column(con, layer))
    geom_name = _geometry_name(data)
    names: list[str] = []
    picks: list[int] = []
    for k, c in enumerate(data.columns):
        if c == geom_name:
            continue
        if c not in cols or c == "fid":
            raise StorageError(f"layer {layer!r} has no field {c!r}")
        names.append(c)
        picks.append(k)
    id_at = names.index("id") if ids is not None and "id" in names else None
    if len(data) > 50:  # column by column, vectorised (bulk writes: imports, replaces)
        lists = [_column_values(data[c], cols[c]) for c in names]
        if id_at is not None:
            lists[id_at] = list(ids)
        if lists and not (gcol and geom_name is not None):  # tuples as they are stored
            return names, list(zip(*lists))
        rows = [list(r) for r in zip(*lists)] if lists else [[] for _ in range(len(data))]
    else:  # row by row: cheaper for the one-record writes of the API and record commands
        convs = [_converter(cols[c]) for c in names]
        rows = []
        # (one object array for the frame: itertuples built a Series per column and cost
        # more than the inserts)
        for r, tup in enumerate(data.to_numpy(dtype=object).tolist()):
            vals = [conv(tup[k]) for conv, k in zip(convs, picks)]
            if id_at is not None:
                vals[id_at] = ids[r]
            rows.append(vals)
    if gcol and geom_name is not None:
        names.append(gcol)
        for vals, blob in zip(rows, encode_geometries(data[geom_name].values)):
            vals.append(blob)
    return names, [tuple(v) for v in rows]


def read_table(con: sqlite3.Connection, layer: str, *, where: str = "", params: tuple = (),
               ) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``layer`` (optionally filtered by a trusted ``where`` with bound params) in
    fid order as a GeoDataFrame (geometry column ``geometry``, EPSG:4326), and their fids."""
    cols = table_columns(con, layer)
    gcol = geometry_column(con, layer)
    names = [c for c in cols if c not in ("fid", gcol)]
    sel = ", ".join(["fid", *(q(c) for c in names), *([q(gcol)] if gcol else [])])
    rows = con.execute(f"SELECT {sel} FROM {q(layer)} {where} ORDER BY fid", params).fetchall()
    data = list(zip(*rows)) if rows else [()] * (1 + len(names) + bool(gcol))
    fids = np.asarray(data[0], dtype=np.int64)
    frame = {}
    for k, c in enumerate(names):
        t = cols[c]
        vals = list(data[k + 1])
        if t in ("DATE", "DATETIME"):
            s = pd.to_datetime(pd.Series(vals, dtype=object), errors="coerce", utc=t != "DATE",
                               format="ISO8601")
            if t != "DATE":
                s = s.dt.tz_localize(None)
            frame[c] = s.astype("datetime64[ms]")
        elif t == "BOOLEAN":
            frame[c] = pd.Series([None if v is None else bool(v) for v in vals], dtype="boolean")
        elif t in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT"):
            frame[c] = pd.Series(vals, dtype="Int64")
        elif t in ("REAL", "DOUBLE", "FLOAT"):
            frame[c] = pd.Series([np.nan if v is None else v for v in vals], dtype="float64")
        else:
            frame[c] = pd.Series(vals, dtype=object)
    if not gcol:
        return pd.DataFrame(frame, index=pd.RangeIndex(len(fids))), fids
    geoms = decode_geometries(data[-1])
    df = gpd.GeoDataFrame(pd.DataFrame(frame, index=pd.RangeIndex(len(fids))),
                          geometry=gpd.GeoSeries(geoms, crs="EPSG:4326").values, crs="EPSG:4326")
    return df, fids


def stamp(con: sqlite3.Connection, layers: Iterable[str]) -> None:
    """Set ``last_change`` of ``layers`` to now, strictly later than any earlier stamp (caches
    compare it: two writes within one millisecond must still differ)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    text = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    for layer in layers:
        row = con.execute("SELECT last_change FROM gpkg_contents WHERE table_name = ?",
                          (layer,)).fetchone()
        if row is None:
            continue
        new = text
        if row[0] and str(row[0]) >= new:
            prev = pd.Timestamp(str(row[0]).rstrip("Z"))
            nxt = prev + pd.Timedelta(milliseconds=1)
            new = nxt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nxt.microsecond // 1000:03d}Z"
        con.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?",
                    (new, layer))


def widen_extent(con: sqlite3.Connection, layer: str, geoms) -> None:
    """Grow the layer's extent in ``gpkg_contents`` (QGIS's "zoom to layer") by ``geoms``."""
    arr = np.asarray(geoms, dtype=object)
    arr = arr[~shapely.is_missing(arr)]
    if not len(arr):
        return
    b = shapely.bounds(arr)
    if np.isnan(b).all():
        return
    x0, y0 = float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1]))
    x1, y1 = float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))
    con.execute("UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), "
                "min_y = min(coalesce(min_y, ?), ?), max_x = max(coalesce(max_x, ?), ?), "
                "max_y = max(coalesce(max_y, ?), ?) WHERE table_name = ?",
                (x0, x0, y0, y0, x1, x1, y1, y1, layer))


def next_numbers(con: sqlite3.Connection, layer: str, prefix: str, n: int) -> list[str]:
    """``n`` free ids ``PREFIX-000123`` of ``layer``, allocated inside the write transaction.

    The last number handed out is kept in ``bienmoc_sequences`` (seeded once from the largest
    number stored); each candidate is checked against the UNIQUE-indexed ``id`` column, so ids
    another editor (QGIS) stored are skipped rather than collided with.
    """
    row = con.execute(f"SELECT last FROM {SEQUENCES} WHERE layer = ?", (layer,)).fetchone()
    if row is None:
        pat = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
        last = max((int(m.group(1)) for (v,) in con.execute(
            f"SELECT id FROM {q(layer)} WHERE id LIKE ?", (prefix + "-%",))
            if v is not None and (m := pat.match(str(v)))), default=0)
    else:
        last = int(row[0])
    out = []
    while len(out) < n:
        last += 1
        cand = f"{prefix}-{last:06d}"
        if con.execute(f"SELECT 1 FROM {q(layer)} WHERE id = ?", (cand,)).fetchone() is None:
            out.append(cand)
    con.execute(f"INSERT OR REPLACE INTO {SEQUENCES} VALUES (?, ?)", (layer, last))
    return out


def taken_ids(con: sqlite3.Connection, layer: str, ids: list) -> list[str]:
    taken: list[str] = []
    for k in range(0, len(ids), 500):
        chunk = [str(v) for v in ids[k:k + 500]]
        marks = ",".join("?" * len(chunk))
        taken += [r[0] for r in con.execute(
            f"SELECT id FROM {q(layer)} WHERE id IN ({marks})", chunk)]
    return taken
