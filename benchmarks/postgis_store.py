"""PostGIS store vs GeoPackage store in one run: bulk load, bbox pages, deep pages.

Run from the repository root (about a minute at the default size)::

    python benchmarks/postgis_store.py [--rows 100000] [--url postgresql://…]

Without ``--url`` a private throw-away cluster is started (tests/pgcluster.py; PostgreSQL 15 +
PostGIS from Debian). ``--rows`` synthetic incidents (the test world's rows at random points)
are appended in one transaction to each store: PostGIS through binary COPY, GeoPackage through
its INSERTs. Then, on the same data:

* ``bbox`` pages of 1,000 features (random 0.02° boxes): PostGIS answers in SQL
  (:func:`bienmoc.storage.pgquery.query_items`: GiST ``&&``, exact count) then serialised
  as the API does, the GeoPackage path
  from the API's in-memory index (:class:`bienmoc.api.query.LayerIndex`, built once per
  worker: its build time is printed too);
* page 1 vs a deep page of 100 features: by keyset (``fid > after``) and by OFFSET.

Ratios are printed against the GeoPackage figures measured in the same run, with the load
averages (the machine is shared).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent / "tests")]


def _rows(n: int, seed: int = 16):
    from bienmoc.testing import make_incidents

    base = make_incidents()
    rng = np.random.default_rng(seed)
    df = base.iloc[np.arange(n) % len(base)].reset_index(drop=True)
    df["id"] = None
    x = rng.uniform(104.40, 104.60, n)
    y = rng.uniform(20.85, 21.05, n)
    df = df.set_geometry(shapely.points(x, y), crs=4326)
    df["description"] = pd.Series([f"row {k}" for k in range(n)], dtype=object)
    return df


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _p95(times: list[float]) -> float:
    return float(np.percentile(np.array(times) * 1000, 95))


def run(url: str, n: int) -> None:
    from bienmoc.api.query import LayerIndex, page_feature_bytes
    from bienmoc.storage import GeoPackageStore
    from bienmoc.storage.postgis import PostGISStore

    print(f"load average before: {os.getloadavg()}")
    data = _rows(n)
    pg = PostGISStore(url)
    with tempfile.TemporaryDirectory() as tmp:
        gp = GeoPackageStore(Path(tmp) / "bench.gpkg")
        load = {}
        for name, store in (("gpkg", gp), ("postgis", pg)):
            store.write("incidents", data.iloc[:0])
            t0 = time.perf_counter()
            with store.transaction() as tx:
                tx.append("incidents", data)
            load[name] = time.perf_counter() - t0
        print(f"\nbulk append of {n:,} incidents in one transaction")
        for name, s in load.items():
            print(f"  {name:<8} {s:7.2f} s  {n / s:>10,.0f} rows/s  ({s / n * 1e6:.1f} s per "
                  "million)")
        print(f"  PostGIS (binary COPY) / GeoPackage speed: {load['gpkg'] / load['postgis']:.2f}x")

        print("\nfull read of the layer (what status/hotspots do), best of 2")
        for name, store in (("gpkg", gp), ("postgis", pg)):
            best = min(_timed(lambda: store.read("incidents")) for _ in range(2))
            print(f"  {name:<8} {best:7.2f} s")

        rng = np.random.default_rng(1)
        boxes = []
        for _ in range(30):
            x0, y0 = rng.uniform(104.40, 104.58), rng.uniform(20.85, 21.03)
            boxes.append((x0, y0, x0 + 0.02, y0 + 0.02))
        t0 = time.perf_counter()
        frame, fids = gp.read_rows("incidents")
        lay = LayerIndex("incidents", frame, fids)
        build = time.perf_counter() - t0
        print("\nbbox pages (limit 1000, 30 random 0.02° boxes)")
        print(f"  gpkg in-memory index (per API worker): built in {build:.2f} s")
        tg, tp, matched = [], [], []
        for b in boxes:
            t = time.perf_counter()
            page = lay.select(bbox=[b], limit=1000)
            lay.feature_bytes(page.rows)
            tg.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = pg.query_items("incidents", boxes=[b], limit=1000)
            page_feature_bytes("incidents", got)
            tp.append(time.perf_counter() - t)
            assert got.matched == page.matched and got.exact, (got.matched, page.matched)
            matched.append(got.matched)
        print(f"  features matched per box: median {int(np.median(matched))}")
        print(f"  gpkg in-memory  p95 {_p95(tg):7.1f} ms")
        print(f"  postgis SQL     p95 {_p95(tp):7.1f} ms   (GeoJSON bytes; ratio "
              f"{_p95(tp) / _p95(tg):.1f}x the in-memory time)")

        print("\npages of 100 (no filter)")
        deep = (n // 100 - 2) * 100
        res = {}
        for label, kw in (("page 1", {}), (f"offset {deep:,}", {"offset": deep}),
                          (f"keyset after fid {deep:,}", {"after": deep})):
            ts = []
            for _ in range(10):
                t = time.perf_counter()
                page_feature_bytes("incidents", pg.query_items("incidents", limit=100, **kw))
                ts.append(time.perf_counter() - t)
            res[label] = float(np.median(ts) * 1000)
            print(f"  postgis {label:<28} median {res[label]:7.1f} ms")
        first = res["page 1"]
        for label, v in res.items():
            if label != "page 1":
                print(f"  {label}: {v / first:.2f}x page 1")
    pg.close()
    print(f"\nload average after: {os.getloadavg()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="an existing database (a fresh schema is used)")
    a = ap.parse_args()
    if a.url:
        run(a.url, a.rows)
        return
    from pgcluster import cluster

    with cluster() as c:
        run(c.url("bench"), a.rows)


if __name__ == "__main__":
    main()
