"""Linear referencing on boundary lines that may be multi-part with gaps.

:class:`LineIndex` is built once per boundary layer (all borders together) in a metric CRS and
answers, for many points at once: which border, perpendicular distance to the line (m), side
(home = +1, neighbour = -1), chainage (m) and the nearest point on the line.

Conventions
-----------
* **Chainage** is measured in metres from the start of a border's stored line, along its parts
  in stored order. **Gaps between parts count zero**: the chainage at the start of part k+1
  equals the chainage at the end of part k, so the total equals the sum of the part lengths.
* **Side**: the boundary declares Vietnam's side (``home_side`` left/right of the line's
  direction). Inside a segment the side is the sign of the cross product; where the nearest
  point is a vertex, the sign of the dot product with the sum of the two adjacent segments'
  normals (a cross product with either segment alone is wrong on the outside of a sharp turn);
  beyond the two ends of a border the end segment is extended along its tangent. In a **gap**
  the side is taken from the straight connector between the two part ends (the gap is treated
  as if the line ran straight across it), and the chainage there is the gap's chainage.
* **Distance** is always to the real line parts, never to a gap connector.

The nearest-segment search is exact: a uniform grid whose cells keep every segment that can be
the nearest for some point in the cell (those within ``distance(cell centre, line) + half the
cell diagonal`` of the cell), built lazily for the cells that points fall in and kept between
calls, then evaluated with numpy. Shapely's STRtree does the one-off candidate queries.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from bienmoc.geometry.crs import STORAGE_CRS, metric_crs
from bienmoc.errors import InvalidData

__all__ = ["LineIndex", "Located", "SegmentGrid", "threads", "split_run"]

#: Below this many points one thread does the work (starting threads costs more).
PARALLEL_MIN = 50_000


def threads() -> int:
    """Worker threads for the vectorised hot loops: shapely, numpy, pyproj and Arrow release
    the GIL there, so threads use every core without copying the data (``BIENMOC_THREADS``
    overrides; default: the CPU count, at most 8)."""
    env = os.environ.get("BIENMOC_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(8, os.cpu_count() or 1))


def split_run(fn, n: int, *, min_size: int = PARALLEL_MIN) -> list:
    """``fn(start, stop)`` over ``threads()`` consecutive slices of ``range(n)`` at once (one
    slice when ``n < min_size``); the results in slice order."""
    k = min(threads(), max(1, n // max(1, min_size // 2))) if n >= min_size else 1
    bounds = np.linspace(0, n, k + 1).astype(np.int64)
    if k == 1:
        return [fn(0, n)]
    with ThreadPoolExecutor(k) as pool:
        return list(pool.map(fn, bounds[:-1], bounds[1:]))


#: From this many points on (per call), the compiled nearest-segment search is used when
#: numba is installed (loading it costs ~0.3 s CPU once per process).
COMPILED_MIN = 20_000


def compiled_nearest():
    """:func:`bienmoc.analysis._nearest.nearest_segment` (the same search, compiled: one fused
    loop per point instead of numpy arrays of (point, candidate) pairs), None without numba
    (the ``bienmoc[fast]`` extra) or with ``BIENMOC_NO_NUMBA`` set."""
    if os.environ.get("BIENMOC_NO_NUMBA", ""):
        return None
    try:
        from bienmoc.analysis import _nearest
    except ImportError:  # pragma: no cover - exercised only without the extra
        return None
    return _nearest.nearest_segment if _nearest.HAVE_NUMBA else None


def warm_compiled_nearest() -> None:
    """Load the compiled nearest-segment search now (a no-op without numba)."""
    kernel = compiled_nearest()
    if kernel is None:
        return
    from bienmoc.analysis._nearest import nearest_segment_owners

    grid = SegmentGrid(np.zeros((1, 2)), np.ones((1, 2)))
    kernel(grid, np.zeros(1), np.zeros(1))
    nearest_segment_owners(grid, np.zeros(1), np.zeros(1), np.zeros(1, np.int64))
_TRANSFORMERS = threading.local()


def _transformer(src, dst) -> Transformer:
    """``Transformer.from_crs(src, dst, always_xy=True)``, kept per thread (PROJ contexts are
    per thread) and per CRS pair: building one costs ~0.3 ms, more than transforming a
    few points (the API's write path transforms 1-10 points per request)."""
    cache = getattr(_TRANSFORMERS, "cache", None)
    if cache is None:
        cache = _TRANSFORMERS.cache = {}
    # a CRS's ``srs`` is the definition it was made from (equal text: the same CRS)
    key = tuple(getattr(c, "srs", None) or CRS.from_user_input(c).to_wkt() for c in (src, dst))
    t = cache.get(key)
    if t is None:
        if len(cache) > 16:
            cache.clear()
        t = cache[key] = Transformer.from_crs(src, dst, always_xy=True)
    return t


#: queries of at most this many points are remembered (:meth:`LineIndex.locate_xy`)
MEMO_POINTS = 64


def _arrays(loc: "Located") -> tuple:
    """The arrays of a :class:`Located` in field order (``dataclasses.astuple`` copies
    deeply)."""
    return (loc.border, loc.distance_m, loc.side, loc.chainage_m, loc.x, loc.y)


@dataclass
class Located:
    """Per-point answers of :meth:`LineIndex.locate` (numpy arrays of equal length)."""

    border: np.ndarray       # border code (object)
    distance_m: np.ndarray   # to the nearest real line part
    side: np.ndarray         # +1 home (Vietnam), -1 neighbour, 0 exactly on the line
    chainage_m: np.ndarray   # along the border, gaps count zero
    x: np.ndarray            # nearest line point (metric CRS)
    y: np.ndarray


def _segment_box_distance(a: np.ndarray, b: np.ndarray, x0, y0, x1, y1) -> np.ndarray:
    """Distance between segments a-b and axis-aligned boxes, pair by pair. Two disjoint
    convex sets are nearest at a vertex of one of them: the minimum of the two endpoints'
    distances to the box and the four corners' distances to the segment; zero where they
    intersect (no separating axis among x, y and the segment's normal)."""
    ax, ay, bx, by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]

    def to_box(px, py):
        return np.hypot(np.maximum(np.maximum(x0 - px, px - x1), 0.0),
                        np.maximum(np.maximum(y0 - py, py - y1), 0.0))

    d = np.minimum(to_box(ax, ay), to_box(bx, by))
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    l2 = np.where(l2 > 0, l2, 1.0)
    proj = []
    for qx, qy in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        t = np.clip(((qx - ax) * dx + (qy - ay) * dy) / l2, 0.0, 1.0)
        d = np.minimum(d, np.hypot(qx - (ax + t * dx), qy - (ay + t * dy)))
        proj.append((qx - ax) * dy - (qy - ay) * dx)  # corner on the normal, A at 0
    pmin = np.minimum(np.minimum(proj[0], proj[1]), np.minimum(proj[2], proj[3]))
    pmax = np.maximum(np.maximum(proj[0], proj[1]), np.maximum(proj[2], proj[3]))
    apart = (np.maximum(ax, bx) < x0) | (np.minimum(ax, bx) > x1) | \
        (np.maximum(ay, by) < y0) | (np.minimum(ay, by) > y1) | (pmin > 0) | (pmax < 0)
    return np.where(apart, d, 0.0)


class SegmentGrid:
    """Exact nearest segment among many, for many points: a uniform grid whose cells keep
    every segment that can be the nearest for some point in the cell, filled lazily for the
    cells points fall in, evaluated with numpy (see the module notes). :class:`LineIndex`
    is one; province edges are another (:mod:`bienmoc.geometry.provinces`)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, cell: float = 500.0):
        self.A = np.asarray(a, float)
        self.D = np.asarray(b, float) - self.A
        self.L = np.hypot(self.D[:, 0], self.D[:, 1])
        self.L2 = np.where(self.L > 0, self.L * self.L, 1.0)
        self._tree_all = shapely.STRtree(shapely.linestrings(np.stack([self.A, self.A + self.D],
                                                                      axis=1)))
        self.cell = float(cell)
        self._cells = np.empty(0, np.int64)
        self._ptr = np.zeros(1, np.int64)
        self._cand = np.empty(0, np.int64)
        # (cells, ptr, cand) replaced as one tuple: readers in other threads (dask partitions
        # on a shared model) always see a consistent grid; builders take the lock
        self._grid = (self._cells, self._ptr, self._cand)
        self._lock = threading.Lock()

    def __getstate__(self):  # pickled for dask workers: the lock stays behind
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- exact nearest segment -------------------------------------------------------------
    def _cell_ids(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        cx = np.floor(x / self.cell).astype(np.int64) + (1 << 30)
        cy = np.floor(y / self.cell).astype(np.int64) + (1 << 30)
        return (cy << 31) | cx

    def _ensure_cells(self, cids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Build the cells not built yet; return each id's position in the grid and the
        grid's CSR arrays (ptr, cand) those positions refer to."""
        cells, ptr, cand = self._grid
        if len(cells):
            pos = np.searchsorted(cells, cids)
            if (cells[np.minimum(pos, len(cells) - 1)] == cids).all():
                return pos, ptr, cand  # the common case once the index is warm
        with self._lock:
            cells = self._cells
            if len(cells):
                pos = np.searchsorted(cells, cids)
                ok = cells[np.minimum(pos, len(cells) - 1)] == cids
                new = np.unique(cids[~ok])
            else:
                new = np.unique(cids)
            if len(new):
                self._add_cells(new)
                self._grid = (self._cells, self._ptr, self._cand)
            cells, ptr, cand = self._grid
        return np.searchsorted(cells, cids), ptr, cand

    def prepare(self, x: np.ndarray, y: np.ndarray) -> None:
        """Build the grid cells the metric points (x, y) fall in, so that later calls for
        them only read the index (and may run in several threads at once)."""
        if len(x):
            self._ensure_cells(self._cell_ids(np.asarray(x, float), np.asarray(y, float)))

    def _cell_candidates(self, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell number in ``new``, segment) pairs: the segments each new cell keeps."""
        cx = ((new & ((1 << 31) - 1)) - (1 << 30) + 0.5) * self.cell
        cy = ((new >> 31) - (1 << 30) + 0.5) * self.cell
        centres = shapely.points(cx, cy)
        (qc, sc), dc = self._tree_all.query_nearest(centres, return_distance=True,
                                                    all_matches=False)
        dist = np.empty(len(new))
        dist[qc] = dc
        h = self.cell / 2
        r = dist + self.cell * np.sqrt(0.5) + 1e-3
        # candidates by bounding box (cheap), then the exact segment-to-cell distance in
        # numpy: GEOS's "dwithin" predicate per pair costs 5x more. A superset of the segments
        # that can be nearest is all the grid needs (ties go to the lowest segment number
        # among the candidates, which then always hold every tied segment).
        qi, sj = self._tree_all.query(shapely.box(cx - h - r, cy - h - r, cx + h + r,
                                                  cy + h + r))
        keep = _segment_box_distance(self.A[sj], self.A[sj] + self.D[sj], cx[qi] - h,
                                     cy[qi] - h, cx[qi] + h, cy[qi] + h) <= r[qi]
        return qi[keep], sj[keep]

    def _add_cells(self, new: np.ndarray) -> None:
        # the STRtree queries release the GIL: the new cells are split between threads
        parts = split_run(lambda a, b: self._cell_candidates(new[a:b]), len(new),
                          min_size=2048)  # 2 km cells: ~50 µs each
        starts = np.linspace(0, len(new), len(parts) + 1).astype(np.int64)
        qi = np.concatenate([p[0] + s for p, s in zip(parts, starts)])
        sj = np.concatenate([p[1] for p in parts])
        # merge the new cells' CSR lists with the existing ones (cells kept sorted)
        old_counts = np.diff(self._ptr)
        new_counts = np.bincount(qi, minlength=len(new))
        order = np.lexsort((sj, qi))
        new_cand = sj[order]
        cells = np.concatenate([self._cells, new])
        counts = np.concatenate([old_counts, new_counts])
        starts = np.concatenate([self._ptr[:-1], len(self._cand) + np.concatenate(
            [[0], np.cumsum(new_counts)[:-1]])])
        cand_all = np.concatenate([self._cand, new_cand])
        perm = np.argsort(cells, kind="stable")
        self._cells = cells[perm]
        counts = counts[perm]
        starts = starts[perm]
        self._ptr = np.concatenate([[0], np.cumsum(counts)])
        idx = np.repeat(starts - self._ptr[:-1], counts) + np.arange(self._ptr[-1])
        self._cand = cand_all[idx]

    def nearest_segment(self, x: np.ndarray, y: np.ndarray, chunk: int = 131072,
                        owners: np.ndarray | None = None):
        """Index of the nearest segment (gap connectors included) and its squared distance.

        With ``owners`` (a group number per segment), also a flag per point: True where
        segments of different groups are nearest within a relative 1e-9 (a tie another
        implementation may break the other way)."""
        inv, ptr, cand = self._ensure_cells(self._cell_ids(x, y))
        n = len(x)
        best = np.empty(n, np.int64)
        best_d2 = np.empty(n)
        mixed = np.zeros(n, bool)
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            c = inv[s:e]
            cnt = ptr[c + 1] - ptr[c]
            first = np.cumsum(cnt) - cnt
            owner = np.repeat(np.arange(e - s), cnt)
            seg = cand[np.repeat(ptr[c] - first, cnt) + np.arange(int(cnt.sum()))]
            px, py = x[s:e][owner], y[s:e][owner]
            ax, ay, dx, dy = self.A[seg, 0], self.A[seg, 1], self.D[seg, 0], self.D[seg, 1]
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / self.L2[seg], 0.0, 1.0)
            ex, ey = px - (ax + t * dx), py - (ay + t * dy)
            d2 = ex * ex + ey * ey
            gmin = np.minimum.reduceat(d2, first)
            hit = np.flatnonzero(d2 == np.repeat(gmin, cnt))
            _, firsthit = np.unique(owner[hit], return_index=True)
            best[s:e] = seg[hit[firsthit]]
            best_d2[s:e] = gmin
            if owners is not None:
                near = np.flatnonzero(d2 <= np.repeat(gmin * (1 + 1e-9) + 1e-9, cnt))
                g = owners[seg[near]]
                starts = np.unique(owner[near], return_index=True)[1]
                mixed[s:e] = np.minimum.reduceat(g, starts) != np.maximum.reduceat(g, starts)
        if owners is not None:
            return best, best_d2, mixed
        return best, best_d2


class LineIndex(SegmentGrid):
    """Segments of every border in a metric CRS, with an exact nearest-segment grid.

    Parameters
    ----------
    boundary : GeoDataFrame with ``border``, ``home_side`` and (Multi)LineString geometry.
    crs : metric CRS to compute in (default: UTM 48N/49N chosen for the data).
    cell : grid cell size in metres (default 500).
    """

    def __init__(self, boundary: gpd.GeoDataFrame, crs: object | None = None,
                 cell: float = 500.0):
        if boundary.crs is None:
            boundary = boundary.set_crs(STORAGE_CRS)
        self.crs: CRS = metric_crs(boundary, crs)
        metric = boundary.to_crs(self.crs)
        self.borders: list[str] = [str(b) for b in metric["border"]]
        if len(set(self.borders)) != len(self.borders):
            raise InvalidData("boundary has more than one line for a border; merge them first")
        self.home_left = np.array([str(h) != "right" for h in metric["home_side"]])
        A, B, bid, gap, first, last, cum0 = [], [], [], [], [], [], []
        self.length_m: dict[str, float] = {}
        self.parts: dict[str, list[shapely.LineString]] = {}
        for k, (code, geom) in enumerate(zip(self.borders, metric.geometry)):
            parts = [p for p in shapely.get_parts(geom) if not p.is_empty]
            self.parts[code] = parts
            total = 0.0
            prev_end = None
            for j, part in enumerate(parts):
                c = shapely.get_coordinates(part)
                keep = np.concatenate([[True], np.any(np.diff(c, axis=0) != 0, axis=1)])
                c = c[keep]
                if len(c) < 2:
                    continue
                if prev_end is not None and np.any(prev_end != c[0]):
                    A.append(prev_end[None, :])  # gap connector: zero chainage length
                    B.append(c[:1])
                    bid.append([k])
                    gap.append([True])
                    first.append([False])
                    last.append([False])
                    cum0.append([total])
                seglen = np.hypot(*(c[1:] - c[:-1]).T)
                A.append(c[:-1])
                B.append(c[1:])
                bid.append(np.full(len(c) - 1, k))
                gap.append(np.zeros(len(c) - 1, bool))
                f = np.zeros(len(c) - 1, bool)
                la = np.zeros(len(c) - 1, bool)
                f[0] = j == 0          # the border's very first segment
                la[-1] = j == len(parts) - 1
                first.append(f)
                last.append(la)
                cum0.append(total + np.concatenate([[0.0], np.cumsum(seglen)[:-1]]))
                total += float(seglen.sum())
                prev_end = c[-1]
            self.length_m[code] = total
        if not A:
            raise InvalidData("boundary has no line geometry")
        # A, D, L, L2, the all-segments tree and the empty grid: SegmentGrid's
        super().__init__(np.concatenate(A), np.concatenate(B), cell)
        self.bid = np.concatenate(bid).astype(np.int64)
        self.gap = np.concatenate(gap)
        self.first = np.concatenate(first)
        self.last = np.concatenate(last)
        self.cum0 = np.concatenate(cum0)
        self.seglen = np.where(self.gap, 0.0, self.L)  # chainage length
        nrm = np.column_stack([-self.D[:, 1], self.D[:, 0]]) / np.where(self.L > 0, self.L,
                                                                       1.0)[:, None]
        self.normal = nrm  # left normals
        # vertex pseudo-normals: at the start of segment i (shared with i-1 when contiguous)
        n = len(self.A)
        contiguous = np.zeros(n, bool)
        contiguous[1:] = (self.bid[1:] == self.bid[:-1]) & np.all(
            np.isclose(self.A[1:], self.A[:-1] + self.D[:-1]), axis=1)
        self.vn_start = nrm.copy()
        self.vn_start[contiguous] += nrm[np.flatnonzero(contiguous) - 1]
        self.vn_end = nrm.copy()
        nxt = np.flatnonzero(contiguous) - 1
        self.vn_end[nxt] += nrm[nxt + 1]
        real = np.flatnonzero(~self.gap)
        self._real = real
        self._tree_real = shapely.STRtree(shapely.linestrings(
            np.stack([self.A[real], self.A[real] + self.D[real]], axis=1)))
        self._border_trees: dict[int, tuple[np.ndarray, shapely.STRtree]] = {}


    # -- the public questions --------------------------------------------------------------
    def locate_xy(self, x: np.ndarray, y: np.ndarray) -> Located:
        """Locate points given in this index's metric CRS.

        The answer of the last query of at most :data:`MEMO_POINTS` points is kept, and the
        same points asked again get a copy of it: a write batch asks twice (placing the new
        incidents, then the rule on their distance to their line), ~0.1 ms a batch."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if len(x) == 0:
            e = np.empty(0)
            return Located(np.empty(0, object), e, e.astype(np.int8), e, e, e)
        key = x.tobytes() + y.tobytes() if len(x) <= MEMO_POINTS else None
        memo = self.__dict__.get("_memo")  # (key, answer), replaced as one (threads)
        if key is not None and memo is not None and memo[0] == key:
            return Located(*(a.copy() for a in _arrays(memo[1])))
        kernel = compiled_nearest() if len(x) >= COMPILED_MIN else None
        seg, d2 = kernel(self, x, y) if kernel is not None else self.nearest_segment(x, y)
        out = self._answer(x, y, seg, d2)
        if key is not None:
            self._memo = (key, Located(*(a.copy() for a in _arrays(out))))
        return out

    def locate_on(self, border: str, x: np.ndarray, y: np.ndarray) -> Located:
        """Like :meth:`locate_xy` but against one border only (e.g. a marker on its own line,
        which matters at tri-points where two borders are equally near)."""
        k = self._border_id(border)
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if k not in self._border_trees:
            ids = np.flatnonzero(self.bid == k)
            segs = shapely.linestrings(np.stack([self.A[ids], self.A[ids] + self.D[ids]],
                                                axis=1))
            self._border_trees[k] = (ids, shapely.STRtree(segs))
        ids, tree = self._border_trees[k]
        (qi, sj), dist = tree.query_nearest(shapely.points(x, y), return_distance=True,
                                            all_matches=False)
        order = np.argsort(qi, kind="stable")
        return self._answer(x, y, ids[sj[order]], dist[order] ** 2)

    def _answer(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray, d2: np.ndarray
                ) -> Located:
        A, D = self.A[seg], self.D[seg]
        t = np.clip(((x - A[:, 0]) * D[:, 0] + (y - A[:, 1]) * D[:, 1]) / self.L2[seg], 0, 1)
        cx, cy = A[:, 0] + t * D[:, 0], A[:, 1] + t * D[:, 1]
        n = self.normal[seg].copy()
        at0, at1 = t <= 0.0, t >= 1.0
        use_v0 = at0 & ~self.first[seg]   # interior vertex: pseudo-normal
        use_v1 = at1 & ~self.last[seg]    # (border ends keep the tangent extension)
        n[use_v0] = self.vn_start[seg[use_v0]]
        n[use_v1] = self.vn_end[seg[use_v1]]
        dot = (x - cx) * n[:, 0] + (y - cy) * n[:, 1]
        left = np.sign(dot).astype(np.int8)
        home = np.where(self.home_left[self.bid[seg]], left, -left).astype(np.int8)
        chain = self.cum0[seg] + t * self.seglen[seg]
        dist = np.sqrt(d2)
        on_gap = self.gap[seg]
        if on_gap.any():  # distance (and nearest point) to the real parts only
            gi = np.flatnonzero(on_gap)
            pts = shapely.points(x[gi], y[gi])
            (qi, sj), dr = self._tree_real.query_nearest(pts, return_distance=True,
                                                         all_matches=False)
            order = np.argsort(qi, kind="stable")
            dist[gi] = dr[order]
            rs = self._real[sj[order]]
            tr = np.clip(((x[gi] - self.A[rs, 0]) * self.D[rs, 0] + (y[gi] - self.A[rs, 1])
                          * self.D[rs, 1]) / self.L2[rs], 0, 1)
            cx[gi] = self.A[rs, 0] + tr * self.D[rs, 0]
            cy[gi] = self.A[rs, 1] + tr * self.D[rs, 1]
        home[dist == 0] = 0
        border = np.asarray(self.borders, dtype=object)[self.bid[seg]]
        return Located(border, dist, home, chain, cx, cy)

    def locate(self, geoms) -> Located:
        """Locate geometries (GeoSeries/GeoDataFrame with a CRS, or EPSG:4326 shapely array).

        Polygons and lines are located by the point of the geometry nearest to the line
        (distance 0 and side 0 when they touch or cross it).
        """
        xy = self.to_metric_xy(geoms)
        return self.locate_xy(xy[:, 0], xy[:, 1])

    def to_metric_xy(self, geoms) -> np.ndarray:
        """(N, 2) metric coordinates of points; for other shapes, their point nearest a line."""
        if isinstance(geoms, (gpd.GeoDataFrame, gpd.GeoSeries)):
            gs = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
            if gs.crs is None:
                gs = gs.set_crs(STORAGE_CRS)
            fast = self._points_xy(gs)
            if fast is not None:
                return fast
            gs = gs.to_crs(self.crs)
            arr = np.asarray(gs.values, dtype=object)
        else:
            arr = np.asarray(gpd.GeoSeries(list(geoms), crs=STORAGE_CRS).to_crs(self.crs).values,
                             dtype=object)
        if len(arr) == 0:
            return np.empty((0, 2))
        if shapely.is_missing(arr).any() or shapely.is_empty(arr).any():
            raise InvalidData("cannot locate missing or empty geometries")
        return self._metric_xy(arr)

    def lonlat_to_metric(self, lonlat: np.ndarray) -> np.ndarray:
        """(N, 2) longitude/latitude (EPSG:4326) as (N, 2) metric coordinates of this index."""
        lonlat = np.asarray(lonlat, float).reshape(-1, 2)
        x, y = _transformer(STORAGE_CRS, self.crs).transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def _metric_xy(self, arr: np.ndarray) -> np.ndarray:
        """:meth:`to_metric_xy` of geometries already in this index's CRS."""
        types = shapely.get_type_id(arr)
        if (types == 0).all():
            return shapely.get_coordinates(arr)
        out = np.empty((len(arr), 2))
        pts = types == 0
        out[pts] = shapely.get_coordinates(arr[pts])
        other = np.flatnonzero(~pts)
        (qi, sj), _ = self._tree_real.query_nearest(arr[other], return_distance=True,
                                                    all_matches=False)
        order = np.argsort(qi, kind="stable")
        segs = shapely.linestrings(np.stack([self.A, self.A + self.D], axis=1))[
            self._real[sj[order]]]
        near = shapely.shortest_line(arr[other], segs)
        out[other] = shapely.get_coordinates(shapely.get_point(near, 0))
        return out

    def _points_xy(self, gs: gpd.GeoSeries) -> np.ndarray | None:
        """Metric (x, y) of a 2D point layer, transformed as coordinates (no new geometry
        objects) by the same pyproj operation as ``GeoSeries.to_crs``, in threads; None for
        any other layer (lines, polygons, missing, empty or 3D points)."""
        arr = np.asarray(gs.values, dtype=object)
        if not len(arr) or not (shapely.get_type_id(arr) == 0).all() or \
                shapely.is_empty(arr).any() or shapely.has_z(arr).any():
            return None
        xy = shapely.get_coordinates(arr)
        if gs.crs.is_exact_same(self.crs):
            return xy
        src = gs.crs

        def run(a, b):  # one Transformer per thread: PROJ contexts are per thread
            t = _transformer(src, self.crs)
            x, y = t.transform(xy[a:b, 0], xy[a:b, 1])
            return np.column_stack([x, y])
        return np.concatenate(split_run(run, len(xy)))

    def point_at(self, border: str, chainage_m) -> np.ndarray:
        """Metric (x, y) of the line point(s) at ``chainage_m`` on ``border`` (clipped)."""
        k = self._border_id(border)
        ch = np.atleast_1d(np.asarray(chainage_m, float))
        segs = np.flatnonzero((self.bid == k) & ~self.gap)
        start = self.cum0[segs]
        ch_c = np.clip(ch, 0.0, self.length_m[border])
        i = np.clip(np.searchsorted(start, ch_c, side="right") - 1, 0, len(segs) - 1)
        s = segs[i]
        t = np.clip((ch_c - self.cum0[s]) / np.where(self.L[s] > 0, self.L[s], 1), 0, 1)
        return np.column_stack([self.A[s, 0] + t * self.D[s, 0], self.A[s, 1] + t * self.D[s, 1]])

    def _border_id(self, border: str) -> int:
        try:
            return self.borders.index(border)
        except ValueError:
            raise InvalidData(f"unknown border {border!r}; the boundary has "
                              f"{', '.join(self.borders)}") from None
