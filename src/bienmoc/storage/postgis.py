"""A store in PostgreSQL/PostGIS: many users on one server, the same :class:`Store` contract.

``PostGISStore("postgresql://user@host:5432/db?schema=border")`` (also ``postgres://``; the
``schema`` parameter defaults to ``bienmoc``; other parameters go to libpq). Needs psycopg 3:
``pip install 'bienmoc[postgis]'``. The schema is created and migrated by bienmoc
(:mod:`bienmoc.storage.pgschema`; ``bienmoc store init|migrate|check``); a store whose schema
is missing or behind is migrated on its first write when the role may do it.

Guarantees, as the GeoPackage store's:

* Writers: :meth:`PostGISStore.transaction` is one database transaction that first takes a
  transaction-level advisory lock of the schema (``pg_advisory_xact_lock``), so write sequences
  of every process and thread run one at a time per store, with reads, id allocation and writes
  inside. The wait is bounded by ``lock_timeout`` (``BIENMOC_LOCK_TIMEOUT``, default 30 s) and
  then :class:`~bienmoc.errors.StoreBusy` is raised. Nested use in one thread is a savepoint.
* Ids of a layer's prefix (``V-000432``) come from ``bienmoc_sequences`` (one row per layer,
  seeded from the largest stored number) inside the transaction: gapless and undone with it,
  as in the GeoPackage store (a PostgreSQL SEQUENCE would leave gaps on rollback).
* :meth:`~PostGISStore.version` is a counter that a statement trigger on every layer table
  bumps in the writing transaction (any client's write changes it, QGIS's too).
* Bulk rows (more than :data:`COPY_ROWS`) are written by binary ``COPY ... FROM STDIN``; a
  small append is one statement (:mod:`bienmoc.storage.pginsert`).
* Round trips of a small write transaction: three - BEGIN with the lock and the change
  tokens; the INSERT, which numbers new records from the layer's id counter and advances
  it; the ``write_log`` rows with the COMMIT (:meth:`LockAndTokens.log_rows`). A
  savepoint's SAVEPOINT goes with its first statement, its RELEASE with the next statement;
  a lazy transaction's lock goes with its first INSERT (group writer: BEGIN, one round trip
  per write, COMMIT). A failed small INSERT (a unique key taken despite the checks made
  under the lock) has no savepoint of its own: the transaction must end, or the enclosing
  :meth:`savepoint` (the group writer's, one per write) be undone.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import threading
from typing import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd

from bienmoc.errors import NotFound, StorageError, StoreBusy
from bienmoc.model.schema import LAYERS, SCHEMAS, empty_layer
from bienmoc.storage import pgschema as ps
from bienmoc.storage.base import TransactionWrites
from bienmoc.storage.pgconn import _Pool, _psycopg, _result_sets, _without_password, parse_url
from bienmoc.storage.pginsert import COPY_ROWS, Inserts
from bienmoc.storage.pglock import LockAndTokens
from bienmoc.storage.pgschema import IDEMPOTENCY, q
from bienmoc.storage.pgvalues import _converter, _frame, _missing, _text
from bienmoc.storage.sqlite import DuplicateKey

WRITE_LOG = "write_log"  # (records.attribution.WRITE_LOG: records imports storage)

__all__ = ["PostGISStore", "COPY_ROWS"]

class PostGISStore(TransactionWrites):
    """A bienmoc store in one schema of a PostgreSQL database with PostGIS."""

    def __init__(self, uri: str, *, lock_timeout: float | None = None):
        self.conninfo, self.schema = parse_url(uri)
        self.uri = _without_password(uri)  # printed and logged: never the password
        self._set_lock_timeout(lock_timeout)
        self._pool = _Pool(self.conninfo)
        self._local = threading.local()
        self._ready = False
        self._cols: dict[str, dict[str, str]] = {}
        self._json_sql: dict[tuple, str] = {}  # the small-insert statement per column set
        # one advisory lock per schema (and database): the store's write lock
        import zlib
        self._lock_key = zlib.crc32(f"bienmoc:{self.schema}".encode())

    def __repr__(self) -> str:
        return f"PostGISStore({self.schema!r})"

    def close(self) -> None:
        self._pool.close()

    # -- connections -------------------------------------------------------------------------
    def _tx(self):
        return getattr(self._local, "tx", None)

    @contextlib.contextmanager
    def _reader(self) -> Iterator:
        tx = self._tx()
        if tx is not None:
            tx._send_log()  # the transaction's reads see its write-log rows
            yield tx.con
            return
        psycopg = _psycopg()
        with self._pool.connection() as con:
            try:
                yield con
            except psycopg.Error as e:
                raise StorageError(f"cannot read the PostgreSQL store: {e}") from e

    def _t(self, layer: str) -> str:
        return q(self.schema, layer)

    def columns(self, con, layer: str) -> dict[str, str]:
        """{column: type} of a table in order ({} when absent), cached (schema changes only
        come from migrations and first writes of other layers, which clear the cache)."""
        got = self._cols.get(layer)
        if got:
            return got
        rows = con.execute(
            "SELECT column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE "
            "data_type END FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = %s ORDER BY ordinal_position", (self.schema, layer)).fetchall()
        got = {r[0]: r[1] for r in rows}
        if got:
            self._cols[layer] = got
        return got

    # -- schema --------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Create or bring the schema up to date; the names of the steps applied."""
        psycopg = _psycopg()
        with self._pool.connection() as con:
            try:
                done = ps.migrate(con, self.schema)
            except psycopg.errors.InsufficientPrivilege as e:
                raise StorageError(f"schema {self.schema} needs migrating and this role may not "
                                   f"do it ({e.diag.message_primary}); run 'bienmoc store "
                                   "migrate' as the schema's owner") from None
            except psycopg.Error as e:
                raise StorageError(f"cannot migrate schema {self.schema}: {e}") from e
        self._pool.close()  # connections made before PostGIS existed lack the geometry type
        self._cols.clear()
        self._ready = True
        return done

    def grant_app_role(self, role: str) -> None:
        """Give the application role its rights (:func:`pgschema.grant_app_role`)."""
        with self._pool.connection() as con:
            ps.grant_app_role(con, self.schema, role)

    def pending(self) -> list[str]:
        with self._reader() as con:
            if not con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                               (self.schema,)).fetchone():
                return ["0001_base"]
            return [name for name, _ in ps.plan(con, self.schema)]

    def check(self) -> list[str]:
        """Problems of the schema (empty list: up to date and healthy)."""
        with self._reader() as con:
            return ps.check(con, self.schema)

    def _ensure_ready(self) -> None:
        if not self._ready:
            if self.pending():
                self.migrate()
            self._ready = True

    # -- reading ---------------------------------------------------------------------------
    def _exists(self, con) -> bool:
        # once seen, remembered: every read and state check asked it (a round trip each)
        if getattr(self, "_seen_schema", False):
            return True
        found = con.execute("SELECT to_regclass(%s) IS NOT NULL",
                            (q(self.schema, "bienmoc_layers"),)).fetchone()[0]
        self._seen_schema = bool(found)
        return found

    def layers(self) -> list[str]:
        with self._reader() as con:
            if not self._exists(con):
                return []
            return [r[0] for r in con.execute(
                f"SELECT layer FROM {self._t('bienmoc_layers')} WHERE present ORDER BY ord")]

    def read(self, layer: str, *, bbox=None) -> gpd.GeoDataFrame:
        where, params = "", ()
        if bbox is not None:
            x0, y0, x1, y1 = map(float, bbox)
            where = ("WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND "
                     "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))")
            params = (x0, y0, x1, y1) * 2
        df, _ = self._select(layer, where, params)
        return df

    def read_rows(self, layer: str, *, after_fid: int = 0, fids=None
                  ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
        """Rows whose fid is above ``after_fid`` (or the rows ``fids``) in fid order, and
        their fids (the incremental refresh of the API's indexes)."""
        if fids is not None:
            return self._select(layer, "WHERE fid = ANY(%s)",
                                ([int(f) for f in np.asarray(fids, dtype=np.int64)],))
        return self._select(layer, "WHERE fid > %s", (int(after_fid),))

    def query_items(self, layer: str, **kw):
        """An items page filtered and paged in SQL (:func:`pgquery.query_items`)."""
        from bienmoc.storage.pgquery import query_items

        return query_items(self, layer, **kw)

    def get_item(self, layer: str, key_field: str, value: str):
        from bienmoc.storage.pgquery import get_item

        return get_item(self, layer, key_field, value)

    def layer_facts(self, layer: str):
        from bienmoc.storage.pgquery import layer_facts

        return layer_facts(self, layer)

    def _select(self, layer: str, where: str, params: tuple, *, limit: int | None = None,
                offset: int = 0):
        with self._reader() as con:
            cols = self.columns(con, layer) if self._exists(con) else {}
            if not cols:
                if layer in LAYERS:
                    return empty_layer(layer), np.empty(0, dtype=np.int64)
                raise NotFound(f"store {self.schema} has no layer {layer!r}")
            names = [c for c in cols if c not in ("fid", "geom", IDEMPOTENCY)]
            geo = "geom" in cols
            sel = ", ".join(["fid", *map(q, names), *(["ST_AsBinary(geom)"] if geo else [])])
            page = ""
            if limit is not None:
                page, params = " LIMIT %s OFFSET %s", (*params, int(limit), int(offset))
            rows = con.execute(f"SELECT {sel} FROM {self._t(layer)} {where} ORDER BY fid{page}",
                               params).fetchall()
        return _frame(layer, rows, names, cols, geo)

    def layer_state(self, layer: str) -> tuple | None:
        """``(generation, rows, max fid, last change)``: appends raise rows and max fid
        together, a replace bumps the generation, any write moves the last change."""
        with self._reader() as con:
            if not self._exists(con):
                return None
            row = con.execute(f"SELECT generation, last_change, present FROM "
                              f"{self._t('bienmoc_layers')} WHERE layer = %s",
                              (layer,)).fetchone()
            if row is None or not row[2]:
                return None
            n, top = con.execute(f"SELECT count(*), max(fid) FROM {self._t(layer)}").fetchone()
            return (int(row[0]), int(n), int(top or 0), row[1])

    def layer_tokens(self, layers) -> dict[str, tuple | None]:
        """A change token of each of ``layers`` in ONE query: ``(generation, last_change)``
        from ``bienmoc_layers``, None for an absent layer. The statement trigger of every
        table moves ``last_change`` strictly forward on any write by any client (QGIS's too)
        and a delete bumps the generation, so equal tokens mean equal content - without the
        ``count(*)``/``max(fid)`` of :meth:`layer_state` (the rule caches ask per write).
        Inside this thread's transaction it sees the transaction's own writes."""
        layers = list(layers)
        out: dict[str, tuple | None] = dict.fromkeys(layers)
        with self._reader() as con:
            if not self._exists(con):
                return out
            for name, gen, last in con.execute(
                    f"SELECT layer, generation, last_change FROM {self._t('bienmoc_layers')} "
                    "WHERE layer = ANY(%s) AND present", (layers,)):
                out[name] = ("pg", int(gen), last)
        return out

    def version(self) -> str:
        with self._reader() as con:
            if not self._exists(con):
                return "empty"
            row = con.execute(f"SELECT value FROM {self._t('bienmoc_meta')} WHERE key = "
                              "'writes'").fetchone()
        return f"pg-{row[0] if row else 0}"

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, timeout: float | None = None, lazy_lock: bool = False,
                    **_ignored) -> Iterator["_Transaction"]:
        """One database transaction holding the store's advisory write lock (module text).

        ``lazy_lock`` (the group writer's): the lock is taken at the transaction's first write
        (or direct read, lookup), not at its start, so that another process's writer can
        commit while this one validates (the rule layer's CPU work runs outside the lock);
        the layers read before it through their change tokens (the rule caches) are checked
        then, and :class:`~bienmoc.storage.base.StaleRead` is raised if one changed."""
        outer = self._tx()
        if outer is not None:
            with outer.savepoint():
                yield outer
            return
        psycopg = _psycopg()
        self._ensure_ready()
        wait = self.lock_timeout if timeout is None else float(timeout)
        with self._pool.connection() as con:
            try:
                try:
                    try:
                        # ONE round trip: BEGIN (the connection is in autocommit: psycopg's
                        # transaction() would send it alone), the timeout - set before the
                        # lock is asked for, both integers formatted here - the lock, and
                        # the change tokens of every layer (the rule caches ask for them
                        # first: one round trip fewer per write)
                        lock = ("" if lazy_lock else
                                f"SELECT pg_advisory_xact_lock({int(self._lock_key)}); ")
                        cur = con.execute(
                            f"BEGIN; SET LOCAL lock_timeout = {max(int(wait * 1000), 1)}; "
                            f"{lock}SELECT layer, generation, last_change FROM "
                            f"{self._t('bienmoc_layers')} WHERE present")
                        rows = _result_sets(cur)[-1]
                    except psycopg.errors.LockNotAvailable:
                        raise StoreBusy(f"another writer holds the store; waited {wait:g} s",
                                        retry_after=1.0) from None
                    tx = _Transaction(self, con)
                    tx._tokens.update((n, ("pg", int(g), last)) for n, g, last in rows)
                    tx._all_tokens = True
                    tx._locked, tx._wait = not lazy_lock, wait
                    self._local.tx = tx
                    try:
                        yield tx
                    finally:
                        self._local.tx = None
                    # the write-log rows still waiting and the COMMIT: one round trip
                    tx._send_log("COMMIT")
                except BaseException:
                    self._cols.clear()  # (a table this transaction created is undone)
                    if not con.closed and con.info.transaction_status != \
                            psycopg.pq.TransactionStatus.IDLE:
                        with contextlib.suppress(psycopg.Error):
                            con.rollback()
                    raise
            except psycopg.errors.LockNotAvailable:
                raise StoreBusy(f"rows of the store stayed locked past {wait:g} s",
                                retry_after=1.0) from None
            except psycopg.Error as e:
                raise StorageError(f"cannot write to the PostgreSQL store: {e}") from e


class _Transaction(LockAndTokens, Inserts):
    """One write transaction of a :class:`PostGISStore` (see :class:`Transaction`); its write
    lock, change tokens and savepoints: :class:`~bienmoc.storage.pglock.LockAndTokens`."""

    def __init__(self, store: PostGISStore, con):
        self.store, self.con = store, con
        self._init_tokens(store)

    def read(self, layer: str) -> gpd.GeoDataFrame:
        self.lock()  # a read without a change token is only consistent under the lock
        return self.store.read(layer)  # this thread's transaction: sees its own writes

    def _columns(self, layer: str, data=None) -> dict[str, str]:
        s = self.store
        if layer == WRITE_LOG:  # a write of the log itself comes after the rows waiting
            self._send_log()
        cols = s.columns(self.con, layer)
        if cols:
            return cols
        if layer in SCHEMAS or layer == ps.LOG_LAYER:
            raise StorageError(f"layer {layer!r} is missing from schema {s.schema} (run: "
                               "bienmoc store migrate)")
        # a layer outside the schema: created from the frame's dtypes on first write
        gname = getattr(data, "_geometry_column_name", None)
        geo = isinstance(data, gpd.GeoDataFrame) and gname in data.columns
        defs = []
        for c in (data.columns if data is not None else []):
            if geo and c == gname:
                continue
            dt = str(data[c].dtype)
            defs.append((str(c), "timestamp" if dt.startswith("datetime64") else "boolean"
                         if dt in ("bool", "boolean") else "bigint" if dt.lower().startswith(
                             "int") else "double precision" if dt.startswith("float")
                         else "text"))
        self._send_log()  # (a SAVEPOINT waiting: the table is created inside it)
        for sql in ps.create_table_sql(s.schema, layer, defs, geo, False):
            self.con.execute(sql)
        self._reshaped(layer)
        return s.columns(self.con, layer)

    def append(self, layer: str, data: gpd.GeoDataFrame) -> list[str]:
        if not len(data):
            return []
        ids: list | None = None
        if "id" in data.columns:
            ids = [None if _missing(v) else str(v) for v in data["id"]]
        schema = SCHEMAS.get(layer)
        if (ids is not None and schema is not None and schema.id_prefix
                and layer != "markers" and not any(ids)):
            # new records of a layer numbered from its counter: the write lock, if this
            # (lazy) transaction does not hold it yet, and the insert in one round trip
            new = self._insert_numbered(layer, data, self._columns(layer, data),
                                        schema.id_prefix)
            if new is not None:
                self._forget_tokens(layer)
                return new
        self.lock()
        self._forget_tokens(layer)
        cols = self._columns(layer, data)
        if ids is not None:
            given = [v for v in ids if v is not None]
            seen: set = set()
            dup = [v for v in given if v in seen or seen.add(v)]
            if given:
                dup += self._taken(layer, sorted(set(given)))
            if dup:
                raise DuplicateKey(layer, dup)
            missing = [i for i, v in enumerate(ids) if v is None]
            if missing and schema is not None:
                if schema.id_prefix and layer != "markers":
                    new = self._next_numbers(layer, schema.id_prefix, len(missing))
                else:
                    from bienmoc.model.schema import _new_ids
                    mask = pd.Series([v is None for v in ids], index=data.index)
                    new = _new_ids(schema, data, mask, None)
                for i, v in zip(missing, new):
                    ids[i] = v
        self._insert(layer, data, cols, ids)
        return ids or []

    def replace(self, layer: str, data: gpd.GeoDataFrame) -> None:
        self.lock()
        self._forget_tokens(layer)
        cols = self._columns(layer, data)
        if len(data) and "id" in data.columns:
            given = [str(v) for v in data["id"] if not _missing(v)]
            seen: set = set()
            dup = [v for v in given if v in seen or seen.add(v)]
            if dup:
                raise DuplicateKey(layer, dup)
        self.con.execute(f"DELETE FROM {self.store._t(layer)}")
        if len(data):
            self._insert(layer, data, cols)

    def update_fields(self, layer, record_id, values, *, log_layer, note=None,
                      changed_at=None, user=None) -> dict[str, tuple]:
        cols = self._columns(layer)
        bad = [f for f in values if f not in cols or f in ("fid", "geom", "id", IDEMPOTENCY)]
        if bad:
            raise StorageError(f"layer {layer!r} has no updatable field(s) {bad}")
        fields = list(values)
        t = self.store._t(layer)
        self.lock()
        self._forget_tokens(layer, log_layer)
        row = self.con.execute(f"SELECT fid, {', '.join(map(q, fields))} FROM {t} "
                               "WHERE id = %s FOR UPDATE", (record_id,)).fetchone()
        if row is None:
            raise NotFound(f"no record {record_id!r} in layer {layer!r}")
        fid, old = row[0], dict(zip(fields, row[1:]))
        new = {f: _converter(cols[f])(values[f]) for f in fields}
        changes = {f: (_text(old[f]), values[f]) for f in fields if old[f] != new[f]}
        if changes:
            log = pd.DataFrame({c: pd.Series([], dtype=object) for c in ps.LOG_COLUMNS})
            if "changed_by" not in self._columns(log_layer, log):  # a log made before users
                self.con.execute(f"ALTER TABLE {self.store._t(log_layer)} "
                                 "ADD COLUMN IF NOT EXISTS changed_by text")
                self._reshaped(log_layer)
            when = (changed_at or _dt.datetime.now(_dt.timezone.utc)).astimezone(
                _dt.timezone.utc)
            text = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
            sets = ", ".join(f"{q(f)} = %s" for f in changes)
            self.con.execute(f"UPDATE {t} SET {sets} WHERE fid = %s",
                             [*(new[f] for f in changes), fid])
            with self.con.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {self.store._t(log_layer)} (record_id, field, old_value, "
                    "new_value, changed_at, note, changed_by) VALUES (%s, %s, %s, %s, %s, %s, "
                    "%s)", [(record_id, f, o, _text(n), text, note, user)
                            for f, (o, n) in changes.items()])
        return changes

    def held_keys(self, layer: str, keys) -> set[str]:
        """Which of ``keys`` the layer's idempotency column holds: one query for all (a field
        export brings thousands; ``lookup`` per key would be one round trip each)."""
        if layer == WRITE_LOG:
            self._send_log()
        self.lock()  # (the lookup and the append after it: one locked step)
        if IDEMPOTENCY not in self.store.columns(self.con, layer):
            return set()
        return {r[0] for r in self.con.execute(
            f"SELECT {q(IDEMPOTENCY)} FROM {self.store._t(layer)} WHERE {q(IDEMPOTENCY)} = "
            "ANY(%s)", ([str(k) for k in keys],))}

    def lookup(self, layer: str, field: str, value) -> list[str]:
        if layer == WRITE_LOG:
            self._send_log()
        self.lock()  # (an idempotency lookup and the append after it: one locked step)
        cols = self.store.columns(self.con, layer)
        if field not in cols or "id" not in cols:
            return []
        v = _converter(cols[field])(value)
        return [str(r[0]) for r in self.con.execute(
            f"SELECT id FROM {self.store._t(layer)} WHERE {q(field)} = %s ORDER BY fid", (v,))]
