"""Locate features against the border and describe where they are, as reports do.

:class:`BorderModel` ties a boundary layer's :class:`~bienmoc.linear.LineIndex` to the markers
(placed by chainage, grouped by position: 222(1)+222(2) is one position "222") and to the
provinces along each border. :func:`locate` answers, for any points or polygons: border,
perpendicular distance to the line, side, chainage, the two markers between which the nearest
line point falls (by position along the line, not by number), the nearer of the two and its
distance, the province (the polygon containing the point, see
:mod:`bienmoc.geometry.provinces`), the province owning the nearest border section, and a
description in Vietnamese and English:

    "khu vực mốc 1088/2 – 1089, cách mốc 1089 khoảng 320 m về phía Việt Nam,
     cách đường biên giới 45 m"

A located feature's ``province`` is the province polygon that contains it (nearest within 2 km
for points just outside Vietnam). ``section_province`` is the province owning the border section
at its chainage: sections are found once per model by sampling the line every 100 m and taking
the nearest province polygon (province edges do not coincide with the line).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.errors import InvalidData
from bienmoc.geometry.descriptions import _compiled as describe_compiled
from bienmoc.geometry.descriptions import as_str_column, describe_both
from bienmoc.geometry.linear import PARALLEL_MIN, LineIndex, split_run
from bienmoc.geometry.provinces import DEFAULT_SLACK_M, ProvinceIndex
from bienmoc.model.numbers import parse_number

__all__ = ["BorderModel", "locate", "describe", "describe_vi", "describe_en", "NEIGHBOURS",
           "LOCATE_COLUMNS", "format_distance"]

#: Names of neighbour countries by ISO code (Vietnamese, English).
NEIGHBOURS = {"CN": ("Trung Quốc", "China"), "LA": ("Lào", "Laos"),
              "KH": ("Campuchia", "Cambodia"), "VN": ("Việt Nam", "Vietnam")}

#: below this many points (without descriptions) :meth:`BorderModel.locate_columns` answers
#: text as object arrays, in the calling thread
SMALL = 256

LOCATE_COLUMNS = ["border", "distance_m", "side", "chainage_m", "marker_before", "marker_after",
                  "nearest_marker", "nearest_marker_distance_m", "province", "section_province",
                  "location_vi", "location_en"]

_PROVINCE_STEP_M = 100.0
_MIN_RUN_M = 1000.0  # province runs shorter than this between two runs of one province merge


@dataclass
class _BorderMarkers:
    """Marker positions of one border, sorted by chainage."""

    position: np.ndarray      # "222" for 222(1)/222(2)
    chainage: np.ndarray
    parts_x: list             # metric coordinates of each position's parts
    parts_y: list
    direction: int            # +1 numbers grow with chainage, -1 against the line


class BorderModel:
    """Boundary + markers + provinces, indexed once and reused for many queries."""

    def __init__(self, boundary: gpd.GeoDataFrame, markers: gpd.GeoDataFrame | None = None,
                 provinces: gpd.GeoDataFrame | None = None, crs: object | None = None):
        self.index = LineIndex(boundary, crs=crs, cell=_line_cell())
        self.crs = self.index.crs
        self.markers: dict[str, _BorderMarkers] = {}
        if markers is not None and len(markers):
            self._place_markers(markers)
        self.province_runs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.provinces = ProvinceIndex(provinces, self.crs)
        if provinces is not None and len(provinces):
            self._province_runs()

    @classmethod
    def from_source(cls, source, crs: object | None = None) -> "BorderModel":
        """The model of ``source``: a BorderModel (returned as is), a store, or a mapping of
        frames with 'boundary' (and optionally 'markers', 'provinces')."""
        if isinstance(source, BorderModel):
            return source
        from bienmoc.model.source import frames

        f = frames(source, ("boundary", "markers", "provinces"))
        return cls(f["boundary"], f["markers"], f["provinces"], crs=crs)

    # -- building --------------------------------------------------------------------------
    def _place_markers(self, markers: gpd.GeoDataFrame) -> None:
        m = markers[markers.geometry.notna() & markers["border"].isin(self.index.borders)]
        xy = self.index.to_metric_xy(m.geometry)
        chain = np.full(len(m), np.nan)
        borders = m["border"].to_numpy(dtype=object)
        for b in np.unique(borders):  # each marker on its own line (tri-points!)
            sel = borders == b
            chain[sel] = self.index.locate_on(b, xy[sel, 0], xy[sel, 1]).chainage_m
        df = pd.DataFrame({"border": borders, "number": m["number"].to_numpy(),
                           "x": xy[:, 0], "y": xy[:, 1], "chainage": chain})
        parsed = [parse_number(n) for n in df["number"]]
        df["position"] = [p.position for p in parsed]
        df["key"] = [(p.main, p.sub) for p in parsed]
        for border, g in df.groupby("border", sort=False):
            if border not in self.index.borders:
                continue
            pos = g.groupby("position", sort=False).agg(
                chainage=("chainage", "mean"), key=("key", "first"),
                xs=("x", list), ys=("y", list))
            pos = pos.sort_values("chainage", kind="stable")
            keys = np.array([k[0] + k[1] / 1000.0 for k in pos["key"]])
            # numbering direction: the sign of the rank correlation of number vs chainage
            direction = 1
            if len(keys) > 1:
                r = np.corrcoef(np.argsort(np.argsort(keys)), np.arange(len(keys)))[0, 1]
                direction = 1 if r >= 0 else -1
            self.markers[border] = _BorderMarkers(pos.index.to_numpy(dtype=object),
                                                  pos["chainage"].to_numpy(float),
                                                  list(pos["xs"]), list(pos["ys"]), direction)

    def _province_runs(self) -> None:
        # Nearest province = owner of the nearest province-edge segment (see
        # ProvinceIndex.edges; the samples lie on the national border, i.e. on the provinces'
        # outer edges, so the edge test agrees except within metres of the points where two
        # provinces meet the line).
        tree, seg_owner = self.provinces.edges()
        names = self.provinces.names
        for border in self.index.borders:
            length = self.index.length_m[border]
            ch = np.arange(0.0, length + _PROVINCE_STEP_M, _PROVINCE_STEP_M)
            ch[-1] = min(ch[-1], length)
            xy = self.index.point_at(border, ch)
            (qi, sj) = tree.query_nearest(shapely.points(xy[:, 0], xy[:, 1]),
                                          all_matches=False)
            owner = np.empty(len(ch), dtype=object)
            owner[qi] = names[seg_owner[sj]]
            owner = _smooth(owner, int(_MIN_RUN_M // _PROVINCE_STEP_M))
            # run-length encode: boundaries at the midpoint between differing samples
            change = np.flatnonzero(owner[1:] != owner[:-1])
            starts = np.concatenate([[0.0], (ch[change] + ch[change + 1]) / 2])
            self.province_runs[border] = (starts, owner[np.concatenate([[0], change + 1])])

    # -- queries ---------------------------------------------------------------------------
    def province_at(self, border: np.ndarray, chainage: np.ndarray) -> np.ndarray:
        out = np.full(len(chainage), None, dtype=object)
        for b, (starts, names) in self.province_runs.items():
            sel = border == b
            if sel.any():
                i = np.clip(np.searchsorted(starts, chainage[sel], side="right") - 1, 0,
                            len(starts) - 1)
                out[sel] = names[i]
        return out

    def province_lengths(self) -> pd.DataFrame:
        """Border length (km) per border and province, from the province runs."""
        rows = []
        for b, (starts, names) in self.province_runs.items():
            ends = np.concatenate([starts[1:], [self.index.length_m[b]]])
            for s, e, n in zip(starts, ends, names):
                rows.append((b, n, (e - s) / 1000.0))
        df = pd.DataFrame(rows, columns=["border", "province", "length_km"])
        return df.groupby(["border", "province"], sort=False, as_index=False)["length_km"].sum()

    def locate(self, data: gpd.GeoDataFrame | gpd.GeoSeries, *, describe: bool = True
               ) -> pd.DataFrame:
        """The :data:`LOCATE_COLUMNS` for each feature, in input order (without the two
        ``location_*`` texts when ``describe`` is False).

        Large inputs are split into consecutive slices located in threads (see
        :func:`bienmoc.geometry.linear.split_run`); the answers do not depend on the split.
        """
        return self.locate_xy(self.index.to_metric_xy(data), describe=describe)

    def locate_xy(self, xy: np.ndarray, *, describe: bool = True) -> pd.DataFrame:
        """:meth:`locate` of points given as (N, 2) coordinates in this model's metric CRS."""
        cols = self.locate_columns(xy, describe=describe)
        return pd.DataFrame({c: cols[c] for c in LOCATE_COLUMNS if c in cols})

    def locate_columns(self, xy: np.ndarray, *, describe: bool = True) -> dict:
        """:meth:`locate_xy`'s columns as arrays, without the frame. Text columns are Arrow
        string columns, or object arrays for fewer than :data:`SMALL` points without
        descriptions (the write path places 1-16 incidents per batch: there the Arrow
        dictionaries and the frame cost more than the search)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        if len(xy) < SMALL and not describe:
            self.index.prepare(xy[:, 0], xy[:, 1])
            return self._locate_slice(xy, False, arrow=False)
        self.index.prepare(xy[:, 0], xy[:, 1])  # the grid is filled once, before the threads
        if self.provinces:
            self.provinces.edge_grid()
        self._names()
        self._dictionaries()
        for bm in self.markers.values():
            _parts_table(bm)
        if len(xy) >= PARALLEL_MIN:
            warm_compiled()  # here, before the threads: never a first call from several
        parts = split_run(lambda a, b: self._locate_slice(xy[a:b], describe), len(xy))
        cols = {}
        for c in parts[0]:
            vals = [p[c] for p in parts]
            if isinstance(vals[0], pa.Array):
                # the slices' arrays as chunks of one column, not copied into one array (the
                # descriptions are ~150 MB a language at 1M points: a serial copy)
                cols[c] = as_str_column(pa.chunked_array(vals) if len(vals) > 1 else vals[0])
            else:
                cols[c] = np.concatenate(vals)
        return cols

    def _names(self) -> tuple[pa.Array, dict[str, int]]:
        """All marker positions of all borders in one Arrow array, and each border's offset
        into it (labels are taken from it by index: no Python string per point)."""
        if getattr(self, "_names_cache", None) is None:
            offsets, names, k = {}, [], 0
            for b, bm in self.markers.items():
                offsets[b] = k
                names.extend(str(v) for v in bm.position)
                k += len(bm.position)
            self._names_cache = (pa.array(names, pa.large_string()), offsets)
        return self._names_cache

    def _name_objects(self) -> np.ndarray:
        """:meth:`_names` as an object array (for the small inputs' object columns)."""
        if getattr(self, "_name_objects_cache", None) is None:
            self._name_objects_cache = np.asarray(self._names()[0].to_pylist(), dtype=object)
        return self._name_objects_cache

    def _dictionaries(self):
        """The few strings of the border, side, province and section_province columns as
        Arrow arrays, and each border's province runs as indices into the provinces' (None:
        a border code or province name that is not text; those columns are then built as
        object arrays; a run without a province, -1, gives None as there). Built once,
        before the threads (see :meth:`locate_xy`)."""
        if getattr(self, "_dict_cache", False) is False:
            self._dict_cache = None
            borders = list(self.index.borders)
            names = list(self.provinces.names)
            if all(isinstance(v, str) for v in borders + names):
                where = {}
                for i, v in enumerate(names):
                    where.setdefault(v, i)
                runs = {b: (starts, np.array([where.get(v, -1) for v in owner], np.int64))
                        for b, (starts, owner) in self.province_runs.items()}
                self._dict_cache = (pa.array(borders, pa.large_string()),
                                    pa.array(["", "VN", *borders], pa.large_string()),
                                    pa.array(names, pa.large_string()), runs)
        return self._dict_cache

    def _text_columns(self, loc, xy):
        """border, side, province, section_province of one slice as Arrow string arrays taken
        from :meth:`_dictionaries` by index: the same values as the object arrays (None where
        those have None), without a Python string per point, so that the frame takes them
        as they are instead of converting 4 object columns (~0.07 s each per 1M points, in
        the main thread after the locating threads)."""
        dicts = self._dictionaries()
        if dicts is None:
            return None
        borders, sides, provinces, runs = dicts
        n = len(loc.border)
        code = np.full(n, -1, np.int64)
        section = np.full(n, -1, np.int64)
        for i, b in enumerate(self.index.borders):
            sel = loc.border == b
            code[sel] = i
            if b in runs and sel.any():
                starts, idx = runs[b]
                section[sel] = idx[np.clip(np.searchsorted(starts, loc.chainage_m[sel],
                                                           side="right") - 1, 0, len(starts) - 1)]
        if (code < 0).any():
            return None
        side = np.where(loc.side > 0, 1, np.where(loc.side < 0, 2 + code, 0))
        province = self.provinces.index_xy(xy[:, 0], xy[:, 1], DEFAULT_SLACK_M)

        def take(values, i):
            return pc.take(values, pa.array(i, mask=i < 0)) if len(values) else \
                pa.nulls(len(i), pa.large_string())
        return take(borders, code), take(sides, side), take(provinces, province), \
            take(provinces, section)

    def _locate_slice(self, xy: np.ndarray, describe: bool, arrow: bool = True) -> dict:
        """The columns of the points ``xy``; ``arrow`` False: text as object arrays (None
        where missing)."""
        loc = self.index.locate_xy(xy[:, 0], xy[:, 1])
        n = len(xy)
        names, offsets = self._names()
        before = np.full(n, -1, np.int64)
        after = np.full(n, -1, np.int64)
        nearest = np.full(n, -1, np.int64)
        nearest_d = np.full(n, np.nan)
        for b, bm in self.markers.items():
            sel = np.flatnonzero(loc.border == b)
            if not len(sel) or not len(bm.chainage):
                continue
            k = np.searchsorted(bm.chainage, loc.chainage_m[sel], side="right")
            # the section [lo, hi] holding the point; before the first marker or beyond the
            # last one, the end section (both ends alike, as PostGIS/shapely peers report it)
            n_pos = len(bm.chainage)
            lo = np.clip(k - 1, 0, max(n_pos - 2, 0))
            hi = np.minimum(lo + 1, n_pos - 1)
            d_lo = _dist_to_parts(bm, lo, xy[sel])
            d_hi = _dist_to_parts(bm, hi, xy[sel])
            first, second = (lo, hi) if bm.direction > 0 else (hi, lo)
            o = offsets[b]
            before[sel] = o + first
            after[sel] = o + second
            use_hi = d_hi < d_lo
            nearest[sel] = o + np.where(use_hi, hi, lo)
            nearest_d[sel] = np.where(use_hi, d_hi, d_lo)
        if arrow:
            take = lambda i: pc.take(names, pa.array(i, mask=i < 0)) if len(names) else \
                pa.nulls(len(i), pa.large_string())  # noqa: E731
        else:
            listed = self._name_objects()
            take = lambda i: np.where(i >= 0, listed[np.maximum(i, 0)], None) if len(  # noqa
                listed) else np.full(len(i), None, dtype=object)
        text = self._text_columns(loc, xy) if arrow else None
        if text is not None:
            border, side, province, section_province = text
        else:
            border = loc.border
            section_province = self.province_at(loc.border, loc.chainage_m)
            province = self.provinces.of_xy(xy[:, 0], xy[:, 1], DEFAULT_SLACK_M)
            side = np.where(loc.side > 0, "VN", np.where(loc.side < 0, loc.border, "")
                            ).astype(object)
        out = {"border": border, "distance_m": loc.distance_m, "side": side,
               "chainage_m": loc.chainage_m, "marker_before": take(before),
               "marker_after": take(after), "nearest_marker": take(nearest),
               "nearest_marker_distance_m": nearest_d, "province": province,
               "section_province": section_province}
        if describe:
            # whole columns at once (bienmoc.geometry.descriptions), not one f-string per row
            args = [out[c] for c in ("marker_before", "marker_after", "nearest_marker",
                                     "nearest_marker_distance_m", "side", "distance_m")]
            texts = describe_both(*args)
            out["location_vi"], out["location_en"] = texts["vi"], texts["en"]
        return out


def warm_compiled() -> None:
    """Load the compiled kernels locate uses (numba's import and cached machine code, once per
    process; nothing without numba)."""
    global _warm
    with _warm_lock:
        if _warm:
            return
        _warm = True
        try:
            from bienmoc.geometry.linear import warm_compiled_nearest

            warm_compiled_nearest()
            if describe_compiled() is not None:
                describe_compiled().warm()
        except Exception:  # noqa: BLE001 - the first call compiles (or numpy/Arrow do it)
            pass


_warm = False
_warm_lock = threading.Lock()


def _line_cell() -> float:
    """Grid cell (m) of the model's line index. The grid is exact at any size, so this only
    trades the one-off fill (per cell) against the search (per point and candidate): with the
    compiled search (numba, ``bienmoc[fast]``) candidates are cheap and 2 km cells fill 6x
    faster than 500 m ones (measured on the VN-LA line, 1M points: fill 1.87 -> 0.29 s CPU,
    search 0.46 -> 0.47 s); numpy's search pays per (point, candidate) pair, so 500 m."""
    import importlib.util

    fast = importlib.util.find_spec("numba") is not None and not os.environ.get(
        "BIENMOC_NO_NUMBA", "")
    return 2000.0 if fast else 500.0


def _smooth(owner: np.ndarray, min_samples: int) -> np.ndarray:
    """Replace runs shorter than ``min_samples`` samples that sit between two runs of one
    province by that province (flicker where a province edge wanders across the line)."""
    owner = owner.copy()
    change = np.flatnonzero(owner[1:] != owner[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(owner)]])
    for k in range(1, len(starts) - 1):
        if ends[k] - starts[k] < min_samples and owner[starts[k - 1]] == owner[ends[k]]:
            owner[starts[k]:ends[k]] = owner[ends[k]]
    return owner


def _dist_to_parts(bm: _BorderMarkers, idx: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Distance from each point to the nearest part of marker position idx[i]."""
    px, py = _parts_table(bm)  # (positions, parts) padded with NaN
    dx = px[idx] - xy[:, :1]
    dy = py[idx] - xy[:, 1:]
    if px.shape[1] == 1:
        return np.hypot(dx[:, 0], dy[:, 0])
    d = np.hypot(dx, dy)
    return np.where(np.isnan(d), np.inf, d).min(axis=1)


def _parts_table(bm: _BorderMarkers) -> tuple[np.ndarray, np.ndarray]:
    """The parts' coordinates of every position as two (positions, max parts) arrays."""
    if getattr(bm, "_table", None) is None:
        k = max((len(p) for p in bm.parts_x), default=1)
        px = np.full((len(bm.parts_x), k), np.nan)
        py = np.full((len(bm.parts_x), k), np.nan)
        for i, (xs, ys) in enumerate(zip(bm.parts_x, bm.parts_y)):
            px[i, :len(xs)] = xs
            py[i, :len(ys)] = ys
        bm._table = (px, py)
    return bm._table


def format_distance(m: float, lang: str = "vi") -> str:
    """Distances as reports write them: 45 m, 320 m, 1,2 km (vi) / 1.2 km (en)."""
    if m is None or not np.isfinite(m):
        return "?"
    from bienmoc.fmt import fmt_number

    if m < 100:
        return f"{m:.0f} m"
    if m < 1000:
        return f"{round(m, -1):.0f} m"
    return f"{fmt_number(m / 1000, lang, 1)} km"  # 1.234,5 km (vi) / 1,234.5 km (en)


def _side_name(side: str, lang: str) -> str:
    name = NEIGHBOURS.get(side, (side, side))
    return name[0] if lang == "vi" else name[1]


#: The phrases of a location description, per language.
_PHRASES = {
    "vi": {"one": "khu vực mốc {a}, ", "two": "khu vực mốc {a} – {b}, ",
           "near": "cách mốc {m} khoảng {d} ", "side": "về phía {s}, ",
           "line": "cách đường biên giới {d}", "on": "trên đường biên giới"},
    "en": {"one": "area of marker {a}, ", "two": "area of markers {a} – {b}, ",
           "near": "about {d} from marker {m} ", "side": "on the {s} side, ",
           "line": "{d} from the boundary line", "on": "on the boundary line"},
}
_ADJECTIVES_EN = {"VN": "Vietnamese", "CN": "Chinese", "LA": "Lao", "KH": "Cambodian"}


def describe(before, after, nearest, nearest_d, side, dist, lang: str = "vi") -> str:
    """A location as reports write it, e.g. 'khu vực mốc 1088/2 – 1089, cách mốc 1089 khoảng
    320 m về phía Việt Nam, cách đường biên giới 45 m' (``lang='en'`` for English)."""
    p = _PHRASES[lang]
    if before is None:
        where = ""
    elif before == after:
        where = p["one"].format(a=before)
    else:
        where = p["two"].format(a=before, b=after)
    if nearest is not None:
        where += p["near"].format(m=nearest, d=format_distance(nearest_d, lang))
    if not side:
        return where + p["on"]
    name = _side_name(side, "vi") if lang == "vi" else _ADJECTIVES_EN.get(
        side, _side_name(side, "en"))
    return where + p["side"].format(s=name) + p["line"].format(d=format_distance(dist, lang))


_describe = describe  # reachable inside BorderModel.locate, whose flag is named 'describe'


def describe_vi(before, after, nearest, nearest_d, side, dist) -> str:
    """:func:`describe` in Vietnamese."""
    return describe(before, after, nearest, nearest_d, side, dist, "vi")


def describe_en(before, after, nearest, nearest_d, side, dist) -> str:
    """:func:`describe` in English."""
    return describe(before, after, nearest, nearest_d, side, dist, "en")


def locate(data: gpd.GeoDataFrame, source, *, crs: object | None = None) -> gpd.GeoDataFrame:
    """Add :data:`LOCATE_COLUMNS` to ``data`` (any CRS it declares; none means EPSG:4326).

    ``source`` is a store, a :class:`BorderModel`, or a mapping with 'boundary' (and
    optionally 'markers', 'provinces') frames. Existing columns of the same names are replaced.

    ``data`` may also be a **dask-geopandas** GeoDataFrame (the ``bienmoc[dask]`` extra): the
    result is then a lazy dask-geopandas frame located partition by partition, with the model
    built once here and sent once to the workers (one task in the graph, not one copy per
    partition); computed, it equals the in-memory answer row for row.
    """
    model = BorderModel.from_source(source, crs=crs)
    if _is_dask(data):
        return _locate_dask(data, model)
    if not isinstance(data, gpd.GeoDataFrame):
        raise InvalidData("locate needs a GeoDataFrame")
    if data.crs is None:
        data = data.set_crs(STORAGE_CRS)
    res = model.locate(data)
    out = data.drop(columns=[c for c in LOCATE_COLUMNS if c in data.columns]).copy()
    for c in LOCATE_COLUMNS:
        out[c] = res[c].array  # positional (data may have any index), no re-inference
    return out


def _is_dask(data) -> bool:
    return type(data).__module__.startswith("dask_geopandas") or \
        type(data).__module__.startswith("dask.")


def _locate_dask(data, model: BorderModel):
    import dask

    if not hasattr(data, "map_partitions") or not hasattr(data, "crs"):
        raise InvalidData("locate needs a GeoDataFrame (or a dask-geopandas GeoDataFrame)")
    shared = dask.delayed(model, pure=False, traverse=False)  # one task, reused by all
    crs = data.crs if data.crs is not None else STORAGE_CRS
    meta = locate(data._meta.set_crs(crs, allow_override=True), model)
    for c in ("border", "side", "marker_before", "marker_after", "nearest_marker", "province",
              "section_province", "location_vi", "location_en"):
        meta[c] = meta[c].astype("str")
    return data.map_partitions(_locate_partition, shared, crs, meta=meta)


def _locate_partition(part: gpd.GeoDataFrame, model: BorderModel, crs) -> gpd.GeoDataFrame:
    if part.crs is None:
        part = part.set_crs(crs)
    return locate(part, model)
