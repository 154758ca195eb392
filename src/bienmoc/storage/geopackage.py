"""The embedded default store: one GeoPackage file, written in place in SQLite transactions.

Every write is one SQLite transaction on the live file (``BEGIN IMMEDIATE`` ... ``COMMIT``,
through :mod:`bienmoc.storage.sqlite`): appends are INSERTs, a replace is DELETE + INSERT, an
update is an UPDATE plus change-log rows. Nothing ever replaces the file, so its mode, owner and
inode stay, and a program that holds it open (QGIS) keeps working on the same file.

Locking and waiting. :meth:`GeoPackageStore.transaction` takes, in order, a per-process lock
(threads of one process), an ``flock`` on ``<store>.lock`` (bienmoc processes queue there) and
SQLite's write lock (``BEGIN IMMEDIATE``, which also waits for other programs: QGIS, ogr2ogr,
sqlite3). All three waits share one deadline (``lock_timeout``, default 30 s, or the
``timeout`` argument); past it :class:`~bienmoc.errors.StoreBusy` is raised and nothing was
written. Reads, ids allocation (:func:`~bienmoc.storage.sqlite.next_numbers`), validation
against stored rows and the write all happen inside that one transaction.

Journal mode: WAL (write-ahead log), set on the first write. Readers never block the writer and
one commit costs one fsync of the ``-wal`` file. SQLite runs at ``synchronous=NORMAL`` and the
store fsyncs the WAL itself after each COMMIT, before the write returns (that call is the one
durability tests count; :func:`~bienmoc.storage.sqlite.fsync_path`). GDAL (>= 2.0) and QGIS read
and write WAL GeoPackages (QGIS itself switches a GeoPackage to WAL while editing); the
GeoPackage 1.2 spec requires nothing of the journal mode, but a WAL file needs its ``-wal`` and
``-shm`` companions and a writable folder, so files handed to others are exports
(``bienmoc export``), never the live store. A store that another client switched back to a
rollback journal is written at ``synchronous=EXTRA`` (SQLite fsyncs journal, file and folder).

Crash leftovers are cleaned by any bienmoc open: SQLite rolls a hot journal back as soon as a
read-write connection reads (so read-only openers - GDAL, ``mode=ro`` - work again), a WAL
transaction that never committed is ignored, and :meth:`GeoPackageStore.recover` (called on the
first write of a process; the server calls it at start) also removes temporary copies older
bienmoc versions left beside the store.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.errors import StorageError, StoreBusy
from bienmoc.model.schema import LAYERS, SCHEMAS, conform, empty_layer
from bienmoc.storage import sqlite as sq
from bienmoc.storage.base import LOCK_TIMEOUT_ENV, TransactionWrites
from bienmoc.storage.sqlite import DuplicateKey
from bienmoc.storage.writer import (_WAL_LIMIT, _busy, _flock_until, _state, _wal,
                                    _wal_size)

__all__ = ["GeoPackageStore", "DuplicateKey", "LOCK_TIMEOUT_ENV"]


class GeoPackageStore(TransactionWrites):
    """A bienmoc store in a GeoPackage file (created on first write)."""

    #: journal mode set on first write: "wal" (default) or "delete" (a rollback journal)
    journal: str = "wal"

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float | None = None,
                 journal: str | None = None):
        self.path = Path(path).expanduser().resolve()
        self.uri = str(self.path)
        self._set_lock_timeout(lock_timeout)
        if journal is not None:
            self.journal = journal.lower()

    def __repr__(self) -> str:
        return f"GeoPackageStore({self.uri!r})"

    # -- reading ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection | None]:
        """A connection for one consistent read (None when there is no file yet): the
        thread's own transaction if it holds one, else a fresh connection in a read
        transaction. A read-write connection rolls a hot journal back on its first read."""
        tx = _state(self.path).current()
        if tx is not None:
            yield tx.con
            return
        if not self.path.exists():
            yield None
            return
        try:
            con = sq.connect(self.path, timeout=self.lock_timeout)
        except sqlite3.Error as e:
            raise StorageError(f"cannot open store {self.uri}: {e}") from e
        try:
            con.execute("BEGIN")
            yield con
        except sqlite3.Error as e:
            raise StorageError(f"cannot read store {self.uri}: {e}") from e
        finally:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            con.close()

    def layers(self) -> list[str]:
        with self._reader() as con:
            if con is None or not sq.has_table(con, "gpkg_contents"):
                return []  # no file yet, or the first write was rolled back
            try:
                return [str(r[0]) for r in con.execute(
                    "SELECT table_name FROM gpkg_contents ORDER BY rowid")]
            except sqlite3.Error as e:
                raise StorageError(f"cannot open store {self.uri}: {e}") from e

    def _has_layer(self, layer: str) -> bool:
        return layer in self.layers()

    def read(self, layer: str, *, bbox=None) -> gpd.GeoDataFrame:
        with self._reader() as con:
            if con is None or not sq.table_columns(con, layer):
                return empty_layer(layer) if layer in LAYERS else _missing(layer, self.uri)
            where, params = "", ()
            gcol = sq.geometry_column(con, layer)
            rtree = f"rtree_{layer}_{gcol}"
            if bbox is not None and gcol and sq.has_table(con, rtree):
                x0, y0, x1, y1 = map(float, bbox)
                where = (f"WHERE fid IN (SELECT id FROM {sq.q(rtree)} WHERE maxx >= ? AND "
                         "minx <= ? AND maxy >= ? AND miny <= ?)")
                params = (x0, x1, y0, y1)
            df, _ = sq.read_table(con, layer, where=where, params=params)
        if bbox is not None and "geometry" in df:
            keep = shapely.intersects(np.asarray(df.geometry.values, dtype=object),
                                      shapely.box(*map(float, bbox)))
            df = df[np.asarray(keep, dtype=bool)].reset_index(drop=True)
        return conform(layer, df) if layer in LAYERS else df

    def read_columns(self, layer: str, columns: list[str]) -> pd.DataFrame:
        """Some attribute columns of a layer as they are stored (no geometry, no conversion):
        a fast read of large tables (a million patrol fixes in about a second). Read through
        this process's own SQLite, never through GDAL: two SQLite libraries in one process
        release each other's POSIX locks on the file and break its WAL ("disk I/O error")."""
        with self._reader() as con:
            if con is None or not sq.table_columns(con, layer):
                return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
            sel = ", ".join(sq.q(c) for c in columns)
            return pd.read_sql_query(f"SELECT {sel} FROM {sq.q(layer)} ORDER BY fid", con)

    def read_rows(self, layer: str, *, after_fid: int = 0, fids=None
                  ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
        """The layer's rows whose fid is above ``after_fid`` (all rows by default), or the
        rows ``fids``, in fid order, with canonical dtypes, and their fids."""
        with self._reader() as con:
            if con is None or not sq.table_columns(con, layer):
                empty = empty_layer(layer) if layer in LAYERS else _missing(layer, self.uri)
                return empty, np.empty(0, dtype=np.int64)
            if fids is not None:
                wanted = [int(f) for f in np.asarray(fids, dtype=np.int64)]
                parts = []
                for k in range(0, max(len(wanted), 1), 500):
                    chunk = wanted[k:k + 500]
                    parts.append(sq.read_table(
                        con, layer, where=f"WHERE fid IN ({','.join('?' * len(chunk))})",
                        params=tuple(chunk)))
                df = pd.concat([p[0] for p in parts], ignore_index=True)
                got = np.concatenate([p[1] for p in parts])
                order = np.argsort(got, kind="stable")
                df, got = df.iloc[order].reset_index(drop=True), got[order]
            else:
                df, got = sq.read_table(con, layer, where="WHERE fid > ?",
                                        params=(int(after_fid),))
        if layer in LAYERS:
            df = conform(layer, gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")
                         if "geometry" in df else df)
        return df, got

    def layer_state(self, layer: str) -> tuple | None:
        """A cheap token of one layer's content: ``(inode, rows, max fid, last_change)``,
        or None when the layer is absent. Appends raise the row count and the largest fid by
        the same number (fids are never reused: AUTOINCREMENT); a replace deletes every fid;
        any write of bienmoc's stamps a strictly later ``last_change``."""
        with self._reader() as con:
            if con is None:
                return None
            try:
                row = con.execute("SELECT last_change FROM gpkg_contents WHERE table_name = ?",
                                  (layer,)).fetchone()
                if row is None:
                    return None
                top, n = con.execute(f"SELECT max(fid), count(*) FROM {sq.q(layer)}").fetchone()
            except sqlite3.Error as e:
                raise StorageError(f"cannot inspect layer {layer!r} of {self.uri}: {e}") from e
            return (self.path.stat().st_ino, int(n), int(top or 0), row[0])

    def version(self) -> str:
        """Changes whenever any layer changes: the file's and the WAL's inode, size and mtime,
        bienmoc's write counter and the latest ``last_change`` (other editors stamp it)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "empty"
        try:
            wst = os.stat(_wal(self.path))
            wal = f"{wst.st_ino:x}.{wst.st_mtime_ns:x}.{wst.st_size:x}"
        except FileNotFoundError:
            wal = "-"
        try:
            with self._reader() as con:
                writes = con.execute(f"SELECT value FROM {sq.META} WHERE key = 'writes'"
                                     ).fetchone() if sq.has_table(con, sq.META) else None
                last = con.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()
            token = f"{writes[0] if writes else 0}-{last[0] if last else ''}"
        except (StorageError, sqlite3.Error):
            token = "?"
        return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}-{wal}-{token}"

    def check(self) -> list[str]:
        """Integrity problems of the file (empty list: healthy): SQLite's ``PRAGMA
        quick_check`` and one feature read from every layer. Messages never name the path."""
        if not self.path.exists():
            return []
        problems: list[str] = []
        with self._reader() as con:
            if con is None:
                return ["the store cannot be opened"]
            try:
                rows = con.execute("PRAGMA quick_check").fetchall()
                problems += [str(r[0]) for r in rows if str(r[0]) != "ok"]
            except sqlite3.Error as e:
                problems.append(f"integrity check failed: {e}")
            if problems:
                return problems
            try:
                names = [str(r[0]) for r in con.execute("SELECT table_name FROM gpkg_contents")]
            except sqlite3.Error as e:
                return [f"cannot list layers: {e}"]
            for name in names:
                try:  # one feature of every layer decodes (geometry blob, field types)
                    sq.read_table(con, name, params=(),
                                  where=f"WHERE fid = (SELECT min(fid) FROM {sq.q(name)})")
                except Exception as e:  # noqa: BLE001 - any decoding failure is a finding
                    problems.append(f"layer {name!r} is not readable: {type(e).__name__}")
        return problems

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, timeout: float | None = None, checkpoint: bool = True
                    ) -> Iterator["_Transaction"]:
        """A read-validate-write sequence in one SQLite write transaction (see :class:`Store`
        and the module text). Nested use in the same thread is a savepoint of the outer one.

        With ``checkpoint`` (the default) the WAL is moved into the file (:meth:`checkpoint`)
        so that the ``.gpkg`` alone holds every committed write (someone may copy it): at once
        after a transaction that replaced a layer or left a large WAL, otherwise once the
        store has had no write for a quarter of a second (and when the process exits).
        :class:`~bienmoc.storage.groupcommit.GroupWriter` passes False and checkpoints when
        its queue is idle."""
        st = _state(self.path)
        outer = st.current()
        if outer is not None:
            with outer.savepoint():
                yield outer
            return
        wait = self.lock_timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + wait
        if not st.lock.acquire(timeout=max(wait, 0.0)):
            raise StoreBusy(f"another writer of this process holds the store; waited {wait:g} s",
                            retry_after=1.0)
        try:
            with self._flock(deadline, wait):
                con = st.writer(self)
                left = max(deadline - time.monotonic(), 0.0)
                con.execute(f"PRAGMA busy_timeout = {int(left * 1000)}")
                mode = con.execute("PRAGMA journal_mode").fetchone()[0].lower()
                con.execute(f"PRAGMA synchronous = {'NORMAL' if mode == 'wal' else 'EXTRA'}")
                try:
                    con.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as e:
                    if _busy(e):
                        raise StoreBusy(f"another program holds the store's write lock; waited "
                                        f"{wait:g} s", retry_after=1.0) from None
                    raise StorageError(f"cannot write to store {self.uri}: {e}") from e
                tx = _Transaction(self, con)
                st.owner, st.tx = threading.get_ident(), tx
                changes = con.total_changes
                try:
                    st.prepare(con)
                    yield tx
                    if con.total_changes != changes:
                        sq.stamp(con, tx.touched)
                        con.execute(f"INSERT INTO {sq.META} VALUES ('writes', '1') ON CONFLICT"
                                    "(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
                    sq.fault("before-commit")
                    con.execute("COMMIT")
                except BaseException as e:
                    if con.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            con.execute("ROLLBACK")
                    if isinstance(e, sqlite3.OperationalError) and _busy(e):
                        raise StoreBusy(f"readers kept the store busy past {wait:g} s",
                                        retry_after=1.0) from None
                    if isinstance(e, sqlite3.Error):
                        raise StorageError(f"cannot write to store {self.uri}: {e}") from e
                    raise
                finally:
                    st.owner, st.tx = None, None
                if con.total_changes != changes:
                    sq.fault("after-commit")
                    st.sync(con)
                    if checkpoint and (tx.replaced or _wal_size(self.path) > _WAL_LIMIT):
                        st.checkpoint()
                    elif checkpoint:
                        st.checkpoint_later(self)
        finally:
            st.lock.release()

    def checkpoint(self) -> bool:
        """Copy the WAL's committed pages into the ``.gpkg`` file and empty the WAL (SQLite's
        ``wal_checkpoint(TRUNCATE)``), so that the file alone is complete. Skipped (False) when
        another writer is at work or readers keep it from finishing."""
        st = _state(self.path)
        if st.current() is not None or not self.path.exists():
            return False
        if not st.lock.acquire(timeout=0.2):
            return False
        try:
            with self._flock(time.monotonic() + 0.2, 0.2):
                st.writer(self)
                return st.checkpoint()
        except StoreBusy:
            return False
        finally:
            st.lock.release()

    @contextlib.contextmanager
    def _flock(self, deadline: float, wait: float) -> Iterator[None]:
        """Queue with the other bienmoc processes on ``<store>.lock`` (a side file: locks on
        the database file itself belong to SQLite)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT,
                     0o666)
        if not _flock_until(fd, deadline):
            raise StoreBusy(f"another writer holds the store; waited {wait:g} s",
                            retry_after=1.0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def recover(self) -> dict:
        """Finish what a killed writer left: roll back a hot journal (a read-write open does),
        and remove temporary copies older bienmoc versions left beside the store. Safe to call
        at any time (does nothing while another bienmoc writer is at work)."""
        report = {"journal_rolled_back": False, "removed": []}
        if not self.path.exists():
            return report
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return report
            try:
                report = self._recover_locked()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return report

    def _recover_locked(self) -> dict:
        report = {"journal_rolled_back": False, "removed": []}
        for tmp in self.path.parent.glob(f".{self.path.stem}-*.gpkg"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                report["removed"].append(str(tmp))
        journal = self.path.with_name(self.path.name + "-journal")
        had = journal.exists() and journal.stat().st_size > 0
        try:
            con = sq.connect(self.path, timeout=self.lock_timeout)
            try:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                con.close()
        except sqlite3.Error as e:
            raise StorageError(f"cannot recover store {self.uri}: {e}") from e
        report["journal_rolled_back"] = had and not (journal.exists()
                                                     and journal.stat().st_size > 0)
        return report


class _Transaction:
    """One write transaction of a :class:`GeoPackageStore` (the Transaction protocol of
    :mod:`bienmoc.storage.base`); every method runs SQL on the transaction's connection."""

    def __init__(self, store: GeoPackageStore, con: sqlite3.Connection):
        self.store, self.con = store, con
        self._depth = 0
        self._cols: dict[str, tuple] = {}
        self.touched: set[str] = set()  # layers written (stamped at commit)
        self.replaced = False

    def read(self, layer: str) -> gpd.GeoDataFrame:
        return self.store.read(layer)  # the thread's transaction: sees its own writes

    def _columns(self, layer: str, data=None) -> tuple[dict, str | None]:
        """The table's (columns, geometry column), created first if absent; cached for the
        transaction (only this transaction can change the schema while it runs)."""
        got = self._cols.get(layer)
        if got is None:
            sq.ensure_layer(self.con, layer, data)
            got = self._cols[layer] = (sq.table_columns(self.con, layer),
                                       sq.geometry_column(self.con, layer))
        return got

    def append(self, layer: str, data: gpd.GeoDataFrame) -> list[str]:
        if not len(data):
            return []
        con = self.con
        self._columns(layer, data)
        ids: list | None = None
        if "id" in data.columns:
            ids = [None if pd.isna(v) else str(v) for v in data["id"]]
            given = [v for v in ids if v is not None]
            seen: set = set()
            dup = [v for v in given if v in seen or seen.add(v)]
            dup += sq.taken_ids(con, layer, sorted(set(given)))
            if dup:
                raise DuplicateKey(layer, dup)
            missing = [i for i, v in enumerate(ids) if v is None]
            if missing and layer in SCHEMAS:
                schema = SCHEMAS[layer]
                if schema.id_prefix and layer != "markers":
                    new = sq.next_numbers(con, layer, schema.id_prefix, len(missing))
                else:
                    from bienmoc.model.schema import _new_ids
                    mask = pd.Series([v is None for v in ids], index=data.index)
                    new = _new_ids(schema, data, mask, None)
                for i, v in zip(missing, new):
                    ids[i] = v
        self._insert(layer, data, ids)
        sq.fault("after-insert")
        return ids or []

    def _insert(self, layer: str, data: gpd.GeoDataFrame, ids: list | None = None) -> None:
        names, rows = sq.rows_for(self.con, layer, data, self._columns(layer, data), ids)
        cols = ", ".join(sq.q(n) for n in names)
        marks = ", ".join("?" * len(names))
        try:
            if names:
                self.con.executemany(f"INSERT INTO {sq.q(layer)} ({cols}) VALUES ({marks})",
                                     rows)
            else:
                self.con.executemany(f"INSERT INTO {sq.q(layer)} DEFAULT VALUES",
                                     [()] * len(data))
        except sqlite3.IntegrityError as e:
            if "UNIQUE" in str(e) and sq.IDEMPOTENCY in str(e):
                raise DuplicateKey(layer, [str(k) for k in data[sq.IDEMPOTENCY].dropna()]
                                   ) from None
            if "UNIQUE" in str(e):
                raise DuplicateKey(layer, [str(v) for v in (ids or data.get("id", []))]
                                   ) from None
            raise
        if isinstance(data, gpd.GeoDataFrame) and data._geometry_column_name in data:
            sq.widen_extent(self.con, layer, data.geometry.values)
        self.touched.add(layer)

    def replace(self, layer: str, data: gpd.GeoDataFrame) -> None:
        """Replace the layer's rows in place (DELETE + INSERT in this transaction)."""
        con = self.con
        self._columns(layer, data)
        self.replaced = True
        con.execute(f"DELETE FROM {sq.q(layer)}")
        con.execute("UPDATE gpkg_contents SET min_x = NULL, min_y = NULL, max_x = NULL, "
                    "max_y = NULL WHERE table_name = ?", (layer,))
        if len(data):
            if "id" in data.columns:
                given = [str(v) for v in data["id"] if not pd.isna(v)]
                seen: set = set()
                dup = [v for v in given if v in seen or seen.add(v)]
                if dup:
                    raise DuplicateKey(layer, dup)
            self._insert(layer, data)
        else:
            self.touched.add(layer)

    def update_fields(self, layer, record_id, values, *, log_layer, note=None,
                      changed_at=None, user=None):
        when = changed_at or _dt.datetime.now(_dt.timezone.utc)
        return _update_values(self.con, layer, record_id, values, log_layer, note, when,
                              user=user)

    def lookup(self, layer: str, field: str, value) -> list[str]:
        cols = sq.table_columns(self.con, layer)
        if field not in cols or "id" not in cols:
            return []
        v = sq._to_sql(pd.Series([value], dtype=object), cols[field])[0]
        return [str(r[0]) for r in self.con.execute(
            f"SELECT id FROM {sq.q(layer)} WHERE {sq.q(field)} = ? ORDER BY fid", (v,))]

    def held_keys(self, layer: str, keys) -> set[str]:
        """Which of ``keys`` the layer's idempotency column holds (one query per 900 keys,
        not one per key: a field export brings thousands)."""
        if sq.IDEMPOTENCY not in sq.table_columns(self.con, layer):
            return set()
        keys = [str(k) for k in keys]
        found: set[str] = set()
        for i in range(0, len(keys), 900):  # SQLite's default limit of bound parameters: 999
            chunk = keys[i:i + 900]
            found.update(r[0] for r in self.con.execute(
                f"SELECT {sq.IDEMPOTENCY} FROM {sq.q(layer)} WHERE {sq.IDEMPOTENCY} IN "
                f"({','.join('?' * len(chunk))})", chunk))
        return found

    @contextlib.contextmanager
    def savepoint(self) -> Iterator["_Transaction"]:
        """Undo only what the block wrote when it raises (the transaction goes on)."""
        self._depth += 1
        name = f"bienmoc_sp{self._depth}"
        self.con.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            self.con.execute(f"ROLLBACK TO {name}")
            self.con.execute(f"RELEASE {name}")
            raise
        else:
            self.con.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1


def _update_values(con: sqlite3.Connection, layer: str, record_id: str,
                  values: Mapping[str, object], log_layer: str, note: str | None,
                  changed_at: _dt.datetime, user: str | None = None) -> dict[str, tuple]:
    """Change attribute values of one record and log each change (caller's transaction),
    naming ``user`` in the log's ``changed_by`` column (added to logs written before it
    existed: their older rows keep NULL, i.e. "not recorded")."""
    from bienmoc.errors import NotFound

    columns = sq.table_columns(con, layer)
    bad = [f for f in values if f not in columns or f in ("fid", sq.GEOM, "id", sq.IDEMPOTENCY)]
    if bad:
        raise StorageError(f"layer {layer!r} has no updatable field(s) {bad}")
    fields = list(values)
    sel = ", ".join(sq.q(f) for f in fields)
    row = con.execute(f"SELECT fid, {sel} FROM {sq.q(layer)} WHERE id = ?",
                      (record_id,)).fetchone()
    if row is None:
        raise NotFound(f"no record {record_id!r} in layer {layer!r}")
    fid, old = row[0], dict(zip(fields, row[1:]))
    changes = {f: (old[f], values[f]) for f in fields if old[f] != values[f]}
    if changes:
        log = pd.DataFrame({"record_id": pd.Series([], dtype=object),
                            "field": pd.Series([], dtype=object),
                            "old_value": pd.Series([], dtype=object),
                            "new_value": pd.Series([], dtype=object),
                            "changed_at": pd.Series([], dtype=object),
                            "note": pd.Series([], dtype=object),
                            "changed_by": pd.Series([], dtype=object)})
        sq.ensure_layer(con, log_layer, log)
        if "changed_by" not in sq.table_columns(con, log_layer):  # migrate an older log
            con.execute(f"ALTER TABLE {sq.q(log_layer)} ADD COLUMN changed_by TEXT")
        when = changed_at.astimezone(_dt.timezone.utc)
        text = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        sets = ", ".join(f"{sq.q(f)} = ?" for f in changes)
        con.execute(f"UPDATE {sq.q(layer)} SET {sets} WHERE fid = ?",
                    [*(v for _, v in changes.values()), fid])
        con.executemany(
            f"INSERT INTO {sq.q(log_layer)} (record_id, field, old_value, new_value, changed_at, "
            "note, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(record_id, f, o, n, text, note, user) for f, (o, n) in changes.items()])
        sq.stamp(con, (layer, log_layer))
    return changes


def _missing(layer: str, uri: str):
    from bienmoc.errors import NotFound

    raise NotFound(f"store {uri} has no layer {layer!r}")
