"""Connections of the PostGIS store: psycopg (imported lazily), the URL, a small pool, and
the ``geometry`` type sent in binary (EWKB)."""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bienmoc.errors import StorageError

def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise StorageError("a postgresql:// store needs psycopg 3: pip install "
                           "'bienmoc[postgis]'") from None
    return psycopg


class _EWKB(bytes):
    """A geometry as EWKB, sent in binary to a ``geometry`` parameter or COPY column."""


def _result_sets(cur) -> list[list]:
    """The rows of each statement of a multi-statement query that returns rows."""
    out = []
    while True:
        if cur.description is not None:
            out.append(cur.fetchall())
        if not cur.nextset():
            return out


def _register_geometry(con) -> None:
    """Teach a connection to send :class:`_EWKB` as PostGIS ``geometry`` (binary format:
    PostGIS's binary input is EWKB)."""
    psycopg = _psycopg()
    from psycopg.adapt import Dumper
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(con, "geometry")
    if info is None:
        raise StorageError("the database has no PostGIS (run: bienmoc store init)")
    info.register(con)

    class GeomDumper(Dumper):
        format = psycopg.pq.Format.BINARY
        oid = info.oid

        def dump(self, obj):
            return bytes(obj)

    con.adapters.register_dumper(_EWKB, GeomDumper)


class _Pool:
    """Idle connections kept for reuse (psycopg_pool is not a dependency; this is the few
    lines bienmoc needs: take, give back if healthy, forget them after fork)."""

    def __init__(self, conninfo: str, keep: int = 8):
        self.conninfo, self.keep = conninfo, keep
        self._idle: list = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _connect(self):
        psycopg = _psycopg()
        try:
            con = psycopg.connect(self.conninfo, autocommit=True)
        except psycopg.Error as e:
            detail = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
            raise StorageError(f"cannot connect to the PostgreSQL store: {detail}") from None
        try:
            _register_geometry(con)
        except psycopg.Error:
            pass  # no postgis yet: migrate() creates it, the next connection registers
        return con

    @contextlib.contextmanager
    def connection(self) -> Iterator:
        psycopg = _psycopg()
        with self._lock:
            if self._pid != os.getpid():  # inherited through fork: never use nor close
                self._idle, self._pid = [], os.getpid()
            con = self._idle.pop() if self._idle else None
        if con is None or con.closed:
            con = self._connect()
        try:
            yield con
        finally:
            healthy = (not con.closed and con.info.transaction_status
                       == psycopg.pq.TransactionStatus.IDLE)
            if healthy and not con.broken:
                with self._lock:
                    if len(self._idle) < self.keep and self._pid == os.getpid():
                        self._idle.append(con)
                        con = None
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            with contextlib.suppress(Exception):
                con.close()


def parse_url(uri: str) -> tuple[str, str]:
    """(libpq conninfo URL without bienmoc's parameters, schema name)."""
    parts = urlsplit(uri)
    params = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in params if k == "schema"), "") or "bienmoc"
    rest = [(k, v) for k, v in params if k != "schema"]
    scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), "")), schema


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{parts.username}@{host}", parts.path, parts.query,
                       parts.fragment))
