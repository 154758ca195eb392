"""Items queries pushed into PostgreSQL (the OGC API on a PostGIS store; issue 16 item 3).

The API's in-memory :class:`~bienmoc.api.query.QueryCache` holds every feature of a layer in
each worker; on a PostGIS store the API asks the database instead (:func:`query_items`,
:func:`get_item`, :func:`layer_facts`), so a worker holds only the page it is answering:

* ``bbox``: ``geom && envelope`` (the GiST index) ``AND ST_Intersects`` - the same
  "intersects" the in-memory STRtree answers; two boxes when the bbox crosses the antimeridian.
* ``datetime``: the collection's date span (:data:`bienmoc.api.query.TEMPORAL`: start =
  first non-null start field, end = first non-null end field, else the start) overlaps the
  interval, as in memory.
* property filters: ``column = value``.
* paging: ``ORDER BY fid LIMIT n OFFSET k``, or keyset (``fid > after``) when the caller
  knows the last fid of the previous page - a deep page then costs what page 1 costs.
* ``numberMatched``: exact while at most :data:`EXACT_MATCHED` rows match - one statement
  finds the matching fids once (``LIMIT EXACT_MATCHED + 1``), counts them (a window) and
  reads the page's rows by primary key (the ORDER BY fid needs every match anyway, so the
  count is nearly free). More matches (the planner's estimate, asked first, ``EXPLAIN``
  without the explicit ``&&`` whose double count of the box makes it far too low): a bounded
  walk of the primary key when the matches are spread over the fids (the count is then the
  estimate, and the answer says so: ``Number-Matched: estimated``), else every match's fid
  through the GiST index, counted exactly (:func:`_many`; benchmarks/README.md, 5M rows). The
  whole layer (no filter) of more than EXACT_MATCHED rows: ``pg_class.reltuples``, no scan.

Items pages come back as ready GeoJSON Feature bytes (:attr:`ItemsPage.features`): the
properties are compact JSON built by PostgreSQL (``row_to_json``, schema order, dates
'YYYY-MM-DD', NaN as null), the geometry is written by ``shapely.to_geojson`` from WKB as on
the in-memory path - no data frame, no per-value Python. :func:`get_item` still returns the
values (the ETag hashes them).
"""
from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import dataclass

import numpy as np
import shapely

from bienmoc.storage.pgschema import q

try:  # the API's serialiser (orjson): the same id bytes as the in-memory path
    from orjson import dumps
except ImportError:  # pragma: no cover - orjson is a dependency of the server
    def dumps(obj) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

__all__ = ["query_items", "get_item", "layer_facts", "ItemsPage", "EXACT_COUNT_ROWS",
           "EXACT_MATCHED"]

#: layer_facts: tables up to this many rows (pg_class.reltuples) are counted exactly
EXACT_COUNT_ROWS = 1_000_000
#: items: numberMatched is exact while at most this many rows match (counted with the page,
#: from one scan of the matches; about 1.5 us a row); above it, see _many
EXACT_MATCHED = 10_000


def _temporal(layer: str):
    from bienmoc.api.query import TEMPORAL

    spec = TEMPORAL.get(layer)
    if spec is None:
        return None
    starts, ends = spec
    start = f"coalesce({', '.join(map(q, starts))})"
    end = start if ends is None else f"coalesce({', '.join(map(q, ends))}, {start})"
    return start, end


def _where(layer: str, boxes, interval, equals, index: bool = True) -> tuple[str, list]:
    """``WHERE ...`` and its parameters; ``index`` False: without the explicit ``&&`` (for
    the planner's row estimate; with it, the plan is the index scan - measured ~5x faster
    than the bitmap heap scan the planner picks for ``ST_Intersects`` alone)."""
    parts: list[str] = []
    params: list = []
    if boxes:
        ors = []
        for x0, y0, x1, y1 in boxes:
            if index:
                ors.append("(geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND "
                           "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)))")
                params += [x0, y0, x1, y1] * 2
            else:
                ors.append("ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))")
                params += [x0, y0, x1, y1]
        parts.append("(" + " OR ".join(ors) + ")")
    if interval is not None:
        start_expr, end_expr = _temporal(layer)
        parts.append(f"{start_expr} IS NOT NULL")
        a, b = interval
        if b is not None:
            parts.append(f"{start_expr} <= %s")
            params.append(_day(b))
        if a is not None:
            parts.append(f"{end_expr} >= %s")
            params.append(_day(a))
    for name, value in (equals or {}).items():
        parts.append(f"{q(name)} = %s")
        params.append(_day(value) if isinstance(value, np.datetime64) else value)
    return ("WHERE " + " AND ".join(parts)) if parts else "", params


def _day(v):
    import pandas as pd

    return pd.Timestamp(v).date()


@dataclass
class ItemsPage:
    """A page of features read straight from SQL rows (no data frame): ids, JSON-ready
    properties (every schema field in order; dates as 'YYYY-MM-DD'), shapely geometries,
    fids, and numberMatched (``exact`` False: the planner's estimate)."""

    ids: list
    props: list[dict]
    geoms: np.ndarray
    fids: list[int]
    matched: int = 0
    exact: bool = True
    #: the page's GeoJSON Feature bytes, when the store built them (items pages)
    features: list | None = None


def _json_value(v):
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()[:10]
    if isinstance(v, float) and v != v:
        return None
    return v


def _rows(store, con, layer: str, where: str, params, limit=None, offset=0) -> ItemsPage:
    from bienmoc.model.schema import SCHEMAS

    schema = SCHEMAS[layer]
    key = schema.key[0] if layer == "boundary" else "id"
    names = [f.name for f in schema.fields]
    cols = store.columns(con, layer)
    sel = ", ".join(["fid", *(q(n) if n in cols else "NULL" for n in names),
                     "ST_AsBinary(geom)" if "geom" in cols else "NULL"])
    page = ""
    if limit is not None:
        page, params = " LIMIT %s OFFSET %s", (*params, int(limit), int(offset))
    rows = con.execute(f"SELECT {sel} FROM {store._t(layer)} {where} ORDER BY fid{page}",
                       params).fetchall()
    k = names.index(key) + 1
    geoms = shapely.from_wkb(np.array([r[-1] for r in rows], dtype=object)) if rows else \
        np.empty(0, dtype=object)
    return ItemsPage([r[k] for r in rows],
                     [{n: _json_value(v) for n, v in zip(names, r[1:-1])} for r in rows],
                     geoms, [int(r[0]) for r in rows])


def _feature_select(store, con, layer: str) -> str:
    """The select list of a page read as GeoJSON pieces: fid, the feature id as text, the
    properties as compact JSON text built by PostgreSQL (``row_to_json``: every schema field
    in order, dates 'YYYY-MM-DD', NaN as null, like the in-memory path), the geometry as WKB.
    Cached per layer and columns."""
    from bienmoc.model.schema import SCHEMAS

    cols = store.columns(con, layer)
    cache = store.__dict__.setdefault("_feature_selects", {})
    got = cache.get(layer)
    if got is not None and got[0] is cols:
        return got[1]
    schema = SCHEMAS[layer]
    key = schema.key[0] if layer == "boundary" else "id"
    exprs = []
    for f in schema.fields:
        if f.name == key and layer != "boundary":
            continue
        if f.name not in cols:
            exprs.append(f"NULL AS {q(f.name)}")
        elif cols[f.name] == "double precision":  # NaN is not JSON: null, as in memory
            exprs.append(f"NULLIF(t.{q(f.name)}, 'NaN') AS {q(f.name)}")
        else:
            exprs.append(f"t.{q(f.name)}")
    sel = ", ".join([
        "t.fid", f"t.{q(key)}::text" if key in cols else "NULL::text",
        f"(SELECT row_to_json(r)::text FROM (SELECT {', '.join(exprs)}) AS r)",
        "ST_AsBinary(t.geom)" if "geom" in cols else "NULL::bytea"])
    cache[layer] = (cols, sel)
    return sel


def _features(rows) -> ItemsPage:
    """An :class:`ItemsPage` of ready GeoJSON Feature bytes from (fid, id, properties JSON,
    WKB) rows. The geometry is written by shapely (``to_geojson``, vectorised) as on the
    in-memory path, so coordinates are the same bytes on both stores."""
    if not rows:
        return ItemsPage([], [], np.empty(0, dtype=object), [], features=[])
    geo = shapely.to_geojson(shapely.from_wkb([r[3] for r in rows]))
    feats = [b'{"type":"Feature","id":' + dumps(str(r[1])) + b',"geometry":'
             + (b"null" if g is None else g.encode()) + b',"properties":'
             + r[2].encode() + b"}" for r, g in zip(rows, geo)]
    return ItemsPage([r[1] for r in rows], [], np.empty(0, dtype=object),
                     [int(r[0]) for r in rows], features=feats)


#: API reads of one store that run at once in a process; more wait for a slot. The store's
#: pool keeps 8 idle connections: more readers at once would open (and then close) new
#: connections - a backend start and the geometry type lookup, ~10 ms - for no gain on a few
#: cores (measured: wrk with 16 connections on 2 workers churned connections without it).
READERS = 4


def _read_slot(store):
    slot = store.__dict__.get("_read_slots")
    if slot is None:
        slot = store.__dict__.setdefault("_read_slots", threading.BoundedSemaphore(READERS))
    return slot


def query_items(store, layer: str, *, boxes=None, interval=None, equals=None, limit: int = 10,
                offset: int = 0, after: int | None = None) -> ItemsPage:
    """The page of ``layer`` matching the filters, with numberMatched (module text).

    One statement while at most :data:`EXACT_MATCHED` rows match: their fids are found once
    (the GiST index for a bbox), counted by a window, and the page's rows - the lowest fids after
    ``offset`` or after the keyset ``after`` - are read by primary key with their JSON. More
    matches (the planner's estimate, asked first): :func:`_many`."""
    where, params = _where(layer, boxes, interval, equals)
    t = store._t(layer)
    with _read_slot(store), store._reader() as con:
        if not store._cols.get(layer) and (not store._exists(con)
                                           or not store.columns(con, layer)):
            return ItemsPage([], [], np.empty(0, dtype=object), [], 0, True, features=[])
        sel = _feature_select(store, con, layer)
        page_params = ([] if after is None else [int(after)]) + \
            [int(limit), 0 if after is not None else int(offset)]
        bound = int(EXACT_MATCHED)
        if not where:  # the whole layer: a big table's size is the planner's statistics
            est = con.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                              (t,)).fetchone()[0]
            if est is not None and est > bound:
                page = _features(con.execute(
                    f"SELECT {sel} FROM {t} AS t {'' if after is None else 'WHERE fid > %s'} "
                    "ORDER BY fid LIMIT %s OFFSET %s", page_params).fetchall())
                page.matched, page.exact = int(est), False
                return page
        est = None
        if where:  # the planner's row estimate decides the plan (module text)
            est = _estimate(con, t, layer, boxes, interval, equals)
            if est > bound:
                return _many(con, t, sel, where, params, limit, offset, after, est)
        # the matches counted by a window over them (one pass; measured 3.1 ms against 3.5 ms
        # for a CTE counted then sorted, EXPLAIN ANALYZE over 40 boxes), the page's rows read
        # by primary key. Prepared after a few runs (psycopg): its generic plan is the GiST
        # index scan, which the LIMIT bounds whatever the box.
        keyset = "" if after is None else "WHERE fid > %s "
        rows = con.execute(
            f"SELECT p.n, {sel} FROM (SELECT fid, n FROM (SELECT fid, count(*) OVER () AS n "
            f"FROM (SELECT fid FROM {t} {where} LIMIT %s) AS m) AS w {keyset}"
            f"ORDER BY fid LIMIT %s OFFSET %s) AS p JOIN {t} AS t ON t.fid = p.fid "
            f"ORDER BY t.fid", (*params, max(bound + 1, 0), *page_params)).fetchall()
        if rows:
            matched = int(rows[0][0])
        elif after is None and not offset:
            matched = 0
        else:  # past the last match: count them alone
            matched = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {t} {where} LIMIT %s) "
                                  "AS m", (*params, max(bound + 1, 0))).fetchone()[0]
        if matched <= bound:
            page = _features([r[1:] for r in rows])
            page.matched, page.exact = matched, True
            return page
        if est is None:
            est = _estimate(con, t, layer, boxes, interval, equals)
        return _many(con, t, sel, where, params, limit, offset, after, max(est, bound + 1))


#: many matches: the primary-key walk reads about this many rows in the time the GiST path
#: fetches one match's heap row (5M incidents placed independently of fid, 0.2-degree boxes of
#: ~50k matches, EXPLAIN ANALYZE: walk 0.67 us a row, GiST + heap 6.6 us a match)
WALK_RATIO = 8


def _estimate(con, t: str, layer: str, boxes, interval, equals) -> int:
    """The planner's row estimate of the filters, asked without the explicit ``&&`` that the
    index needs (its double count of the box's selectivity makes the estimate far too low)."""
    where, params = _where(layer, boxes, interval, equals, index=False)
    plan = con.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {t} {where}", params).fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


#: matches expected in the page sample that tells where the matches lie among the fids
SAMPLE = 64


def _reach(con, t: str, where: str, params, est: int, after) -> int | None:
    """How many fids the walk must pass to reach the matches: the lowest fid among the matches
    of a random sample of the table's pages (``TABLESAMPLE SYSTEM``, sized to hold about
    :data:`SAMPLE` matches; a few ms) minus where the walk starts. None: the sample holds no
    match (they are concentrated on a few pages, so the GiST path's heap reads are cheap).
    When fid is independent of position this is about ``fids / SAMPLE``; when the box's rows
    were entered together, where their run of fids begins."""
    pct = min(100.0, 100.0 * SAMPLE / max(est, 1))
    lo, start = con.execute(
        f"SELECT (SELECT min(fid) FROM {t} TABLESAMPLE SYSTEM (%s) REPEATABLE (16) {where}"
        f"{' AND ' if where else ' WHERE '}fid > %s), (SELECT min(fid) FROM {t})",
        (pct, *params, -1 if after is None else int(after))).fetchone()
    if lo is None:
        return None
    return lo - (start if after is None else int(after))


def _many(con, t: str, sel: str, where: str, params, limit, offset, after, est) -> ItemsPage:
    """The page when about ``est`` (> EXACT_MATCHED) rows match. Two ways, both giving the
    lowest fids after ``offset`` / ``after`` among the matches:

    * the primary-key walk: rows in fid order, filtered, until the page is full - cheap when
      the matches are spread over the fids (about ``need / share`` rows read), ruinous when
      they are not (fid correlated with position, as when an area's incidents are entered
      together: the walk reads millions of rows to reach the box). So it is bounded: it is tried
      only when the rows it should read - the larger of ``need / share`` and the distance to
      the matches (:func:`_reach`, from a sample) - cost less than fetching every match
      (:data:`WALK_RATIO`), and reads at most about twice those; numberMatched is then the
      estimate. A walk that does not fill the page falls back to:
    * the GiST path: every match's fid through the index (``MATERIALIZED``, once), the top-N
      by fid, the page's rows by primary key; its count is exact and free.

    The planner alone picks the unbounded walk (it takes fid and position to be independent)
    or, from its too-low estimate with ``&&``, fetches and sorts every match even when the box
    holds most of the layer."""
    # the table's rows as the planner counts them for ``est``: reltuples scaled to the pages
    # the table has now (right after a big COPY, before autovacuum's ANALYZE, reltuples is the
    # old size: the 5M benchmark's was 200k, so the walks were bounded 25x too short)
    total = _estimate(con, t, "", None, None, None)
    share = min(1.0, est / max(float(total), est, 1.0))
    need = int(limit) + (0 if after is not None else int(offset))
    expect = need / share  # rows the walk reads if the matches are spread over the fids
    keyset = "" if after is None else "WHERE fid > %s "
    page_args = [int(limit), 0 if after is not None else int(offset)]
    reach = _reach(con, t, where, params, est, after) if expect <= WALK_RATIO * est \
        else None
    # the walk passes the lowest sampled match (``reach``) and, when the matches are spread
    # over the fids, ``expect`` rows in all: the larger of the two
    walk = None if reach is None else max(reach, expect)
    if walk is not None and walk <= WALK_RATIO * est:
        budget = int(2 * walk) + 1000
        # the inner LIMIT bounds the rows read; a contiguous run of fids, so the matches in
        # it that fill the page are the lowest ones
        rows = con.execute(
            f"SELECT {sel} FROM (SELECT * FROM {t} {keyset}ORDER BY fid LIMIT %s) AS t "
            f"{where} ORDER BY t.fid LIMIT %s OFFSET %s",
            (*([] if after is None else [int(after)]), budget, *params, *page_args)).fetchall()
        if len(rows) == int(limit):
            page = _features(rows)
            page.matched, page.exact = int(est), False
            return page
    # the count over the same materialised matches (a LEFT JOIN: one row even past the end)
    rows = con.execute(
        f"WITH m AS MATERIALIZED (SELECT fid FROM {t} {where}), "
        f"p AS (SELECT fid FROM m {keyset}ORDER BY fid LIMIT %s OFFSET %s) "
        f"SELECT c.n, {sel} FROM (SELECT count(*) AS n FROM m) AS c LEFT JOIN "
        f"(p JOIN {t} AS t ON t.fid = p.fid) ON true ORDER BY t.fid",
        (*params, *([] if after is None else [int(after)]), *page_args)).fetchall()
    page = _features([r[1:] for r in rows if r[1] is not None])
    page.matched, page.exact = int(rows[0][0]), True
    return page


def get_item(store, layer: str, key_field: str, value: str) -> ItemsPage:
    """The one feature whose ``key_field`` is ``value`` (an empty page if none)."""
    with store._reader() as con:  # no read slot: the write path answers with it
        if not store._exists(con) or not store.columns(con, layer):
            return ItemsPage([], [], np.empty(0, dtype=object), [])
        return _rows(store, con, layer, f"WHERE {q(key_field)} = %s", (value,), limit=1)


def layer_facts(store, layer: str) -> tuple[int, list | None, list | None]:
    """(rows, [minx, miny, maxx, maxy] or None, [first day, last day] or None)."""
    t = store._t(layer)
    with store._reader() as con:
        cols = store.columns(con, layer)
        if not cols:
            return 0, None, None
        est = con.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                          (t,)).fetchone()[0]
        big = est is not None and est > EXACT_COUNT_ROWS
        n = int(est) if big else con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        extent = None
        if "geom" in cols and big:  # the planner's statistics: no scan of millions of rows
            row = con.execute("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
                              "ST_EstimatedExtent(%s, %s, 'geom') AS b",
                              (store.schema, layer)).fetchone()
            extent = None if row is None or row[0] is None else [float(v) for v in row]
        elif "geom" in cols:
            row = con.execute(f"SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), "
                              f"max(ST_XMax(geom)), max(ST_YMax(geom)) FROM {t}").fetchone()
            extent = None if row[0] is None else [float(v) for v in row]
        times = None
        spec = _temporal(layer)
        if spec is not None:
            s, e = con.execute(f"SELECT min({spec[0]}), max({spec[1]}) FROM {t}").fetchone()
            times = [None, None] if s is None else [f"{s}T00:00:00Z", f"{e}T23:59:59Z"]
    return int(n), extent, times
