"""Speed bar of the maps: the naive ``GeoDataFrame.explore()`` map against bienmoc's maps.

    python benchmarks/maps.py                 # whole country + 100,000 generated incidents
    python benchmarks/maps.py --incidents 20000 --runs 1     # a quick look

What it does (everything under --work, default /tmp/bienmoc-bench/maps; nothing is committed):
  1. seeds the demo store (whole country: three borders, ~4,900 markers, 400 incidents) and a
     stress store = the demo + N generated incidents (``make_stress_store``);
  2. naive: ``explore()`` of boundary + markers + 10,000 incidents (the issue's baseline), saved
     as HTML; its CDN links are pointed at bienmoc's vendored Leaflet and the other CDN assets
     (jQuery, Bootstrap, Font Awesome, awesome-markers: unused by these layers) are dropped;
  3. bienmoc: the map server (``create_app``, no tiles) over each store on 127.0.0.1; server
     render time of the page and its JSON cold (first request of a fresh app) and cached;
  4. loads every page in headless Chromium (Debian's /usr/bin/chromium via playwright, every
     request not to 127.0.0.1/file: blocked, fresh browser context per load = no browser
     cache): "ready" = the load event + two animation frames (naive) or bienmoc's
     ``data-bienmoc-ready`` (all data fetched and drawn, + two animation frames).
Prints the 1-minute load average with the results; use --wait-load to wait (≤ 10 min) for a
quiet machine first.
"""
from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--headless=new", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def make_stress_store(path: Path, n: int, seed: int = 20261124):
    """The demo store plus ``n`` incidents spread along the three lines, within 5 km of them
    (kinds, statuses, dates 2015–2026 at random; deterministic for a seed)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from bienmoc.geometry.crs import metric_crs
    from bienmoc.demo import seed_store
    from bienmoc.model.schema import IncidentKind, IncidentStatus, conform
    from bienmoc.storage import GeoPackageStore

    if path.exists():
        path.unlink()
    store = GeoPackageStore(path)
    seed_store(store)
    rng = np.random.default_rng(seed)
    boundary = store.read("boundary")
    crs = metric_crs(boundary)
    lines = boundary.to_crs(crs)
    lengths = lines.length.to_numpy()
    which = rng.choice(len(lines), size=n, p=lengths / lengths.sum())
    xs, ys = np.empty(n), np.empty(n)
    for i, geom in enumerate(lines.geometry):
        sel = np.flatnonzero(which == i)
        pts = shapely.line_interpolate_point(shapely.line_merge(geom) if geom.geom_type ==
                                             "MultiLineString" else geom,
                                             rng.random(len(sel)), normalized=True)
        xs[sel] = shapely.get_x(pts) + rng.uniform(-5000, 5000, len(sel))
        ys[sel] = shapely.get_y(pts) + rng.uniform(-5000, 5000, len(sel))
    pts = gpd.GeoSeries(shapely.points(xs, ys), crs=crs).to_crs(4326)
    kinds = [k.value for k in IncidentKind]
    statuses = [s.value for s in IncidentStatus]
    days = rng.integers(0, 4300, n)
    reported = pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")
    old = store.read("incidents")
    new = gpd.GeoDataFrame({
        "id": [f"S-{i:06d}" for i in range(n)],
        "kind": rng.choice(kinds, n), "status": rng.choice(statuses, n),
        "border": boundary["border"].to_numpy()[which], "province": None,
        "occurred_date": reported - pd.to_timedelta(rng.integers(0, 30, n), unit="D"),
        "reported_date": reported,
        "description": [f"Vụ việc thử nghiệm số {i}" for i in range(n)]},
        geometry=pts.values, crs=4326)
    # generated rows are valid by construction; conform() only sets the stored dtypes
    store.write("incidents", conform("incidents", pd.concat([old, new], ignore_index=True)))
    return store


# -- naive ----------------------------------------------------------------------------------

def build_naive(store, n_incidents: int, out: Path) -> dict:
    from bienmoc.maps.assets import STATIC_DIR

    boundary, markers = store.read("boundary"), store.read("markers")
    incidents = store.read("incidents").head(n_incidents)
    t0 = time.perf_counter()
    m = boundary.explore(color="red")
    markers.explore(m=m)
    incidents.explore(m=m, color="blue")
    m.save(str(out))
    build_s = time.perf_counter() - t0
    html = out.read_text(encoding="utf-8")
    leaflet = STATIC_DIR / "vendor" / "leaflet-1.9.4"

    def sub(mt):
        url = mt.group(2)
        if re.search(r"leaflet@[\d.]+/dist/leaflet\.js$", url):
            return f'{mt.group(1)}="{(leaflet / "leaflet.js").as_uri()}"'
        if re.search(r"leaflet@[\d.]+/dist/leaflet\.css$", url):
            return f'{mt.group(1)}="{(leaflet / "leaflet.css").as_uri()}"'
        return f'{mt.group(1)}="data:,"'          # unused by these layers: dropped
    html = re.sub(r'(src|href)="(https?://[^"]+\.(?:js|css))"', sub, html)
    out.write_text(html, encoding="utf-8")
    return {"html_bytes": len(html.encode()), "build_s": build_s, "url": out.as_uri(),
            "incidents": len(incidents), "markers": len(markers)}


# -- bienmoc ---------------------------------------------------------------------------------

class Server:
    def __init__(self, store):
        import uvicorn

        from bienmoc.api import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(create_app(store=store, tiles=None),
                                                    host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


def server_times(srv: Server, page: str, data: list[str]) -> dict:
    """Cold (first) and cached render times of a page and of the JSON it loads."""
    import httpx

    out = {}
    with httpx.Client(base_url=srv.base, timeout=120) as c:
        for name, path in [("page", page)] + [(f"data:{p.split('?')[0].rsplit('/', 1)[-1]}", p)
                                              for p in data]:
            t0 = time.perf_counter()
            r = c.get(path, headers={"Accept-Encoding": "identity"})
            cold = time.perf_counter() - t0
            r.raise_for_status()
            warm = []
            for _ in range(15):
                t0 = time.perf_counter()
                c.get(path, headers={"Accept-Encoding": "identity"})
                warm.append(time.perf_counter() - t0)
            gz = c.get(path, headers={"Accept-Encoding": "gzip"})
            out[name] = {"bytes": len(r.content), "gzip_bytes": int(
                gz.headers.get("content-length", len(r.content))),
                "cold_s": cold, "cached_s": statistics.median(warm)}
    return out


def measure_load(pw, url: str, bienmoc: bool, shot: Path | None = None) -> dict:
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    try:
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        errors, blocked = [], []
        page.on("pageerror", lambda e: errors.append(str(e)[:200]))
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
            ("http://127.0.0.1", "file:", "data:")) else (blocked.append(r.request.url),
                                                          r.abort()))
        t0 = time.perf_counter()
        page.goto(url, wait_until="load", timeout=300_000)
        t_load = time.perf_counter() - t0
        if bienmoc:
            page.wait_for_selector("html[data-bienmoc-ready]:not([data-bienmoc-busy])",
                                   state="attached", timeout=300_000)
        else:
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                          "requestAnimationFrame(() => r(1))))")
        t_ready = time.perf_counter() - t0
        stats = page.evaluate("() => window.bienmoc ? window.bienmoc.maps.map(s => s.stats) "
                              ": null")
        heap = page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")
        if shot:
            page.screenshot(path=str(shot))
        return {"load_s": t_load, "ready_s": t_ready, "errors": errors,
                "blocked": len(blocked), "stats": stats, "heap_mb": heap / 2**20}
    finally:
        browser.close()


def median_load(pw, url, bienmoc, runs, shot=None) -> dict:
    res = [measure_load(pw, url, bienmoc, shot if i == 0 else None) for i in range(runs)]
    out = dict(res[0])
    out["ready_s"] = statistics.median(r["ready_s"] for r in res)
    out["load_s"] = statistics.median(r["load_s"] for r in res)
    out["runs"] = [round(r["ready_s"], 3) for r in res]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--naive-incidents", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/bienmoc-bench/maps")
    ap.add_argument("--wait-load", action="store_true",
                    help="wait (at most 10 min) for a 1-min load average below 1.0")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if a.wait_load:
        deadline = time.time() + 600
        while loadavg() >= 1.0 and time.time() < deadline:
            time.sleep(15)
    from playwright.sync_api import sync_playwright

    from bienmoc.demo import seed_store
    from bienmoc.storage import GeoPackageStore

    t0 = time.perf_counter()
    demo = GeoPackageStore(work / "demo.gpkg")
    if not demo.path.exists():
        seed_store(demo)
    stress_path = work / f"stress-{a.incidents}.gpkg"
    stress = GeoPackageStore(stress_path) if stress_path.exists() else \
        make_stress_store(stress_path, a.incidents)
    print(f"stores ready in {time.perf_counter() - t0:.1f} s: {demo.uri}, {stress.uri} "
          f"({len(stress.read('incidents')):,} incidents)", flush=True)
    naive = build_naive(stress, a.naive_incidents, work / "explore.html")

    results = {"load_1min_before": loadavg()}
    with sync_playwright() as pw:
        r = median_load(pw, naive["url"], False, a.runs, work / "explore.png")
        results["explore"] = {**naive, **r}
        for label, store, page, data in (
                ("progress (demo)", demo, "/maps/progress",
                 ["/maps/data/base", "/maps/data/progress"]),
                ("incidents (demo)", demo, "/maps/incidents",
                 ["/maps/data/base", "/maps/data/incidents"]),
                (f"incidents ({a.incidents:,})", stress, "/maps/incidents",
                 ["/maps/data/base", "/maps/data/incidents"])):
            srv = Server(store)
            try:
                st = server_times(srv, page, data)
                shot = work / (re.sub(r"\W+", "_", label).strip("_") + ".png")
                r = median_load(pw, srv.base + page, True, a.runs, shot)
                results[label] = {"server": st, **r}
            finally:
                srv.stop()
    results["load_1min_after"] = loadavg()
    (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    report(results, a)


def report(res: dict, a) -> None:
    e = res["explore"]
    print(f"\n1-min load average: {res['load_1min_before']:.2f} before, "
          f"{res['load_1min_after']:.2f} after; Chromium median of {a.runs} loads\n")
    print("| map | page HTML | JSON (raw / gzip) | server: cold / cached | browser ready "
          "| shown |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| explore(): {e['markers']:,} markers + {e['incidents']:,} incidents "
          f"| {e['html_bytes'] / 1e6:.2f} MB | – | build+save {e['build_s']:.2f} s | "
          f"{e['ready_s']:.2f} s | errors {len(e['errors'])} |")
    for label, r in res.items():
        if not isinstance(r, dict) or "server" not in r:
            continue
        s = r["server"]
        data = {k: v for k, v in s.items() if k.startswith("data:")}
        raw = sum(v["bytes"] for v in data.values())
        gz = sum(v["gzip_bytes"] for v in data.values())
        cold = s["page"]["cold_s"] + max(v["cold_s"] for v in data.values())
        cached = max([s["page"]["cached_s"]] + [v["cached_s"] for v in data.values()])
        stats = (r.get("stats") or [{}])[0]
        shown = ", ".join(f"{k} {stats[k]:,}" for k in ("markers", "works", "incidents",
                                                        "cells", "total")
                          if isinstance(stats.get(k), int) and stats.get(k))
        print(f"| bienmoc {label} | {s['page']['bytes'] / 1e3:.0f} KB | "
              f"{raw / 1e6:.2f} / {gz / 1e6:.2f} MB | {cold:.2f} s / "
              f"{cached * 1000:.1f} ms | {r['ready_s']:.2f} s | {shown}; errors "
              f"{len(r['errors'])} |")
    print("\nready runs (s):", {k: v["runs"] for k, v in res.items()
                                if isinstance(v, dict) and "runs" in v})
    print("targets: progress ≤ 1.5 MB and ready ≤ 1 s; incidents over 100,000 ready ≤ 2 s; "
          "cached page ≤ 50 ms")


if __name__ == "__main__":
    sys.exit(main())
