"""Patrol tracks in: GPX, GeoJSON and CSV files of GPS fixes (or a folder / zip of them).

:func:`read_fixes` reads every fix of one or many files into one frame (``file``, ``line``,
``track``, ``segment``, ``lon``, ``lat``, ``t`` - UTC nanoseconds - and ``time``, the ISO 8601
text as the device wrote it, offset kept); :func:`check_fixes` finds the bad ones with
vectorised checks; :func:`import_patrols` turns each track into a patrol record and enters it
through :func:`bienmoc.records.entry.enter` (the one rule layer), writing the fixes of the new
patrols to the ``patrol_fixes`` layer in the same transaction: all files or nothing.

Formats
-------
* **GPX** through GDAL's GPX driver (pyogrio, Arrow): layer ``track_points`` (each ``<trk>`` is
  one patrol, its ``<trkseg>`` segments the parts of its line); a file without tracks but with
  timed ``waypoints`` is one patrol of those waypoints. Problems name the line of the
  ``<trkpt>``/``<wpt>`` element in the file.
* **GeoJSON**: LineString / MultiLineString features, each one patrol; the time of each vertex
  is the property ``times`` or ``coordTimes`` (a list of ISO 8601 texts, one per vertex; a list
  of lists for a MultiLineString), or else a 4th coordinate ``[lon, lat, ele, t]`` holding Unix
  time in seconds (values above 1e11 are taken as milliseconds). Problems name the feature
  (``row``) and the vertex.
* **CSV**: columns ``lon``, ``lat``, ``time`` (also ``longitude``/``lng``/``x``,
  ``latitude``/``y``, ``timestamp``/``datetime``), optionally ``track`` to hold several patrols.
  Problems name the line of the file (the header is line 1).

A time without an offset is taken in Vietnam's time (+07:00). Bad fixes: no time, outside the
border region (:data:`~bienmoc.model.schema.REGION_BOUNDS`), a time equal to the previous fix's
(duplicate timestamp) or earlier than it, and an impossible speed from the previous fix (more
than ``max_speed_kmh``, default 50 km/h: a patrol on foot or on a motorbike on border tracks).
"""
from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyogrio
import shapely

from bienmoc.errors import InvalidData, Problem
from bienmoc.model.dates import parse_datetime
from bienmoc.model.schema import REGION_BOUNDS

__all__ = ["read_fixes", "check_fixes", "import_patrols", "FixProblem", "TRACK_SUFFIXES",
           "DEFAULT_MAX_SPEED_KMH"]

TRACK_SUFFIXES = (".gpx", ".geojson", ".json", ".csv")
DEFAULT_MAX_SPEED_KMH = 50.0
#: At most this many bad fixes are listed (the count of the rest is given).
MAX_LISTED = 200
_LOCAL_OFFSET = "+07:00"
_EARTH_R = 6_371_008.8


@dataclass(frozen=True)
class FixProblem(Problem):
    """A problem with one fix: :class:`~bienmoc.errors.Problem` naming its file too (``row`` is
    the line of the file, or the feature number of a GeoJSON)."""

    file: str = ""

    def __str__(self) -> str:
        return f"{self.file}, {super().__str__()}" if self.file else super().__str__()


_COLUMNS = ["file", "line", "track", "segment", "lon", "lat", "t", "time"]


def _frame(file: str, line, track, segment, lon, lat, time_text) -> pd.DataFrame:
    n = len(lon)
    arr = time_text if isinstance(time_text, (pa.Array, pa.ChunkedArray)) else pa.array(
        list(time_text) if not isinstance(time_text, np.ndarray) else time_text,
        type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    t, has_off = _utc_ns(arr)
    return pd.DataFrame({"file": pd.Categorical.from_codes(np.zeros(n, np.int8), [file]),
                         "line": np.asarray(line, np.int64), "track": np.asarray(track, np.int64),
                         "segment": np.asarray(segment, np.int64),
                         "lon": np.asarray(lon, float), "lat": np.asarray(lat, float),
                         "t": t, "has_offset": has_off,
                         "time": pd.Series(arr, dtype=pd.ArrowDtype(pa.string()))})


_NAT = np.iinfo(np.int64).min
_OFFSET_RE = r"(?:Z|[+-]\d\d:?\d\d)$"


def _cast_ns(arr: pa.Array, tz: str | None) -> np.ndarray:
    """UTC nanoseconds of ISO texts (Arrow's vectorised cast; pandas, coercing, for a set with
    a bad text in it); NaT's value where missing or not a time."""
    try:
        ts = pc.cast(arr, pa.timestamp("ns", tz))
        vals = ts.fill_null(pa.scalar(_NAT, pa.int64()).cast(pa.timestamp("ns", tz)))
        return vals.to_numpy(zero_copy_only=False).view(np.int64).copy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        t = pd.to_datetime(pd.Series(arr.to_pylist(), dtype=object), errors="coerce",
                           utc=tz is not None, format="ISO8601")
        if tz is not None:
            t = t.dt.tz_localize(None)
        return t.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()


def _utc_ns(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTC nanoseconds, has an offset) of ISO 8601 texts; a text without an offset is
    Vietnam time (+07:00, no daylight saving)."""
    n = len(arr)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, bool)
    has_off = pc.fill_null(pc.match_substring_regex(arr, _OFFSET_RE), False).to_numpy(
        zero_copy_only=False)
    out = np.full(n, _NAT, np.int64)
    if has_off.all():
        return _cast_ns(arr, "UTC"), has_off
    if has_off.any():
        out[has_off] = _cast_ns(arr.filter(pa.array(has_off)), "UTC")
    naive = ~has_off
    local = _cast_ns(arr.filter(pa.array(naive)), None)
    out[naive] = np.where(local == _NAT, _NAT, local - 7 * 3600 * 10**9)
    return out, has_off


# -- readers ---------------------------------------------------------------------------------

def _element_lines(data: bytes, tag: bytes) -> np.ndarray:
    """1-based line of each ``<tag`` element (``<tag`` then a blank or ``>``) in document
    order (GDAL reads them in that order); used only to name the lines of bad fixes.

    numpy over the bytes, not a loop over the lines: the loop cost 1.4 s per million fixes
    (more than a third of reading a GPX), this ~0.1 s. No library finds element lines in a
    document GDAL has already parsed."""
    buf = np.frombuffer(data, np.uint8)
    pat = b"<" + tag
    m = len(pat)
    if len(buf) <= m:
        return np.empty(0, np.int64)
    at = np.flatnonzero(buf[: len(buf) - m] == pat[0])
    for k in range(1, m):
        at = at[buf[at + k] == pat[k]]
    after = buf[at + m]
    at = at[(after == ord(">")) | (after == ord(" ")) | (after == ord("\t"))
            | (after == ord("\n")) | (after == ord("\r"))]
    newlines = np.flatnonzero(buf == ord("\n"))
    return np.searchsorted(newlines, at).astype(np.int64) + 1


def _point_xy(wkb: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """(n, 2) lon/lat of WKB points: GDAL's 2D points straight from the Arrow buffer
    (:func:`bienmoc.io.files.wkb_point_xy`), anything else through shapely."""
    from bienmoc.io.files import wkb_point_xy

    xy = wkb_point_xy(wkb)
    if xy is not None:
        return np.column_stack(xy)
    arr = wkb.combine_chunks() if isinstance(wkb, pa.ChunkedArray) else wkb
    return shapely.get_coordinates(shapely.from_wkb(np.asarray(arr.to_numpy(
        zero_copy_only=False), dtype=object)))


def _read_gpx(name: str, data: bytes) -> pd.DataFrame:
    layers = {str(n) for n, _ in pyogrio.list_layers(data)}
    lines = {}

    def find_lines(tag: bytes):  # in a thread while GDAL parses (numpy releases the GIL)
        lines[tag] = _element_lines(data, tag)

    tag, table, meta = b"trkpt", None, None
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(find_lines, tag)
        if "track_points" in layers:
            meta, table = pyogrio.read_arrow(data, layer="track_points", datetime_as_string=True,
                                             columns=["track_fid", "track_seg_id", "time"])
        job.result()
    if (table is None or not len(table)) and "waypoints" in layers:
        meta, table = pyogrio.read_arrow(data, layer="waypoints", datetime_as_string=True,
                                         columns=["time"])
        tag = b"wpt"
        find_lines(tag)
    if table is None or not len(table):
        return _frame(name, [], [], [], [], [], [])
    n = len(table)
    xy = _point_xy(table.column(meta["geometry_name"] or "wkb_geometry"))
    line = lines[tag]
    if len(line) != n:  # unusual layout: fall back to the point's position
        line = np.arange(1, n + 1)

    def ints(col):
        if col not in table.column_names:
            return np.zeros(n, np.int64)
        return pc.fill_null(table.column(col), 0).to_numpy().astype(np.int64)
    return _frame(name, line, ints("track_fid"), ints("track_seg_id"), xy[:, 0], xy[:, 1],
                  table.column("time"))


def _read_geojson(name: str, data: bytes) -> pd.DataFrame:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InvalidData(FixProblem(None, None, f"not valid JSON: {e}", name)) from None
    feats = doc.get("features", [doc]) if isinstance(doc, dict) else []
    parts = []
    for fno, feat in enumerate(feats, start=1):
        geom = (feat or {}).get("geometry") or {}
        props = (feat or {}).get("properties") or {}
        gtype = geom.get("type")
        if gtype not in ("LineString", "MultiLineString"):
            raise InvalidData(FixProblem(fno, "geometry", f"feature {fno} is a {gtype}; a "
                                         "track is a LineString or MultiLineString", name))
        segs = geom["coordinates"] if gtype == "MultiLineString" else [geom["coordinates"]]
        times = props.get("times", props.get("coordTimes"))
        if times is not None and gtype == "LineString":
            times = [times]
        for s, coords in enumerate(segs):
            n = len(coords)
            arr = np.full((n, 4), np.nan)
            for k, c in enumerate(coords):  # ragged: 2, 3 or 4 numbers per vertex
                arr[k, :min(len(c), 4)] = c[:4]
            if times is not None:
                seg_t = times[s] if s < len(times) and isinstance(times[s], list) else []
                text = list(seg_t[:n]) + [None] * max(0, n - len(seg_t))
            else:
                sec = arr[:, 3]
                sec = np.where(sec > 1e11, sec / 1000.0, sec)
                ok = np.isfinite(sec)
                text = [None] * n
                if ok.any():
                    iso = pd.to_datetime(sec[ok], unit="s", utc=True).strftime(
                        "%Y-%m-%dT%H:%M:%SZ")
                    for k, v in zip(np.flatnonzero(ok), iso):
                        text[k] = v
            parts.append(pd.DataFrame({"line": fno, "track": fno - 1, "segment": s,
                                       "lon": arr[:, 0], "lat": arr[:, 1],
                                       "vertex": np.arange(1, n + 1),
                                       "time": pd.Series(text, dtype=object)}))
    if not parts:
        return _frame(name, [], [], [], [], [], [])
    df = pd.concat(parts, ignore_index=True)
    out = _frame(name, df["line"], df["track"], df["segment"], df["lon"], df["lat"],
                 df["time"])
    out["vertex"] = df["vertex"].to_numpy()
    return out


_CSV_NAMES = {"lon": ("lon", "longitude", "lng", "x", "kinh_do", "kinh độ"),
              "lat": ("lat", "latitude", "y", "vi_do", "vĩ độ"),
              "time": ("time", "timestamp", "datetime", "thoi_gian", "thời gian")}


def _read_csv(name: str, data: bytes) -> pd.DataFrame:
    try:
        names = pcsv.open_csv(io.BytesIO(data)).schema.names
        types = {c: pa.string() for c in names if str(c).strip().casefold() in
                 _CSV_NAMES["time"] + ("track",)}
        table = pcsv.read_csv(io.BytesIO(data),
                              convert_options=pcsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, StopIteration) as e:
        raise InvalidData(FixProblem(None, None, f"cannot read the CSV: {e}", name)) from None
    lower = {str(c).strip().casefold(): c for c in table.column_names}
    cols = {}
    for key, names_ in _CSV_NAMES.items():
        hit = next((lower[n] for n in names_ if n in lower), None)
        if hit is None:
            raise InvalidData(FixProblem(None, key, f"the CSV has no {key} column (columns: "
                                         f"{', '.join(table.column_names)})", name))
        cols[key] = hit
    n = table.num_rows
    track = (pd.factorize(table.column(lower["track"]).to_pandas())[0] if "track" in lower
             else np.zeros(n, np.int64))

    def num(c):
        col = table.column(c)
        if not pa.types.is_floating(col.type) and not pa.types.is_integer(col.type):
            return pd.to_numeric(col.to_pandas(), errors="coerce").to_numpy(float)
        return col.to_numpy().astype(float)

    return _frame(name, np.arange(2, n + 2), track, np.zeros(n, np.int64), num(cols["lon"]),
                  num(cols["lat"]), table.column(cols["time"]))


_READERS = {".gpx": _read_gpx, ".geojson": _read_geojson, ".json": _read_geojson,
            ".csv": _read_csv}


def _members(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every track file in ``path`` (a file, a folder or a zip)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in TRACK_SUFFIXES)
        return [(str(p.relative_to(path.parent)), p.read_bytes()) for p in files]
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            names = sorted(n for n in z.namelist() if Path(n).suffix.lower() in TRACK_SUFFIXES
                           and not n.startswith("__MACOSX/"))
            return [(f"{path.name}/{n}", z.read(n)) for n in names]
    if path.suffix.lower() not in TRACK_SUFFIXES:
        raise InvalidData(Problem(None, None, f"{path.name}: not a track file; expected "
                                  f"{', '.join(TRACK_SUFFIXES)}, a folder or a .zip"))
    return [(path.name, path.read_bytes())]


def read_fixes(path: str | Path) -> pd.DataFrame:
    """Every fix of a GPX / GeoJSON / CSV file, or of every such file in a folder or zip.

    Columns: ``file`` (name, ``archive.zip/member`` inside a zip), ``line`` (line of the file;
    GeoJSON: the feature number), ``track`` (the patrol within the file), ``segment``, ``lon``,
    ``lat``, ``t`` (UTC, int64 nanoseconds; NaT's value when missing) and ``time`` (the ISO text
    as written). ``patrol`` numbers the tracks over all files (0, 1, ...).
    """
    path = Path(path)
    members = _members(path)
    if not members:
        raise InvalidData(Problem(None, None, f"{path.name}: no track files "
                                  f"({', '.join(TRACK_SUFFIXES)}) in it"))
    frames = []
    for name, data in members:
        reader = _READERS[Path(name).suffix.lower()]
        try:
            frames.append(reader(name, data))
        except pyogrio.errors.DataSourceError as e:
            raise InvalidData(FixProblem(None, None, f"cannot read: {e}", name)) from None
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    key = df["file"].astype(str) + "\x00" + df["track"].astype(str) if len(frames) > 1 \
        else df["track"]
    df["patrol"] = pd.factorize(key, sort=False)[0]
    return df


# -- checks ----------------------------------------------------------------------------------

def _haversine(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (mean Earth radius): speeds between fixes."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_R * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def check_fixes(fixes: pd.DataFrame, *, max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH
                ) -> list[FixProblem]:
    """The bad fixes of :func:`read_fixes`' frame (vectorised; at most :data:`MAX_LISTED`
    listed, then one line counting the rest): no time, outside the region, a duplicate or
    backwards timestamp, an impossible speed from the previous fix of the same track."""
    n = len(fixes)
    if n == 0:
        return [FixProblem(None, None, "no GPS fixes in the file(s)")]
    lon, lat = fixes["lon"].to_numpy(), fixes["lat"].to_numpy()
    t = fixes["t"].to_numpy()
    no_time = t == _NAT
    x0, y0, x1, y1 = REGION_BOUNDS
    outside = ~(np.isfinite(lon) & np.isfinite(lat) & (lon >= x0) & (lon <= x1) & (lat >= y0)
                & (lat <= y1))
    same = np.zeros(n, bool)
    same[1:] = fixes["patrol"].to_numpy()[1:] == fixes["patrol"].to_numpy()[:-1]
    prev_ok = same.copy()
    prev_ok[1:] &= ~no_time[:-1] & ~no_time[1:] & ~outside[:-1] & ~outside[1:]
    dt = np.zeros(n)
    dt[1:] = (t[1:] - t[:-1]) / 1e9
    dup = prev_ok & (dt == 0)
    back = prev_ok & (dt < 0)
    dist = np.zeros(n)
    dist[1:] = _haversine(lon[:-1], lat[:-1], lon[1:], lat[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, dist / dt * 3.6, 0.0)
    fast = prev_ok & (dt > 0) & (speed > max_speed_kmh)
    bad = no_time | outside | dup | back | fast
    if not bad.any():
        return []
    files, lines = fixes["file"].to_numpy(), fixes["line"].to_numpy()
    vertex = fixes["vertex"].to_numpy() if "vertex" in fixes else None
    where = np.flatnonzero(bad)
    out: list[FixProblem] = []
    for i in where[:MAX_LISTED]:
        at = f"vertex {int(vertex[i])}: " if vertex is not None and vertex[i] > 0 else ""
        prev = f"line {int(lines[i - 1])}" if i else ""
        if vertex is not None and i and vertex[i - 1] > 0:
            prev = f"vertex {int(vertex[i - 1])}"
        if no_time[i]:
            raw = fixes["time"].iat[i]
            reason = "the fix has no time" if pd.isna(raw) or raw == "" else \
                f"not a time: {raw!r} (write ISO 8601, e.g. 2026-11-05T08:30:00+07:00)"
            f = "time"
        elif outside[i]:
            f, reason = "geometry", (f"position ({lon[i]:g}, {lat[i]:g}) lies outside the border "
                                     f"region (longitude {x0:g}..{x1:g}, latitude {y0:g}..{y1:g})")
        elif dup[i]:
            f, reason = "time", f"duplicate timestamp {fixes['time'].iat[i]} (same as {prev})"
        elif back[i]:
            f, reason = "time", (f"time {fixes['time'].iat[i]} is earlier than the previous "
                                 f"fix's ({prev})")
        else:
            f, reason = "geometry", (f"impossible speed {speed[i]:.0f} km/h from {prev} "
                                     f"({dist[i]:.0f} m in {dt[i]:g} s; the limit is "
                                     f"{max_speed_kmh:g} km/h)")
        out.append(FixProblem(int(lines[i]), f, at + reason, str(files[i])))
    if len(where) > MAX_LISTED:
        out.append(FixProblem(None, None, f"and {len(where) - MAX_LISTED} more bad fixes"))
    return out


# -- patrols ---------------------------------------------------------------------------------

def fix_times(fixes: pd.DataFrame) -> pd.Series:
    """The stored ``time`` of each fix: its ISO 8601 text as the device wrote it, offset kept
    ("+07:00" appended where it had none: such times are Vietnam time)."""
    arr = pa.array(fixes["time"], from_pandas=True)
    done = pc.if_else(pa.array(fixes["has_offset"].to_numpy()), arr,
                      pc.binary_join_element_wise(arr, "+07:00", ""))
    return pd.Series(done, index=fixes.index, dtype=pd.ArrowDtype(pa.string()))


def _patrol_records(fixes: pd.DataFrame, metric_crs, team, unit, kind, neighbour_unit,
                    border) -> tuple[gpd.GeoDataFrame, list[np.ndarray]]:
    """One record per track and the positions (into ``fixes``) of its fixes, in order."""
    from pyproj import Transformer

    fwd = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    back = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True)
    x, y = fwd.transform(fixes["lon"].to_numpy(), fixes["lat"].to_numpy())
    pid = fixes["patrol"].to_numpy()
    order = np.argsort(pid, kind="stable")
    starts = np.flatnonzero(np.r_[True, pid[order][1:] != pid[order][:-1]])
    groups = np.split(order, starts[1:])
    recs, geoms = [], []
    for g in groups:
        seg = fixes["segment"].to_numpy()[g]
        parts = []
        for s in pd.unique(seg):
            k = g[seg == s]
            if len(k) >= 2:
                # 5 m, metric; plain Douglas-Peucker: a map line of a walk that may cross
                # itself needs no topology kept (that variant was 5x slower: 2.3 s per 1M fixes)
                line = shapely.simplify(shapely.linestrings(x[k], y[k]), 5.0,
                                        preserve_topology=False)
                c = shapely.get_coordinates(line)
                lon, lat = back.transform(c[:, 0], c[:, 1])
                parts.append(shapely.linestrings(lon, lat))
        geom = None if not parts else parts[0] if len(parts) == 1 else \
            shapely.multilinestrings(parts)
        length = float(np.hypot(np.diff(x[g]), np.diff(y[g]))[seg[1:] == seg[:-1]].sum())
        first, last = g[0], g[-1]
        t0, t1 = (parse_datetime(v) for v in fix_times(fixes.iloc[[first, last]]))
        recs.append({"team": team, "unit": unit, "kind": kind, "neighbour_unit": neighbour_unit,
                     "border": border, "start_time": t0, "end_time": t1, "fixes": len(g),
                     "length_m": round(length, 1), "source": str(fixes["file"].iat[first])})
        geoms.append(geom)
    return gpd.GeoDataFrame(recs, geometry=geoms, crs="EPSG:4326"), groups


def import_patrols(store, path: str | Path, *, team: str, kind: str = "unilateral",
                   unit: str | None = None, neighbour_unit: str | None = None,
                   border: str | None = None, max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
                   allow=()) -> gpd.GeoDataFrame:
    """Import the tracks of ``path`` (file, folder or zip) as patrols, all or nothing.

    Every bad fix is reported (:class:`FixProblem`: file, line, field, reason) before anything
    is written; each track becomes one ``patrols`` record entered through
    :func:`~bienmoc.records.entry.enter` (schema, the joint-patrol rule, dates) and its fixes go
    to ``patrol_fixes`` in the same transaction. A patrol's border, when not given, is the
    border line nearest to most of its fixes. A track already imported (same team and start
    time) is refused. Returns the new patrol records (``attrs["fixes"]``: fixes written).
    """
    from bienmoc.records.entry import border_model, enter
    from bienmoc.records.rules import read_layer

    fixes = read_fixes(path)
    problems = check_fixes(fixes, max_speed_kmh=max_speed_kmh)
    if problems:
        raise InvalidData(problems, f"patrol tracks {Path(path).name}")
    state: dict = {}

    def prepare(tx, _records):
        model = border_model(tx)
        crs = model.crs if model is not None else "EPSG:32648"
        recs, groups = _patrol_records(fixes, crs, team, unit, kind, neighbour_unit, border)
        if border is None and model is not None:
            pick = []
            for g in groups:  # a sample of each track is enough to name its border
                s = g[np.linspace(0, len(g) - 1, min(len(g), 200)).astype(int)]
                xy = model.index.to_metric_xy(gpd.GeoSeries(shapely.points(
                    fixes["lon"].to_numpy()[s], fixes["lat"].to_numpy()[s]), crs="EPSG:4326"))
                b = model.index.locate_xy(xy[:, 0], xy[:, 1]).border
                pick.append(pd.Series(b).mode().iat[0])
            recs["border"] = pick
        state["groups"] = groups
        return recs

    def checks(ctx):
        old = read_layer(ctx.tx, "patrols")
        stored = {(a, pd.Timestamp(b)) for a, b in zip(old["team"], old["start_time"]) if b}
        seen: set = set()
        out = []
        for i, (a, b) in enumerate(zip(ctx.data["team"], ctx.data["start_time"])):
            key = (a, pd.Timestamp(b))
            where = ("is already in the store" if key in stored
                     else "is twice in these files" if key in seen else None)
            if where:
                out.append(FixProblem(None, "start_time", f"a patrol of team {a} starting {b} "
                                      f"{where}", str(ctx.data["source"].iat[i])))
            seen.add(key)
        return out

    def also(tx, data):
        groups = state["groups"]
        order = np.concatenate(groups)
        sub = fixes.iloc[order]
        out = pd.DataFrame({
            "patrol_id": np.repeat(np.asarray(data["id"], dtype=object),
                                   [len(g) for g in groups]),
            "seq": np.concatenate([np.arange(len(g)) for g in groups]),
            "time": fix_times(sub).to_numpy(), "lon": sub["lon"].to_numpy(),
            "lat": sub["lat"].to_numpy()})
        tx.append("patrol_fixes", out)
        state["n"] = len(out)

    n_tracks = int(fixes["patrol"].max()) + 1
    data = enter(store, "patrols", pd.DataFrame(index=range(n_tracks)), prepare=prepare,
                 checks=checks, also=also, allow=allow, what=f"patrols {Path(path).name}")
    data.attrs["fixes"] = state.get("n", 0)
    return data
