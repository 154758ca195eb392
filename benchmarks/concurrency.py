"""Eight concurrent writers on one GeoPackage store: writes/s and latency, old vs new.

Run from the repository root (about 40 s)::

    PYTHONPATH=src python benchmarks/concurrency.py [--seconds 4] [--writers 8]

Each scenario starts from the same small store (bienmoc.testing.make_layers) in a temporary
folder and lets ``--writers`` writers append one valid incident each (id allocated by the store)
for ``--seconds`` seconds; every write is timed from call to acknowledgement. Then the store is
checked: exactly the acknowledged ids are there, no duplicate id, ``PRAGMA integrity_check`` ok.

Scenarios:

* ``old``: the store as it was before issue 11 (``benchmarks/_baseline_store.py``): a
  buffered transaction (flock, read of the layer through GDAL, append through pyogrio in a
  rollback-journal transaction, fsync of file and folder), 8 threads;
* ``new-tx``: 8 threads, one ``store.transaction()`` (one commit + fsync) per write;
* ``new-group``: 8 threads through one :class:`bienmoc.storage.groupcommit.GroupWriter`
  (one commit + fsync per group of waiting writes);
* ``new-procs``: 8 processes, each one ``store.transaction()`` per write (they queue on the
  store's lock file and SQLite's lock).

The machine's load average is printed before and after (2 shared cores: figures vary with
what else runs).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))


def _row():
    from bienmoc.testing import make_incidents

    row = make_incidents().iloc[:1].copy()
    row["id"] = None
    return row


def _seed(path: Path, store_cls) -> None:
    from bienmoc.testing import make_layers

    store_cls(path).write_many(make_layers())


def _threads(n: int, seconds: float, write_one) -> tuple[list[float], list[str], list]:
    lat: list[float] = []
    ids: list[str] = []
    errors: list = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def work():
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                got = write_one()
            except Exception as e:  # counted, shown
                with lock:
                    errors.append(repr(e))
                continue
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                ids.extend(got)

    ts = [threading.Thread(target=work) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat, ids, errors


def _proc_main(path: str, seconds: float, start_at: float, out) -> None:
    sys.path.insert(0, str(HERE.parent / "src"))
    from bienmoc.storage import GeoPackageStore

    store = GeoPackageStore(path)
    row = _row()
    lat, ids, errors = [], [], []
    while time.time() < start_at:
        time.sleep(0.001)
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t = time.perf_counter()
        try:
            with store.transaction() as tx:
                got = tx.append("incidents", row)
        except Exception as e:
            errors.append(repr(e))
            continue
        lat.append(time.perf_counter() - t)
        ids.extend(got)
    out.put((lat, ids, errors))


def scenario(name: str, folder: Path, writers: int, seconds: float) -> dict:
    from bienmoc.storage import GeoPackageStore
    from bienmoc.storage.groupcommit import GroupWriter

    path = folder / f"{name}.gpkg"
    row = _row()
    t0 = time.perf_counter()
    if name == "old":
        import _baseline_store as old

        store = old.GeoPackageStore(path)
        _seed(path, old.GeoPackageStore)

        def one():
            with store.transaction() as tx:
                return tx.append("incidents", row)
        t0 = time.perf_counter()
        lat, ids, errors = _threads(writers, seconds, one)
    elif name == "new-tx":
        store = GeoPackageStore(path)
        _seed(path, GeoPackageStore)

        def one():
            with store.transaction() as tx:
                return tx.append("incidents", row)
        t0 = time.perf_counter()
        lat, ids, errors = _threads(writers, seconds, one)
    elif name == "new-group":
        store = GeoPackageStore(path)
        _seed(path, GeoPackageStore)
        gw = GroupWriter(store)
        t0 = time.perf_counter()
        lat, ids, errors = _threads(writers, seconds,
                                    lambda: gw.run(lambda tx: tx.append("incidents", row)))
        gw.close()
    elif name == "new-procs":
        _seed(path, GeoPackageStore)
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        start_at = time.time() + 3.0  # all spawned interpreters ready before the clock runs
        ps = [ctx.Process(target=_proc_main, args=(str(path), seconds, start_at, out))
              for _ in range(writers)]
        for p in ps:
            p.start()
        parts = [out.get() for _ in ps]
        for p in ps:
            p.join()
        t0 = None
        lat = [x for p in parts for x in p[0]]
        ids = [x for p in parts for x in p[1]]
        errors = [x for p in parts for x in p[2]]
    else:
        raise ValueError(name)
    elapsed = seconds if t0 is None else time.perf_counter() - t0
    return {"scenario": name, **_check(path, ids), **_stats(lat, elapsed), "errors": errors}


def _stats(lat: list[float], elapsed: float) -> dict:
    lat = sorted(lat)
    if not lat:
        return {"writes": 0, "per_s": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan")}
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    return {"writes": len(lat), "per_s": len(lat) / elapsed, "p50_ms": pick(0.50),
            "p99_ms": pick(0.99)}


def _check(path: Path, acked: list[str]) -> dict:
    con = sqlite3.connect(path)
    try:
        stored = [r[0] for r in con.execute("SELECT id FROM incidents")]
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    missing = set(acked) - set(stored)
    return {"stored": len(stored), "acked_missing": len(missing),
            "duplicates": len(stored) - len(set(stored)), "integrity": ok}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--only", nargs="*", default=["old", "new-tx", "new-group", "new-procs"])
    a = ap.parse_args(argv)
    print(f"cpus={os.cpu_count()} load before={os.getloadavg()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bienmoc-conc-") as tmp:
        for name in a.only:
            r = scenario(name, Path(tmp), a.writers, a.seconds)
            rows.append(r)
            errs = f" errors={len(r['errors'])} e.g. {r['errors'][0]}" if r["errors"] else ""
            print(f"{name:10s} {r['writes']:6d} writes {r['per_s']:7.1f}/s  p50 "
                  f"{r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  stored={r['stored']} "
                  f"acked_missing={r['acked_missing']} dup={r['duplicates']} "
                  f"integrity={r['integrity']}{errs}", flush=True)
    print(f"load after={os.getloadavg()}")
    bad = [r for r in rows if r["acked_missing"] or r["duplicates"] or r["integrity"] != "ok"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
