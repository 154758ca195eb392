"""The province of a point: the province polygon that contains it.

One function for every door (locate, the write rules, the API, the maps). A point inside a
province polygon gets that province; a point just outside every polygon (a marker on the
neighbour's bank, a position measured a few metres across the line) gets the nearest polygon
within ``slack_m`` (default 2 km); anything farther gets ``None``. The province that owns the
nearest *border section* is another question, answered by
:meth:`bienmoc.geometry.locate.BorderModel.province_at` (``section_province`` in locate).

Vectorised with a shapely STRtree over the polygons (bounding-box candidates, containment by
``shapely.contains_xy`` on the prepared polygons, then ``query_nearest(...,
max_distance=slack_m)`` for the points outside every polygon).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from bienmoc.geometry.crs import STORAGE_CRS
from bienmoc.geometry.linear import COMPILED_MIN, compiled_nearest

__all__ = ["ProvinceIndex", "province_of", "DEFAULT_SLACK_M"]

#: Points up to this far outside every province polygon still get the nearest one (m).
DEFAULT_SLACK_M = 2000.0


class ProvinceIndex:
    """Province polygons in a metric CRS, indexed once for many point queries."""

    def __init__(self, provinces: gpd.GeoDataFrame | None, crs: object):
        self.crs = crs
        self._edges = None
        self._grid = None
        if provinces is None or not len(provinces):
            self.names = np.array([], dtype=object)
            self.tree = None
            return
        prov = provinces[provinces.geometry.notna()]
        if prov.crs is None:
            prov = prov.set_crs(STORAGE_CRS)
        geoms = np.asarray(prov.to_crs(crs).geometry.values, dtype=object)
        shapely.prepare(geoms)
        self.geoms = geoms
        self.names = prov["name"].to_numpy(dtype=object)
        self.tree = shapely.STRtree(geoms)

    def __bool__(self) -> bool:
        return self.tree is not None

    def of_xy(self, x, y, slack_m: float = DEFAULT_SLACK_M) -> np.ndarray:
        """Province name of each metric point (None where none lies within ``slack_m``)."""
        k = self.index_xy(x, y, slack_m)
        out = np.full(len(k), None, dtype=object)
        ok = k >= 0
        out[ok] = self.names[k[ok]]
        return out

    def index_xy(self, x, y, slack_m: float = DEFAULT_SLACK_M) -> np.ndarray:
        """:meth:`of_xy` as positions in :attr:`names` (-1: none), for callers that build
        their columns from indices (Arrow ``take``: no Python string per point)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        out = np.full(len(x), -1, dtype=np.int64)
        if self.tree is None or not len(x):
            return out
        # candidates by bounding box (numpy on the few polygons' bounds: no point objects),
        # then containment per polygon with the prepared polygon (GEOS prepares the *input*
        # of a tree predicate query, here the points: 70x slower)
        bounds = self._bounds()
        if len(x) * len(self.geoms) <= 4096:
            # few points (an API batch): all (point, polygon) pairs at once, one vectorised
            # containment test, the first polygon in layer order per point
            x0, y0, x1, y1 = (bounds[:, j] for j in range(4))
            pi, pk = np.nonzero((x[:, None] >= x0) & (x[:, None] <= x1)
                                & (y[:, None] >= y0) & (y[:, None] <= y1))
            hit = shapely.contains_xy(self.geoms[pk], x[pi], y[pi]) if len(pi) else pi > 0
            pi, pk = pi[hit], pk[hit]
            first = np.unique(pi, return_index=True)[1]  # (pairs are ordered point, polygon)
            out[pi[first]] = pk[first]
            free = out < 0
        else:
            free = np.ones(len(x), bool)
            for k in range(len(self.geoms)):  # in layer order: on a shared edge the first wins
                x0, y0, x1, y1 = bounds[k]
                cand = np.flatnonzero(free & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
                inside = cand[shapely.contains_xy(self.geoms[k], x[cand], y[cand])]
                out[inside] = k
                free[inside] = False
        rest = np.flatnonzero(free)
        if len(rest) and slack_m > 0:
            tree, owner = self.edges()
            if len(rest) >= 10_000:
                rest = self._near_by_grid(x, y, rest, slack_m, out)
            qn, sn = tree.query_nearest(shapely.points(x[rest], y[rest]), max_distance=slack_m,
                                        all_matches=False)
            out[rest[qn]] = owner[sn]
        return out

    def edge_grid(self):
        """The nearest-edge grid (built once; call before sharing the index between
        threads)."""
        from bienmoc.geometry.linear import SegmentGrid

        if self._grid is None:
            self.edges()
            self._grid = SegmentGrid(*self._edge_ab)
        return self._grid

    def _near_by_grid(self, x, y, rest, slack_m: float, out) -> np.ndarray:
        """The slack answer for many points outside every polygon by the exact nearest-edge
        grid (:class:`~bienmoc.geometry.linear.SegmentGrid`, numpy, ~5x cheaper than GEOS
        nearest queries point by point): points in grid cells whose centre is farther than
        the slack + half a cell diagonal get none (-1); the others get the owner (the index
        into :attr:`names`) of their nearest edge within the slack. Returns the points left
        to GEOS: those within 1e-6 m of the slack or with edges of two provinces equally near
        (GEOS breaks such ties its own way, so it decides them, as before)."""
        tree, owner = self.edges()
        grid = self.edge_grid()
        xr, yr = x[rest], y[rest]
        cells, inv = np.unique(grid._cell_ids(xr, yr), return_inverse=True)
        cx = ((cells & ((1 << 31) - 1)) - (1 << 30) + 0.5) * grid.cell
        cy = ((cells >> 31) - (1 << 30) + 0.5) * grid.cell
        reach = slack_m + grid.cell * np.sqrt(0.5) + 1e-3
        qc, _ = tree.query_nearest(shapely.points(cx, cy), max_distance=reach,
                                   all_matches=False)
        near_cell = np.zeros(len(cells), bool)
        near_cell[qc] = True
        sel = np.flatnonzero(near_cell[inv])
        if len(sel) >= COMPILED_MIN and compiled_nearest() is not None:
            from bienmoc.analysis._nearest import nearest_segment_owners

            best, d2, mixed = nearest_segment_owners(grid, xr[sel], yr[sel], owner)
        else:
            best, d2, mixed = grid.nearest_segment(xr[sel], yr[sel], owners=owner)
        d = np.sqrt(d2)
        sure = ~mixed & (np.abs(d - slack_m) > 1e-6)
        within = sure & (d <= slack_m)
        out[rest[sel[within]]] = owner[best[within]]
        return rest[sel[~sure]]

    def _bounds(self) -> np.ndarray:
        if getattr(self, "_bounds_arr", None) is None:
            self._bounds_arr = shapely.bounds(self.geoms)
        return self._bounds_arr

    def candidates(self, x, y, within_m: float) -> list[set]:
        """The province names a record at each metric point may rightly give: the polygon
        holding it (nearest within the slack) and every polygon within ``within_m`` (where two
        provinces meet the line either name is right). Empty sets: no province near."""
        near = self.near_xy(x, y, within_m)
        for s, p in zip(near, self.of_xy(x, y)):
            if p is not None:
                s.add(p)
        return near

    def edges(self) -> tuple[shapely.STRtree, np.ndarray]:
        """An STRtree of the polygons' edge segments and the polygon index of each. For a
        point outside every polygon, the nearest segment's polygon is the nearest polygon,
        and GEOS finds it ~100x faster than the distance to whole polygons of tens of
        thousands of vertices."""
        if self._edges is None:
            coords, idx = shapely.get_coordinates(shapely.boundary(self.geoms),
                                                  return_index=True)
            same = idx[1:] == idx[:-1]
            self._edge_ab = (coords[:-1][same], coords[1:][same])
            segs = shapely.linestrings(np.stack(self._edge_ab, axis=1))
            self._edges = (shapely.STRtree(segs), idx[:-1][same])
        return self._edges

    def near_xy(self, x, y, within_m: float) -> list[set]:
        """The provinces whose polygon lies within ``within_m`` of each metric point."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        out: list[set] = [set() for _ in range(len(x))]
        if self.tree is None or not len(x):
            return out
        qi, gi = self.tree.query(shapely.points(x, y), predicate="dwithin", distance=within_m)
        for q, g in zip(qi, gi):
            out[q].add(self.names[g])
        return out


def province_of(geoms, provinces: gpd.GeoDataFrame, *, crs: object | None = None,
                slack_m: float = DEFAULT_SLACK_M) -> np.ndarray:
    """Province of each geometry (its representative point for lines/polygons) by the
    containing polygon, the nearest within ``slack_m`` for points just outside.

    ``geoms``: a GeoSeries/GeoDataFrame (no CRS means EPSG:4326); ``crs``: the metric CRS
    to measure the slack in (default: the estimated UTM zone of the provinces)."""
    gs = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else gpd.GeoSeries(geoms)
    if gs.crs is None:
        gs = gs.set_crs(STORAGE_CRS)
    if crs is None:
        crs = provinces.estimate_utm_crs() if len(provinces) else 3405
    index = ProvinceIndex(provinces, crs)
    pts = gs.to_crs(crs).representative_point()
    ok = pts.notna().to_numpy() & ~pts.is_empty.to_numpy()
    out = np.full(len(gs), None, dtype=object)
    if ok.any():
        out[ok] = index.of_xy(pts.x.to_numpy()[ok], pts.y.to_numpy()[ok], slack_m)
    return out
