"""The storage part of a small write batch (issue 16 item 6), in process: from
``store.transaction()`` to COMMIT, without the rule layer.

Run from the repository root (about 20 s)::

    python benchmarks/pg_small_writes.py [--reps 200] [--src OTHER_TREE/src]

For batches of 1, 4 and 16 incidents (the frame the rule layer hands to ``tx.append``,
captured once from ``record_incidents``) it times ``with store.transaction() as tx:
tx.append("incidents", frame); log_writes(tx, ...)`` on a PostGIS store (the private cluster
of tests/pgcluster.py) and on a GeoPackage store, its peer in the same run, and prints CPU ms
per batch (``time.process_time``: this process only, which a noisy neighbour disturbs less
than the wall time), the PostGIS/GeoPackage ratio, the round trips per batch (frontend Query
and Sync messages in libpq's protocol trace) and the load averages. It then counts the round
trips of the group writer's shape: 4 writes of one record, each in its savepoint, the lock taken
at the first write. ``--src`` measures another tree (e.g. a checkout of the commit before).
``--whole`` times the whole ``record_incidents`` of each batch instead (the rule layer:
placing on the line, validation, domain rules, and the store part), what the API's group
writer runs per batch.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--src", default=str(HERE.parent / "src"))
    ap.add_argument("--whole", action="store_true", help="time the whole record_incidents "
                    "(rule layer + store) per batch, not the store part alone")
    a = ap.parse_args()
    sys.path[:0] = [a.src, str(HERE.parent / "tests")]
    import shapely
    from pgcluster import cluster, round_trips

    from bienmoc.demo import seed_store
    from bienmoc.records import RuleSettings, record_incidents
    from bienmoc.records.attribution import log_writes
    from bienmoc.storage import GeoPackageStore
    from bienmoc.storage.postgis import PostGISStore

    print(f"bienmoc from {a.src}; load {os.getloadavg()}", flush=True)
    settings = RuleSettings(incident_max_distance_m=20000.0)

    def items(n, k):
        return [{"kind": "illegal_crossing", "reported_date": dt.date(2025, 3, 1),
                 "geometry": shapely.Point(103.90 + 0.001 * ((k * n + i) % 50), 21.05),
                 "status": "reported", "description": f"m {k} {i}"} for i in range(n)]

    frames: dict = {}

    def capture(store):
        """The frames the rule layer appends (one record_incidents per batch size)."""
        tx_type = None
        with store.transaction() as tx:
            tx_type = type(tx)
        real = tx_type.append

        def spy(self, layer, data):
            frames.setdefault((layer, len(data)), data.copy())
            return real(self, layer, data)

        tx_type.append = spy
        try:
            for n in (1, 4, 16):
                with store.transaction() as tx:
                    record_incidents(tx, items(n, 0), settings=settings, user="bench")
        finally:
            tx_type.append = real

    def batch(store, n, k=0):
        with store.transaction() as tx:
            if a.whole:  # the rule layer too: what the API's group writer runs per batch
                record_incidents(tx, items(n, k), settings=settings, user="bench")
                return
            ids = tx.append("incidents", frames[("incidents", n)])
            log_writes(tx, "incidents", ids, "create", "bench")

    def group(store):
        with store.transaction(lazy_lock=True) as tx:
            for k in range(4):
                with tx.savepoint():
                    record_incidents(tx, items(1, k), settings=settings, user="bench")

    with cluster() as c, tempfile.TemporaryDirectory() as d:
        stores = {"postgis": PostGISStore(c.url("bench")),
                  "gpkg": GeoPackageStore(os.path.join(d, "bench.gpkg"))}
        for s in stores.values():
            seed_store(s)
            capture(s)
        cpu: dict = {}
        for n in (1, 4, 16):
            for name, s in stores.items():
                for _ in range(3):
                    batch(s, n)  # warm (psycopg prepares its statements at the 5th use)
                c0 = time.process_time()
                for k in range(a.reps):
                    batch(s, n, k)
                cpu[name, n] = (time.process_time() - c0) / a.reps * 1000
            rt = round_trips(stores["postgis"], lambda: batch(stores["postgis"], n))
            print(f"batch {n:2d}: postgis {cpu['postgis', n]:6.3f} ms CPU, gpkg "
                  f"{cpu['gpkg', n]:6.3f} ms CPU, ratio postgis/gpkg "
                  f"{cpu['postgis', n] / cpu['gpkg', n]:5.2f}; postgis round trips {rt}; "
                  f"load {os.getloadavg()}", flush=True)
        pg = stores["postgis"]
        group(pg)
        group(pg)
        print(f"group of 4 writes in savepoints (lazy lock): {round_trips(pg, lambda: group(pg))}"
              f" round trips; load {os.getloadavg()}")
        pg.close()


if __name__ == "__main__":
    main()
