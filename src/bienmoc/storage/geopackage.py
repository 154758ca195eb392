"""The embedded default store: one GeoPackage file.

Writes are copy-on-write: the current file is copied with SQLite's online backup API to a
temporary file beside it, the change is written there with pyogrio, the copy is fsynced and then
renamed over the original (``os.replace`` is atomic on POSIX). Readers therefore see the old file
or the new one, never a half-written layer, and a crash leaves the old file intact. An exclusive
``flock`` on a side file serialises writers. (OGR's own overwrite mode deletes the old layer
before writing the new one, outside any transaction, which is why it is not used in place.)

Appending to one existing layer is done **in place** instead (copying a 70 MB file to add one
incident took seconds): under the same lock, pyogrio's append writes every new row inside one
GDAL dataset transaction (``GDALDatasetStartTransaction`` ... ``Commit``, i.e. one SQLite
transaction in the default rollback-journal mode), so readers see all of the new rows or none;
GDAL leaves SQLite at ``synchronous=FULL`` (it fsyncs the journal and the file at commit) and the
folder is fsynced after the journal's deletion (SQLite's ``EXTRA`` level), so a returned append
survives a crash or power loss. The in-place path is taken only when it writes exactly what the
copy would (same columns in the same order, compatible types, the layer's geometry type);
otherwise appends go through the copy. Appends refuse rows whose ``id`` is already stored
(:class:`DuplicateKey`), so two processes that picked the same next id cannot both write it.

What a writer killed in the middle leaves behind is handled where it is read:

* SQLite's hot journal: read-only openers (GDAL's) cannot roll it back and would fail, so every
  read first lets a read-write connection do it (:meth:`GeoPackageStore._recover`).
* GDAL's cached feature count: GDAL stores the count it keeps in memory in a transaction after
  the rows', and pyogrio cuts reads to that count; the count is set to unknown before each
  in-place append, and the store's reads use a row filter so that GDAL counts the rows.
* Two SQLite libraries (GDAL's and Python's) open the file in one process; their POSIX locks
  interfere, so a process-wide lock keeps their uses apart (:func:`_file_lock`).

:meth:`GeoPackageStore.update_fields` changes attribute values of one record in place, in one
SQLite transaction that also appends an audit row (old and new value) to a change-log layer.
Query helpers for caches (:meth:`~GeoPackageStore.layer_state`,
:meth:`~GeoPackageStore.read_rows`) let a reader pick up just the rows appended since it last
looked. No SQL is ever built from data: identifiers are layer/field names from the schema,
quoted, and values are bound parameters.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

import geopandas as gpd
import pandas as pd
import pyogrio

from bienmoc.errors import StorageError
from bienmoc.model.schema import LAYERS, conform, empty_layer
from bienmoc.storage.base import WriteMode

__all__ = ["GeoPackageStore", "DuplicateKey"]


class DuplicateKey(StorageError):
    """An append would store an ``id`` that the layer already holds (nothing was written)."""

    def __init__(self, layer: str, ids: list[str]):
        self.layer, self.ids = layer, list(ids)
        super().__init__(f"layer {layer!r} already holds id(s) {', '.join(map(str, ids[:5]))}")


class GeoPackageStore:
    """A bienmoc store in a GeoPackage file (created on first write)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser().resolve()
        self.uri = str(self.path)
        self._vfd: tuple[int, int] | None = None  # (fd, inode) kept open for version()

    def __repr__(self) -> str:
        return f"GeoPackageStore({self.uri!r})"

    # -- reading ---------------------------------------------------------------------------
    def _recover(self) -> None:
        """Finish what a writer killed mid-transaction left behind, before reading.

        An in-place write killed before its commit leaves SQLite's hot journal beside the
        file; read-only openers (GDAL's, ``mode=ro``) cannot roll it back and fail ("attempt
        to write a readonly database") until a read-write connection has. So when a journal
        is there and no bienmoc writer holds the lock, one read through a read-write
        connection lets SQLite roll the unfinished transaction back (it leaves a journal that
        another program's live transaction still owns alone: that one is not hot).
        """
        journal = self.path.with_name(self.path.name + "-journal")
        if not journal.exists() or self.path in _HELD.__dict__.get("paths", ()):
            return
        try:
            fh = open(self.path.with_name(self.path.name + ".lock"), "a")
        except OSError:
            return
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a writer is at work: its journal is not hot
                return
            try:
                con = sqlite3.connect(self.path, timeout=30)
                try:
                    con.execute("SELECT count(*) FROM sqlite_master").fetchone()
                finally:
                    con.close()
            except sqlite3.Error:  # a read-only file: nothing this process can do
                pass
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def layers(self) -> list[str]:
        if not self.path.exists():
            return []
        with _file_lock(self.path):
            self._recover()
            try:
                return [str(name) for name, _ in pyogrio.list_layers(self.path)]
            except Exception as e:  # pyogrio raises DataSourceError and friends
                raise StorageError(f"cannot open store {self.uri}: {e}") from e

    def read(self, layer: str, *, bbox=None) -> gpd.GeoDataFrame:
        with _file_lock(self.path):
            if layer not in self.layers():  # (layers() recovers an interrupted write first)
                return empty_layer(layer) if layer in LAYERS else _missing(layer, self.uri)
            try:
                # the constant filter makes GDAL count the rows instead of trusting its cached
                # feature count, which reads are cut to (a writer that died between GDAL's
                # transactions could leave it stale)
                df = pyogrio.read_dataframe(self.path, layer=layer, bbox=bbox, where=_ALL,
                                            use_arrow=False)
            except Exception as e:
                raise StorageError(f"cannot read layer {layer!r} from {self.uri}: {e}") from e
        return conform(layer, df) if layer in LAYERS else df

    def version(self) -> str:
        # inode (a copy-on-write replace), mtime and size, and SQLite's file change counter
        # (header bytes 24..27, bumped by every committed write transaction in rollback-journal
        # mode): mtime alone has a coarse clock, two in-place appends may share it. The counter
        # is read through a descriptor kept open (per inode): closing a descriptor of the file
        # would drop the POSIX locks SQLite holds on it in this process (see _file_lock).
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "empty"
        try:
            counter = int.from_bytes(os.pread(self._version_fd(st.st_ino), 4, 24), "big")
        except OSError:
            return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}-?"
        return f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}-{counter:x}"

    def _version_fd(self, ino: int) -> int:
        held = self._vfd
        if held is not None and held[1] == ino:
            return held[0]
        with _file_lock(self.path):
            fd = os.open(self.path, os.O_RDONLY)
            self._vfd = (fd, os.fstat(fd).st_ino)
            # the descriptor of a replaced inode stays open (closing it could drop a lock a
            # reader of that old file holds); one per replace, reclaimed with the store
            if held is not None:
                _OLD_FDS.append(held[0])
            return fd

    # -- query helpers (for caches) --------------------------------------------------------
    def layer_state(self, layer: str) -> tuple | None:
        """A cheap token of one layer's content: ``(inode, rows, max fid, last_change)``,
        or None when the layer is absent.

        Rows appended in place keep the inode and raise the row count and the largest fid by
        the same number; any other change (a replace, an update) changes the inode or GDAL's/
        :meth:`update_fields`' ``last_change``.
        """
        if not self.path.exists():
            return None
        with _file_lock(self.path):
            return self._layer_state(layer)

    def _layer_state(self, layer: str) -> tuple | None:
        self._recover()
        try:
            con = _connect_ro(self.path)
        except sqlite3.Error:
            return None
        try:
            ino = self.path.stat().st_ino
            row = con.execute("SELECT last_change FROM gpkg_contents WHERE table_name = ?",
                              (layer,)).fetchone()
            if row is None:
                return None
            top, n = con.execute(f"SELECT max(fid), count(*) FROM {_q(layer)}").fetchone()
            return (ino, int(n), int(top or 0), row[0])
        except sqlite3.Error as e:
            raise StorageError(f"cannot inspect layer {layer!r} of {self.uri}: {e}") from e
        finally:
            con.close()

    def _has_layer(self, layer: str) -> bool:
        """Is ``layer`` registered in the file (a cheap look at gpkg_contents)?"""
        if not self.path.exists():
            return False
        with _file_lock(self.path):
            self._recover()
            try:
                con = _connect_ro(self.path)
            except sqlite3.Error:
                return layer in self.layers()
            try:
                return con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?",
                                   (layer,)).fetchone() is not None
            except sqlite3.Error:
                return layer in self.layers()
            finally:
                con.close()

    def read_rows(self, layer: str, *, after_fid: int = 0, fids=None
                  ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
        """The layer's rows whose fid is above ``after_fid`` (all rows by default), or the
        rows ``fids``, in fid order, with canonical dtypes, and their fids."""
        with _file_lock(self.path):
            if not self._has_layer(layer):
                empty = empty_layer(layer) if layer in LAYERS else _missing(layer, self.uri)
                return empty, np.empty(0, dtype=np.int64)
            try:
                # after_fid is an int from our own bookkeeping, never request text (and a
                # filter, as in read(), makes GDAL count rather than trust its cached count)
                kw = {"fids": np.asarray(fids, dtype=np.int64)} if fids is not None else \
                    {"where": f"fid > {int(after_fid)}"}
                df = pyogrio.read_dataframe(self.path, layer=layer, fid_as_index=True,
                                            use_arrow=False, **kw)
            except Exception as e:
                raise StorageError(f"cannot read layer {layer!r} from {self.uri}: {e}") from e
        df = df.sort_index(kind="stable")
        fids = df.index.to_numpy(dtype=np.int64)
        df = df.reset_index(drop=True)
        return (conform(layer, df) if layer in LAYERS else df), fids

    def check(self) -> list[str]:
        """Integrity problems of the file (empty list: healthy): SQLite's ``PRAGMA
        quick_check`` and one feature read from every layer. Messages never name the path."""
        if not self.path.exists():
            return []
        problems: list[str] = []
        with _file_lock(self.path):
            self._recover()
            try:
                con = _connect_ro(self.path)
                try:
                    rows = con.execute("PRAGMA quick_check").fetchall()
                finally:
                    con.close()
                problems += [str(r[0]) for r in rows if str(r[0]) != "ok"]
            except sqlite3.Error as e:
                problems.append(f"integrity check failed: {e}")
            if problems:
                return problems
            try:
                names = [str(n) for n, _ in pyogrio.list_layers(self.path)]
            except Exception as e:  # noqa: BLE001 - pyogrio's DataSourceError and friends
                return [f"cannot list layers: {type(e).__name__}"]
            for name in names:
                try:
                    pyogrio.read_dataframe(self.path, layer=name, max_features=1,
                                           use_arrow=False)
                except Exception as e:  # noqa: BLE001
                    problems.append(f"layer {name!r} is not readable: {type(e).__name__}")
        return problems

    # -- writing ---------------------------------------------------------------------------
    def write(self, layer: str, data: gpd.GeoDataFrame, *, mode: WriteMode = "replace") -> None:
        self.write_many({layer: data}, mode=mode)

    def write_many(self, layers: Mapping[str, gpd.GeoDataFrame], *,
                   mode: WriteMode = "replace") -> None:
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if mode == "append" and len(layers) == 1:
                (name, data), = layers.items()
                with _file_lock(self.path):
                    if self._append_in_place(name, data):
                        return
            with self._staging() as tmp:
                present = set(_layers_of(tmp))
                for name, data in layers.items():
                    if mode == "append" and name in present:
                        old = conform(name, pyogrio.read_dataframe(tmp, layer=name)) \
                            if name in LAYERS else pyogrio.read_dataframe(tmp, layer=name)
                        _check_new_ids(name, data, old.get("id"))
                        data = pd.concat([old, data], ignore_index=True)
                        data = gpd.GeoDataFrame(data, geometry="geometry", crs=old.crs)
                    _write_layer(tmp, name, data)

    # -- in place --------------------------------------------------------------------------
    def _append_in_place(self, name: str, data: gpd.GeoDataFrame) -> bool:
        """Append ``data`` to the existing layer ``name`` inside the live file (lock held).

        Returns False, having written nothing, when the in-place write would not store
        exactly what the copy-on-write path stores; the caller then takes that path.
        """
        if not len(data) or not self.path.exists() or not _durable_gdal_settings():
            return False
        try:
            info = pyogrio.read_info(self.path, layer=name)
        except Exception:  # no such layer (or not a readable one): the copy path decides
            return False
        data = _prepare(data)
        geom_name = data.geometry.name
        cols = [c for c in data.columns if c != geom_name]
        if list(info["fields"]) != cols:
            return False
        for col, have in zip(cols, info["dtypes"]):
            if not _compatible(str(data[col].dtype), str(have), data[col]):
                return False
        layer_type = str(info.get("geometry_type") or "Unknown")
        types = set(data.geometry.dropna().geom_type.unique())
        if layer_type not in ("Unknown", "Geometry") and not types <= {layer_type}:
            return False
        if "id" in cols:
            self._refuse_stored_ids(name, [v for v in data["id"] if v is not None])
        _forget_feature_count(self.path, name)
        try:
            pyogrio.write_dataframe(data, self.path, layer=name, driver="GPKG", append=True,
                                    promote_to_multi=False)
        except Exception as e:
            raise StorageError(f"cannot append to layer {name!r} of {self.uri}: {e}") from e
        _fsync_file_and_dir(self.path)
        return True

    def _refuse_stored_ids(self, name: str, ids: list) -> None:
        _check_new_ids(name, pd.DataFrame({"id": ids}), None)
        con = _connect_ro(self.path)
        try:
            taken: list[str] = []
            for k in range(0, len(ids), 500):
                chunk = [str(v) for v in ids[k:k + 500]]
                marks = ",".join("?" * len(chunk))
                taken += [r[0] for r in con.execute(
                    f"SELECT id FROM {_q(name)} WHERE id IN ({marks})", chunk)]
        except sqlite3.Error as e:
            raise StorageError(f"cannot check ids of layer {name!r}: {e}") from e
        finally:
            con.close()
        if taken:
            raise DuplicateKey(name, taken)

    def update_fields(self, layer: str, record_id: str, values: Mapping[str, object], *,
                      log_layer: str, changed_at: _dt.datetime | None = None,
                      note: str | None = None) -> dict[str, tuple]:
        """Set attribute ``values`` of the record whose ``id`` is ``record_id``, in place, and
        append one row per changed field to the change log ``log_layer`` (record_id, field,
        old_value, new_value, changed_at, note), in one durable SQLite transaction.

        Only non-geometry attribute columns can change (no geometry is re-encoded). Values must
        already be validated and canonical (text, or None). Returns {field: (old, new)} of the
        fields that changed (unchanged values write nothing). Raises NotFound for an unknown
        id.
        """
        from bienmoc.errors import NotFound

        changed_at = changed_at or _dt.datetime.now(_dt.timezone.utc)
        stamp = changed_at.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{changed_at.microsecond // 1000:03d}Z"
        with self._lock(), _file_lock(self.path):
            if not self._has_layer(log_layer):  # created once, atomically, by the copy path
                self._create_log_layer(log_layer)
            con = _connect_rw(self.path)
            try:
                con.execute("PRAGMA synchronous = EXTRA")  # FULL + fsync of the folder
                columns = {r[1] for r in con.execute(f"PRAGMA table_info({_q(layer)})")}
                bad = [f for f in values if f not in columns or f in ("fid", "geom", "id")]
                if bad:
                    raise StorageError(f"layer {layer!r} has no updatable field(s) {bad}")
                fields = list(values)
                con.execute("BEGIN IMMEDIATE")
                try:
                    sel = ", ".join(_q(f) for f in fields)
                    row = con.execute(f"SELECT fid, {sel} FROM {_q(layer)} WHERE id = ?",
                                      (record_id,)).fetchone()
                    if row is None:
                        raise NotFound(f"no record {record_id!r} in layer {layer!r}")
                    fid, old = row[0], dict(zip(fields, row[1:]))
                    changes = {f: (old[f], values[f]) for f in fields if old[f] != values[f]}
                    if changes:
                        sets = ", ".join(f"{_q(f)} = ?" for f in changes)
                        con.execute(f"UPDATE {_q(layer)} SET {sets} WHERE fid = ?",
                                    [*(v for _, v in changes.values()), fid])
                        con.executemany(
                            f"INSERT INTO {_q(log_layer)} (record_id, field, old_value, "
                            "new_value, changed_at, note) VALUES (?, ?, ?, ?, ?, ?)",
                            [(record_id, f, o, n, stamp, note) for f, (o, n) in changes.items()])
                        con.execute("UPDATE gpkg_contents SET last_change = ? "
                                    "WHERE table_name IN (?, ?)", (stamp, layer, log_layer))
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise StorageError(f"cannot update {record_id!r} in {layer!r}: {e}") from e
            finally:
                con.close()
            if changes:
                _fsync_file_and_dir(self.path)
        return changes

    def _create_log_layer(self, log_layer: str) -> None:
        empty = gpd.GeoDataFrame(
            {"record_id": pd.Series([], dtype=object), "field": pd.Series([], dtype=object),
             "old_value": pd.Series([], dtype=object), "new_value": pd.Series([], dtype=object),
             "changed_at": pd.Series([], dtype=object), "note": pd.Series([], dtype=object)},
            geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
        with self._staging() as tmp:
            try:
                pyogrio.write_dataframe(empty.drop(columns="geometry"), tmp, layer=log_layer,
                                        driver="GPKG")
            except Exception as e:
                raise StorageError(f"cannot create layer {log_layer!r}: {e}") from e

    #: seconds a writer waits for another writer's lock before StoreBusy
    lock_timeout: float = 30.0

    @contextlib.contextmanager
    def transaction(self, *, timeout: float | None = None) -> Iterator["_Transaction"]:
        """A read-validate-write sequence under the write lock (see :class:`Store`).

        Writes are buffered and committed at the end through :meth:`write_many` (appends to
        one layer in place, anything else copy-on-write), so they are atomic together.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(timeout):
            tx = _Transaction(self)
            yield tx
            tx._commit()

    @contextlib.contextmanager
    def _lock(self, timeout: float | None = None) -> Iterator[None]:
        # re-entrant within a thread (update_fields may create its log layer under the lock)
        from bienmoc.errors import StoreBusy

        held = _HELD.__dict__.setdefault("paths", set())
        if self.path in held:
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        wait = self.lock_timeout if timeout is None else timeout
        with open(lock_path, "a") as fh:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreBusy(f"another writer holds the store; waited {wait:g} s",
                                        retry_after=1.0) from None
                    time.sleep(0.005)
            held.add(self.path)
            try:
                yield
            finally:
                held.discard(self.path)
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}-", suffix=".gpkg",
                                    dir=self.path.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            if self.path.exists():
                # SQLite's backup API gives a consistent copy even while others read.
                with _file_lock(self.path):
                    src = sqlite3.connect(self.path)
                    dst = sqlite3.connect(tmp)
                    try:
                        src.backup(dst)
                    finally:
                        dst.close()
                        src.close()
            else:
                tmp.unlink()
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise


class _Transaction:
    """Buffered writes of one :meth:`GeoPackageStore.transaction` (see the Transaction
    protocol in :mod:`bienmoc.storage.base`)."""

    def __init__(self, store: GeoPackageStore):
        self.store = store
        self._frames: dict[str, gpd.GeoDataFrame] = {}   # full content of replaced layers
        self._appended: dict[str, list[gpd.GeoDataFrame]] = {}
        self._updates: list[tuple] = []

    def read(self, layer: str) -> gpd.GeoDataFrame:
        base = self._frames[layer] if layer in self._frames else self.store.read(layer)
        extra = self._appended.get(layer)
        if not extra:
            return base
        return gpd.GeoDataFrame(pd.concat([base, *extra], ignore_index=True),
                                geometry="geometry", crs=base.crs)

    def append(self, layer: str, data: gpd.GeoDataFrame) -> list[str]:
        from bienmoc.model.schema import SCHEMAS, _new_ids

        data = data.copy()
        if "id" in data.columns:
            current = self.read(layer)
            missing = data["id"].isna()
            if missing.any() and layer in SCHEMAS:
                data.loc[missing, "id"] = _new_ids(SCHEMAS[layer], data, missing, current)
            _check_new_ids(layer, data, current["id"] if "id" in current else None)
        self._appended.setdefault(layer, []).append(data)
        return [str(v) for v in data["id"]] if "id" in data.columns else []

    def replace(self, layer: str, data: gpd.GeoDataFrame) -> None:
        self._frames[layer] = data
        self._appended.pop(layer, None)

    def update_fields(self, layer, record_id, values, *, log_layer, note=None):
        if self._frames or self._appended:
            raise StorageError("update_fields must come before other writes in a transaction")
        return self.store.update_fields(layer, record_id, values, log_layer=log_layer, note=note)

    def lookup(self, layer: str, field: str, value) -> list[str]:
        df = self.read(layer)
        if field not in df or "id" not in df:
            return []
        return [str(v) for v in df.loc[df[field] == value, "id"]]

    def _commit(self) -> None:
        if not self._frames and len(self._appended) == 1:
            (name, parts), = self._appended.items()
            data = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                                    crs=parts[0].crs)
            self.store.write(name, data, mode="append")
            return
        changed = set(self._frames) | set(self._appended)
        if changed:
            self.store.write_many({n: self.read(n) for n in changed}, mode="replace")


_HELD = threading.local()  # store paths whose write lock this thread holds
_ALL = "1 = 1"  # a constant row filter (see GeoPackageStore.read)
_OLD_FDS: list[int] = []  # version() descriptors of replaced files (see _version_fd)
_FILE_LOCKS: dict[Path, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.RLock:
    """The process-wide lock of one store file, held while it is open for reading or writing.

    Two SQLite libraries open the file in one process: GDAL's (statically linked in pyogrio's
    wheel) and Python's ``sqlite3``. SQLite's locks are POSIX advisory locks, which belong to
    the process: when either library closes a descriptor of the file, every lock the process
    holds on it goes, including a lock the other library relies on in another thread (SQLite's
    "multiple copies of SQLite" hazard). Holding this lock across every open..close of the
    file by either library keeps their uses apart within a process; between processes the
    POSIX locks work as designed.
    """
    with _FILE_LOCKS_GUARD:
        lock = _FILE_LOCKS.get(path)
        if lock is None:
            lock = _FILE_LOCKS[path] = threading.RLock()
        return lock


def _forget_feature_count(path: Path, layer: str) -> None:
    """Set GDAL's cached feature count of ``layer`` to unknown (NULL) before GDAL appends.

    GDAL keeps a count it knows in memory during a write session and stores it after the rows'
    transaction; a writer killed between the two would leave a stale count, and readers that
    trust it (pyogrio cuts reads to it) would miss rows. Unknown, GDAL counts the rows.
    """
    try:
        con = _connect_rw(path)
    except sqlite3.Error:
        return
    try:
        con.execute("PRAGMA synchronous = FULL")
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = NULL WHERE "
                    "lower(table_name) = lower(?) AND feature_count IS NOT NULL", (layer,))
    except sqlite3.Error:  # no gpkg_ogr_contents table: GDAL counts anyway
        pass
    finally:
        con.close()


def _q(name: str) -> str:
    """A quoted SQLite identifier (layer and field names come from code, never requests)."""
    return '"' + str(name).replace('"', '""') + '"'


def _gpkg_geometry(blob):
    """The shapely geometry of a GeoPackage geometry blob (header + WKB), None if missing."""
    if blob is None:
        return None
    b = bytes(blob)
    if b[:2] != b"GP":
        return None
    envelope = (b[3] >> 1) & 0x07
    start = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(envelope, 0)
    import shapely

    return shapely.from_wkb(b[start:])


def _gpkg_is_empty(blob):
    if blob is None:
        return None
    if len(blob) > 3 and bytes(blob[:2]) == b"GP" and (blob[3] >> 4) & 1:
        return 1
    g = _gpkg_geometry(blob)
    return 1 if g is None or g.is_empty else 0


def _gpkg_bound(i: int):
    def f(blob):
        g = _gpkg_geometry(blob)
        return None if g is None or g.is_empty else float(g.bounds[i])
    return f


def _connect_rw(path: Path) -> sqlite3.Connection:
    """A write connection with the SQL functions GDAL's R-tree triggers name.

    An UPDATE of an attribute column compiles the layer's ``AFTER UPDATE`` triggers, whose
    WHEN clauses call ``ST_IsEmpty``/``ST_MinX``...; they do not fire when the geometry and fid
    are unchanged (the only updates made here), but SQLite needs the functions to exist. They
    are registered with the GeoPackage meaning anyway (the blob's empty flag and its envelope).
    """
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.create_function("ST_IsEmpty", 1, _gpkg_is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")):
        con.create_function(name, 1, _gpkg_bound(i), deterministic=True)
    return con


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=30)


def _durable_gdal_settings() -> bool:
    """False if GDAL was told to skip SQLite's syncs or journal (then appends take the copy
    path, which fsyncs the whole new file itself)."""
    sync = (pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") or "").upper()
    journal = (pyogrio.get_gdal_config_option("OGR_SQLITE_JOURNAL") or "").upper()
    return sync in ("", "FULL", "EXTRA", "2", "3") and journal in ("", "DELETE", "TRUNCATE",
                                                                   "PERSIST")


def _fsync_file_and_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _check_new_ids(name: str, data: pd.DataFrame, old_ids) -> None:
    if "id" not in data:
        return
    new = [v for v in data["id"] if not pd.isna(v)]
    seen, dup = set(), []
    for v in new:
        (dup.append(v) if v in seen else seen.add(v))
    if old_ids is not None:
        dup += sorted(seen & set(old_ids.dropna()))
    if dup:
        raise DuplicateKey(name, dup)


def _prepare(data: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    data = data.copy()
    # pyogrio writes numpy bools as OGR booleans; a nullable pandas boolean would go out as
    # text, so flags (never null after validation: missing means False) become numpy bools.
    for col in data.columns:
        if col != data.geometry.name and str(data[col].dtype) == "boolean":
            data[col] = data[col].fillna(False).astype(bool)
    return data


def _compatible(new: str, have: str, values: pd.Series) -> bool:
    """Would pyogrio write a column of dtype ``new`` into a stored field read as ``have``
    without changing what reads back?"""
    if new in ("object", "str", "string"):  # text (pandas 3 infers "str" for new columns);
        # an object column with no value at all is written as nulls, whatever the field
        return have == "object" or all(v is None for v in values)
    if new.startswith("datetime64"):
        return have.startswith("datetime64") or values.isna().all()
    if new in ("Int64", "int64", "int32"):
        return have in ("int64", "int32") or values.isna().all()
    if new == "float64":
        return have == "float64" or values.isna().all()
    if new == "bool":
        return have == "bool"
    return False


def _layers_of(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [str(n) for n, _ in pyogrio.list_layers(path)]


def _write_layer(path: Path, name: str, data: gpd.GeoDataFrame) -> None:
    data = _prepare(data)
    geom_type = _geometry_type(data)
    try:
        pyogrio.write_dataframe(data, path, layer=name, driver="GPKG",
                                geometry_type=geom_type, promote_to_multi=False,
                                layer_options={"OVERWRITE": "YES"})
    except Exception as e:
        raise StorageError(f"cannot write layer {name!r}: {e}") from e


def _geometry_type(data: gpd.GeoDataFrame) -> str:
    types = set(data.geometry.dropna().geom_type.unique()) if len(data) else set()
    if len(types) == 1:
        return types.pop()
    return "Unknown"


def _missing(layer: str, uri: str):
    from bienmoc.errors import NotFound

    raise NotFound(f"store {uri} has no layer {layer!r}")
