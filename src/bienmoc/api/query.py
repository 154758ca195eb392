"""In-memory query layer behind the OGC API – Features router.

One :class:`LayerIndex` per collection holds, for every feature of a layer: its id, fid, bounds
(numpy), a shapely STRtree, the attribute columns as numpy arrays (for property and datetime
filters) and, filled on first use, the feature serialised once as GeoJSON bytes. A page of a
response is the concatenation of the selected features' bytes, so a request never re-reads the
GeoPackage and never builds JSON for a feature twice.

Freshness: :class:`QueryCache` compares ``store.version()`` (a stat and a 4-byte read) on every
request; when it changed, each loaded layer is brought up to date before answering, so an
acknowledged write is visible at once in every worker process:

* GeoPackage stores (``layer_state`` / ``read_rows``): rows appended in place are read alone
  (``fid > last fid seen``) and added; records changed by ``update_fields`` are found in the
  layer's change log and re-read by fid; anything else (a replace, which makes a new file) rebuilds
  the layer.
* Any other store: the layer is rebuilt from ``store.read`` when the version changes.

The STRtree covers the rows present when it was built; rows appended later are checked against
their bounds until there are more than :data:`TAIL_REBUILD` of them, then the tree is rebuilt.
"""
from __future__ import annotations

import datetime as _dt
import re
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from bienmoc.model.dates import parse_date
from bienmoc.model.schema import SCHEMAS, LayerSchema

__all__ = ["CHANGE_LOGS", "TEMPORAL", "LayerIndex", "Page", "QueryCache", "dumps",
           "page_feature_bytes",
           "property_schema", "collection_schema"]

try:  # orjson serialises ~5x faster; the standard library gives the same bytes otherwise
    import orjson

    def dumps(obj) -> bytes:
        """Compact UTF-8 JSON bytes."""
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - orjson is a dependency of the server
    import json as _json

    def dumps(obj) -> bytes:
        """Compact UTF-8 JSON bytes."""
        return _json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                           allow_nan=False).encode("utf-8")

#: Rows appended after the STRtree was built are scanned by bounds; past this many, rebuild.
TAIL_REBUILD = 2048

#: Per collection: the date field(s) the ``datetime`` parameter filters on: (start, end) where a
#: feature spans start..end (end None: a single day); works prefer the actual dates.
TEMPORAL: dict[str, tuple] = {
    "markers": (("built_date",), None),
    "gates": (("opened_date",), None),
    "works": (("actual_start", "planned_start"), ("actual_end", "planned_end")),
    "inspections": (("date",), None),
    "incidents": (("reported_date",), None),
}

#: Layers whose records can be changed in place, and the change log that says which.
CHANGE_LOGS = {"incidents": "incident_changes", "markers": "marker_changes"}

_DAY = np.timedelta64(1, "D")


@dataclass
class Page:
    """The answer to an items query: row positions of this page and the number matched."""

    rows: np.ndarray
    matched: int


class _Column:
    """A numpy array that grows in place (capacity doubles): appending k rows copies k rows."""

    __slots__ = ("buf", "n")

    def __init__(self, arr: np.ndarray):
        self.buf, self.n = arr, len(arr)

    @property
    def a(self) -> np.ndarray:
        return self.buf[:self.n]

    def extend(self, arr: np.ndarray) -> None:
        need = self.n + len(arr)
        if need > len(self.buf):
            cap = max(need, 2 * len(self.buf), 64)
            buf = np.empty((cap,) + self.buf.shape[1:], dtype=self.buf.dtype)
            if self.buf.dtype.kind == "M":
                buf[:] = np.datetime64("NaT")
            buf[:self.n] = self.buf[:self.n]
            self.buf = buf
        if arr.dtype != self.buf.dtype and not (arr.dtype.kind == self.buf.dtype.kind == "M"):
            if self.buf.dtype != object:
                self.buf = self.buf.astype(object)
        self.buf[self.n:need] = arr
        self.n = need


class LayerIndex:
    """One layer's features, indexed and ready to serve (see the module docstring)."""

    def __init__(self, name: str, frame, fids: np.ndarray, state=None, log_fid: int = 0):
        self.name = name
        self.schema: LayerSchema = SCHEMAS[name]
        self.state = state
        self.log_fid = log_fid
        self.key = self.schema.key[0] if name == "boundary" else "id"
        n = len(frame)
        geoms = np.asarray(frame.geometry.values, dtype=object) if n else \
            np.empty(0, dtype=object)
        self._geoms = _Column(geoms)
        self._bounds = _Column(shapely.bounds(geoms) if n else np.empty((0, 4)))
        self._fids = _Column(np.asarray(fids, dtype=np.int64))
        self._ids = _Column(np.asarray(frame[self.key], dtype=object) if n else
                            np.empty(0, object))
        self.pos = {str(v): i for i, v in enumerate(self._ids.a)}
        self._cols = {f.name: _Column(_filter_array(f, frame[f.name]))
                      for f in self.schema.fields}
        self.json_cols = {f.name: _json_list(f, frame[f.name]) for f in self.schema.fields
                          if f.name != self.key or self.name == "boundary"}
        self.feats: list = [None] * n
        self._seq: dict[str, tuple[int, int]] = {}
        spec = TEMPORAL.get(name)
        self._t = None
        if spec is not None:
            self._t = (_Column(self._start(0)), _Column(self._end(0)))
        self._build_tree()

    # views
    geoms = property(lambda self: self._geoms.a)
    bounds = property(lambda self: self._bounds.a)
    fids = property(lambda self: self._fids.a)
    ids = property(lambda self: self._ids.a)
    t_start = property(lambda self: None if self._t is None else self._t[0].a)
    t_end = property(lambda self: None if self._t is None else self._t[1].a)

    @property
    def cols(self) -> dict[str, np.ndarray]:
        return {k: c.a for k, c in self._cols.items()}

    def col(self, name: str) -> np.ndarray:
        return self._cols[name].a

    def _start(self, frm: int) -> np.ndarray:
        starts = TEMPORAL[self.name][0]
        return _coalesce([self._cols[c].a[frm:] for c in starts])

    def _end(self, frm: int) -> np.ndarray:
        ends = TEMPORAL[self.name][1]
        start = self._start(frm)
        if ends is None:
            return start
        return _coalesce([self._cols[c].a[frm:] for c in ends] + [start])

    def _build_tree(self) -> None:
        geoms = self.geoms
        present = ~shapely.is_missing(geoms) if len(geoms) else np.zeros(0, bool)
        self.tree_rows = np.flatnonzero(present)
        self.tree = shapely.STRtree(geoms[self.tree_rows])
        self.n_tree = len(geoms)

    def append(self, frame, fids: np.ndarray) -> None:
        """Add rows appended to the store (in fid order, after every row held)."""
        k = len(frame)
        if not k:
            return
        start = len(self)
        g = np.asarray(frame.geometry.values, dtype=object)
        self._geoms.extend(g)
        self._bounds.extend(shapely.bounds(g))
        self._fids.extend(np.asarray(fids, dtype=np.int64))
        new_ids = np.asarray(frame[self.key], dtype=object)
        self._ids.extend(new_ids)
        self.pos.update({str(v): start + i for i, v in enumerate(new_ids)})
        for f in self.schema.fields:
            self._cols[f.name].extend(_filter_array(f, frame[f.name]))
            if f.name in self.json_cols:
                self.json_cols[f.name].extend(_json_list(f, frame[f.name]))
        self.feats.extend([None] * k)
        if self._t is not None:
            self._t[0].extend(self._start(start))
            self._t[1].extend(self._end(start))
        if len(self) - self.n_tree > TAIL_REBUILD:
            self._build_tree()

    def replace_rows(self, rows: np.ndarray, frame) -> None:
        """Overwrite the attributes of ``rows`` (positions) with ``frame`` (same order)."""
        for f in self.schema.fields:
            arr = _filter_array(f, frame[f.name])
            col = self._cols[f.name]
            if col.buf.dtype != arr.dtype and col.buf.dtype.kind != "M":
                col.buf = col.buf.astype(object)
            elif not col.buf.flags.writeable:  # a column read zero-copy from Arrow
                col.buf = col.buf.copy()
            col.buf[rows] = arr
            if f.name in self.json_cols:
                for r, v in zip(rows, _json_list(f, frame[f.name])):
                    self.json_cols[f.name][r] = v
        for r in rows:
            self.feats[r] = None
        if self._t is not None:
            self._t = (_Column(self._start(0)), _Column(self._end(0)))

    # -- facts -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def extent(self) -> list[float] | None:
        b = self.bounds
        if not len(b) or np.isnan(b).all():
            return None
        return [float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])),
                float(np.nanmax(b[:, 3]))]

    def time_extent(self) -> list[str | None] | None:
        if self.t_start is None:
            return None
        s = self.t_start[~np.isnat(self.t_start)]
        e = self.t_end[~np.isnat(self.t_end)]
        if not len(s):
            return [None, None]
        return [f"{s.min()}T00:00:00Z", f"{e.max() if len(e) else s.max()}T23:59:59Z"]

    def next_seq(self, prefix: str) -> int:
        """1 + the largest number N of ids 'PREFIX-N' held (ids seen before are not scanned
        again: appends only add ids)."""
        pat = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
        seen, top = self._seq.get(prefix, (0, 0))
        for v in self.ids[seen:]:
            m = pat.match(str(v))
            if m:
                top = max(top, int(m.group(1)))
        self._seq[prefix] = (len(self.ids), top)
        return top + 1

    # -- queries ---------------------------------------------------------------------------
    def select(self, *, bbox=None, interval=None, equals=None, limit: int = 10,
               offset: int = 0) -> Page:
        """Rows matching every filter, in store order; this page of them and the count."""
        n = len(self.ids)
        if bbox is not None:
            rows = self._bbox_rows(bbox)
        else:
            rows = np.arange(n)
        if interval is not None and len(rows):
            rows = rows[self._in_interval(rows, *interval)]
        for name, value in (equals or {}).items():
            if not len(rows):
                break
            col = self.col(name)[rows]
            if col.dtype.kind in "fM":
                rows = rows[col == value]
            else:
                rows = rows[np.array([v == value for v in col], dtype=bool)]
        matched = len(rows)
        return Page(rows[offset: offset + limit], matched)

    def _bbox_rows(self, boxes) -> np.ndarray:
        out = []
        for box in boxes:
            g = shapely.box(*box)
            hit = self.tree_rows[self.tree.query(g, predicate="intersects")]
            out.append(hit)
            if len(self.geoms) > self.n_tree:  # appended since the tree was built
                b = self.bounds[self.n_tree:]
                cand = np.flatnonzero((b[:, 0] <= box[2]) & (b[:, 2] >= box[0])
                                      & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1]))
                cand = cand + self.n_tree
                if len(cand):
                    cand = cand[shapely.intersects(self.geoms[cand], g)]
                out.append(cand)
        rows = np.concatenate(out) if out else np.empty(0, np.int64)
        return np.unique(rows)  # sorted: store order

    def _in_interval(self, rows: np.ndarray, start, end) -> np.ndarray:
        """A feature spanning days s..e matches when it overlaps start..end (open ends)."""
        s, e = self.t_start[rows], self.t_end[rows]
        e = np.where(np.isnat(e), s, e)
        ok = ~np.isnat(s)
        if end is not None:
            ok &= s <= end
        if start is not None:
            ok &= e >= start
        return ok

    # -- serialising -----------------------------------------------------------------------
    def feature_bytes(self, rows) -> list[bytes]:
        """GeoJSON Feature bytes of ``rows`` (built once per feature, then reused)."""
        feats = self.feats
        missing = [int(r) for r in rows if feats[r] is None]
        if missing:
            geo = shapely.to_geojson(self.geoms[missing])
            names = list(self.json_cols)
            cols = [self.json_cols[k] for k in names]
            for r, gj in zip(missing, geo):
                feats[r] = _feature(self.ids[r], gj, {k: c[r] for k, c in zip(names, cols)})
        return [feats[r] for r in rows]

    def record(self, row: int) -> dict:
        """The row's attributes as canonical Python values (for validation of a change)."""
        out = {}
        for f in self.schema.fields:
            v = self.col(f.name)[row]
            if isinstance(v, np.datetime64):
                v = None if np.isnat(v) else pd.Timestamp(v)
            elif isinstance(v, float) and np.isnan(v):
                v = None
            out[f.name] = v
        return out


def _feature(fid, geojson: str | None, props: dict) -> bytes:
    return (b'{"type":"Feature","id":' + dumps(str(fid)) + b',"geometry":'
            + (b"null" if geojson is None else geojson.encode())
            + b',"properties":' + dumps(props) + b"}")


def frame_feature_bytes(name: str, frame) -> list[bytes]:
    """GeoJSON Feature bytes of the rows of ``frame`` (canonical dtypes, e.g. records just
    written), exactly as :meth:`LayerIndex.feature_bytes` serves them once cached."""
    from bienmoc.model.frames import object_columns

    schema = SCHEMAS[name]
    key = schema.key[0] if name == "boundary" else "id"
    values = object_columns(frame)  # (one conversion: a batch of the write path is small)
    cols = {f.name: _json_values(f, values[f.name]) for f in schema.fields
            if f.name != key or name == "boundary"}
    geo = shapely.to_geojson(values[frame.geometry.name])
    return [_feature(fid, gj, {k: c[r] for k, c in cols.items()})
            for r, (fid, gj) in enumerate(zip(values[key], geo))]


def page_feature_bytes(name: str, page) -> list[bytes]:
    """GeoJSON Feature bytes of a page a store read in SQL
    (:class:`bienmoc.storage.pgquery.ItemsPage`), exactly as :meth:`LayerIndex.feature_bytes`
    serialises the same records (or the bytes the store built itself: ``page.features``)."""
    if getattr(page, "features", None) is not None:
        return page.features
    key = SCHEMAS[name].key[0] if name == "boundary" else "id"
    geo = shapely.to_geojson(page.geoms) if len(page.geoms) else []
    return [_feature(fid, gj, {k: v for k, v in p.items() if k != key or name == "boundary"})
            for fid, gj, p in zip(page.ids, geo, page.props)]


class QueryCache:
    """The per-process collection indexes of one store, kept in step with its version.

    ``lock`` (re-entrant) guards the indexes: a refresh changes them in place, so whoever
    reads an index (a request building its answer, a write choosing an id) holds the lock
    from :meth:`layer` until it has what it needs. Holding it never waits on I/O other than a
    refresh's own reads.
    """

    def __init__(self, store, collections):
        self.store = store
        self.collections = tuple(collections)
        self.lock = threading.RLock()
        self._layers: dict[str, LayerIndex] = {}
        self._version = None
        self._gpkg = hasattr(store, "layer_state") and hasattr(store, "read_rows")

    def layer(self, name: str) -> LayerIndex:
        """The up-to-date index of collection ``name`` (built on first use)."""
        version = self.store.version()
        lay = self._layers.get(name)
        if lay is not None and version == self._version:
            return lay
        with self.lock:
            version = self.store.version()
            if version != self._version:
                for other in list(self._layers):
                    self._layers[other] = self._refresh(other, self._layers[other])
                self._version = version
            if name not in self._layers:
                self._layers[name] = self._load(name)
            return self._layers[name]

    def refresh(self) -> None:
        """Bring every loaded layer up to date now (after a write by this process)."""
        with self.lock:
            for name in list(self._layers):
                self.layer(name)

    # -- loading ---------------------------------------------------------------------------
    def _load(self, name: str) -> LayerIndex:
        if not self._gpkg:
            frame = self.store.read(name)
            return LayerIndex(name, frame, np.arange(1, len(frame) + 1))
        state = self.store.layer_state(name)
        frame, fids = self.store.read_rows(name)
        log = CHANGE_LOGS.get(name)
        log_fid = self._log_top(log) if log else 0
        return LayerIndex(name, frame, fids, state=state, log_fid=log_fid)

    def _log_top(self, log: str) -> int:
        st = self.store.layer_state(log)
        return 0 if st is None else st[2]

    def _refresh(self, name: str, lay: LayerIndex) -> LayerIndex:
        if not self._gpkg:
            return self._load(name)
        state = self.store.layer_state(name)
        if state == lay.state:
            return lay
        if state is None or lay.state is None or state[0] != lay.state[0]:
            return self._load(name)  # a new file (replace) or a new/removed layer
        top = int(lay.fids.max()) if len(lay.fids) else 0
        frame, fids = self.store.read_rows(name, after_fid=top)
        if state[1] != len(lay) + len(frame):
            return self._load(name)  # rows were deleted: rebuild
        changed_ids: list = []
        log = CHANGE_LOGS.get(name)
        if log:
            log_state = self.store.layer_state(log)
            if log_state is not None and log_state[2] > lay.log_fid:
                rows, _ = self.store.read_rows(log, after_fid=lay.log_fid)
                changed_ids = sorted(set(rows["record_id"]))
                lay.log_fid = log_state[2]
        if not len(frame) and not changed_ids and state[3] != lay.state[3]:
            return self._load(name)  # changed, and not by an append or a logged update
        lay.append(frame, fids)
        if changed_ids:
            rows = np.array([lay.pos[i] for i in changed_ids if i in lay.pos], dtype=np.int64)
            if len(rows):
                sub, sub_fids = self.store.read_rows(name, fids=lay.fids[rows])
                order = {int(f): k for k, f in enumerate(sub_fids)}
                keep = [k for k, f in enumerate(lay.fids[rows]) if int(f) in order]
                sub = sub.iloc[[order[int(lay.fids[rows][k])] for k in keep]]
                lay.replace_rows(rows[keep], sub.reset_index(drop=True))
        lay.state = state
        return lay


# -- column conversions --------------------------------------------------------------------

def _filter_array(f, s: pd.Series) -> np.ndarray:
    """A numpy array to compare filter values with: datetime64[D] for dates, float64 for
    floats, object (str/int/bool/None) otherwise."""
    if f.type == "date":
        return pd.to_datetime(s).to_numpy(dtype="datetime64[D]") if len(s) else \
            np.empty(0, "datetime64[D]")
    if f.type == "float":
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = np.empty(len(s), dtype=object)
    for i, v in enumerate(s.tolist()):
        out[i] = None if _missing(v) else v
    return out


def _json_list(f, s: pd.Series) -> list:
    """JSON-ready values: dates as 'YYYY-MM-DD', NaN/NA as None."""
    if f.type == "date":
        arr = pd.to_datetime(s).to_numpy(dtype="datetime64[D]")
        return [None if t == "NaT" else t for t in np.datetime_as_string(arr).tolist()]
    out = []
    for v in s.tolist():
        if _missing(v):
            out.append(None)
        elif isinstance(v, (np.integer,)):
            out.append(int(v))
        elif isinstance(v, (np.floating,)):
            out.append(float(v))
        elif isinstance(v, (np.bool_,)):
            out.append(bool(v))
        else:
            out.append(v)
    return out


def _json_values(f, values: np.ndarray) -> list:
    """:func:`_json_list` of a column given as an object array (dates as Timestamps)."""
    if f.type == "date":
        return [None if _missing(v) or v is pd.NaT else v.date().isoformat()
                for v in values]
    return _json_list(f, pd.Series(values, dtype=object)) if any(
        isinstance(v, (np.integer, np.floating, np.bool_)) for v in values) else [
        None if _missing(v) else v for v in values]


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _coalesce(arrays: list[np.ndarray]) -> np.ndarray:
    out = arrays[0].copy()
    for a in arrays[1:]:
        gap = np.isnat(out)
        out[gap] = a[gap]
    return out


def parse_instant(text: str, *, end: bool = False) -> np.datetime64 | None:
    """An RFC 3339 date or date-time as a UTC day; '..' or '' (open) is None."""
    t = text.strip()
    if t in ("", ".."):
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):  # RFC 3339: ISO only ('/' separates intervals)
        return np.datetime64(parse_date(t), "D")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?",
                        t):
        raise ValueError(f"not an RFC 3339 date or date-time: {text!r}")
    d = _dt.datetime.fromisoformat(t.replace("z", "Z").replace("t", "T"))
    if d.tzinfo is not None:
        d = d.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return np.datetime64(d.date(), "D")


def parse_interval(text: str) -> tuple:
    """``datetime`` parameter -> (start day or None, end day or None)."""
    if "/" in text:
        a, _, b = text.partition("/")
        if "/" in b:
            raise ValueError("an interval has one '/'")
        start, end = parse_instant(a), parse_instant(b, end=True)
        if start is not None and end is not None and start > end:
            raise ValueError("the interval's start is after its end")
        return start, end
    day = parse_instant(text)
    if day is None:
        raise ValueError("'..' needs an interval: START/.. or ../END")
    return day, day


# -- declared types (OGC API – Features Part 3 queryables, Part 5 schemas) ---------------------

_GEOMETRY_FORMATS = {"Point": "geometry-point", "MultiPoint": "geometry-multipoint",
                     "LineString": "geometry-linestring",
                     "MultiLineString": "geometry-multilinestring",
                     "Polygon": "geometry-polygon", "MultiPolygon": "geometry-multipolygon"}


def property_schema(name: str, field: str) -> dict:
    """JSON Schema of one property as the items carry it: codes as an ``enum`` of strings,
    dates as ``"format": "date"`` strings (YYYY-MM-DD), ``int`` as integer, ``float`` as number,
    ``bool`` as boolean, with the schema's bounds and lengths. Declared so that clients (GDAL's
    OAPIF driver, QGIS) type each field from the schema instead of guessing from a first page
    where, e.g., every ``planned_date`` may be null."""
    f = SCHEMAS[name].field(field)
    title = f.en or f.name
    if f.is_enum:
        out = {"type": "string", "title": title, "enum": [m.value for m in f.type]}
    elif f.type == "date":
        out = {"type": "string", "format": "date", "title": title}
    else:
        out = {"type": {"int": "integer", "float": "number", "bool": "boolean"}.get(
            f.type, "string"), "title": title}
        if f.type in ("int", "float"):
            if f.min is not None:
                out["minimum"] = f.min
            if f.max is not None:
                out["maximum"] = f.max
        elif f.max_len:
            out["maxLength"] = f.max_len
    if f.vi:
        out["description"] = f.vi
    return out


def collection_schema(name: str, base: str, *, geojson: bool = False) -> dict:
    """The schema of a collection's features (OGC API – Features Part 5): every property
    typed, the id and the geometry marked by ``x-ogc-role``. ``geojson``: the same properties
    as the schema of a GeoJSON Feature (``properties`` nested, the ``describedby`` link GDAL's
    OAPIF driver reads to type its fields)."""
    schema = SCHEMAS[name]
    geoms = [_GEOMETRY_FORMATS[g] for g in schema.geometry_types if g in _GEOMETRY_FORMATS]
    geometry = {"x-ogc-role": "primary-geometry"}
    if len(geoms) == 1:
        geometry["format"] = geoms[0]
    elif geoms:
        geometry["oneOf"] = [{"format": g} for g in geoms]
    props = {"id": {"type": "string", "title": "id", "x-ogc-role": "id"}}
    props.update({f.name: property_schema(name, f.name) for f in schema.fields
                  if f.name != "id"})
    props["geometry"] = geometry
    required = [f.name for f in schema.fields if f.required]
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "$id": f"{base}/collections/{name}/schema", "type": "object",
           "title": schema.en, "description": schema.vi}
    if not geojson:
        return {**doc, "properties": props, "required": required}
    geometry = props.pop("geometry")
    return {**doc, "$id": doc["$id"] + "?profile=geojson", "required": ["type", "properties"],
            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                           "id": props.pop("id"), "geometry": geometry,
                           "properties": {"type": "object", "properties": props,
                                          "required": [r for r in required if r != "id"]}}}
