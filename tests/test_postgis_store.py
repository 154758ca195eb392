"""What only the PostGIS store has: migrations, database-enforced history and types, app role,
binary COPY, locks shared with any client, and ``bienmoc store copy`` with the demo.

Runs on the session's private cluster (tests/pgcluster.py); the contract both stores share is
tests/test_store_contract.py.
"""
from __future__ import annotations

import json
import threading

import pandas as pd
import pytest
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal

from bienmoc.cli import main
from bienmoc.errors import StorageError, StoreBusy
from bienmoc.records import record_inspection
from bienmoc.storage import GeoPackageStore
from bienmoc.storage.copy import compare_stores, copy_store
from bienmoc.storage.pgschema import HISTORY
from bienmoc.storage.postgis import PostGISStore
from bienmoc.testing import make_incidents

pytestmark = pytest.mark.postgis


@pytest.fixture
def pg(request, pg_cluster):
    from conftest import _pg_store

    return _pg_store(request)


def _cli(*args, store=None):
    pre = ["--store", store] if store else []
    return CliRunner().invoke(main, [*pre, "--lang", "en", *args], catch_exceptions=False)


def test_init_migrate_and_check(pg, pg_cluster):
    r = _cli("store", "init", store=pg.uri)
    assert r.exit_code == 0, r.output
    assert "0001_base" in r.output and "layer:markers" in r.output
    assert "check:markers.kind@" in r.output
    r = _cli("store", "migrate", store=pg.uri)
    assert r.exit_code == 0 and "up to date" in r.output
    r = _cli("store", "check", store=pg.uri)
    assert r.exit_code == 0 and "no problems" in r.output
    with pg_cluster.connect() as con:
        steps = [s for (s,) in con.execute(f'SELECT step FROM "{pg.schema}".schema_migrations')]
        # a field added to the schema after the table was made = a dropped column here
        con.execute(f'ALTER TABLE "{pg.schema}".markers DROP COLUMN notes')
    assert steps[0] == "0001_base" and "layer:incident_changes" in steps
    r = _cli("store", "check", store=pg.uri)
    assert r.exit_code == 1 and "pending migration column:markers.notes" in r.output
    r = CliRunner().invoke(main, ["--store", pg.uri, "store", "migrate"])  # Vietnamese default
    assert r.exit_code == 0 and "Đã áp dụng 1 bước" in r.output, r.output
    assert "column:markers.notes" in r.output
    assert _cli("store", "check", store=pg.uri).exit_code == 0


def test_columns_are_typed_from_the_schema(pg, pg_cluster, layers):
    pg.write_many(layers)
    with pg_cluster.connect() as con:
        types = dict(con.execute(
            "SELECT column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE "
            "data_type END FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = 'markers'", (pg.schema,)).fetchall())
        srid = con.execute("SELECT srid, type FROM geometry_columns WHERE f_table_schema = %s "
                           "AND f_table_name = 'markers'", (pg.schema,)).fetchone()
        gist = con.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND "
                           "tablename = 'incidents' AND indexdef ILIKE '%%gist%%'",
                           (pg.schema,)).fetchone()
        uniques = {r[0] for r in con.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = %s::regnamespace AND "
            "contype IN ('u', 'p')", (pg.schema,))}
        with pytest.raises(Exception, match="ck_markers_kind"):
            con.execute(f'INSERT INTO "{pg.schema}".markers (id, number, border, kind) '
                        "VALUES ('X', '1', 'LA', 'huge')")
    assert types["part"] == "bigint" and types["tri_border"] == "boolean"
    assert types["planned_date"] == "date" and types["elevation_m"] == "double precision"
    assert types["kind"] == "text" and types["idempotency_key"] == "text"
    assert types["geom"] == "geometry" and srid == (4326, "GEOMETRY")
    assert "USING gist (geom)" in gist[0]
    assert {"markers_id_key", "markers_key", "boundary_key", "incidents_pkey"} <= uniques


def test_history_is_append_only_in_the_database(pg, pg_cluster, layers):
    pg.write_many(layers)
    role = f"app_{pg.schema}"
    with pg_cluster.connect() as con:
        for t in HISTORY:  # even the owner cannot UPDATE a history row
            with pytest.raises(Exception, match="append-only history"):
                con.execute(f'UPDATE "{pg.schema}"."{t}" SET fid = fid')
        con.execute(f'CREATE ROLE "{role}" LOGIN')
    r = _cli("store", "init", "--app-role", role, store=pg.uri)
    assert r.exit_code == 0 and role in r.output
    app = PostGISStore(pg.uri.replace("postgres@", f"{role}@"))
    try:
        # the application role writes through the normal path ...
        rec = record_inspection(app, "LA", "100", "2025-03-01", "joint", "good")
        assert rec["id"].iloc[0] in set(pg.read("inspections")["id"])
        with app.transaction() as tx:  # ... and updates non-history layers
            tx.update_fields("incidents", layers["incidents"]["id"].iloc[0],
                             {"description": "seen"}, log_layer="incident_changes")
        # ... but cannot delete or rewrite history
        with pytest.raises(StorageError, match="permission denied"):
            app.write("inspections", pg.read("inspections").iloc[:0])
        with pytest.raises(StorageError, match="permission denied"):
            app.write("incident_changes", pg.read("incident_changes").iloc[:0])
    finally:
        app.close()
        with pg_cluster.connect() as con:
            con.execute(f'DROP OWNED BY "{role}"')
            con.execute(f'DROP ROLE "{role}"')
    assert len(pg.read("incident_changes")) == 1


def test_bulk_rows_go_through_binary_copy(pg, monkeypatch):
    import psycopg

    seen = []
    real = psycopg.Cursor.copy

    def spy(self, statement, *a, **kw):
        seen.append(str(statement))
        return real(self, statement, *a, **kw)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    base = make_incidents()
    many = pd.concat([base] * 700, ignore_index=True)  # 2,100 rows
    many["id"] = None
    many["description"] = pd.Series([f"d{k}" for k in range(len(many))], dtype=object)
    with pg.transaction() as tx:
        ids = tx.append("incidents", many)
    assert len(seen) == 1 and "FORMAT BINARY" in seen[0]
    assert ids[0] == "V-000001" and ids[-1] == f"V-{len(many):06d}"
    back = pg.read("incidents")
    expect = many.copy()
    expect["id"] = pd.Series(ids, dtype=object)
    assert_geodataframe_equal(back, expect.reset_index(drop=True), check_like=False)


def test_version_changes_on_any_clients_write_and_locks_are_shared(pg, pg_cluster, layers):
    pg.write_many(layers)
    v = pg.version()
    with pg_cluster.connect() as con:  # another program (psql, QGIS) edits a row
        con.execute(f"UPDATE \"{pg.schema}\".gates SET notes = 'x' WHERE id = %s",
                    (layers["gates"]["id"].iloc[0],))
        assert pg.version() != v
        # another process holding the store's advisory lock makes writers wait, then give up
        con.execute("SELECT pg_advisory_lock(%s)", (pg._lock_key,))
        with pytest.raises(StoreBusy), pg.transaction(timeout=0.3):
            pass
        con.execute("SELECT pg_advisory_unlock(%s)", (pg._lock_key,))
    with pg.transaction(timeout=5) as tx:
        assert len(tx.read("gates")) == len(layers["gates"])


def test_readers_do_not_wait_for_a_writer(pg, layers):
    pg.write_many(layers)
    inside, done = threading.Event(), threading.Event()

    def writer():
        with pg.transaction() as tx:
            tx.append("incidents", make_incidents().iloc[:1].assign(id="V-777777"))
            inside.set()
            done.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert inside.wait(10)
        assert "V-777777" not in set(pg.read("incidents")["id"])  # not committed yet
    finally:
        done.set()
        t.join(10)
    assert "V-777777" in set(pg.read("incidents")["id"])


def test_copy_demo_to_postgis_and_back_then_status_is_equal(demo_store_path, pg, tmp_path):
    src = str(demo_store_path)
    r = _cli("store", "copy", src, pg.uri)
    assert r.exit_code == 0, r.output
    assert "markers" in r.output and "DIFFERS" not in r.output
    assert "every layer is equal" in r.output
    gp = GeoPackageStore(demo_store_path)
    assert all(v is None for v in compare_stores(gp, pg).values())
    for cmd in (["status", "--format", "json"],
                ["hotspots", "--format", "json"],
                ["progress", "--format", "json", "--as-of", "2025-06-30"]):
        a, b = _cli(*cmd, store=src), _cli(*cmd, store=pg.uri)
        assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
        assert json.loads(a.stdout) == json.loads(b.stdout) and json.loads(a.stdout), cmd
    # a change made on PostGIS (logged in the change log) travels back with everything else
    rid = pg.read("incidents")["id"].iloc[0]
    with pg.transaction() as tx:
        tx.update_fields("incidents", rid, {"description": "đã xác minh"},
                         log_layer="incident_changes", note="copy test")
    back = tmp_path / "back.gpkg"
    r = _cli("store", "copy", pg.uri, str(back))
    assert r.exit_code == 0, r.output
    assert "incident_changes" in r.output
    diff = compare_stores(pg, GeoPackageStore(back))
    assert "incident_changes" in diff and all(v is None for v in diff.values()), diff
    log = GeoPackageStore(back).read("incident_changes")
    assert list(log[["record_id", "new_value", "note"]].iloc[-1]) == [rid, "đã xác minh",
                                                                     "copy test"]
    # the id counters came along: the next incident gets the same id in all three stores
    nxt = []
    for s in (GeoPackageStore(tmp_path / "again.gpkg"), pg, GeoPackageStore(back)):
        if isinstance(s, GeoPackageStore) and not s.path.exists():
            copy_store(pg, s)
        with s.transaction() as tx:
            nxt.append(tx.append("incidents", make_incidents().iloc[:1].assign(id=None))[0])
    assert len(set(nxt)) == 1, nxt


def test_the_api_answers_items_from_sql_equal_to_the_geopackage(demo_store_path, pg,
                                                                 monkeypatch):
    """Same answers as the in-memory path on the demo, without ever reading a whole layer;
    next links page by keyset; numberMatched is estimated (and says so) on big tables."""
    from fastapi.testclient import TestClient

    import bienmoc.storage.pgquery as pq
    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings

    copy_store(GeoPackageStore(demo_store_path), pg)
    settings = Settings(api_token="t", lang="vi")
    gp = TestClient(create_app(store=GeoPackageStore(demo_store_path), settings=settings,
                               tiles=None))
    queries = ["/collections/markers/items?limit=50",
               "/collections/markers/items?limit=20&offset=40&kind=large",
               "/collections/incidents/items?bbox=103,20.5,104,21.5&limit=100",
               "/collections/incidents/items?datetime=2024-01-01/2024-12-31&limit=30",
               "/collections/works/items?datetime=../2024-06-30",
               "/collections/inspections/items?condition=damaged&limit=7",
               "/collections/boundary/items"]
    want = {u: gp.get(u).json() for u in queries}

    def no_full_reads(*a, **kw):
        raise AssertionError("a whole layer was read")

    monkeypatch.setattr(PostGISStore, "read", no_full_reads)
    api = TestClient(create_app(store=pg, settings=settings, tiles=None))
    for u in queries:
        got = api.get(u)
        assert got.status_code == 200, (u, got.text)
        a, b = got.json(), want[u]
        assert a["numberMatched"] == b["numberMatched"] and a["numberMatched"] > 0, u
        assert a["features"] == b["features"], u
    one = want[queries[0]]["features"][3]
    assert api.get(f"/collections/markers/items/{one['id']}").json()["properties"] == \
        one["properties"]
    assert api.get("/collections/markers/items/nope").status_code == 404
    doc, gdoc = api.get("/collections/incidents").json(), gp.get("/collections/incidents").json()
    assert doc["description"] == gdoc["description"]
    assert doc["extent"]["temporal"] == gdoc["extent"]["temporal"]
    assert doc["extent"]["spatial"]["bbox"][0] == pytest.approx(
        gdoc["extent"]["spatial"]["bbox"][0], abs=1e-9)

    # following next links (keyset: after=<last fid>) visits every marker once, in order
    url, seen = "/collections/markers/items?limit=37", []
    while url:
        page = api.get(url).json()
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0].split("testserver", 1)[1] if nxt else None
        assert url is None or "after=" in url
    assert seen == [f["id"] for f in gp.get("/collections/markers/items?limit=10000").json()[
        "features"]]
    assert api.get("/collections/markers/items?after=x").status_code == 400

    monkeypatch.setattr(pq, "EXACT_MATCHED", -1)  # as if more rows matched than are counted
    with pg_conn(pg) as con:
        con.execute(f'ANALYZE "{pg.schema}".markers')
    r = api.get("/collections/markers/items?limit=5")
    assert r.headers["number-matched"] == "estimated"
    assert abs(r.json()["numberMatched"] - len(seen)) <= 0.2 * len(seen)


def pg_conn(store):
    import psycopg

    return psycopg.connect(store.conninfo, autocommit=True)


def test_writer_processes_take_turns_without_lost_updates(pg, layers):
    """3 processes × 8 read-count-then-append sequences: each sees every earlier one."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pg.write("incidents", layers["incidents"].iloc[:0])
    src = str(Path(__file__).resolve().parents[1] / "src")
    code = (
        "import sys\n"
        "from bienmoc.storage import open_store\n"
        "from bienmoc.testing import make_incidents\n"
        "s = open_store(sys.argv[1])\n"
        "row = make_incidents().iloc[:1].copy().reset_index(drop=True)\n"
        "row['id'] = None\n"
        "for _ in range(8):\n"
        "    with s.transaction(timeout=60) as tx:\n"
        "        row['description'] = str(len(tx.read('incidents')))\n"
        "        tx.append('incidents', row)\n")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", code, pg.uri], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    got = pg.read("incidents")
    assert sorted(int(d) for d in got["description"]) == list(range(24))
    assert got["id"].is_unique and len(got) == 24


def test_store_commands_explain_a_refused_connection_and_a_misused_option(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(main, ["--store", f"postgresql://u:pw@127.0.0.1:{port}/x",
                                  "store", "check"])
    assert r.exit_code == 1
    assert "không kết nối được tới kho PostgreSQL" in r.output and "pw" not in r.output
    assert "Traceback" not in r.output
    gpkg = str(tmp_path / "x.gpkg")
    r = CliRunner().invoke(main, ["--store", gpkg, "--lang", "en", "store", "init",
                                  "--app-role", "r"])
    assert r.exit_code == 1 and "PostgreSQL/PostGIS stores only" in r.output
    assert not (tmp_path / "x.gpkg").exists()  # refused before anything was created
    r = CliRunner().invoke(main, ["--store", gpkg, "--lang", "en", "store", "init"])
    assert r.exit_code == 0 and "up to date" in r.output
    assert _cli("store", "check", store=gpkg).exit_code == 0
