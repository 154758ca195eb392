"""Per-process writer state of GeoPackage stores: the writer connection, the lock queue, the
durability sync and WAL checkpoints (used by :mod:`bienmoc.storage.geopackage`)."""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bienmoc.errors import StorageError
from bienmoc.storage import sqlite as sq

if TYPE_CHECKING:
    from bienmoc.storage.geopackage import GeoPackageStore, _Transaction


class _PathState:
    """What one process keeps per store file: the writer lock of its threads, the writer
    connection (kept open, so that closing it does not checkpoint the WAL after every
    transaction) and the thread whose transaction is open."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.con: sqlite3.Connection | None = None
        self.ident: tuple | None = None  # (pid, inode) the connection belongs to
        self.ready: tuple | None = None  # (pid, inode) migrated
        self.owner: int | None = None
        self.tx: _Transaction | None = None
        self.synced_wal: int | None = None  # inode of the WAL whose folder entry was fsynced
        self.timer: threading.Thread | None = None  # pending idle checkpoint
        self.last_write = 0.0

    def current(self) -> _Transaction | None:
        return self.tx if self.owner == threading.get_ident() else None

    def writer(self, store: GeoPackageStore) -> sqlite3.Connection:
        pid = os.getpid()
        try:
            ino = self.path.stat().st_ino
        except FileNotFoundError:
            ino = None
        if self.con is not None and self.ident == (pid, ino) and ino is not None:
            return self.con
        if self.con is not None and self.ident and self.ident[0] == pid:
            with contextlib.suppress(sqlite3.Error):
                self.con.close()
        elif self.con is not None:  # inherited through fork(): never used, never closed
            _INHERITED.append(self.con)
        self.con = None
        if ino is not None:
            store._recover_locked()  # (the caller holds the flock)
        try:
            con = sq.connect(self.path, timeout=store.lock_timeout)
            mode = con.execute("PRAGMA journal_mode").fetchone()[0].lower()
            if store.journal == "wal" and mode != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            elif store.journal != "wal" and mode == "wal":
                con.execute(f"PRAGMA journal_mode = {store.journal.upper()}")
            con.execute("PRAGMA wal_autocheckpoint = 4000")
        except sqlite3.Error as e:
            raise StorageError(f"cannot open store {store.uri} for writing: {e}") from e
        self.con, self.ident = con, (pid, self.path.stat().st_ino)
        return con

    def prepare(self, con: sqlite3.Connection) -> None:
        """Inside the first transaction of a process: make the file a GeoPackage 1.2 and
        migrate older stores (unique ids, idempotency column, generic geometry, DATE)."""
        if self.ready == self.ident:
            return
        if con.execute("PRAGMA application_id").fetchone()[0] != sq.APPLICATION_ID:
            sq.create_base(con)
        level = con.execute(f"SELECT value FROM {sq.META} WHERE key = 'migration'"
                            ).fetchone() if sq.has_table(con, sq.META) else None
        if level is None or level[0] != sq.migration_level():
            names = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]
            sq.migrate(con, names)
        self.ready = self.ident

    def checkpoint(self) -> bool:
        con = self.con
        if con is None:
            return False
        try:
            con.execute("PRAGMA busy_timeout = 100")
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return not busy
        except sqlite3.Error:
            return False

    def checkpoint_later(self, store: GeoPackageStore, delay: float = 0.25) -> None:
        """Checkpoint once no write came for ``delay`` seconds (one timer per file)."""
        self.last_write = time.monotonic()
        if self.timer is not None and self.timer.is_alive():
            return  # the running timer sees last_write and waits on

        def run() -> None:
            while True:
                idle = time.monotonic() - self.last_write
                if idle < delay:
                    time.sleep(delay - idle)
                    continue
                if store.checkpoint() or time.monotonic() - self.last_write >= delay:
                    return

        self.timer = threading.Thread(target=run, name="bienmoc-checkpoint", daemon=True)
        self.timer.start()

    def close(self) -> None:
        if self.con is not None and self.ident and self.ident[0] == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self.con.close()  # the last connection checkpoints and removes the WAL
        self.con = None

    def sync(self, con: sqlite3.Connection) -> None:
        """Make the committed transaction durable before the write returns: in WAL mode fsync
        the ``-wal`` file (and, once per WAL file, the folder that lists it); in a rollback
        journal mode SQLite already synced journal, file and folder (``synchronous=EXTRA``)."""
        wal = _wal(self.path)
        try:
            ino = wal.stat().st_ino
        except FileNotFoundError:
            return
        sq.fsync_path(wal)
        if ino != self.synced_wal:
            sq.fsync_path(self.path.parent)
            self.synced_wal = ino


_STATES: dict[Path, _PathState] = {}
_INHERITED: list = []  # connections a forked child must not close (the parent's, in its memory)
_STATES_GUARD = threading.Lock()


@atexit.register
def _close_all() -> None:
    for st in list(_STATES.values()):
        if st.lock.acquire(timeout=1.0):
            try:
                st.close()
            finally:
                st.lock.release()


def _state(path: Path) -> _PathState:
    with _STATES_GUARD:
        st = _STATES.get(path)
        if st is None:
            st = _STATES[path] = _PathState(path)
        return st


def _flock_until(fd: int, deadline: float) -> bool:
    """Take an exclusive flock on ``fd`` by ``deadline``; False (and ``fd`` is closed, now or
    when the kernel grants the lock) if it cannot.

    Waiting writers block in the kernel rather than poll with sleeps (polling lets a process
    that just released take the lock again and starves others: p99 of seconds with 8
    processes). flock() has no timeout, so a helper thread blocks in it; a caller that gives
    up leaves the descriptor to that thread, which releases and closes it once granted.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    guard = threading.Lock()
    state = {"got": False, "abandoned": False}
    granted = threading.Event()

    def waiter() -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with guard:
            if state["abandoned"]:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                return
            state["got"] = True
        granted.set()

    threading.Thread(target=waiter, name="bienmoc-flock", daemon=True).start()
    granted.wait(max(deadline - time.monotonic(), 0.0))
    with guard:
        if state["got"]:
            return True
        state["abandoned"] = True
        return False


_WAL_LIMIT = 4 << 20  # bytes of WAL after which a transaction checkpoints at once


def _wal_size(path: Path) -> int:
    try:
        return os.stat(_wal(path)).st_size
    except FileNotFoundError:
        return 0


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _busy(e: Exception) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text
