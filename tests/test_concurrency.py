"""Many writers on one GeoPackage store: threads, processes, other programs, crashes.

Everything here runs against real files, real SQLite/GDAL in other processes and real signals;
waits are bounded. Helper processes are started with this checkout on PYTHONPATH.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from bienmoc.errors import InvalidData, StorageError, StoreBusy
from bienmoc.records.recording import resurvey_marker
from bienmoc.storage import GeoPackageStore
from bienmoc.storage import sqlite as sq
from bienmoc.storage.geopackage import DuplicateKey
from bienmoc.storage.groupcommit import GroupWriter
from bienmoc.testing import make_incidents

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def _py(code: str, *args: str, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            env=_env(**env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _row(**values) -> gpd.GeoDataFrame:
    row = make_incidents().iloc[:1].copy().reset_index(drop=True)
    row["id"] = None
    for k, v in values.items():
        row[k] = v
    return row


def _ids(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT id FROM incidents ORDER BY fid")]
    finally:
        con.close()


def _integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


# -- group commit ------------------------------------------------------------------------------
def test_group_writer_undoes_only_the_failing_write(store):
    before = _ids(store.path)
    gw = GroupWriter(store)
    gate, started = threading.Event(), threading.Event()

    def slow(tx):  # holds the writer so that the next three calls form one group
        started.set()
        gate.wait(5)
        return tx.append("incidents", _row())

    def bad(tx):
        tx.append("incidents", _row())  # written, then undone with its savepoint
        raise InvalidData("row 1, field 'kind': unknown value")

    first = gw.submit(slow)
    assert started.wait(5)
    futs = [gw.submit(lambda tx: tx.append("incidents", _row())), gw.submit(bad),
            gw.submit(lambda tx: tx.append("incidents", _row()))]
    gate.set()
    assert first.result(10) == ["V-000004"]
    assert futs[0].result(10) == ["V-000005"]
    with pytest.raises(InvalidData):
        futs[1].result(10)
    assert futs[2].result(10) == ["V-000006"]  # the undone write's id is free again: reused
    gw.close()
    assert _ids(store.path) == before + ["V-000004", "V-000005", "V-000006"]
    assert gw.groups == 2


def test_group_writer_awaited_from_asyncio(store):
    """run_async / run_batched_async: coroutines await the writer thread's commit without a
    thread each; a failing write fails alone; a cancelled waiter does not take its write back
    (a client gone after the POST was queued: the record is still stored)."""
    import asyncio

    before = _ids(store.path)
    gw = GroupWriter(store)
    gate, started = threading.Event(), threading.Event()

    def slow(tx):
        started.set()
        gate.wait(5)
        return tx.append("incidents", _row())

    def bad(tx):
        tx.append("incidents", _row())
        raise InvalidData("row 1, field 'kind': unknown value")

    def batch(tx, payloads):
        return [tx.append("incidents", _row())[0] + f"/{p}" for p in payloads]

    async def main():
        first = asyncio.ensure_future(gw.run_async(slow))
        while not started.is_set():
            await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(gw.run_async(lambda tx: tx.append("incidents", _row())))
        failing = asyncio.ensure_future(gw.run_async(bad))
        batched = [asyncio.ensure_future(gw.run_batched_async("k", p, batch)) for p in "ab"]
        await asyncio.sleep(0.05)
        gone.cancel()  # the waiter goes away; its write is queued already
        gate.set()
        assert await first == ["V-000004"]
        with pytest.raises(InvalidData):
            await failing
        with pytest.raises(asyncio.CancelledError):
            await gone
        return [await b for b in batched]

    assert asyncio.run(main()) == ["V-000006/a", "V-000007/b"]
    gw.close()
    assert _ids(store.path) == before + ["V-000004", "V-000005", "V-000006", "V-000007"]


def test_group_writer_gathers_concurrent_writes_and_does_not_delay_a_lone_one(store):
    """gather_s: after a group of several writes, the writer waits at most that long for the
    writes being received to join the next group, and stops waiting once the group is as
    large as the largest recent one; after a group of one it does not wait."""
    import time

    gw = GroupWriter(store, gather_s=0.8)
    t = time.monotonic()
    gw.run(lambda tx: tx.append("incidents", _row()))  # alone, nothing before: no wait
    assert time.monotonic() - t < 0.3
    gate, started = threading.Event(), threading.Event()

    def slow(tx):
        started.set()
        gate.wait(5)
        return tx.append("incidents", _row())

    first = gw.submit(slow)
    assert started.wait(5)
    two = [gw.submit(lambda tx: tx.append("incidents", _row())) for _ in range(2)]
    gate.set()
    first.result(10), [f.result(10) for f in two]  # a group of 2 after the slow one
    groups = gw.groups
    a = gw.submit(lambda tx: tx.append("incidents", _row()))
    time.sleep(0.1)  # the writer is gathering: b arrives within its wait
    b = gw.submit(lambda tx: tx.append("incidents", _row()))
    assert a.result(10) != b.result(10)
    assert gw.groups == groups + 1  # a and b shared one transaction
    t = time.monotonic()  # two at once after a group of 2: complete, no waiting for more
    c, d = (gw.submit(lambda tx: tx.append("incidents", _row())) for _ in range(2))
    c.result(10), d.result(10)
    assert time.monotonic() - t < 0.5
    assert gw.groups == groups + 2
    gw.run(lambda tx: tx.append("incidents", _row()))  # after a group of 2: waits, alone
    t = time.monotonic()
    gw.run(lambda tx: tx.append("incidents", _row()))  # after a group of 1: no wait
    assert time.monotonic() - t < 0.3
    gw.close()
    assert len(_ids(store.path)) == len(set(_ids(store.path)))


def test_group_writer_reports_storebusy_to_the_whole_group_and_goes_on(store):
    holder = _py("""
        import sqlite3, sys
        con = sqlite3.connect(sys.argv[1], isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        sys.stdin.readline()
    """, str(store.path))
    gw = GroupWriter(store, timeout=0.3)
    try:
        assert holder.stdout.readline().strip() == "locked"
        futs = [gw.submit(lambda tx: tx.append("incidents", _row())) for _ in range(3)]
        for f in futs:
            with pytest.raises(StoreBusy):
                f.result(10)
    finally:
        holder.kill()
        holder.wait(10)
    assert gw.run(lambda tx: tx.append("incidents", _row())) == ["V-000004"]
    gw.close()
    assert len(_ids(store.path)) == 4


def test_idempotency_key_is_stored_and_looked_up_by_index(store):
    with store.transaction() as tx:
        assert tx.lookup("incidents", "idempotency_key", "k-1") == []
        ids = tx.append("incidents", _row(idempotency_key="k-1"))
    with store.transaction() as tx:
        assert tx.lookup("incidents", "idempotency_key", "k-1") == ids
        with pytest.raises(DuplicateKey):
            tx.append("incidents", _row(idempotency_key="k-1"))
        plan = " ".join(str(r) for r in tx.con.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM incidents WHERE idempotency_key = ?", ("k",)))
    assert "USING INDEX" in plan
    assert "idempotency_key" not in store.read("incidents").columns  # not a data field


# -- locks -------------------------------------------------------------------------------------
def test_a_lock_held_by_another_program_gives_storebusy_after_the_bounded_wait(store):
    holder = _py("""
        import sqlite3, sys, time
        con = sqlite3.connect(sys.argv[1], isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        sys.stdin.readline()
        con.execute("ROLLBACK")
    """, str(store.path))
    try:
        assert holder.stdout.readline().strip() == "locked"
        t = time.monotonic()
        with pytest.raises(StoreBusy) as err:
            with store.transaction(timeout=0.5) as tx:
                tx.append("incidents", _row())
        waited = time.monotonic() - t
        assert 0.4 <= waited < 3.0 and err.value.retry_after > 0
    finally:
        holder.kill()
        holder.wait(10)
    with store.transaction(timeout=5) as tx:  # the lock is gone: writes go on
        assert tx.append("incidents", _row()) == ["V-000004"]


def test_the_api_answers_503_with_retry_after_while_another_program_holds_the_lock(store):
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings

    store.lock_timeout = 0.3
    app = create_app(store=store, settings=Settings(api_token="t0ken", lang="vi"), tiles=None)
    client = TestClient(app)
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.51, 20.97]},
            "properties": {"kind": "illegal_crossing", "reported_date": "2025-03-01"}}
    holder = _py("""
        import sqlite3, sys
        con = sqlite3.connect(sys.argv[1], isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        sys.stdin.readline()
    """, str(store.path))
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = client.post("/collections/incidents/items", json=body,
                        headers={"Authorization": "Bearer t0ken"})
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
    finally:
        holder.kill()
        holder.wait(10)
    r = client.post("/collections/incidents/items", json=body,
                    headers={"Authorization": "Bearer t0ken"})
    assert r.status_code == 201
    assert len(_ids(store.path)) == 4


def test_the_lock_wait_is_configurable_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BIENMOC_LOCK_TIMEOUT", "2.5")
    assert GeoPackageStore(tmp_path / "a.gpkg").lock_timeout == 2.5
    assert GeoPackageStore(tmp_path / "a.gpkg", lock_timeout=1).lock_timeout == 1.0
    monkeypatch.setenv("BIENMOC_LOCK_TIMEOUT", "soon")
    with pytest.raises(Exception, match="BIENMOC_LOCK_TIMEOUT"):
        GeoPackageStore(tmp_path / "a.gpkg")


def test_the_api_serves_what_another_program_committed_and_never_replaces_the_file(store):
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings

    client = TestClient(create_app(store=store, settings=Settings(api_token="t0ken", lang="vi"),
                                   tiles=None))
    auth = {"Authorization": "Bearer t0ken"}
    assert client.get("/collections/incidents/items/Q-000001").status_code == 404
    ino = store.path.stat().st_ino
    # a PATCH and a POST through the API, then a QGIS-like save through GDAL in another
    # process: the file is never replaced, so the other program's save lands in it ...
    r = client.patch("/collections/incidents/items/V-000002", json={"status": "negotiating"},
                     headers=auth)
    assert r.status_code == 200
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.51, 20.97]},
            "properties": {"kind": "illegal_crossing", "reported_date": "2025-03-01"}}
    assert client.post("/collections/incidents/items", json=body, headers=auth
                       ).status_code == 201
    editor = _py(OGR_EDITOR, str(store.path), "Q-000001")
    out, err = editor.communicate(timeout=120)
    assert editor.returncode == 0, err[-2000:]
    assert store.path.stat().st_ino == ino
    # ... and the API serves it at its next read (no stale 404)
    got = client.get("/collections/incidents/items/Q-000001")
    assert got.status_code == 200 and got.json()["properties"]["kind"] == "illegal_crossing"
    assert client.get("/collections/incidents/items/V-000002").json()["properties"][
        "status"] == "negotiating"
    assert sorted(_ids(store.path)) == ["Q-000001", "V-000001", "V-000002", "V-000003",
                                        "V-000004"]


# -- durability --------------------------------------------------------------------------------
def test_the_commit_is_fsynced_before_the_write_returns(store, monkeypatch):
    events: list = []
    real = sq.fsync_path

    def counting(path):
        # when the store fsyncs, the write is committed (another connection sees it) ...
        con = sqlite3.connect(store.path)
        n = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
        con.close()
        events.append((str(path), n))
        real(path)

    monkeypatch.setattr(sq, "fsync_path", counting)
    gw = GroupWriter(store)
    gw.run(lambda tx: tx.append("incidents", _row()))
    # ... and before run() returned: the WAL holding the commit was fsynced, with 4 rows in
    assert (str(store.path) + "-wal", 4) in events
    gw.close()


STRACE_WRITER = """
    import os, sys
    from bienmoc.storage import GeoPackageStore, sqlite as sq
    from bienmoc.storage.groupcommit import GroupWriter
    from bienmoc.testing import make_incidents
    if sys.argv[2] == "no-fsync":
        sq.fsync_path = lambda path: None
    s = GeoPackageStore(sys.argv[1])
    row = make_incidents().iloc[:1].copy(); row["id"] = None
    gw = GroupWriter(s)
    gw.run(lambda tx: tx.append("incidents", row))
    os.write(1, b"ACK\\n")
    os._exit(0)
"""


def _wal_synced_before_ack(trace: str, wal: str) -> bool:
    """In an strace -f -y log: is there an fsync/fdatasync of the WAL after its last write
    and before the acknowledgement is printed?"""
    last_write = synced = None
    for i, line in enumerate(trace.splitlines()):
        if 'write(1<' in line and "ACK" in line:
            return synced is not None and last_write is not None and synced > last_write
        if wal + ">" in line:
            if "pwrite64(" in line or "write(" in line:
                last_write, synced = i, None
            elif "fsync(" in line or "fdatasync(" in line:
                synced = i
    return False


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_strace_shows_the_wal_fsync_before_the_acknowledgement(store, tmp_path):
    wal = str(store.path) + "-wal"
    results = {}
    for variant in ("fsync", "no-fsync"):
        log = tmp_path / f"trace-{variant}.txt"
        p = subprocess.run(["strace", "-f", "-y", "-o", str(log), "-e",
                            "trace=write,pwrite64,fsync,fdatasync", sys.executable, "-c",
                            textwrap.dedent(STRACE_WRITER), str(store.path), variant],
                           env=_env(), capture_output=True, text=True, timeout=120)
        if p.returncode != 0 and "ptrace" in p.stderr.lower():
            pytest.skip("ptrace not permitted here")
        assert p.stdout.strip() == "ACK", p.stderr[-2000:]
        results[variant] = _wal_synced_before_ack(log.read_text(), wal)
    # the real store fsyncs before acknowledging; with the fsync disabled the check fails
    assert results == {"fsync": True, "no-fsync": False}


KILLED_WRITER = """
    import sys
    import geopandas as gpd
    from bienmoc.storage import GeoPackageStore
    from bienmoc.testing import make_incidents
    s = GeoPackageStore(sys.argv[1], journal=sys.argv[2])
    rows = gpd.GeoDataFrame(make_incidents().iloc[[0] * 3000].reset_index(drop=True))
    rows["id"] = None
    with s.transaction() as tx:
        tx.con.execute("PRAGMA cache_size = 10")  # spill: uncommitted pages reach the disk
        tx.append("incidents", rows)   # BIENMOC_FAULT=after-insert kills the process here
    print("not killed", flush=True)
"""


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_writer_killed_inside_its_transaction_leaves_the_store_intact(tmp_path, layers,
                                                                        journal):
    path = tmp_path / "s.gpkg"
    GeoPackageStore(path, journal=journal).write_many(layers)
    sq_con = sqlite3.connect(path)
    assert sq_con.execute("PRAGMA journal_mode").fetchone()[0] == journal
    sq_con.close()
    before = _ids(path)
    p = _py(KILLED_WRITER, str(path), journal, BIENMOC_FAULT="after-insert")
    out, err = p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL, out + err
    if journal == "delete":  # a hot journal: read-only openers cannot roll it back
        journal_file = Path(str(path) + "-journal")
        assert journal_file.exists() and journal_file.stat().st_size > 0
        report = GeoPackageStore(path, journal=journal).recover()
        assert report["journal_rolled_back"] is True
    else:  # the uncommitted frames sit in the WAL and are ignored
        assert Path(str(path) + "-wal").stat().st_size > 0
        GeoPackageStore(path).recover()
    ro = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    assert ro.execute("SELECT count(*) FROM incidents").fetchone()[0] == len(before)
    ro.close()
    assert _ids(path) == before and _integrity(path) == "ok"
    s = GeoPackageStore(path, journal=journal)
    with s.transaction() as tx:  # the next write takes the next id
        assert tx.append("incidents", _row()) == ["V-000004"]


def test_a_journal_mode_changed_by_another_program_is_handled(store):
    from bienmoc.storage.geopackage import _state

    _state(store.path).close()  # as between two server runs: no bienmoc connection open
    other = sqlite3.connect(store.path)
    assert other.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    other.close()
    with store.transaction() as tx:  # bienmoc's next writer opens it in WAL again
        assert tx.append("incidents", _row()) == ["V-000004"]
    other = sqlite3.connect(store.path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    assert _ids(store.path)[-1] == "V-000004" and _integrity(store.path) == "ok"


def test_any_bienmoc_read_rolls_a_hot_journal_back(tmp_path, layers):
    path = tmp_path / "s.gpkg"
    GeoPackageStore(path, journal="delete").write_many(layers)
    p = _py(KILLED_WRITER, str(path), "delete", BIENMOC_FAULT="after-insert")
    p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL
    journal = Path(str(path) + "-journal")
    assert journal.exists() and journal.stat().st_size > 0
    ro = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError):  # what QGIS/ogrinfo met before the fix
        ro.execute("SELECT count(*) FROM incidents").fetchone()
    ro.close()
    assert len(GeoPackageStore(path).read("incidents")) == 3  # a plain read recovers
    assert not journal.exists() or journal.stat().st_size == 0
    ro = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    assert ro.execute("SELECT count(*) FROM incidents").fetchone()[0] == 3
    ro.close()


# -- files -------------------------------------------------------------------------------------
def test_replace_writes_keep_mode_inode_and_remove_old_temporary_copies(store, layers):
    os.chmod(store.path, 0o640)
    ino = store.path.stat().st_ino
    orphan = store.path.parent / ".store-abc123.gpkg"  # what a killed older version left
    orphan.write_bytes(b"partial copy")
    fresh = GeoPackageStore(store.path)  # a new process's view: recovers on its first write
    from bienmoc.storage.geopackage import _state
    _state(store.path).ident = None
    fresh.write("incidents", layers["incidents"].iloc[:1], mode="replace")
    assert (store.path.stat().st_mode & 0o777) == 0o640
    assert store.path.stat().st_ino == ino
    assert not orphan.exists()
    assert list(store.read("incidents")["id"]) == ["V-000001"]


def test_gdal_sees_mixed_geometries_dates_and_version_1_2(store, tmp_path):
    from bienmoc.model.schema import empty_layer

    area = shapely.box(104.51, 20.97, 104.52, 20.98)
    store.write("incidents", _row(geometry=[area]), mode="append")
    store.write("works", empty_layer("works"))
    check = _py("""
        import json, sys, pyogrio
        info = pyogrio.read_info(sys.argv[1], layer="incidents")
        df = pyogrio.read_dataframe(sys.argv[1], layer="incidents")
        print(json.dumps({"type": info["geometry_type"], "n": int(info["features"]),
                          "kinds": sorted(set(df.geometry.geom_type)),
                          "dates": str(df["reported_date"].dtype)}))
    """, str(store.path))
    out, err = check.communicate(timeout=120)
    import json
    got = json.loads(out)
    assert got["type"] == "Unknown" and got["n"] == 4  # GEOMETRY: points and areas
    assert got["kinds"] == ["Point", "Polygon"]
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        types = {r[1]: r[2] for r in con.execute("PRAGMA table_info(incidents)")}
        assert types["reported_date"] == "DATE" and types["geom"] == "GEOMETRY"
        dates = [r[0] for r in con.execute("SELECT reported_date FROM incidents")]
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates), dates
        assert con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE "
                           "table_name = 'works'").fetchone()[0] == "GEOMETRY"
    finally:
        con.close()
    if shutil.which("ogrinfo"):
        r = subprocess.run(["ogrinfo", "-so", str(store.path), "incidents"],
                           capture_output=True, text=True, timeout=60)
        text = r.stdout + r.stderr
        assert r.returncode == 0, text
        assert "Geometry: Unknown (any)" in text
        assert "reported_date: Date" in text
        assert "non-conformant" not in text and "partially supported" not in text


def test_an_older_store_is_migrated_on_first_write(tmp_path, layers):
    import pyogrio

    path = tmp_path / "old.gpkg"
    inc = layers["incidents"]
    pyogrio.write_dataframe(inc, path, layer="incidents", driver="GPKG",
                            geometry_type="Point")  # as older bienmoc: DATETIME, Point, no index
    s = GeoPackageStore(path)
    assert s.write("incidents", _row(), mode="append") is None
    con = sqlite3.connect(path)
    try:
        types = {r[1]: r[2] for r in con.execute("PRAGMA table_info(incidents)")}
        assert types["reported_date"] == "DATE" and "idempotency_key" in types
        assert con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns").fetchone(
            )[0] == "GEOMETRY"
        indexes = [r[1] for r in con.execute("PRAGMA index_list(incidents)") if r[2]]
        assert "uq_incidents_id" in indexes
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    back = s.read("incidents")
    assert list(back["id"]) == list(inc["id"]) + ["V-000004"]
    assert list(back["reported_date"].iloc[:3]) == list(inc["reported_date"])


# -- everything at once ------------------------------------------------------------------------
PROC_WRITER = """
    import sys
    from bienmoc.storage import GeoPackageStore
    from bienmoc.testing import make_incidents
    s = GeoPackageStore(sys.argv[1])
    row = make_incidents().iloc[:1].copy(); row["id"] = None
    for _ in range(int(sys.argv[2])):
        with s.transaction(timeout=60) as tx:
            print(tx.append("incidents", row)[0], flush=True)
"""

OGR_EDITOR = """
    import sys, time
    import geopandas as gpd, pyogrio
    from bienmoc.testing import make_incidents
    row = make_incidents().iloc[:1].copy().reset_index(drop=True)
    for k, rid in enumerate(sys.argv[2:]):
        row["id"] = [rid]
        for attempt in range(200):  # as a QGIS user would: retry when the store is busy
            try:
                pyogrio.write_dataframe(row, sys.argv[1], layer="incidents", driver="GPKG",
                                        append=True)
                break
            except Exception as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                time.sleep(0.05)
        else:
            raise SystemExit("gave up: " + rid)
        print(rid, flush=True)
"""


@pytest.mark.slow
def test_threads_processes_an_import_a_resurvey_and_an_ogr_editor_at_once(store, tmp_path):
    n_threads, per_thread, n_procs, per_proc = 4, 15, 2, 15
    before = _ids(store.path)
    # an OGR client (QGIS-like) in another process adds rows, one of them with the very id
    # the store would allocate next: the store must skip it, not collide
    ogr_ids = ["V-000010", "Q-000001", "Q-000002", "Q-000003"]
    editor = _py(OGR_EDITOR, str(store.path), *ogr_ids)
    assert editor.stdout.readline().strip() == ogr_ids[0]  # stored before bienmoc reaches it
    procs = [_py(PROC_WRITER, str(store.path), str(per_proc)) for _ in range(n_procs)]
    src = tmp_path / "import.geojson"
    imp = make_incidents().iloc[[0, 1]].copy()
    imp["id"] = None
    imp.to_file(src, driver="GeoJSON")
    gw = GroupWriter(store)
    acked: list[str] = []
    errors: list = []
    lock = threading.Lock()

    def writer():
        for _ in range(per_thread):
            try:
                got = gw.run(lambda tx: tx.append("incidents", _row()))
            except Exception as e:
                errors.append(e)
                continue
            with lock:
                acked.extend(got)

    def importer():
        from bienmoc.io.files import import_layer
        try:
            data = import_layer(GeoPackageStore(store.path), "incidents", src)
            with lock:
                acked.extend(data["id"])
        except Exception as e:
            errors.append(e)

    def resurvey():
        try:
            resurvey_marker(GeoPackageStore(store.path), "LA", "101", (104.5001, 20.9899),
                            "2024-05-01", "moved by a landslide")
        except Exception as e:
            errors.append(e)

    ts = [threading.Thread(target=writer) for _ in range(n_threads)]
    ts += [threading.Thread(target=importer), threading.Thread(target=resurvey)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    gw.close()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
        acked.extend(out.split())
    out, err = editor.communicate(timeout=120)
    assert editor.returncode == 0, err[-2000:]
    assert out.split() == ogr_ids[1:]
    assert not errors, errors
    stored = _ids(store.path)
    expected = len(before) + n_threads * per_thread + n_procs * per_proc + 2 + len(ogr_ids)
    assert len(stored) == expected
    assert len(set(stored)) == len(stored)  # no duplicate
    assert set(acked) | set(ogr_ids) | set(before) == set(stored)  # every acknowledged id
    assert _integrity(store.path) == "ok"
    markers = store.read("markers")
    moved = markers[markers["number"] == "101"].geometry.iloc[0]
    assert (round(moved.x, 4), round(moved.y, 4)) == (104.5001, 20.9899)
    assert len(store.read("resurveys")) == 1
    # the store sees what the other program committed
    assert set(ogr_ids) <= set(store.read("incidents")["id"])


@pytest.mark.parametrize("backend", ["gpkg", "postgis"])
def test_lock_timeout_from_the_argument_then_the_environment(backend, tmp_path, monkeypatch):
    from bienmoc.storage.base import LOCK_TIMEOUT_ENV
    from bienmoc.storage.postgis import PostGISStore

    def make(path, **kw):  # (a PostGIS store connects at its first use, not here)
        if backend == "gpkg":
            return GeoPackageStore(path / "s.gpkg", **kw)
        return PostGISStore("postgresql://nobody@127.0.0.1:1/none", **kw)

    monkeypatch.delenv(LOCK_TIMEOUT_ENV, raising=False)
    assert make(tmp_path).lock_timeout == 30.0
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "2.5")
    assert make(tmp_path).lock_timeout == 2.5
    assert make(tmp_path, lock_timeout=7).lock_timeout == 7.0
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "half a minute")
    with pytest.raises(StorageError, match=f"{LOCK_TIMEOUT_ENV} must be seconds, not "
                       "'half a minute'"):
        make(tmp_path)
