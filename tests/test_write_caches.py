"""The write path's caches (reference layers, the border model, PostGIS change tokens) and the
group writer's batching: a write to markers/boundary must be seen by the next record, whoever
made it; writes queued while the store's lock is awaited join one group.

Known answers from the tiny world (bienmoc.testing): markers of the LA line at latitudes 100:
21.0, 101: 20.99, 102(1)/(2): 20.97, 103: 20.93, 104: 20.9 (longitude LON). An incident at
20.94 lies between 102 and 103; with 103 moved to 20.95 it lies between 103 and 104.
"""
from __future__ import annotations

import threading

import pytest
import shapely

from bienmoc.records import record_incident, record_incidents, resurvey_marker
from bienmoc.storage.groupcommit import GroupWriter
from bienmoc.testing import LON

pytestmark = pytest.mark.both_stores


def _pair(store, lat: float) -> set:
    got = record_incident(store, "illegal_crossing", (LON + 0.001, lat),
                          reported_date="2025-01-02")
    return {got["marker_before"].iloc[0], got["marker_after"].iloc[0]}


def test_a_resurvey_moves_the_marker_pair_of_the_next_incident(store):
    assert _pair(store, 20.94) == {"102", "103"}  # (also warms every cache)
    assert _pair(store, 20.94) == {"102", "103"}  # from the caches: the same answer
    resurvey_marker(store, "LA", "103", (LON, 20.95), "2025-01-01", "moved by a flood",
                    allow=["resurvey_far"])
    assert _pair(store, 20.94) == {"103", "104"}


def test_a_new_marker_is_seen_inside_one_group(store):
    """A write to markers and an incident in the SAME transaction (a group commit): the
    incident is placed with the marker written before it."""
    from bienmoc.records import import_records
    from bienmoc.testing import make_markers

    assert _pair(store, 20.915) == {"103", "104"}
    new = make_markers().iloc[[6]].copy()  # a copy of 103 as "103/1" at 20.92
    new["number"], new["id"], new["kind"] = "103/1", None, "stake"
    new = new.set_geometry([shapely.Point(LON, 20.92)], crs=4326)
    with GroupWriter(store) as gw:
        gate, started = threading.Event(), threading.Event()

        def hold(tx):
            started.set()
            gate.wait(10)

        first = gw.submit(hold)  # holds the writer: the next two form one group
        assert started.wait(10)
        marker = gw.submit(lambda tx: import_records(tx, "markers", new))
        inc = gw.submit(lambda tx: record_incidents(tx, [
            {"kind": "illegal_crossing", "geometry": (LON + 0.001, 20.915),
             "reported_date": "2025-01-02"}]))
        gate.set()
        first.result(10)
        marker.result(10)
        got = inc.result(10)
        assert gw.groups == 2
    assert {got["marker_before"].iloc[0], got["marker_after"].iloc[0]} == {"103/1", "104"}


def test_writes_queued_during_the_lock_wait_join_the_group(store):
    """Another writer holds the store: the writes submitted meanwhile are committed together
    in ONE group once it lets go (the lock wait is spent batching)."""
    ready, release = threading.Event(), threading.Event()

    def other_writer():
        with store.transaction():
            ready.set()
            release.wait(10)

    t = threading.Thread(target=other_writer)
    t.start()
    try:
        assert ready.wait(10)
        gw = GroupWriter(store)
        item = {"kind": "illegal_crossing", "geometry": (LON + 0.001, 20.95),
                "reported_date": "2025-01-02"}
        futs = [gw.submit_batched("incidents", item, lambda tx, items: list(
            record_incidents(tx, items)["id"])) for _ in range(5)]
        threading.Event().wait(0.3)  # the first group is waiting for the lock by now
        release.set()
        ids = [f.result(20) for f in futs]
        gw.close()
    finally:
        release.set()
        t.join(10)
    assert len(set(ids)) == 5
    assert gw.groups == 1 and gw.sizes[5] == 1


@pytest.mark.postgis_only
def test_postgis_tokens_follow_writes_of_other_clients(store, store_backend, pg_cluster):
    """A change made outside bienmoc (plain SQL, as QGIS) moves the layer's change token and
    the next incident is placed with it; inside a transaction the memoised token follows the
    transaction's own writes and a rolled-back savepoint."""
    assert _pair(store, 20.94) == {"102", "103"}
    before = store.layer_tokens(["markers", "boundary"])
    with pg_cluster.connect() as con:
        con.execute(f'UPDATE "{store.schema}".markers SET geom = '
                    "ST_SetSRID(ST_MakePoint(%s, 20.95), 4326) WHERE number = '103'", (LON,))
    after = store.layer_tokens(["markers", "boundary"])
    assert after["markers"] != before["markers"] and after["boundary"] == before["boundary"]
    assert _pair(store, 20.94) == {"103", "104"}

    with store.transaction() as tx:
        t0 = tx.layer_tokens(["markers"])["markers"]
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.update_fields("markers", "LA-104", {"condition": "good"},
                                 log_layer="marker_changes")
                assert tx.layer_tokens(["markers"])["markers"] != t0
                raise RuntimeError("undo")
        assert tx.layer_tokens(["markers"])["markers"] == t0  # the write was rolled back


@pytest.mark.postgis_only
def test_postgis_lazy_lock_redoes_checks_made_on_changed_references(store, store_backend,
                                                                     pg_cluster):
    """The group writer's lazy lock (PostGIS): the rules run before the write lock; a marker
    moved by another client between those reads and the lock is detected when the lock is
    taken (StaleRead) and the record is checked again - it is stored with the new pair."""
    assert _pair(store, 20.94) == {"102", "103"}  # warm caches
    before = store.read("incidents")
    moved = []
    with store.transaction(lazy_lock=True) as tx:
        take = tx.lock

        def lock_after_a_concurrent_move(*args, **kw):
            if not tx._locked and not moved:  # between the rules and the lock
                with pg_cluster.connect() as con:
                    con.execute(f'UPDATE "{store.schema}".markers SET geom = ST_SetSRID('
                                "ST_MakePoint(%s, 20.95), 4326) WHERE number = '103'", (LON,))
                moved.append(True)
            return take(*args, **kw)

        tx.lock = lock_after_a_concurrent_move
        with tx.savepoint():
            got = record_incidents(tx, [{"kind": "illegal_crossing",
                                         "geometry": (LON + 0.001, 20.94),
                                         "reported_date": "2025-01-02"}])
    assert moved
    assert {got["marker_before"].iloc[0], got["marker_after"].iloc[0]} == {"103", "104"}
    stored = store.read("incidents")
    row = stored[stored["id"] == got["id"].iloc[0]]
    assert {row["marker_before"].iloc[0], row["marker_after"].iloc[0]} == {"103", "104"}
    # the insert sent with the lock was undone with the StaleRead: one record, the next id
    assert len(stored) == len(before) + 1
    top = max(int(v.split("-")[1]) for v in before["id"])
    assert got["id"].iloc[0] == f"V-{top + 1:06d}"


@pytest.mark.postgis_only
def test_postgis_lazy_lock_busy_store_fails_the_group_fast(store, store_backend, pg_cluster):
    """Another session holds the store's lock: the group writer's lazy lock waits the
    timeout once and every write of the group gets StoreBusy (nothing written); afterwards
    the writer goes on."""
    import time

    from bienmoc.errors import StoreBusy

    before = len(store.read("incidents"))
    item = {"kind": "illegal_crossing", "geometry": (LON + 0.001, 20.95),
            "reported_date": "2025-01-02"}

    def batch(tx, items):
        return list(record_incidents(tx, items)["id"])

    gw = GroupWriter(store, timeout=0.3, lazy_lock=True)
    with pg_cluster.connect() as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (store._lock_key,))
        gate, started = threading.Event(), threading.Event()
        first = gw.submit(lambda tx: (started.set(), gate.wait(10)))  # the 4 form one group
        assert started.wait(10)
        futs = [gw.submit_batched("i", item, batch) for _ in range(4)]
        t0 = time.monotonic()
        gate.set()
        first.result(10)
        for f in futs:
            with pytest.raises(StoreBusy):
                f.result(20)
        assert time.monotonic() - t0 < 0.3 * 4  # not one full wait per write
        holder.execute("SELECT pg_advisory_unlock(%s)", (store._lock_key,))
    assert len(store.read("incidents")) == before
    assert gw.run_batched("i", item, batch).startswith("V-")
    gw.close()
    assert len(store.read("incidents")) == before + 1
