"""Issue 16 item 6: the scale figures of the PostGIS store through the HTTP API, GeoPackage beside.

Run from the repository root::

    python benchmarks/postgis_api.py --rows 50000      # a quick look (~3 min)
    python benchmarks/postgis_api.py                   # 1M incidents (the default)
    python benchmarks/postgis_api.py --rows 5000000    # the issue's figure (quiet machine only)

In ONE run, for BOTH stores holding the same data (the demo store + N synthetic incidents within
5 km of the demo's real border lines), it prints:

* load: seconds per million incidents appended in one transaction through the store's write
  (PostGIS: binary COPY; GeoPackage: its INSERTs) — target <= 30 s per million on PostGIS;
* ``items?bbox=…&limit=1000``: p50/p95 over random 20 km boxes centred on incidents, one
  keep-alive client (target p95 <= 300 ms);
* ``items?bbox=…&limit=100`` throughput with wrk (2 threads, 16 connections, random boxes) on
  bienmoc/PostGIS, bienmoc/GeoPackage and **pygeoapi's PostgreSQL provider on the same table**
  (target bienmoc/PostGIS >= 5x pygeoapi); pygeoapi 0.24 runs in its own venv under /tmp
  (``--pygeoapi-venv``, made by this script if missing, like shared/peer-bench/pygeoapi/run.sh);
* page 5,000 (limit 100) vs page 1: keyset ``after=`` on PostGIS, ``offset=`` on GeoPackage;
* 8 writers x 500 POSTs (incidents, bearer token; each writer its own process), twice: over
  one kept-alive connection per writer (a raw-socket client costing ~30 µs of CPU per POST)
  and with a new connection per POST (http.client, ~1 ms of client CPU per POST on the same
  2 cores): writes/s from the first POST to the last answer, errors, rows stored == 201s;
* RSS per server worker at ``--rss-at`` rows (200k) and at the full size.

Every server is the real app (``uvicorn bienmoc.api:create_app --factory --workers 2``) on
127.0.0.1; the PostgreSQL cluster is private and throw-away (tests/pgcluster.py). Load averages
are printed before/after each part: the machine is shared, read the ratios, not the absolutes.
wrk comes from Debian (``apt-get install wrk``); without it the throughput part is skipped.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path[:0] = [str(SRC), str(HERE.parent / "tests"), str(HERE)]

from api_writes import TOKEN, _client, _client_keepalive  # noqa: E402  (the same POST client as issue 11's bench)

WORK = Path(os.environ.get("BENCH_DIR", "/tmp/bienmoc-bench/pgapi"))
PAGE = 100
BOX = 0.2  # degrees: ~20 x 20 km, the peer benchmark's box


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def part(title: str) -> None:
    print(f"\n== {title}   [{load()}]", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ data
def make_rows(n: int, seed: int = 16):
    """``n`` valid incidents: the demo's incident rows cycled, at points uniform in chainage
    along the demo's three border lines (by length) and up to 5 km off the line."""
    import geopandas as gpd
    import shapely

    from bienmoc.demo import demo_dir
    from bienmoc.io.files import read_source
    from bienmoc.model.schema import validate

    raw, rows = read_source(demo_dir() / "incidents.geojson")
    base = validate("incidents", raw, rows=rows, what="demo incidents")
    lines = gpd.read_file(demo_dir() / "boundary.geojson").to_crs(32648).explode(
        ignore_index=True)  # LineString parts
    rng = np.random.default_rng(seed)
    length = lines.length.to_numpy()
    which = rng.choice(len(lines), n, p=length / length.sum())
    along = rng.uniform(0, 1, n) * length[which]
    # np.interp on each part's cumulative length: shapely.line_interpolate_point walks the
    # whole line per point (thousands of vertices), minutes at 1M points
    x, y = np.empty(n), np.empty(n)
    for k, line in enumerate(lines.geometry):
        sel = which == k
        c = np.asarray(line.coords)[:, :2]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
        x[sel], y[sel] = np.interp(along[sel], cum, c[:, 0]), np.interp(along[sel], cum, c[:, 1])
    r, a = 5000 * np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0, 2 * np.pi, n)
    x, y = x + r * np.cos(a), y + r * np.sin(a)
    geom = gpd.GeoSeries(shapely.points(x, y), crs=32648).to_crs(4326)
    df = base.iloc[np.arange(n) % len(base)].reset_index(drop=True)
    df["id"] = None
    df["border"] = lines["border"].to_numpy()[which]
    for c in ("chainage_m", "distance_m", "side", "marker_before", "marker_after"):
        if c in df:
            df[c] = None
    return df.set_geometry(geom.to_numpy(), crs=4326)


def random_boxes(df, k: int, seed: int = 7) -> list[str]:
    import shapely

    rng = np.random.default_rng(seed)
    g = df.geometry.to_numpy()[rng.integers(0, len(df), k)]
    x, y = shapely.get_x(g), shapely.get_y(g)
    h = BOX / 2
    return [f"{a - h:.4f},{b - h:.4f},{a + h:.4f},{b + h:.4f}" for a, b in zip(x, y)]


def append(store, df) -> float:
    t0 = time.perf_counter()
    with store.transaction(timeout=600) as tx:
        tx.append("incidents", df)
    return time.perf_counter() - t0


# ------------------------------------------------------------------ processes
def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def workers(pid: int) -> list[int]:
    """The server's worker processes (children serving the app, not multiprocessing's
    resource tracker), or the process itself when it has none."""
    ws = []
    for c in _children(pid):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmd:
            ws.append(c)
    return ws or [pid]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu(pids, children: bool = False) -> float:
    """CPU seconds (user + system) of ``pids``; ``children``: also what their ended, waited-
    for children used (cutime + cstime)."""
    tot = 0
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            tot += sum(int(x) for x in f[11:15 if children else 13])
        except OSError:
            pass
    return tot / os.sysconf("SC_CLK_TCK")


def wait_idle(pids, limit: float = 180) -> None:
    """Until the server uses < 5 % of a core (requests left over from a load finished)."""
    t_end = time.monotonic() + limit
    while time.monotonic() < t_end:
        c0 = _cpu(pids)
        time.sleep(0.5)
        if _cpu(pids) - c0 < 0.025:
            return


class Server:
    def __init__(self, name: str, argv: list[str], env: dict, probe: str, cwd=None):
        self.name, self.port = name, _free_port()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        env = {k: v.replace("{port}", str(self.port)) for k, v in env.items()}
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(WORK / f"{name}.log", "w")
        self.proc = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + 180
        while True:
            try:
                if all(httpx.get(self.base + probe, timeout=60).status_code == 200
                       for _ in range(4)):
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{name} did not start; see {self.log.name}")
            time.sleep(0.3)

    def pids(self) -> list[int]:
        return workers(self.proc.pid)

    def rss(self) -> list[float]:
        return [round(rss_mb(p)) for p in self.pids()]

    def stop(self) -> None:  # this server only, by its PID: TERM, then KILL
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def bienmoc_server(name: str, store_uri: str, n_workers: int) -> Server:
    return Server(name, [sys.executable, "-m", "uvicorn", "bienmoc.api:create_app", "--factory",
                         "--host", "127.0.0.1", "--port", "{port}", "--workers", str(n_workers),
                         "--log-level", "warning", "--no-access-log",
                         # TCP_NODELAY: as server/README.md runs it (gunicorn, which serves
                         # pygeoapi, sets it itself)
                         "--http", "bienmoc.api.tcp:NoDelay"],
                  {"PYTHONPATH": str(SRC), "BIENMOC_STORE": store_uri,
                   "BIENMOC_API_TOKEN": TOKEN}, "/conformance")


# ------------------------------------------------------------------ wrk
LUA = """
local boxes = {%s}
local base = "%s"
request = function()
  return wrk.format("GET", base .. boxes[math.random(#boxes)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "us": %%d, "errors": %%d, "non2xx": %%d, ' ..
    '"p50": %%.3f, "p99": %%.3f}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk(srv: Server, path: str, boxes: list[str], seconds: float, warmup: float = 3) -> dict:
    script = WORK / f"{srv.name}.lua"
    script.write_text(LUA % (",".join(f'"{b}"' for b in boxes), path))
    cmd = ["wrk", "-t2", "-c16", "--timeout", "60s", "-s", str(script), srv.base]
    subprocess.run(cmd[:1] + [f"-d{int(warmup)}s"] + cmd[1:], capture_output=True, check=True)
    wait_idle(srv.pids())
    out = subprocess.run(cmd[:1] + [f"-d{int(seconds)}s"] + cmd[1:], capture_output=True,
                         text=True, check=True).stdout
    wait_idle(srv.pids())
    r = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    r["rps"] = r["requests"] / (r["us"] / 1e6)
    return r


# ------------------------------------------------------------------ parts
def latencies(srv: Server, boxes: list[str], limit: int) -> dict:
    import httpx

    ts, matched, returned, estimated = [], [], [], 0
    with httpx.Client(base_url=srv.base, timeout=120) as c:
        for b in boxes:
            t = time.perf_counter()
            r = c.get("/collections/incidents/items", params={"bbox": b, "limit": limit})
            r.raise_for_status()
            body = r.json()
            ts.append(time.perf_counter() - t)
            matched.append(body.get("numberMatched", -1))
            returned.append(len(body["features"]))
            estimated += r.headers.get("Number-Matched") == "estimated"
    ms = np.array(ts) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "matched": int(np.median(matched)), "returned": int(np.median(returned)),
            "estimated": estimated, "n": len(ts)}


def pages(srv: Server, page: int, after: int | None) -> dict:
    import httpx

    deep = {"after": after} if after is not None else {"offset": (page - 1) * PAGE}
    res = {}
    with httpx.Client(base_url=srv.base, timeout=120) as c:
        for label, extra in (("page 1", {}), (f"page {page:,}", deep)):
            ts, first = [], None
            for _ in range(11):
                t = time.perf_counter()
                r = c.get("/collections/incidents/items", params={"limit": PAGE, **extra})
                r.raise_for_status()
                ts.append(time.perf_counter() - t)
                first = r.json()["features"][0]["id"] if first is None else first
            res[label] = (float(np.median(ts[1:]) * 1000), first)
    return res


def writes(srv: Server, clients: int, per_client: int, count, keepalive: bool = False,
           peer: bool = False) -> dict:
    """``clients`` writers (one process each) x ``per_client`` POSTs; writes/s over the time
    from the first writer's first POST to the last writer's last answer (the writers' own
    clock marks: starting the processes is not timed). ``keepalive``: one kept-alive
    connection per writer (api_writes._client_keepalive), else a new connection per POST.
    ``peer``: bodies for pygeoapi (kept-alive only)."""
    before = count()
    fn = _client_keepalive if keepalive or peer else _client
    extra = (True,) if peer else ()
    with mp.get_context("spawn").Pool(clients) as pool:
        pool.map(_ready, range(clients))  # every writer process started and imported
        t0 = time.perf_counter()
        parts = pool.starmap(fn, [(srv.port, k, per_client, *extra) for k in range(clients)])
        wall = time.perf_counter() - t0
    marks = [x for p in parts for x in p if x[0] in ("start", "end")]
    if marks:  # the writers' own first send and last answer (same monotonic clock)
        wall = max(t for m, t, _ in marks if m == "end") - min(
            t for m, t, _ in marks if m == "start")
    res = [x for p in parts for x in p if x[0] not in ("start", "end")]
    codes: dict = {}
    for _, c, _ in res:
        codes[c] = codes.get(c, 0) + 1
    ok = codes.get(201, 0)
    lat = np.array([r[0] for r in res]) * 1000
    return {"writes_s": ok / wall, "errors": len(res) - ok, "codes": codes,
            "stored": count() - before, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "seconds": wall}


def _ready(_k: int) -> bool:
    import importlib

    return importlib.import_module("api_writes") is not None  # (before the clock starts)


# ------------------------------------------------------------------ pygeoapi
PYGEOAPI_CFG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: false
  languages: [en-US]
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 10000, on_exceed: throttle}}
  map: {{url: "http://127.0.0.1:9/{{z}}/{{x}}/{{y}}.png", attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bienmoc bench, description: pgapi, keywords: [border],
                   keywords_type: theme, terms_of_service: none, url: "http://127.0.0.1/"}}
  license: {{name: CC0, url: "http://127.0.0.1/"}}
  provider: {{name: bench, url: "http://127.0.0.1/"}}
  contact: {{name: bienmoc}}
resources:
  incidents:
    type: collection
    title: incidents
    description: the bienmoc PostGIS table
    keywords: [incident]
    extents: {{spatial: {{bbox: [102.1, 8.5, 109.5, 23.4],
                        crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: 127.0.0.1, port: {pgport}, dbname: bienmoc, user: postgres,
               password: "", search_path: [{schema}, public]}}
        id_field: fid
        table: incidents
        geom_field: geom
"""


def ensure_pygeoapi(venv: Path) -> Path | None:
    py = venv / "bin" / "python"
    ok = "import pygeoapi, psycopg2, geoalchemy2, uvicorn_worker, gunicorn"
    if py.exists() and subprocess.run([py, "-c", ok], capture_output=True).returncode == 0:
        return py
    base = shutil.which("python3.12") or shutil.which("python3.13")
    if not base:
        print("pygeoapi: no Python >= 3.12 for its venv; skipped")
        return None
    print(f"pygeoapi: making {venv} (pip, a few minutes)", flush=True)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    lock = os.environ.get("PYGEOAPI_LOCK")  # e.g. shared/peer-bench/pygeoapi/requirements.lock
    pkgs = ["-r", lock] if lock else ["pygeoapi==0.24.0", "gunicorn", "uvicorn-worker"]
    subprocess.run([py, "-m", "pip", "install", "-q", *pkgs, "psycopg2-binary", "geoalchemy2"],
                   check=True)
    return py


def pygeoapi_server(py: Path, pgport: int, schema: str, editable: bool = False) -> Server:
    """pygeoapi 0.24 under gunicorn (2 uvicorn workers) over the PostGIS table;
    ``editable``: its transactions (POST items) on."""
    cfg = WORK / "pygeoapi-config.yml"
    port = _free_port()
    text = PYGEOAPI_CFG.format(port=port, pgport=pgport, schema=schema)
    if editable:
        text = text.replace("        geom_field: geom\n", "        geom_field: geom\n"
                            "        editable: true\n")
    cfg.write_text(text)
    env = {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(WORK / "openapi.yml")}
    subprocess.run([py.parent / "pygeoapi", "openapi", "generate", str(cfg), "--output-file",
                    env["PYGEOAPI_OPENAPI"]], env={**os.environ, **env}, check=True,
                   capture_output=True)
    srv = Server.__new__(Server)  # fixed port: the config names it
    srv.name, srv.port, srv.base = "pygeoapi", port, f"http://127.0.0.1:{port}"
    srv.log = open(WORK / "pygeoapi.log", "w")
    srv.proc = subprocess.Popen(
        [py.parent / "gunicorn", "pygeoapi.starlette_app:APP", "--workers", "2", "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120",
         "--worker-class", "uvicorn_worker.UvicornWorker", "--reuse-port"],
        env={**os.environ, **env, "PYTHONPATH": ""}, stdout=srv.log, stderr=subprocess.STDOUT)
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(srv.base + "/collections/incidents/items?limit=1&f=json",
                         timeout=60).status_code == 200:
                return srv
        except httpx.TransportError:
            pass
        if srv.proc.poll() is not None or time.monotonic() > deadline:
            srv.stop()
            raise SystemExit(f"pygeoapi did not start; see {srv.log.name}")
        time.sleep(0.5)


# ------------------------------------------------------------------ main
def facts(pg) -> None:
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal")).split()[1]
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), "?")
    with pg._reader() as con:
        ver = con.execute("SELECT version(), postgis_lib_version()").fetchone()
    import fastapi
    import uvicorn
    wv = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout \
        if shutil.which("wrk") else "not installed"
    print(f"machine: nproc {os.cpu_count()}, {int(mem) / 2**20:.1f} GiB, {cpu}; "
          f"{platform.platform()}")
    print(f"software: Python {platform.python_version()}, {ver[0].split(',')[0]}, PostGIS "
          f"{ver[1]}, fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}, "
          f"wrk {wv.split(chr(10))[0][:40]}")


def run(c, a) -> None:
    from bienmoc.demo import seed_store
    from bienmoc.storage import GeoPackageStore
    from bienmoc.storage.postgis import PostGISStore

    schema = "bench"
    url = c.url(schema)
    pg = PostGISStore(url)
    facts(pg)
    gpath = WORK / "bench.gpkg"
    gpath.unlink(missing_ok=True)
    gp = GeoPackageStore(gpath)
    stores = {"postgis": (pg, url), "gpkg": (gp, str(gpath))}
    stores = {k: v for k, v in stores.items() if k in a.stores.split(",")}

    part(f"data: {a.rows:,} incidents near the demo border lines")
    t0 = time.perf_counter()
    df = make_rows(a.rows)
    boxes = random_boxes(df, a.boxes)
    print(f"  generated in {time.perf_counter() - t0:.1f} s")
    for s, _ in stores.values():
        seed_store(s)

    def count_pg():
        with pg._reader() as con:
            return con.execute(f"SELECT count(*) FROM {schema}.incidents").fetchone()[0]

    def count_gp():
        con = sqlite3.connect(gpath)
        try:
            return con.execute("SELECT count(*) FROM incidents").fetchone()[0]
        finally:
            con.close()

    counts = {"postgis": count_pg, "gpkg": count_gp}
    # the GeoPackage server keeps its layers in memory per worker (~3 GB per million
    # incidents): it is measured up to --gpkg-rows, PostGIS up to --rows
    cap = {k: (min(a.gpkg_rows, a.rows) if k == "gpkg" else a.rows) for k in stores}
    cuts = sorted({c for c in (a.rss_at, *cap.values()) if c <= a.rows})
    loaded = {k: 0 for k in stores}
    secs = {k: 0.0 for k in stores}
    R: dict = {k: {"rss": {}, "rows": cap[k]} for k in stores}
    for cut in cuts:
        now = [k for k in stores if cut <= cap[k]]
        part(f"load incidents -> {cut:,} (one transaction per store): {', '.join(now)}")
        for k in now:
            s = stores[k][0]
            chunk = df.iloc[loaded[k]:cut]
            t = append(s, chunk)
            secs[k] += t
            loaded[k] = cut
            print(f"  {k:<8} {t:7.1f} s   {t / len(chunk) * 1e6:6.1f} s per million   "
                  f"[{load()}]", flush=True)
        for k in now:
            uri = stores[k][1]
            part(f"{k}: server with {a.workers} workers at {cut:,} incidents")
            srv = bienmoc_server(k, uri, a.workers)
            try:
                if cut != cap[k]:  # warm up (bbox pages on every worker), then the RSS
                    if shutil.which("wrk"):
                        wrk(srv, "/collections/incidents/items?limit=100&bbox=", boxes, 3)
                    latencies(srv, boxes[:20], 1000)
                    R[k]["rss"][cut] = srv.rss()
                    print(f"  RSS per worker: {R[k]['rss'][cut]} MB")
                    continue
                R[k].update(serve_parts(srv, k, a, boxes, schema, pg if k == "postgis"
                                        else None, counts[k]))
                R[k]["rss"][cut] = R[k].pop("rss_full")
            finally:
                srv.stop()
    for k in stores:
        R[k]["load_s_per_m"] = secs[k] / max(loaded[k], 1) * 1e6

    if shutil.which("wrk") and not a.no_pygeoapi:
        part("pygeoapi 0.24 (PostgreSQL provider) on the same PostGIS table")
        py = ensure_pygeoapi(Path(a.pygeoapi_venv))
        if py:
            srv = pygeoapi_server(py, c.port, schema)
            try:
                R["pygeoapi"] = {"wrk100": wrk(srv, "/collections/incidents/items?f=json&"
                                               "limit=100&bbox=", boxes, a.duration),
                                 "rss": {a.rows: srv.rss()}}
                print(f"  limit=100: {R['pygeoapi']['wrk100']}")
            finally:
                srv.stop()
    part("done")
    report(R, a)
    pg.close()
    for f in (gpath, gpath.with_name(gpath.name + ".lock")):  # 280 MB at 1M rows
        f.unlink(missing_ok=True)


def serve_parts(srv: Server, k: str, a, boxes, schema, pg, count) -> dict:
    out = {}
    t0 = time.perf_counter()
    if shutil.which("wrk"):  # warm-up: both workers answer bbox pages (GeoPackage: index built)
        wrk(srv, "/collections/incidents/items?limit=100&bbox=", boxes, 2, warmup=3)
    latencies(srv, boxes[:10], 1000)
    print(f"  warm-up {time.perf_counter() - t0:.1f} s; RSS per worker {srv.rss()} MB")
    out["lat1000"] = latencies(srv, boxes, 1000)
    print(f"  bbox limit=1000: {out['lat1000']}   [{load()}]", flush=True)
    if shutil.which("wrk"):
        out["wrk100"] = wrk(srv, "/collections/incidents/items?f=json&limit=100&bbox=", boxes,
                            a.duration)
        print(f"  bbox limit=100 wrk: {out['wrk100']}   [{load()}]", flush=True)
    page = max(2, min(a.page, count() // PAGE - 1))
    after = None
    if pg is not None:  # the keyset a client reaches by following next links
        with pg._reader() as con:
            after = con.execute(f"SELECT fid FROM {schema}.incidents ORDER BY fid "
                                f"OFFSET {(page - 1) * PAGE - 1} LIMIT 1").fetchone()[0]
    out["pages"] = pages(srv, page, after)
    print(f"  pages of {PAGE} (median ms, first id): {out['pages']}   [{load()}]", flush=True)
    out["rss_full"] = srv.rss()
    print(f"  RSS per worker: {out['rss_full']} MB")
    if a.only != "reads":
        out["writes"] = writes(srv, a.clients, a.per_client, count, keepalive=True)
        print(f"  writes (kept-alive connections): {out['writes']}   [{load()}]", flush=True)
        wait_idle(srv.pids())
        out["writes_new"] = writes(srv, a.clients, a.per_client, count)
        print(f"  writes (a new connection per POST): {out['writes_new']}   [{load()}]",
              flush=True)
    return out


def report(R: dict, a) -> None:
    pgr, gpr, pyr = R.get("postgis", {}), R.get("gpkg", {}), R.get("pygeoapi")
    print(f"\nSUMMARY  {a.rows:,} incidents, {a.workers} workers per server, "
          f"{a.clients} writers x {a.per_client} POSTs   [{load()}]")
    print(f"{'figure':<44} {'PostGIS':>14} {'GeoPackage':>14}  target / ratio")
    print(f"{'  incidents in the store when measured':<44} "
          f"{pgr.get('rows', 0):>14,} {gpr.get('rows', 0):>14,}  (GeoPackage: at most "
          f"--gpkg-rows; its server holds the layers in memory)")

    def val(f, r):
        try:
            return f(r) if r else "-"
        except KeyError:  # a part not run (--only reads, --stores)
            return "-"

    def ratio(r, peer):
        return f"{r['wrk100']['rps'] / peer['wrk100']['rps']:.1f}x"

    def row(label, f, target=""):
        v = [val(f, r) for r in (pgr, gpr)]
        print(f"{label:<44} {v[0]:>14} {v[1]:>14}  {target}")

    row("load, s per million rows", lambda r: f"{r['load_s_per_m']:.1f}", "<= 30 (PostGIS)")
    row("bbox limit=1000 p50 ms", lambda r: f"{r['lat1000']['p50']:.0f}")
    row("bbox limit=1000 p95 ms", lambda r: f"{r['lat1000']['p95']:.0f}", "<= 300")
    row("  features per page / numberMatched, median", lambda r: f"{r['lat1000']['returned']:,}"
        f" / {r['lat1000']['matched']:,}", "(PostGIS estimated: "
        f"{pgr['lat1000']['estimated'] if pgr else '-'} of {a.boxes} boxes)")
    if "wrk100" in pgr:
        row("bbox limit=100 req/s (wrk 16 conns)", lambda r: f"{r['wrk100']['rps']:.1f}",
            (f"pygeoapi/PostgreSQL {pyr['wrk100']['rps']:.1f} req/s -> PostGIS "
             f"{pgr['wrk100']['rps'] / pyr['wrk100']['rps']:.1f}x, GeoPackage "
             f"{val(lambda r: ratio(r, pyr), gpr)}"
             " (>= 5x)") if pyr else "")
        row("  errors / non-2xx", lambda r: f"{r['wrk100']['errors']}/{r['wrk100']['non2xx']}",
            f"pygeoapi {pyr['wrk100']['errors']}/{pyr['wrk100']['non2xx']}" if pyr else "")
    def pg_(r, i):  # (median ms, first id) of page 1 (i=0) and of the deep page (i=1)
        return list(r["pages"].values())[i]
    deep = " / ".join(list(r["pages"])[1] for r in (pgr, gpr) if r and "pages" in r)
    row("page 1 (limit 100) ms", lambda r: f"{pg_(r, 0)[0]:.1f}")
    row(f"deep page ms ({deep}; keyset / offset)", lambda r: f"{pg_(r, 1)[0]:.1f}",
        "as fast as page 1")
    row("  deep page / page 1", lambda r: f"{pg_(r, 1)[0] / pg_(r, 0)[0]:.2f}x")
    for k, how in (("writes", "kept-alive"), ("writes_new", "new conn. per POST")):
        row(f"writes/s (8 writers, {how})", lambda r, k=k: f"{r[k]['writes_s']:.0f}",
            ">= 1,000")
        row("  errors; rows stored == 201s", lambda r, k=k: f"{r[k]['errors']}; "
            f"{r[k]['stored'] == r[k]['codes'].get(201, 0)}", "0 errors")
        row("  POST p50 / p99 ms", lambda r, k=k: f"{r[k]['p50']:.0f}/{r[k]['p99']:.0f}")
    for cut in sorted({c for r in (pgr, gpr) for c in r.get("rss", {})}):
        row(f"RSS per worker MB at {cut:,} rows", lambda r: "/".join(map(str, r["rss"].get(
            cut, []))), "flat on PostGIS")
    if pyr:
        print(f"pygeoapi RSS per worker MB at {a.rows:,}: "
              f"{'/'.join(map(str, pyr['rss'][a.rows]))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rss-at", type=int, default=200_000)
    ap.add_argument("--boxes", type=int, default=100, help="random boxes for p50/p95")
    ap.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    ap.add_argument("--page", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=500)
    ap.add_argument("--gpkg-rows", type=int, default=1_000_000,
                    help="the GeoPackage store is loaded and measured up to this many rows "
                         "(its workers hold the layers in memory: ~3 GB each per million)")
    ap.add_argument("--no-pygeoapi", action="store_true")
    ap.add_argument("--pygeoapi-venv", default=str(WORK / "venv"))
    ap.add_argument("--only", choices=["reads"], help="reads: skip the writers part")
    ap.add_argument("--stores", default="postgis,gpkg",
                    help="comma-separated: postgis, gpkg (default both)")
    ap.add_argument("--shared-buffers", default="128MB",
                    help="PostgreSQL shared_buffers of the throw-away cluster (default: "
                    "PostgreSQL's stock 128MB; the tests run 16MB)")
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    from pgcluster import cluster

    with tempfile.TemporaryDirectory(dir=WORK):
        with cluster(shared_buffers=a.shared_buffers) as c:
            run(c, a)


if __name__ == "__main__":
    main()
