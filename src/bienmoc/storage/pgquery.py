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
* ``numberMatched``: exact (``count(*)`` with the same filters) while the table holds at most
  :data:`EXACT_COUNT_ROWS` rows by the planner's statistics; above that, the planner's row
  estimate for the filtered query (``EXPLAIN``), and the answer says it is estimated.

The page's rows are read with the store's reader and serialised by the same code as the
in-memory path (:func:`bienmoc.api.query.frame_feature_bytes`), so both paths give the same
bytes for a feature.
"""
from __future__ import annotations

import json

import numpy as np

from bienmoc.storage.pgschema import q

__all__ = ["query_items", "get_item", "layer_facts", "EXACT_COUNT_ROWS"]

#: tables up to this many rows (pg_class.reltuples) get an exact numberMatched
EXACT_COUNT_ROWS = 1_000_000


def _temporal(layer: str):
    from bienmoc.api.query import TEMPORAL

    spec = TEMPORAL.get(layer)
    if spec is None:
        return None
    starts, ends = spec
    start = f"coalesce({', '.join(map(q, starts))})"
    end = start if ends is None else f"coalesce({', '.join(map(q, ends))}, {start})"
    return start, end


def _where(layer: str, boxes, interval, equals) -> tuple[str, list]:
    parts: list[str] = []
    params: list = []
    if boxes:
        ors = []
        for x0, y0, x1, y1 in boxes:
            ors.append("(geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND "
                       "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)))")
            params += [x0, y0, x1, y1] * 2
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


def query_items(store, layer: str, *, boxes=None, interval=None, equals=None, limit: int = 10,
                offset: int = 0, after: int | None = None):
    """(frame of the page in fid order, its fids, numberMatched, exact?)."""
    where, params = _where(layer, boxes, interval, equals)
    t = store._t(layer)
    with store._reader() as con:
        if not store.columns(con, layer):
            from bienmoc.model.schema import empty_layer
            return empty_layer(layer), np.empty(0, np.int64), 0, True
        est = con.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                          (t,)).fetchone()[0]
        if est is None or est < EXACT_COUNT_ROWS:
            matched = con.execute(f"SELECT count(*) FROM {t} {where}", params).fetchone()[0]
            exact = True
        else:
            plan = con.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {t} {where}",
                               params).fetchone()[0]
            plan = plan if isinstance(plan, list) else json.loads(plan)
            matched, exact = int(plan[0]["Plan"]["Plan Rows"]), False
        if after is not None:  # keyset: the rows after the previous page's last fid
            page_where = (where + " AND " if where else "WHERE ") + "fid > %s"
            frame, fids = store._select(layer, page_where, (*params, int(after)), limit=limit)
        else:
            frame, fids = store._select(layer, where, tuple(params), limit=limit,
                                        offset=offset)
    return frame, fids, int(matched), exact


def get_item(store, layer: str, key_field: str, value: str):
    """The frame of the one row whose ``key_field`` is ``value`` (empty if none)."""
    frame, _ = store._select(layer, f"WHERE {q(key_field)} = %s", (value,))
    return frame


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
