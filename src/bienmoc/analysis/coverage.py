"""Which stretches of a border line were patrolled: chainage intervals and marker sections.

:func:`coverage` takes GPS fixes (a store's ``patrol_fixes`` + ``patrols``, a DataFrame, or a
dask(-geopandas) DataFrame of them) and a border, and answers

* ``intervals``: the chainage intervals walked, per kind (unilateral / joint apart), as an exact
  union, each with its last visit (date in Asia/Ho_Chi_Minh);
* ``sections``: per marker section (or per km) the share covered (any kind, and each kind), the
  last visit, the days since and whether it is overdue (not visited for ``overdue_days``).

The rule: a fix counts when its nearest border line is ``border``, it lies within ``within_m``
of that line and, for a unilateral patrol, not on the neighbour's side farther than
``side_slack_m`` (GPS error at the line; a unilateral patrol does not walk the neighbour's
land). Consecutive counted fixes of one patrol (``seq`` n and n+1) join into one walked run when
both their distance and their chainage difference are at most ``gap_m``; a run covers the
chainage from its lowest to its highest fix. Chainage is :mod:`bienmoc.geometry.linear`'s (the
``chainage_m`` of ``locate``).

Speed: the fixes are projected with pyproj and located with the exact nearest-segment grid of
:class:`~bienmoc.geometry.linear.LineIndex` (the path ``locate`` takes), everything else is numpy
over whole columns; no Python loop per fix. On dask, each partition gives its runs and the runs
are merged exactly (a run that a partition boundary cut is joined again by the same rule, since
runs carry their first and last fix).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from bienmoc.model.places import province_key
from bienmoc.errors import InvalidData

__all__ = ["coverage", "Coverage", "fix_runs", "merge_runs", "read_fixes_table",
           "DEFAULT_WITHIN_M",
           "DEFAULT_GAP_M", "DEFAULT_SIDE_SLACK_M"]

DEFAULT_WITHIN_M = 500.0
DEFAULT_GAP_M = 1000.0
DEFAULT_SIDE_SLACK_M = 50.0
_NAT = np.iinfo(np.int64).min
_VN_OFFSET_NS = 7 * 3600 * 10**9      # Asia/Ho_Chi_Minh: +07:00 all year
KINDS = ("unilateral", "joint")

#: the columns of a runs frame (one row per walked run of one patrol)
RUN_COLUMNS = ["patrol", "kind", "seq_first", "seq_last", "ch_min", "ch_max", "ch_first",
               "ch_last", "x_first", "y_first", "x_last", "y_last", "t_first", "t_last"]


@dataclass
class Coverage:
    """The answer of :func:`coverage` (frames; :meth:`to_json` gives the CLI's document)."""

    border: str
    start: _dt.date | None
    end: _dt.date | None
    within_m: float
    gap_m: float
    intervals: pd.DataFrame       # start_m, end_m, kind, last_visit
    sections: pd.DataFrame        # marker_from, marker_to, start_m, end_m, covered_share, ...
    runs: pd.DataFrame = field(repr=False, default=None)
    fixes_used: int = 0
    fixes_total: int = 0

    def covered_m(self, kind: str | None = None) -> float:
        iv = self.intervals if kind is None else self.intervals[self.intervals["kind"] == kind]
        if kind is None:
            iv = _union(iv["start_m"].to_numpy(), iv["end_m"].to_numpy())
            return float((iv[1] - iv[0]).sum())
        return float((iv["end_m"] - iv["start_m"]).sum())

    def to_json(self) -> dict:
        """The ``bienmoc coverage --format json`` document (the contract in the README)."""
        def recs(df, cols):
            out = []
            for r in df[cols].itertuples(index=False):
                d = {}
                for c, v in zip(cols, r):
                    if isinstance(v, (float, np.floating)):
                        v = None if np.isnan(v) else round(float(v), 3 if "share" in c else 1)
                    elif isinstance(v, (np.integer,)):
                        v = int(v)
                    elif isinstance(v, (np.bool_,)):
                        v = bool(v)
                    elif isinstance(v, (_dt.date, pd.Timestamp)):
                        v = str(v)[:10]
                    elif v is pd.NA or v is pd.NaT:
                        v = None
                    d[c] = v
                out.append(d)
            return out

        return {"border": self.border,
                "from": None if self.start is None else str(self.start),
                "to": None if self.end is None else str(self.end),
                "within_m": self.within_m,
                "intervals": recs(self.intervals, ["start_m", "end_m", "kind", "last_visit"]),
                "sections": recs(self.sections, [c for c in self.sections.columns])}


# -- inputs ----------------------------------------------------------------------------------

def _utc_ns(values) -> np.ndarray:
    """UTC nanoseconds of fix times: ISO texts (offset kept; none = Vietnam time), tz-aware
    datetimes, or naive datetimes (Vietnam time)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            return s.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").view(np.int64)
        ns = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
        return np.where(ns == _NAT, _NAT, ns - _VN_OFFSET_NS)
    import pyarrow as pa

    from bienmoc.io.tracks import _utc_ns as text_ns

    try:  # Arrow- or str-backed columns convert without copying
        arr = pa.array(s, from_pandas=True)
        if arr.type != pa.string():
            arr = arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = pa.array([None if v is None or (not isinstance(v, str) and pd.isna(v)) else
                        str(v) for v in s], type=pa.string())
    return text_ns(arr)[0]


def _fix_columns(df: pd.DataFrame, kinds: dict | None):
    """(patrol codes, patrol labels, kind code 0/1 per fix, seq, t ns, lon, lat)."""
    if "patrol_id" not in df:
        raise InvalidData("fixes need a patrol_id column")
    pid = df["patrol_id"]
    if isinstance(pid.dtype, pd.CategoricalDtype):
        codes, labels = pid.cat.codes.to_numpy().astype(np.int64), np.asarray(
            pid.cat.categories, dtype=object)
    elif pd.api.types.is_integer_dtype(pid.dtype):
        codes = pid.to_numpy(np.int64)
        labels = None
    else:
        codes, labels = pd.factorize(pid)
        codes = codes.astype(np.int64)
        labels = np.asarray(labels, dtype=object)
    if "kind" in df:
        k = df["kind"]
        kind = (k.cat.codes.to_numpy() if isinstance(k.dtype, pd.CategoricalDtype)
                and list(k.cat.categories) == list(KINDS) else (k.to_numpy(dtype=object)
                                                              == "joint").astype(np.int8))
    elif kinds is not None:
        if labels is None:
            kind = pd.Series(codes).map(lambda c: kinds.get(c) == "joint").to_numpy(np.int8)
        else:
            per = np.array([kinds.get(p) == "joint" for p in labels], np.int8)
            kind = per[codes] if len(codes) else np.empty(0, np.int8)
    else:
        kind = np.zeros(len(df), np.int8)
    seq = (df["seq"].to_numpy(np.int64) if "seq" in df
           else pd.Series(codes).groupby(codes).cumcount().to_numpy(np.int64))
    t = _utc_ns(df["time"]) if "time" in df else np.zeros(len(df), np.int64)
    if "lon" in df and "lat" in df:
        lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    else:
        import shapely

        xy = shapely.get_coordinates(np.asarray(df.geometry.values))
        lon, lat = xy[:, 0], xy[:, 1]
    return codes, labels, np.asarray(kind, np.int8), seq, t, lon, lat


@lru_cache(maxsize=8)
def _transformer(crs_wkt: str):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs_wkt, always_xy=True)


def read_fixes_table(store) -> pd.DataFrame:
    """A store's ``patrol_fixes``: the columns as stored when the store can read them fast
    (the GeoPackage's ``read_columns``: millions of rows a second, where the generic row reader
    takes ~10 s per million), else ``store.read``."""
    if hasattr(store, "read_columns") and "patrol_fixes" in store.layers():
        return store.read_columns("patrol_fixes", ["patrol_id", "seq", "time", "lon", "lat"])
    return store.read("patrol_fixes")


# -- the kernel: fixes -> runs ---------------------------------------------------------------

def fix_runs(df: pd.DataFrame, index, border: str, *, within_m: float = DEFAULT_WITHIN_M,
             gap_m: float = DEFAULT_GAP_M, side_slack_m: float = DEFAULT_SIDE_SLACK_M,
             t0: int | None = None, t1: int | None = None, kinds: dict | None = None
             ) -> pd.DataFrame:
    """The walked runs (:data:`RUN_COLUMNS`) of the fixes in ``df`` against ``border`` of the
    :class:`~bienmoc.geometry.linear.LineIndex` ``index`` (times in [t0, t1) UTC ns)."""
    codes, labels, kind, seq, t, lon, lat = _fix_columns(df, kinds)
    keep = np.isfinite(lon) & np.isfinite(lat)
    if t0 is not None or t1 is not None:
        keep &= t != _NAT  # a fix without a time belongs to no period
    if t0 is not None:
        keep &= t >= t0
    if t1 is not None:
        keep &= t < t1
    if not keep.all():
        codes, kind, seq, t, lon, lat = (a[keep] for a in (codes, kind, seq, t, lon, lat))
    n = len(codes)
    if n and not (np.all(codes[1:] >= codes[:-1]) and np.all(
            (codes[1:] != codes[:-1]) | (seq[1:] > seq[:-1]))):
        order = np.lexsort((seq, codes))
        codes, kind, seq, t, lon, lat = (a[order] for a in (codes, kind, seq, t, lon, lat))
    x, y = _transformer(index.crs.to_wkt()).transform(lon, lat) if n else (lon, lat)
    x, y = np.asarray(x, float), np.asarray(y, float)
    index._border_id(border)  # an unknown border is an error, not an empty answer
    if n:
        from bienmoc.analysis._nearest import nearest_segment

        seg, d2 = nearest_segment(index, x, y)
        loc = index._answer(x, y, seg, d2)  # what LineIndex.locate_xy answers
    if n:
        on = loc.border == border
        counted = on & (loc.distance_m <= within_m) & (
            (kind == 1) | (loc.side >= 0) | (loc.distance_m <= side_slack_m))
    else:
        counted = np.zeros(0, bool)
    idx = np.flatnonzero(counted)
    if not len(idx):
        return _empty_runs(labels is not None)
    ch = loc.chainage_m[idx]
    xs, ys = x[idx], y[idx]
    c, s = codes[idx], seq[idx]
    join = np.zeros(len(idx), bool)
    join[1:] = ((c[1:] == c[:-1]) & (s[1:] == s[:-1] + 1)
                & (np.abs(ch[1:] - ch[:-1]) <= gap_m)
                & (np.hypot(xs[1:] - xs[:-1], ys[1:] - ys[:-1]) <= gap_m))
    starts = np.flatnonzero(~join)
    ends = np.r_[starts[1:], len(idx)] - 1
    tt = t[idx]
    runs = pd.DataFrame({
        "patrol": c[starts] if labels is None else labels[c[starts]],
        "kind": np.asarray(KINDS, dtype=object)[kind[idx][starts]],
        "seq_first": s[starts], "seq_last": s[ends],
        "ch_min": np.minimum.reduceat(ch, starts), "ch_max": np.maximum.reduceat(ch, starts),
        "ch_first": ch[starts], "ch_last": ch[ends],
        "x_first": xs[starts], "y_first": ys[starts], "x_last": xs[ends], "y_last": ys[ends],
        "t_first": np.minimum.reduceat(tt, starts), "t_last": np.maximum.reduceat(tt, starts)})
    runs.attrs["fixes_used"] = len(idx)
    runs.attrs["fixes_total"] = n
    return runs


def _empty_runs(labelled: bool = True) -> pd.DataFrame:
    f = {"patrol": object, "kind": object, "seq_first": np.int64, "seq_last": np.int64,
         **{c: float for c in RUN_COLUMNS[4:12]}, "t_first": np.int64, "t_last": np.int64}
    return pd.DataFrame({c: pd.Series([], dtype=f[c]) for c in RUN_COLUMNS})


def merge_runs(runs: pd.DataFrame, gap_m: float = DEFAULT_GAP_M) -> pd.DataFrame:
    """Join runs that continue each other (same patrol, next ``seq``, within ``gap_m``):
    the exact merge of runs computed on separate partitions."""
    if len(runs) < 2:
        return runs.reset_index(drop=True)
    r = runs.sort_values(["patrol", "seq_first"], kind="stable").reset_index(drop=True)
    p = r["patrol"].to_numpy()
    join = np.zeros(len(r), bool)
    join[1:] = ((p[1:] == p[:-1])
                & (r["seq_first"].to_numpy()[1:] == r["seq_last"].to_numpy()[:-1] + 1)
                & (np.abs(r["ch_first"].to_numpy()[1:] - r["ch_last"].to_numpy()[:-1]) <= gap_m)
                & (np.hypot(r["x_first"].to_numpy()[1:] - r["x_last"].to_numpy()[:-1],
                            r["y_first"].to_numpy()[1:] - r["y_last"].to_numpy()[:-1]) <= gap_m))
    if not join.any():
        return r
    g = np.cumsum(~join) - 1
    agg = r.groupby(g, sort=True).agg(
        patrol=("patrol", "first"), kind=("kind", "first"), seq_first=("seq_first", "first"),
        seq_last=("seq_last", "last"), ch_min=("ch_min", "min"), ch_max=("ch_max", "max"),
        ch_first=("ch_first", "first"), ch_last=("ch_last", "last"),
        x_first=("x_first", "first"), y_first=("y_first", "first"),
        x_last=("x_last", "last"), y_last=("y_last", "last"),
        t_first=("t_first", "min"), t_last=("t_last", "max"))
    return agg.reset_index(drop=True)


# -- runs -> intervals and sections ----------------------------------------------------------

def _union(a: np.ndarray, b: np.ndarray, t: np.ndarray | None = None):
    """Exact union of closed intervals [a, b]: (starts, ends[, last time of each])."""
    if not len(a):
        e = np.empty(0)
        return (e, e) if t is None else (e, e, np.empty(0, np.int64))
    o = np.argsort(a, kind="stable")
    a, b = a[o], b[o]
    reach = np.maximum.accumulate(b)
    new = np.r_[True, a[1:] > reach[:-1]]
    first = np.flatnonzero(new)
    starts, ends = a[first], np.maximum.reduceat(b, first)
    if t is None:
        return starts, ends
    return starts, ends, np.maximum.reduceat(t[o], first)


def _covered_upto(starts: np.ndarray, ends: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Covered length of the disjoint sorted intervals below each chainage ``c``."""
    if not len(starts):
        return np.zeros(len(c))
    cum = np.r_[0.0, np.cumsum(ends - starts)]
    k = np.searchsorted(starts, c, side="right")  # intervals starting at or before c
    full = cum[np.maximum(k - 1, 0)]
    last = np.clip(c - starts[np.maximum(k - 1, 0)], 0, (ends - starts)[np.maximum(k - 1, 0)])
    return np.where(k > 0, full + last, 0.0)


def _local_date(ns: np.ndarray) -> np.ndarray:
    out = np.full(len(ns), None, dtype=object)
    ok = ns != _NAT
    if ok.any():
        d = (ns[ok] + _VN_OFFSET_NS).view("datetime64[ns]").astype("datetime64[D]")
        out[ok] = [_dt.date.fromisoformat(str(v)) for v in d]
    return out


def _sections(model, border: str, by: str) -> pd.DataFrame:
    length = model.index.length_m[border]
    if by == "km":
        a = np.arange(0.0, length, 1000.0)
        return pd.DataFrame({"km": np.arange(len(a)) + 1, "start_m": a,
                             "end_m": np.minimum(a + 1000.0, length)})
    if by != "marker-section":
        raise InvalidData(f"unknown section kind {by!r}; expected marker-section or km")
    bm = model.markers.get(border)
    if bm is None or len(bm.chainage) < 2:
        raise InvalidData(f"border {border} has fewer than two markers: use by='km'")
    ch, pos = bm.chainage, bm.position
    df = pd.DataFrame({"marker_from": pos[:-1], "marker_to": pos[1:], "start_m": ch[:-1],
                       "end_m": ch[1:]})
    if bm.direction < 0:  # numbering runs against the line: list sections in numbering order
        df = pd.DataFrame({"marker_from": pos[1:][::-1], "marker_to": pos[:-1][::-1],
                           "start_m": ch[:-1][::-1], "end_m": ch[1:][::-1]})
    return df


def _dates(start, end) -> tuple[int | None, int | None]:
    def ns(d):
        return int(pd.Timestamp(d).value) - _VN_OFFSET_NS

    from bienmoc.model.dates import parse_date

    s = None if start is None else parse_date(start)
    e = None if end is None else parse_date(end)
    if s and e and s > e:
        raise InvalidData(f"the period starts {s} after it ends {e}")
    return (None if s is None else ns(s),
            None if e is None else ns(e + _dt.timedelta(days=1))), s, e


def coverage(fixes, source, border: str, *, within_m: float = DEFAULT_WITHIN_M,
             gap_m: float = DEFAULT_GAP_M, side_slack_m: float = DEFAULT_SIDE_SLACK_M,
             start=None, end=None, by: str = "marker-section", province: str | None = None,
             overdue_days: int | None = None, as_of=None, patrols: pd.DataFrame | None = None
             ) -> Coverage:
    """The patrolled stretches of ``border`` (see the module text for the rule).

    Parameters
    ----------
    fixes : a store (its ``patrol_fixes`` and ``patrols``), or a (Geo)DataFrame of fixes with
        ``patrol_id``, ``seq``, ``time`` and ``lon``/``lat`` (or point geometry), optionally
        ``kind``; or a dask(-geopandas) DataFrame of such fixes (spatially partitioned or not).
    source : the BorderModel, or a store / mapping of frames to build it from (markers too).
    start, end : the period (dates, inclusive, Vietnam time); fixes outside it are ignored.
    by : ``"marker-section"`` (between consecutive markers, in numbering order) or ``"km"``.
    province : only the sections of this province (its border sections), intervals clipped.
    overdue_days : sections not visited for more than this many days (as of ``as_of``, else
        ``end``, else today) are ``overdue``.
    patrols : the patrol records giving each patrol's kind (default: read with the fixes).
    """
    from bienmoc.geometry.locate import BorderModel

    model = BorderModel.from_source(source)
    (t0, t1), s_date, e_date = _dates(start, end)
    if not hasattr(fixes, "npartitions") and hasattr(fixes, "read") and not isinstance(
            fixes, pd.DataFrame):
        if patrols is None:
            patrols = fixes.read("patrols")
        fixes = read_fixes_table(fixes)
    kinds = None if patrols is None or not len(patrols) else dict(
        zip(patrols["id"], patrols["kind"]))
    model.index._border_id(border)
    kw = dict(within_m=within_m, gap_m=gap_m, side_slack_m=side_slack_m, t0=t0, t1=t1,
              kinds=kinds)
    if hasattr(fixes, "npartitions"):  # dask: runs per partition, then the exact merge
        parts = fixes.map_partitions(_partition_runs, model.index, border, kw,
                                     meta=_empty_runs().assign(fixes_used=np.int64(0),
                                                               fixes_total=np.int64(0)))
        got = parts.compute()
        used = int(got["fixes_used"].sum())
        total = int(got["fixes_total"].sum())
        runs = merge_runs(got[got["seq_first"] >= 0].drop(columns=["fixes_used",
                                                                    "fixes_total"]), gap_m)
    else:
        runs = fix_runs(fixes, model.index, border, **kw)
        used, total = runs.attrs.get("fixes_used", 0), runs.attrs.get("fixes_total", len(fixes))
    return _summarise(runs, model, border, by=by, province=province,
                      overdue_days=overdue_days, as_of=as_of or e_date, start=s_date,
                      end=e_date, within_m=within_m, gap_m=gap_m, used=used, total=total)


def _partition_runs(df, index, border, kw):
    runs = fix_runs(df, index, border, **kw)
    used, total = runs.attrs.get("fixes_used", 0), runs.attrs.get("fixes_total", len(df))
    runs = runs.assign(fixes_used=0, fixes_total=0)
    # the partition's counts ride on one marker row (seq_first -1) so that they add up
    marker = _empty_runs().reindex([0]).assign(seq_first=-1, seq_last=-1, t_first=0, t_last=0,
                                               fixes_used=used, fixes_total=total)
    out = pd.concat([runs, marker], ignore_index=True)
    for c in ("seq_first", "seq_last", "t_first", "t_last", "fixes_used", "fixes_total"):
        out[c] = out[c].astype(np.int64)
    return out


def _summarise(runs, model, border, *, by, province, overdue_days, as_of, start, end,
               within_m, gap_m, used, total) -> Coverage:
    sections = _sections(model, border, by)
    lo, hi = np.minimum(sections["start_m"], sections["end_m"]), np.maximum(
        sections["start_m"], sections["end_m"])
    sections["start_m"], sections["end_m"] = lo.to_numpy(), hi.to_numpy()
    clip = None
    if province:
        mid = (sections["start_m"] + sections["end_m"]).to_numpy() / 2
        names = model.province_at(np.full(len(mid), border, dtype=object), mid)
        keep = np.array([province_key(str(n)) == province_key(province) for n in names])
        if not keep.any():
            raise InvalidData(f"no section of border {border} in province {province!r}")
        sections = sections[keep].reset_index(drop=True)
        clip = _union(sections["start_m"].to_numpy(), sections["end_m"].to_numpy())
    a, b = runs["ch_min"].to_numpy(float), runs["ch_max"].to_numpy(float)
    t = runs["t_last"].to_numpy(np.int64)
    kind = runs["kind"].to_numpy(dtype=object)
    rows = []
    unions = {}
    for k in KINDS:
        sel = kind == k
        s, e, lt = _union(a[sel], b[sel], t[sel])
        if clip is not None:
            s, e, lt = _clip(s, e, lt, *clip)
        unions[k] = (s, e)
        pos = e > s
        rows.append(pd.DataFrame({"start_m": s[pos], "end_m": e[pos], "kind": k,
                                  "last_visit": _local_date(lt[pos])}))
    intervals = pd.concat(rows, ignore_index=True).sort_values(
        ["start_m", "kind"], kind="stable").reset_index(drop=True)
    all_s, all_e = _union(a, b)
    if clip is not None:
        all_s, all_e, _ = _clip(all_s, all_e, np.zeros(len(all_s), np.int64), *clip)
    s0, s1 = sections["start_m"].to_numpy(), sections["end_m"].to_numpy()
    length = np.where(s1 > s0, s1 - s0, np.nan)

    def share(st, en):
        return np.round((_covered_upto(st, en, s1) - _covered_upto(st, en, s0)) / length, 6)

    sections["covered_share"] = share(all_s, all_e)
    for k in KINDS:
        sections[f"{k}_share"] = share(*unions[k])
    # last visit: the latest run touching the section (a single fix counts as a visit)
    last = np.full(len(sections), _NAT, np.int64)
    if len(a):
        order = np.argsort(s0)
        ss, se = s0[order], s1[order]
        lo_i = np.searchsorted(se, a, side="left")      # first section ending at/after a
        hi_i = np.searchsorted(ss, b, side="right")     # sections starting at/before b
        cnt = np.maximum(hi_i - lo_i, 0)
        if cnt.sum():
            which = np.repeat(lo_i, cnt) + (np.arange(cnt.sum()) - np.repeat(
                np.cumsum(cnt) - cnt, cnt))
            tl = np.full(len(sections), _NAT, np.int64)
            np.maximum.at(tl, which, np.repeat(t, cnt))
            last[order] = tl
    sections["last_visit"] = _local_date(last)
    ref = pd.Timestamp(as_of or _dt.date.today()).date() if not isinstance(as_of, _dt.date) \
        else as_of
    days = [None if d is None else (ref - d).days for d in sections["last_visit"]]
    sections["days_since_visit"] = pd.array(days, dtype="Int64")
    if overdue_days is not None:  # never visited counts as overdue
        sections["overdue"] = [d is None or d > overdue_days for d in days]
    cov = Coverage(border, start, end, float(within_m), float(gap_m), intervals, sections,
                   runs, int(used), int(total))
    return cov


def _clip(s, e, t, cs, ce):
    """Intervals (s, e, t) intersected with the disjoint sorted intervals (cs, ce)."""
    out_s, out_e, out_t = [], [], []
    for a, b in zip(cs, ce):
        lo, hi = np.maximum(s, a), np.minimum(e, b)
        ok = hi >= lo
        out_s.append(lo[ok])
        out_e.append(hi[ok])
        out_t.append(t[ok])
    s, e, t = (np.concatenate(v) if v else np.empty(0) for v in (out_s, out_e, out_t))
    o = np.argsort(s, kind="stable")
    return s[o], e[o], t[o].astype(np.int64)
