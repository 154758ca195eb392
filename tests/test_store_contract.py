"""The Store contract (bienmoc.storage.base), run on both backends.

``any_store`` is an empty GeoPackage store in tmp_path, or an empty PostGIS store (a fresh
schema in the session's private cluster, tests/pgcluster.py). Every test states a known answer.
"""
from __future__ import annotations

import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from bienmoc.errors import StorageError, StoreBusy
from bienmoc.storage import Store, open_store
from bienmoc.storage.geopackage import GeoPackageStore
from bienmoc.storage.groupcommit import GroupWriter
from bienmoc.storage.sqlite import DuplicateKey
from bienmoc.testing import make_incidents

BACKENDS = ["gpkg", "postgis"]


@pytest.fixture(params=BACKENDS)
def any_store(request, tmp_path):
    if request.param == "gpkg":
        return GeoPackageStore(tmp_path / "s.gpkg")
    from conftest import _pg_store

    return _pg_store(request)


def _row(**values) -> gpd.GeoDataFrame:
    row = make_incidents().iloc[:1].copy().reset_index(drop=True)
    row["id"] = None
    for k, v in values.items():
        row[k] = v
    return row


def test_round_trip_keeps_values_dtypes_and_crs(any_store, layers):
    assert isinstance(any_store, Store)
    assert any_store.layers() == [] and len(any_store.read("works")) == 0
    any_store.write_many(layers)
    assert set(any_store.layers()) == set(layers)
    for name, gdf in layers.items():
        back = any_store.read(name)
        assert back.crs.to_epsg() == 4326
        assert_geodataframe_equal(back, gdf, check_less_precise=False)
        assert list(back.dtypes) == list(gdf.dtypes), name


def test_bbox_read(any_store, layers):
    any_store.write("markers", layers["markers"])
    north = any_store.read("markers", bbox=(104.4, 20.96, 104.6, 21.1))
    assert set(north["number"]) == {"100", "100/1", "101", "101/1", "102(1)", "102(2)"}


def test_write_many_is_atomic(any_store, layers):
    any_store.write_many(layers)
    version = any_store.version()
    bad = layers["gates"].copy()
    bad["id"] = [bad["id"].iloc[0]] * len(bad)  # duplicate ids in the second layer
    assert len(bad) > 1
    with pytest.raises(DuplicateKey):
        any_store.write_many({"markers": layers["markers"].iloc[:1], "gates": bad})
    assert any_store.version() == version
    assert_geodataframe_equal(any_store.read("markers"), layers["markers"])
    assert_geodataframe_equal(any_store.read("gates"), layers["gates"])


def test_append_replace_and_version_token(any_store, layers):
    v0 = any_store.version()
    any_store.write_many(layers)
    v1 = any_store.version()
    assert v1 != v0
    inc = layers["incidents"]
    more = inc.copy()
    more["id"] = ["V-900001", "V-900002", "V-900003"]
    any_store.write("incidents", more, mode="append")
    v2 = any_store.version()
    assert v2 != v1 and len(any_store.read("incidents")) == len(inc) + 3
    assert any_store.version() == v2  # reading changes nothing
    any_store.write("incidents", inc.iloc[:1], mode="replace")
    assert any_store.version() != v2
    assert list(any_store.read("incidents")["id"]) == [inc["id"].iloc[0]]
    with pytest.raises(DuplicateKey):  # an id the layer holds
        any_store.write("incidents", inc.iloc[:1], mode="append")


def test_ids_are_allocated_in_the_transaction_and_rolled_back_with_it(any_store, layers):
    any_store.write_many(layers)
    top = max(int(i.split("-")[1]) for i in layers["incidents"]["id"])
    with any_store.transaction() as tx:
        ids = tx.append("incidents", pd.concat([_row(), _row()], ignore_index=True))
    assert ids == [f"V-{top + 1:06d}", f"V-{top + 2:06d}"]
    with pytest.raises(RuntimeError), any_store.transaction() as tx:
        assert tx.append("incidents", _row()) == [f"V-{top + 3:06d}"]
        assert len(tx.read("incidents")) == len(layers["incidents"]) + 3  # sees its own write
        raise RuntimeError("undo")
    assert len(any_store.read("incidents")) == len(layers["incidents"]) + 2
    with any_store.transaction() as tx:  # the rolled-back number is handed out again
        assert tx.append("incidents", _row()) == [f"V-{top + 3:06d}"]


def test_savepoint_undoes_only_its_block(any_store, layers):
    any_store.write_many(layers)
    n = len(layers["incidents"])
    with any_store.transaction() as tx:
        tx.append("incidents", _row(description="kept"))
        with pytest.raises(ValueError), tx.savepoint():
            tx.append("incidents", _row(description="undone"))
            raise ValueError("no")
        with any_store.transaction() as inner:  # nested use: a savepoint as well
            inner.append("incidents", _row(description="inner"))
    got = any_store.read("incidents")
    assert len(got) == n + 2
    assert list(got["description"].iloc[-2:]) == ["kept", "inner"]


def test_lookup_by_idempotency_key(any_store, layers):
    any_store.write_many(layers)
    with any_store.transaction() as tx:
        row = _row(idempotency_key="req-42")
        new = tx.append("incidents", row)
    assert "idempotency_key" not in any_store.read("incidents").columns
    with any_store.transaction() as tx:
        assert tx.lookup("incidents", "idempotency_key", "req-42") == new
        assert tx.lookup("incidents", "idempotency_key", "other") == []
        # many keys in one question (a field export's submissions), on both backends
        assert tx.held_keys("incidents", ["other", "req-42", "x"]) == {"req-42"}
        assert tx.held_keys("incidents", []) == set()
        with pytest.raises(DuplicateKey):
            tx.append("incidents", _row(idempotency_key="req-42"))


def test_update_fields_logs_each_change(any_store, layers):
    any_store.write_many(layers)
    rid = layers["incidents"]["id"].iloc[0]
    old = layers["incidents"]["status"].iloc[0]
    new = "resolved" if old != "resolved" else "open"
    with any_store.transaction() as tx:
        changes = tx.update_fields("incidents", rid, {"status": new}, log_layer="incident_changes",
                                   note="checked")
    assert changes == {"status": (old, new)}
    assert any_store.read("incidents").set_index("id").loc[rid, "status"] == new
    log = any_store.read("incident_changes")
    assert list(log[["record_id", "field", "old_value", "new_value", "note"]].iloc[-1]) == [
        rid, "status", old, new, "checked"]


def test_concurrent_writers_are_serialised_without_lost_updates(any_store, layers):
    """8 threads × 5 read-modify-write sequences: each reads the count of incidents and appends
    one whose description is that count; serialised writers see 0..39 exactly once."""
    any_store.write("incidents", layers["incidents"].iloc[:0])
    errors = []

    def work():
        try:
            for _ in range(5):
                with any_store.transaction(timeout=60) as tx:
                    n = len(tx.read("incidents"))
                    time.sleep(0.002)
                    tx.append("incidents", _row(description=str(n)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    got = any_store.read("incidents")
    assert sorted(int(d) for d in got["description"]) == list(range(40))
    assert sorted(got["id"]) == [f"V-{k:06d}" for k in range(1, 41)]


def test_a_held_lock_gives_storebusy_after_the_bounded_wait(any_store, layers):
    any_store.write_many(layers)
    held, release = threading.Event(), threading.Event()

    def holder():
        with any_store.transaction():
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(10)
        start = time.monotonic()
        with pytest.raises(StoreBusy) as e, any_store.transaction(timeout=0.3):
            pass
        assert 0.25 <= time.monotonic() - start < 5
        assert e.value.retry_after > 0
    finally:
        release.set()
        t.join(10)


def test_group_writer_undoes_only_the_failing_write(any_store, layers):
    any_store.write_many(layers)
    gw = GroupWriter(any_store)
    try:
        good = gw.run(lambda tx: tx.append("incidents", _row(description="a")))
        with pytest.raises(DuplicateKey):
            gw.run(lambda tx: tx.append("incidents", _row(id=good[0])))
    finally:
        gw.close()
    assert list(any_store.read("incidents")["description"]).count("a") == 1


def test_a_layer_outside_the_schema_round_trips(any_store):
    extra = gpd.GeoDataFrame({"name": ["a", "b"], "n": pd.array([1, None], dtype="Int64"),
                              "x": [0.5, np.nan]},
                             geometry=[shapely.Point(105, 21), None], crs=4326)
    any_store.write("notes_layer", extra)
    back = any_store.read("notes_layer")
    assert list(back["name"]) == ["a", "b"] and back["n"].isna().tolist() == [False, True]
    assert back.geometry.iloc[0].equals(shapely.Point(105, 21))


def test_unknown_field_is_refused(any_store, layers):
    bad = layers["gates"].copy()
    bad["colour"] = "red"
    with pytest.raises(StorageError, match="colour"):
        any_store.write("gates", bad)
    assert any_store.layers() == [] or "gates" not in any_store.layers() \
        or len(any_store.read("gates")) == 0


def test_open_store_by_url(pg_cluster):
    s = open_store(pg_cluster.url("via_url"))
    try:
        assert s.schema == "via_url" and s.layers() == [] and s.version() == "empty"
        assert type(open_store(pg_cluster.url().replace("postgresql://", "postgres://"))
                    ).__name__ == "PostGISStore"
    finally:
        s.close()
