"""Import of field submissions: 10k KoboToolbox incidents into a copy of the demo store.

    python benchmarks/fieldforms.py [--n 10000] [--runs 3]

Rows: the field export (Kobo CSV: detection, column mapping, accuracy check, per-submission
idempotency keys, the rule layer, every incident located on the line); the same export again
(every submission already there: nothing written); and, as the peer in the same run, the same
records as a plain bienmoc CSV through ``bienmoc import`` (the same rule layer, no idempotency
look-ups). Target (issue 15): 10k submissions in under 5 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bienmoc.demo import seed_store  # noqa: E402
from bienmoc.io.fieldforms import import_field_export  # noqa: E402
from bienmoc.io.files import import_layer  # noqa: E402
from bienmoc.storage import GeoPackageStore  # noqa: E402


def submissions(store, n: int, seed: int = 20261129) -> pd.DataFrame:
    """``n`` incidents 50–3000 m on Vietnam's side of the VN–Laos line (metric offsets)."""
    rng = np.random.default_rng(seed)
    boundary = store.read("boundary")
    geom = boundary[boundary["border"] == "LA"].to_crs(32648).geometry.iloc[0]
    s = rng.uniform(0.05, 0.95, n) * geom.length
    import shapely

    pts = shapely.line_interpolate_point(geom, s)
    ahead = shapely.line_interpolate_point(geom, s + 1.0)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    dx, dy = shapely.get_x(ahead) - x, shapely.get_y(ahead) - y
    norm = np.hypot(dx, dy)
    off = rng.uniform(50, 3000, n)
    # VN–Laos runs with Vietnam on the left (home_side) of the line's direction
    side = 1.0 if boundary.set_index("border").loc["LA", "home_side"] == "left" else -1.0
    px, py = x - side * dy / norm * off, y + side * dx / norm * off
    import geopandas as gpd

    ll = gpd.GeoSeries(gpd.points_from_xy(px, py), crs=32648).to_crs(4326)
    return pd.DataFrame({
        "details/kind": rng.choice(["illegal_crossing", "encroachment", "landslide"], n),
        "details/status": "reported", "details/reported_date": "2026-03-01",
        "details/description": [f"tuần tra phát hiện {i}" for i in range(n)],
        "_location_latitude": ll.y.round(7), "_location_longitude": ll.x.round(7),
        "_location_altitude": 0, "_location_precision": rng.uniform(2, 15, n).round(1),
        "_uuid": [f"bench-{seed}-{i}" for i in range(n)], "_id": np.arange(n)})


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bienmoc-fieldforms-"))
    base = GeoPackageStore(work / "base.gpkg")
    seed_store(base)
    df = submissions(base, args.n)
    kobo = work / "kobo.csv"
    df.to_csv(kobo, sep=";", index=False)
    plain = work / "plain.csv"
    pd.DataFrame({"kind": df["details/kind"], "status": "reported",
                  "reported_date": "2026-03-01", "description": df["details/description"],
                  "lon": df["_location_longitude"], "lat": df["_location_latitude"]}
                 ).to_csv(plain, index=False)
    load0 = os.getloadavg()
    rows = {"kobo export (new)": [], "kobo export again (all skipped)": [],
            "plain CSV via bienmoc import (peer)": []}
    for r in range(args.runs):
        path = work / f"run{r}.gpkg"
        shutil.copy(base.uri, path)
        store = GeoPackageStore(path)
        out = {}
        rows["kobo export (new)"].append(timed(
            lambda: out.update(first=import_field_export(store, "incidents", kobo))))
        assert out["first"].attrs["added"] == args.n
        rows["kobo export again (all skipped)"].append(timed(
            lambda: out.update(again=import_field_export(store, "incidents", kobo))))
        assert out["again"].attrs["added"] == 0
        peer = work / f"peer{r}.gpkg"
        shutil.copy(base.uri, peer)
        rows["plain CSV via bienmoc import (peer)"].append(timed(
            lambda: import_layer(GeoPackageStore(peer), "incidents", plain)))
    load1 = os.getloadavg()
    peer = statistics.median(rows["plain CSV via bienmoc import (peer)"])
    print(f"field submissions: {args.n:,} incidents (Kobo CSV) into a copy of the demo store; "
          f"median of {args.runs} runs")
    print(f"machine: {os.cpu_count()} cores, load average {load0[0]:.2f} before, "
          f"{load1[0]:.2f} after (other jobs make these numbers noisy)")
    for name, ts in rows.items():
        med = statistics.median(ts)
        print(f"  {name:<40} {med:7.2f} s  {args.n / med:9,.0f} rows/s  "
              f"{med / peer:5.2f}× the plain import")
    target = statistics.median(rows["kobo export (new)"])
    print(f"target: 10k submissions < 5 s -> {'met' if target * 10_000 / args.n < 5 else 'NOT met'}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
