"""A private, throw-away PostgreSQL + PostGIS cluster for the tests (one per test session).

``initdb`` under a temp dir, its own port on 127.0.0.1 and socket directory, fsync off and small
buffers, stopped and removed at the end whatever the tests did. Without PostgreSQL + PostGIS
(or psycopg) the tests that need it are skipped - except in CI (``CI`` set), where
``.ci/system-deps`` installs them and their absence is a failure.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest


def unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI must have it (.ci/system-deps installs it)", pytrace=False)
    pytest.skip(reason)


def find_postgres() -> Path:
    """bin/ of the newest PostgreSQL that has initdb, pg_ctl and the postgis extension."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        ver = bindir.parent.name
        if not (bindir / "pg_ctl").exists():
            continue
        has_postgis = Path(f"/usr/share/postgresql/{ver}/extension/postgis.control").exists()
        m = re.match(r"\d+", ver)
        found.append((has_postgis, int(m.group()) if m else 0, bindir))
    if not found:
        unavailable("PostgreSQL server binaries (initdb/pg_ctl under /usr/lib/postgresql/*/bin) "
                    "not installed")
    with_postgis = [f for f in found if f[0]]
    if not with_postgis:
        unavailable("the PostGIS extension is not installed "
                    "(/usr/share/postgresql/*/extension/postgis.control)")
    return max(with_postgis, key=lambda f: f[1])[2]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running cluster: ``url(schema)`` names a fresh bienmoc store in database ``bienmoc``."""

    def __init__(self, port: int):
        self.port = port
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/bienmoc"

    def connect(self, **kw):
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=30, **kw)

    def url(self, schema: str | None = None) -> str:
        return f"{self.dsn}?schema={schema or 's_' + uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def cluster(shared_buffers: str = "16MB"):
    """The running :class:`Cluster`; ``shared_buffers``: the tests' small 16MB unless asked
    (benchmarks/postgis_api.py runs PostgreSQL's stock 128MB)."""
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg (3) is not installed (it is in the 'test' extra)")
    bindir = find_postgres()
    as_root = os.geteuid() == 0
    if as_root:
        try:
            import pwd
            pw = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root but there is no 'postgres' user to run the server")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []

    work = Path(tempfile.mkdtemp(prefix="bienmoc-pg-"))
    data, sock, log = work / "data", work / "sock", work / "server.log"
    sock.mkdir()
    if as_root:
        for p in (work, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)

    def run(*args, **kw):
        return subprocess.run([*prefix, *map(str, args)], cwd=work, check=True,
                              capture_output=True, text=True, **kw)

    started = False
    try:
        run(bindir / "initdb", "-D", data, "--auth=trust", "--encoding=UTF8", "--locale=C",
            "-U", "postgres", "--no-sync")
        port = _free_port()
        with open(data / "postgresql.conf", "a") as f:
            f.write(f"\n# throw-away test cluster\nlisten_addresses = '127.0.0.1'\n"
                    f"port = {port}\nunix_socket_directories = '{sock}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    f"jit = off\nshared_buffers = {shared_buffers}\nmax_connections = 60\n")
        try:
            run(bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as e:
            tail = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"pg_ctl start failed: {e.stderr}\n{tail}", pytrace=False)
        started = True
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=30) as con:
            con.execute("CREATE DATABASE bienmoc")
        c = Cluster(port)
        with c.connect() as con:
            con.execute("CREATE EXTENSION postgis")
        yield c
    finally:
        if started:
            try:
                run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop")
            except subprocess.CalledProcessError:
                pidfile = data / "postmaster.pid"  # the postmaster this fixture started
                if pidfile.exists():
                    pid = int(pidfile.read_text().split()[0])
                    os.kill(pid, signal.SIGQUIT)
                    time.sleep(1)
        shutil.rmtree(work, ignore_errors=True)


def round_trips(store, fn) -> int:
    """Round trips of ``fn()`` on a PostGIS store's pooled connection, counted from libpq's
    protocol trace: each simple Query and each Sync of the extended protocol waits for the
    server once (tests/test_postgis_writes.py, benchmarks/pg_small_writes.py)."""
    import tempfile

    with store._pool.connection():
        pass  # (one idle connection in the pool: the one the transaction takes)
    con = store._pool._idle[-1]
    with tempfile.NamedTemporaryFile("w+") as fh:
        con.pgconn.trace(fh.fileno())
        try:
            fn()
        finally:
            con.pgconn.untrace()
        fh.seek(0)
        sent = [line.split("\t")[3].strip() for line in fh.read().splitlines()
                if line.split("\t")[1:2] == ["F"]]
    return sent.count("Query") + sent.count("Sync")
