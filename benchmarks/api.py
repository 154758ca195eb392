"""OGC API – Features: bienmoc next to pygeoapi 0.24 over the same GeoPackage, on loopback.

    python benchmarks/api.py                     # everything: setup, data, both servers, table
    python benchmarks/api.py --quick             # 5 s runs (while developing)
    python benchmarks/api.py data                # only (re)generate the GeoPackage
    python benchmarks/api.py --servers bienmoc --queries ad

What it does (details and caveats: benchmarks/README_api.md):

1. **Setup** (idempotent): ``wrk`` and ``libgdal-dev`` from Debian if missing; one venv at
   ``$WORK/venv`` (default ``/tmp/bienmoc-bench/api``) from a Python >= 3.12 (pygeoapi >= 0.22
   needs it) with the peer benchmark's pinned packages (``shared/peer-bench/pygeoapi/
   requirements.lock``: pygeoapi 0.24.0, gunicorn, uvicorn-worker, ...), the GDAL bindings built
   against Debian's libgdal (pygeoapi's OGR provider imports ``osgeo``), orjson, and this
   checkout of bienmoc. Both servers run from that one venv (same Python, same numpy/shapely).
2. **Data**: the demo store (``bienmoc.demo.seed_store``: ~4,900 markers on the real lines) plus
   200,000 synthetic incidents in bienmoc's schema (the peer ``gen_data.py`` recipe: 70 % uniform
   along the lines, 30 % around 150 hotspots, +-5 km across the line, fixed seed), validated with
   ``bienmoc.model.schema.validate`` and written with bienmoc's own store, then an index on
   ``incidents(id)`` so that pygeoapi's ``id = '...'`` lookups are not full scans. The query
   box is the peer's: the densest 20 x 20 km box centred on the VN–LA line in Sơn La.
3. **Servers**, one at a time, each ``gunicorn --workers 2 --worker-class
   uvicorn_worker.UvicornWorker --reuse-port`` on 127.0.0.1: pygeoapi (``starlette_app``, OGR
   provider, ``id_field: id``) and bienmoc (``bienmoc.api:create_app()``, factory).
4. **Identical answers**: for every query both servers' features are compared (ids, geometry
   within 1e-9 degrees, properties with dates normalised), plus numberMatched vs geopandas.
5. **Load**: per query a discarded warm-up, then ``wrk -t2 -c16 -d15s`` (``report.lua``: random
   ids for single features); ``/proc/loadavg`` is printed before each run, and the run waits (up
   to ``--max-wait``) until other processes use < 10 % of the machine.
6. **Table**: requests/s, p50, p99 per server and query, the ratio bienmoc / pygeoapi, and the
   targets (>= 10x on bbox queries, >= 3x on single features, p99 <= 100 ms at 16 connections).

Only processes this script started are stopped, by their PID. Nothing is written in the repo.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEER = REPO.parent / "shared" / "peer-bench" / "pygeoapi"
if not PEER.exists():  # the shared folder sits beside the work tree
    PEER = Path("/work/shared/peer-bench/pygeoapi")
WORK = Path(os.environ.get("BIENMOC_BENCH_WORK", "/tmp/bienmoc-bench/api"))
VENV = WORK / "venv"
GPKG = WORK / "border.gpkg"
PARAMS = WORK / "params.json"
SEED = 20261124
N_INCIDENTS = 200_000
METRIC = 32648  # UTM 48N: offsets in metres


# ------------------------------------------------------------------------------------ data
def _offset_points(line, dist, offset_m):
    """Points at ``dist`` along ``line``, moved ``offset_m`` to its left (vectorised)."""
    import numpy as np
    import shapely

    xy = shapely.get_coordinates(line)
    seg = np.diff(xy, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    keep = seg_len > 0
    seg, seg_len, start = seg[keep], seg_len[keep], xy[:-1][keep]
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    d = np.clip(np.asarray(dist, dtype=float), 0, cum[-1])
    i = np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(seg_len) - 1)
    t = seg[i] / seg_len[i][:, None]
    p = start[i] + t * (d - cum[i])[:, None]
    n = np.column_stack([-t[:, 1], t[:, 0]])
    return shapely.points(p + n * np.asarray(offset_m, dtype=float)[:, None])


def make_data(out: Path = GPKG, n: int = N_INCIDENTS, seed: int = SEED) -> dict:
    """Write the benchmark GeoPackage (demo layers + ``n`` incidents) and its parameters."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from bienmoc.demo import seed_store
    from bienmoc.geometry.locate import BorderModel
    from bienmoc.model.schema import validate
    from bienmoc.storage import GeoPackageStore

    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    store = GeoPackageStore(tmp)
    t0 = time.time()
    seed_store(store)
    boundary, markers = store.read("boundary"), store.read("markers")
    lines_m = boundary.to_crs(METRIC)
    parts = [(b, p) for b, g in zip(lines_m["border"], lines_m.geometry)
             for p in shapely.get_parts(g)]
    lengths = np.array([p.length for _, p in parts])
    prob = lengths / lengths.sum()
    n_hot = int(n * 0.3)
    which = rng.choice(len(parts), n - n_hot, p=prob)
    dist = rng.uniform(0, 1, n - n_hot) * lengths[which]
    hot_part = rng.choice(len(parts), 150, p=prob)
    hot_d = rng.uniform(0, 1, 150) * lengths[hot_part]
    h = rng.integers(0, 150, n_hot)
    which = np.concatenate([which, hot_part[h]])
    dist = np.concatenate([dist, np.clip(hot_d[h] + rng.normal(0, 3000, n_hot), 0,
                                         lengths[hot_part[h]])])
    off = rng.uniform(-5000, 5000, n)
    geoms = np.empty(n, dtype=object)
    border = np.empty(n, dtype=object)
    for i, (b, part) in enumerate(parts):
        m = which == i
        if m.any():
            geoms[m] = _offset_points(part, dist[m], off[m])
            border[m] = b
    perm = rng.permutation(n)  # ids not ordered along the line
    geoms, border, off = geoms[perm], border[perm], off[perm]
    pts = gpd.GeoSeries(geoms, crs=METRIC).to_crs(4326)

    model = BorderModel(boundary, markers, store.read("provinces"), crs=METRIC)
    loc = model.locate(pts, describe=False)
    kinds = np.array(["illegal_crossing", "illegal_trade", "free_migration", "marker_damage",
                      "construction", "pollution", "encroachment", "landslide", "other"])
    kind = rng.choice(kinds, n, p=[0.28, 0.24, 0.12, 0.07, 0.09, 0.05, 0.05, 0.04, 0.06])
    status = rng.choice(["reported", "verifying", "negotiating", "resolved"], n,
                        p=[0.1, 0.1, 0.2, 0.6])
    day0 = np.datetime64("2015-01-01")
    span = (np.datetime64("2026-06-30") - day0).astype(int)
    occurred = day0 + rng.integers(0, span, n).astype("timedelta64[D]")
    reported = occurred + rng.integers(0, 30, n).astype("timedelta64[D]")
    templates = {
        "illegal_crossing": "Phát hiện {n} người xuất, nhập cảnh trái phép qua khu vực mốc {m}; "
                            "đã lập biên bản xử lý.",
        "illegal_trade": "Bắt giữ {n} kiện hàng nhập lậu gần mốc {m}, cách đường biên {d:.1f} km;"
                         " đã chuyển cơ quan chức năng.",
        "free_migration": "{n} hộ dân di cư tự do qua biên giới khu vực mốc {m}; đã phối hợp vận "
                          "động trở về nơi cư trú.",
        "marker_damage": "Mốc {m} bị hư hại do sạt lở đất sau mưa lớn, cần sửa chữa; đã báo cáo "
                         "Ban chỉ đạo tỉnh.",
        "construction": "Phía bạn xây dựng công trình cách đường biên {d:.1f} km gần mốc {m}; đề "
                        "nghị giao thiệp.",
        "pollution": "Phát hiện nước thải gây ô nhiễm suối biên giới khu vực mốc {m}; đã lấy mẫu, "
                     "thông báo phía bạn.",
        "encroachment": "{n} hộ dân phía bạn canh tác lấn sang khu vực mốc {m}; đã vận động.",
        "landslide": "Sạt lở đất gần mốc {m}, cách đường biên {d:.1f} km; theo dõi.",
        "other": "Tuần tra song phương phát hiện dấu hiệu bất thường gần mốc {m}, cách đường "
                 "biên {d:.1f} km.",
    }
    nn = rng.integers(1, 30, n)
    near = loc["nearest_marker"].to_numpy(dtype=object)
    desc = [templates[k].format(n=a, m=b, d=abs(c) / 1000.0)
            for k, a, b, c in zip(kind, nn, near, off)]
    frame = gpd.GeoDataFrame({
        "id": [f"V-{i:06d}" for i in range(1, n + 1)], "kind": kind, "status": status,
        "border": border, "province": loc["province"].to_numpy(dtype=object),
        "occurred_date": pd.to_datetime(occurred), "reported_date": pd.to_datetime(reported),
        "description": desc}, geometry=pts.values, crs=4326)
    t1 = time.time()
    data = validate("incidents", frame, borders=set(boundary["border"]), what="benchmark")
    t2 = time.time()
    store.write("incidents", data, mode="replace")
    import sqlite3

    con = sqlite3.connect(tmp)
    with con:  # pygeoapi's OGR provider looks an item up with an attribute filter on `id`
        con.execute('CREATE UNIQUE INDEX IF NOT EXISTS "incidents_id_idx" ON "incidents"("id")')
        con.execute('CREATE UNIQUE INDEX IF NOT EXISTS "markers_id_idx" ON "markers"("id")')
    # GPKG 1.2, as the peer benchmark wrote it: the wheel's GDAL writes 1.4, which Debian's
    # GDAL 3.6 (pygeoapi's OGR provider) warns about on every open; nothing 1.4-only is used
    con.execute("PRAGMA user_version = 10200")
    con.close()
    os.replace(tmp, out)
    Path(str(tmp) + ".lock").unlink(missing_ok=True)

    # the peer's query box: the densest 20 x 20 km box centred on the VN-LA line in Son La
    prov = GeoPackageStore(out).read("provinces").to_crs(METRIC)
    sonla = prov[prov["name"] == "Sơn La"].geometry.iloc[0]
    la = shapely.line_merge(lines_m[lines_m["border"] == "LA"].geometry.iloc[0])
    tree = shapely.STRtree(np.asarray(data.to_crs(METRIC).geometry.values))
    best, half = None, 10_000.0
    for d in np.arange(0, la.length, 5000.0):
        c = la.interpolate(d)
        if sonla.distance(c) > 2000:
            continue
        cnt = len(tree.query(shapely.box(c.x - half, c.y - half, c.x + half, c.y + half)))
        if best is None or cnt > best[0]:
            best = (cnt, c)
    c = gpd.GeoSeries([best[1]], crs=METRIC).to_crs(4326).iloc[0]
    dlat = half / 111_320.0
    dlon = half / (111_320.0 * np.cos(np.radians(c.y)))
    bbox = [round(c.x - dlon, 4), round(c.y - dlat, 4), round(c.x + dlon, 4),
            round(c.y + dlat, 4)]
    inside = data[data.intersects(shapely.box(*bbox))]
    params = {"bbox": bbox, "bbox_incidents": int(len(inside)), "incidents": int(len(data)),
              "markers": int(len(markers)), "seed": seed, "gpkg": str(out),
              "gpkg_bytes": out.stat().st_size, "generate_s": round(t1 - t0, 1),
              "validate_s": round(t2 - t1, 1)}
    PARAMS.write_text(json.dumps(params, indent=1))
    return params


# ----------------------------------------------------------------------------------- setup
def _find_python() -> str:
    """A Python >= 3.12 for the venv (pygeoapi >= 0.22 needs it)."""
    cands = [os.environ.get("BENCH_PYTHON"), sys.executable, shutil.which("python3.13"),
             shutil.which("python3.12")]
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("pyenv") else ""
    if root:
        cands += sorted(str(p) for p in Path(root, "versions").glob("3.1[2-9]*/bin/python3"))
    for c in cands:
        if c and subprocess.run([c, "-c", "import sys, venv; assert sys.version_info >= (3, 12)"],
                                capture_output=True).returncode == 0:
            return c
    raise SystemExit("need a Python >= 3.12 for pygeoapi (set BENCH_PYTHON)")


def setup() -> Path:
    """wrk + libgdal-dev from Debian; the venv with pygeoapi, gunicorn and bienmoc."""
    need = [pkg for cmd, pkg in (("wrk", "wrk"), ("gdal-config", "libgdal-dev"))
            if shutil.which(cmd) is None]
    if need:
        print(f"== apt-get install {' '.join(need)}", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *need], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    py = VENV / "bin" / "python"
    probe = "import pygeoapi, osgeo.ogr, uvicorn_worker, gunicorn, orjson, bienmoc"
    if py.exists() and subprocess.run([py, "-c", probe], capture_output=True).returncode == 0:
        return py
    print(f"== creating {VENV} (pygeoapi 0.24, GDAL bindings, bienmoc)", flush=True)
    subprocess.run([_find_python(), "-m", "venv", VENV], check=True)
    pip = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + ["-r", str(PEER / "requirements.lock")], check=True)
    gdal = subprocess.run(["gdal-config", "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(pip + ["--no-build-isolation", f"gdal=={gdal}"], check=True)
    subprocess.run(pip + ["orjson", "-e", str(REPO)], check=True)
    return py


PYGEOAPI_CONFIG = """# written by benchmarks/api.py: the peer benchmark's settings, over bienmoc's GeoPackage
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
  map: {{url: 'http://127.0.0.1:9/{{z}}/{{x}}/{{y}}.png', attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bienmoc API benchmark (pygeoapi), description: border layers,
                   keywords: [border], keywords_type: theme, terms_of_service: none,
                   url: 'http://127.0.0.1/'}}
  license: {{url: 'http://127.0.0.1/', name: CC0}}
  provider: {{name: bienmoc benchmark, url: 'http://127.0.0.1/'}}
  contact: {{name: bienmoc}}
resources:
{resources}"""

RESOURCE = """  {name}:
    type: collection
    title: {name}
    description: {name} of the bienmoc benchmark store
    keywords: [{name}]
    extents:
      spatial: {{bbox: [97, 5, 115, 26], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: OGR
        data: {{source_type: GPKG, source: {gpkg}}}
        id_field: id
        layer: {name}
"""


# --------------------------------------------------------------------------------- servers
class Server:
    """One gunicorn (2 uvicorn workers, --reuse-port) on 127.0.0.1, stopped by its PID."""

    def __init__(self, name: str, port: int, py: Path, store: Path = GPKG):
        self.name, self.port = name, port
        self.base = f"http://127.0.0.1:{port}"
        gun = str(VENV / "bin" / "gunicorn")
        common = ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                  "--timeout", "120", "--worker-class", "uvicorn_worker.UvicornWorker",
                  "--reuse-port"]
        env = dict(os.environ)
        log = open(WORK / f"{name}.log", "w")
        if name == "pygeoapi":
            cfg = WORK / "pygeoapi-config.yml"
            cfg.write_text(PYGEOAPI_CONFIG.format(port=port, resources="".join(
                RESOURCE.format(name=n, gpkg=GPKG) for n in ("markers", "incidents", "gates"))))
            env.update(PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(WORK / "openapi.yml"))
            subprocess.run([str(VENV / "bin" / "pygeoapi"), "openapi", "generate", str(cfg),
                            "--output-file", str(WORK / "openapi.yml")], env=env, check=True,
                           capture_output=True)
            cmd = [gun, "pygeoapi.starlette_app:APP", *common]
        else:  # reads need no token; the write-latency server gets one from the caller
            env.update(BIENMOC_STORE=str(store))
            if name == "bienmoc":
                env.pop("BIENMOC_API_TOKEN", None)
            cmd = [gun, "bienmoc.api:create_app()", *common]
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=WORK)
        t0 = time.time()
        while True:
            try:
                fetch(self.base, "/collections/gates/items?limit=1&f=json")
                break
            except Exception:
                if self.proc.poll() is not None or time.time() - t0 > 180:
                    self.stop()
                    raise SystemExit(f"{name} did not start: {(WORK / f'{name}.log').read_text()}")
                time.sleep(0.5)
        self.ready_s = time.time() - t0

    def pids(self) -> list[int]:
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                              capture_output=True, text=True).stdout.split()
        return [self.proc.pid] + [int(k) for k in kids]

    def jiffies(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(f[11]) + int(f[12])
            except (FileNotFoundError, IndexError):
                pass
        return total

    def rss_mib(self) -> int:
        out = subprocess.run(["ps", "-o", "rss=", "-p", ",".join(map(str, self.pids()))],
                             capture_output=True, text=True).stdout.split()
        return round(sum(int(x) for x in out) / 1024)

    def wait_idle(self, max_wait: float = 300) -> float:
        """Until the workers finished what clients already left (< 5 % of a core)."""
        tick, t0, quiet = os.sysconf("SC_CLK_TCK"), time.time(), 0
        j0 = self.jiffies()
        while quiet < 2 and time.time() - t0 < max_wait:
            time.sleep(0.5)
            j1 = self.jiffies()
            quiet = quiet + 1 if (j1 - j0) / tick < 0.025 else 0
            j0 = j1
        return time.time() - t0

    def conn_split(self) -> list[int]:
        out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{self.port} )"],
                             capture_output=True, text=True).stdout
        found = [int(x) for x in re.findall(r"pid=(\d+)", out)]
        return [found.count(w) for w in self.pids()[1:]]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def fetch(base: str, path: str, timeout: float = 300) -> bytes:
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    with urllib.request.urlopen(base + path, timeout=timeout) as r:
        return r.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------- same answers?
def _norm_value(v):
    if isinstance(v, str) and re.fullmatch(r"\d{4}[-/]\d{2}[-/]\d{2}([ T]00:00:00(\.0+)?"
                                           r"(Z|\+00(:?00)?)?)?", v):
        return v[:10].replace("/", "-")  # OGR writes dates as 2015/01/26 00:00:00
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return v


def _norm_feature(f: dict) -> tuple:
    props = {k: _norm_value(v) for k, v in (f.get("properties") or {}).items()
             if k != "id" and v is not None}
    return str(f["id"]), f["geometry"]["type"], f["geometry"]["coordinates"], props


def _same(a: dict, b: dict) -> str | None:
    ia, ta, ca, pa = _norm_feature(a)
    ib, tb, cb, pb = _norm_feature(b)
    if ia != ib or ta != tb:
        return f"id/type {ia}/{ta} vs {ib}/{tb}"
    if any(abs(x - y) > 1e-9 for x, y in zip(_flat(ca), _flat(cb))):
        return f"{ia}: coordinates {ca} vs {cb}"
    if pa != pb:
        diff = {k: (pa.get(k), pb.get(k)) for k in set(pa) | set(pb) if pa.get(k) != pb.get(k)}
        return f"{ia}: properties differ {diff}"
    return None


def _flat(c):
    if isinstance(c, (int, float)):
        yield float(c)
    else:
        for x in c:
            yield from _flat(x)


def check_same(servers: dict, params: dict, n_items: int = 60) -> list[dict]:
    """The two servers' answers to the benchmark queries, compared feature by feature."""
    b = ",".join(str(v) for v in params["bbox"])
    bx0, by0, bx1, by1 = params["bbox"]
    out = []
    names = list(servers)

    def get(name, path):
        return json.loads(fetch(servers[name].base, path))

    def record(check, ok, detail=""):
        out.append({"type": "check", "check": check, "ok": bool(ok), "detail": detail})
        print(f"  {'ok  ' if ok else 'FAIL'} {check} {detail}", flush=True)

    for limit in (100, 1000):  # pages: same size, every feature inside the box, equal features
        pages = {n: get(n, f"/collections/incidents/items?bbox={b}&limit={limit}&f=json")
                 for n in names}
        for n, fc in pages.items():
            inside = all(bx0 <= f["geometry"]["coordinates"][0] <= bx1 and
                         by0 <= f["geometry"]["coordinates"][1] <= by1 for f in fc["features"])
            record(f"{n}: bbox limit={limit} returns {limit} features inside the box",
                   len(fc["features"]) == min(limit, params["bbox_incidents"]) and inside,
                   f"({len(fc['features'])})")
    full = {n: get(n, f"/collections/incidents/items?bbox={b}&limit=10000&f=json")
            for n in names}
    sets = {n: {str(f["id"]): f for f in fc["features"]} for n, fc in full.items()}
    if len(names) == 2:
        a, c = (sets[n] for n in names)
        record("bbox: the same set of incidents", set(a) == set(c),
               f"({len(a)} / {len(c)}; generator truth {params['bbox_incidents']})")
        bad = [d for i in sorted(set(a) & set(c)) if (d := _same(a[i], c[i]))]
        record("bbox: identical features (geometry, properties)", not bad, "; ".join(bad[:3]))
        mk = {n: get(n, "/collections/markers/items?limit=5000&f=json") for n in names}
        ma, mc = ({str(f["id"]): f for f in mk[n]["features"]} for n in names)
        record("whole marker layer: the same markers", set(ma) == set(mc) and
               len(ma) == params["markers"], f"({len(ma)} / {len(mc)})")
        bad = [d for i in sorted(set(ma) & set(mc)) if (d := _same(ma[i], mc[i]))]
        record("whole marker layer: identical features", not bad, "; ".join(bad[:3]))
        rng = random.Random(7)
        bad = []
        for _ in range(n_items):
            fid = f"V-{rng.randint(1, params['incidents']):06d}"
            fa, fc_ = (get(n, f"/collections/incidents/items/{fid}?f=json") for n in names)
            if (d := _same(fa, fc_)):
                bad.append(d)
        record(f"single items: {n_items} random ids identical", not bad, "; ".join(bad[:3]))
    if "bienmoc" in servers:
        m = get("bienmoc", f"/collections/incidents/items?bbox={b}&limit=1&f=json")
        record("bienmoc numberMatched = generator truth", m["numberMatched"] ==
               params["bbox_incidents"], f"({m['numberMatched']})")
    return out


# ------------------------------------------------------------------------------------ load
def queries(params: dict) -> list[tuple]:
    b = ",".join(str(v) for v in params["bbox"])
    return [
        ("a", "incidents, 20x20 km bbox, limit=100",
         f"/collections/incidents/items?bbox={b}&limit=100&f=json", None),
        ("b", "incidents, same bbox, limit=1000",
         f"/collections/incidents/items?bbox={b}&limit=1000&f=json", None),
        ("c", "markers, whole layer (limit=5000)",
         "/collections/markers/items?limit=5000&f=json", None),
        ("d", "one incident by id (random)",
         "/collections/incidents/items/V-%06d?f=json", params["incidents"]),
    ]


def cpu_busy(seconds: float = 3.0) -> float:
    """Share of the whole machine busy over ``seconds`` (from /proc/stat)."""
    def snap():
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(f), f[3] + f[4]
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def wait_quiet(quiet: float, max_wait: float) -> float:
    t0 = time.time()
    busy = cpu_busy()
    while busy > quiet and time.time() - t0 < max_wait:
        print(f"    machine {busy:.0%} busy; waiting (loadavg {loadavg()})", flush=True)
        time.sleep(10)
        busy = cpu_busy()
    return busy


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_wrk(server: Server, path: str, seconds: int, a, id_max) -> dict:
    env = dict(os.environ)
    url = server.base + path
    if id_max:
        env.update(WRK_PATH_TPL=path, WRK_ID_MAX=str(id_max))
        url = server.base + "/"
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{seconds}s", "--timeout", "30s",
           "--latency", "-s", str(PEER / "report.lua"), url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(min(2.0, seconds / 3))
    split = server.conn_split()
    stdout, stderr = p.communicate(timeout=seconds + 120)
    m = re.search(r"^WRKJSON (\{.*\})$", stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no summary: {stdout} {stderr}")
    res = json.loads(m.group(1))
    res["split"] = split
    return res


def load(server: Server, params: dict, a, out: list) -> None:
    for qid, label, path, id_max in queries(params):
        if qid not in a.queries:
            continue
        busy = wait_quiet(a.quiet, a.max_wait)
        la = loadavg()
        size = len(fetch(server.base, path % 7 if id_max else path))
        w = run_wrk(server, path, a.warmup, a, id_max)  # warm-up, discarded
        server.wait_idle()
        rate = w["requests"] / max(w["duration_us"] / 1e6, 1e-3)
        seconds = a.duration
        if rate * seconds < 8 * a.conns:  # slow query: run until >= 8 x conns complete
            seconds = int(min(a.max_duration, -(-8 * a.conns // max(rate, 0.1))))
        for attempt in range(3):
            r = run_wrk(server, path, seconds, a, id_max)
            server.wait_idle()
            s = r["split"]
            if not (len(s) > 1 and sum(s) >= a.conns // 2 and max(s) == sum(s)):
                break
            print(f"    all connections on one worker {s}; measuring again", flush=True)
        rec = {"type": "load", "server": server.name, "query": qid, "label": label,
               "path": path, "bytes": size, "seconds": seconds,
               "rps": r["requests"] / (r["duration_us"] / 1e6),
               "p50_ms": r["lat_p50_us"] / 1000, "p99_ms": r["lat_p99_us"] / 1000,
               "requests": r["requests"], "non2xx": r["err_status"],
               "errors": r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"],
               "rss_mib": server.rss_mib(), "loadavg_before": la, "busy_before": round(busy, 3),
               "conns_per_worker": r["split"]}
        out.append(rec)
        print(f"  {server.name} ({qid}) {label}: {rec['rps']:.1f} req/s, p50 {rec['p50_ms']:.1f}"
              f" ms, p99 {rec['p99_ms']:.1f} ms, {size:,} B, {rec['requests']} req in "
              f"{seconds} s, non-2xx {rec['non2xx']}, errors {rec['errors']}, conns/worker "
              f"{r['split']}, loadavg before {la}", flush=True)


# ------------------------------------------------------------------------- write latency
def post_latency(py: Path, params: dict, n: int = 50) -> dict:
    """POST/PATCH latency on a copy of the 200k-incident store (bienmoc, 2 workers, idle)."""
    import statistics

    copy = WORK / "post.gpkg"
    shutil.copy(GPKG, copy)
    token = "bench-token"
    env_store, env_token = os.environ.get("BIENMOC_STORE"), os.environ.get("BIENMOC_API_TOKEN")
    os.environ["BIENMOC_API_TOKEN"] = token
    server = Server("bienmoc-write", free_port(), py, store=copy)
    try:
        x0, y0, x1, y1 = params["bbox"]
        rng = random.Random(11)
        post, patch, ids = [], [], []
        t = time.perf_counter()
        for i in range(6):  # untimed: each worker loads its cache and border model; the first
            # PATCH creates the change-log layer (a one-time copy of the file)
            body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                (x0 + x1) / 2, (y0 + y1) / 2]}, "properties": {"kind": "other"}}
            rid = _send(server.base, "POST", "/collections/incidents/items", body, token)["id"]
            _send(server.base, "PATCH", f"/collections/incidents/items/{rid}",
                  {"status": "verifying"}, token)
        print(f"  warm-up writes (cold caches, change-log creation): "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        for i in range(n):
            body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)]},
                "properties": {"kind": "illegal_crossing", "description": f"benchmark {i}"}}
            t = time.perf_counter()
            r = _send(server.base, "POST", "/collections/incidents/items", body, token)
            post.append(time.perf_counter() - t)
            ids.append(r["id"])
        for rid in ids[:20]:
            t = time.perf_counter()
            _send(server.base, "PATCH", f"/collections/incidents/items/{rid}",
                  {"status": "verifying"}, token)
            patch.append(time.perf_counter() - t)
        seen = sum(1 for rid in ids if json.loads(fetch(
            server.base, f"/collections/incidents/items/{rid}"))["id"] == rid)
    finally:
        server.stop()
        for k, v in (("BIENMOC_STORE", env_store), ("BIENMOC_API_TOKEN", env_token)):
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        copy.unlink(missing_ok=True)
        Path(str(copy) + ".lock").unlink(missing_ok=True)

    def q(xs, f):
        xs = sorted(xs)
        return round(1000 * xs[min(len(xs) - 1, int(f * len(xs)))], 1)

    rec = {"type": "writes", "posts": n, "post_p50_ms": round(1000 * statistics.median(post), 1),
           "post_p90_ms": q(post, 0.9), "post_max_ms": round(1000 * max(post), 1),
           "patches": len(patch), "patch_p50_ms": round(1000 * statistics.median(patch), 1),
           "patch_max_ms": round(1000 * max(patch), 1), "read_back": seen}
    print(f"  POST (201 = fsynced) on {params['incidents']:,} incidents: p50 "
          f"{rec['post_p50_ms']} ms, p90 {rec['post_p90_ms']} ms, max {rec['post_max_ms']} ms;"
          f" PATCH p50 {rec['patch_p50_ms']} ms, max {rec['patch_max_ms']} ms; "
          f"{seen}/{n} read back at once", flush=True)
    return rec


def _send(base: str, method: str, path: str, body: dict, token: str) -> dict:
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


# ----------------------------------------------------------------------------------- table
TARGETS = {"a": 10.0, "b": 10.0, "c": 10.0, "d": 3.0}
P99_TARGET_MS = 100.0


def table(recs: list[dict]) -> str:
    env = next((r for r in recs if r["type"] == "env"), {})
    loads = [r for r in recs if r["type"] == "load"]
    checks = [r for r in recs if r["type"] == "check"]
    out = []
    if env:
        out.append(f"{env['date']}; {env['machine']}; Python {env['python']}; {env['versions']}")
        out.append("")
    out.append("| query | pygeoapi req/s (p50 / p99 ms) | bienmoc req/s (p50 / p99 ms) | "
               "bienmoc ÷ pygeoapi | target | bytes (pygeoapi / bienmoc) |")
    out.append("|---|---:|---:|---:|---|---:|")
    verdicts = []
    for q in dict.fromkeys(r["query"] for r in loads):
        by = {r["server"]: r for r in loads if r["query"] == q}
        p, b = by.get("pygeoapi"), by.get("bienmoc")
        cell = (lambda r: f"**{r['rps']:,.1f}** ({r['p50_ms']:.1f} / {r['p99_ms']:.1f})"
                if r else "–")
        ratio = b["rps"] / p["rps"] if p and b and p["rps"] else None
        tgt = TARGETS.get(q)
        ok = ratio is not None and ratio >= tgt and b["p99_ms"] <= P99_TARGET_MS
        if ratio is not None:
            verdicts.append(ok)
        label = (b or p)["label"]
        out.append(f"| ({q}) {label} | {cell(p)} | {cell(b)} | "
                   f"{'' if ratio is None else f'{ratio:.1f}×'} | ≥ {tgt:g}×, p99 ≤ "
                   f"{P99_TARGET_MS:g} ms: {'met' if ok else 'NOT met' if ratio else '–'} | "
                   f"{(p or {}).get('bytes', 0):,} / {(b or {}).get('bytes', 0):,} |")
    out.append("")
    out.append("wrk: {t} threads, {c} keep-alive connections; each server gunicorn with 2 uvicorn"
               " workers (--reuse-port), 127.0.0.1 only; load average before each run: {la}."
               .format(t=env.get("threads", "?"), c=env.get("conns", "?"),
                       la=", ".join(f"{r['server']} ({r['query']}) {r['loadavg_before']}"
                                    for r in loads)))
    for w in (r for r in recs if r["type"] == "writes"):
        out.append(f"Writes (bienmoc, 200k-incident store, sequential, each answered after "
                   f"fsync): POST p50 {w['post_p50_ms']} ms, p90 {w['post_p90_ms']} ms, max "
                   f"{w['post_max_ms']} ms ({w['posts']} POSTs); PATCH p50 {w['patch_p50_ms']}"
                   f" ms, max {w['patch_max_ms']} ms; {w['read_back']}/{w['posts']} read back "
                   "at once.")
    bad = [c for c in checks if not c["ok"]]
    if checks:
        out.append(f"Same answers: {len(checks) - len(bad)}/{len(checks)} checks passed"
                   + ("" if not bad else "; FAILED: " + "; ".join(c["check"] for c in bad)))
    return "\n".join(out)


def env_record(a) -> dict:
    py = VENV / "bin" / "python"
    versions = subprocess.run([str(py), "-c", (
        "from importlib.metadata import version as v\n"
        "import pyogrio, osgeo\n"
        "print(', '.join(f'{p} {v(p)}' for p in ['pygeoapi', 'bienmoc', 'fastapi', 'uvicorn', "
        "'gunicorn', 'shapely', 'numpy', 'orjson']) + f', GDAL (pygeoapi) {osgeo.__version__}'"
        " + f', GDAL (pyogrio) {pyogrio.__gdal_version_string__}')")],
        capture_output=True, text=True).stdout.strip()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), "?")
    pyv = subprocess.run([str(py), "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True).stdout.strip()
    return {"type": "env", "date": dt.datetime.now(dt.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"), "machine": f"{os.cpu_count()} cores, {cpu}, kernel "
        f"{platform.release()}", "python": pyv, "versions": versions, "threads": a.threads,
        "conns": a.conns}


# ------------------------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", nargs="?", default="all", choices=["all", "data", "setup", "table"])
    ap.add_argument("--regen", action="store_true", help="regenerate the GeoPackage")
    ap.add_argument("--servers", default="pygeoapi,bienmoc")
    ap.add_argument("--queries", default="abcd")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--max-duration", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--quiet", type=float, default=0.10,
                    help="before each run wait until the machine is less busy than this")
    ap.add_argument("--max-load", type=float, default=1.0,
                    help="before starting wait until the 1-min load average is below this")
    ap.add_argument("--max-wait", type=int, default=600)
    ap.add_argument("--quick", action="store_true", help="5 s runs, 2 s warm-up")
    ap.add_argument("--results", nargs="*", help="table: result files to merge")
    ap.add_argument("--no-writes", action="store_true", help="skip the POST latency step")
    a = ap.parse_args(argv)
    if a.quick:
        a.duration, a.warmup, a.max_duration = 5, 2, 15
    WORK.mkdir(parents=True, exist_ok=True)
    if a.cmd == "table":
        recs = [json.loads(ln) for f in a.results for ln in open(f) if ln.strip()]
        print(table(recs))
        return 0
    if a.cmd == "data":
        print(json.dumps(make_data(), indent=1))
        return 0
    py = setup()
    if a.cmd == "setup":
        return 0
    if a.regen or not GPKG.exists() or not PARAMS.exists():
        print("== generating the GeoPackage (demo layers + 200,000 incidents)", flush=True)
        subprocess.run([str(py), str(Path(__file__).resolve()), "data"], check=True)
    params = json.loads(PARAMS.read_text())
    print(json.dumps(params), flush=True)
    t0 = time.time()
    while float(loadavg().split()[0]) >= a.max_load and time.time() - t0 < a.max_wait:
        print(f"   load average {loadavg()}: waiting for < {a.max_load}", flush=True)
        time.sleep(15)
    print(f"== load average {loadavg()} after waiting {time.time() - t0:.0f} s", flush=True)
    recs = [env_record(a)]
    names = [n.strip() for n in a.servers.split(",") if n.strip()]
    servers: dict[str, Server] = {}
    try:
        for name in names:  # all up for the answers check (they are idle meanwhile)
            servers[name] = Server(name, free_port(), py)
            print(f"== {name}: PID {servers[name].proc.pid} on {servers[name].base}, ready "
                  f"after {servers[name].ready_s:.1f} s", flush=True)
        for s in servers.values():  # both workers of each load their caches / open files
            t = time.time()
            for _ in range(4):
                for q in queries(params):
                    fetch(s.base, q[2] % 1 if q[3] else q[2])
            print(f"   {s.name}: first requests answered in {time.time() - t:.1f} s",
                  flush=True)
        print("== same answers?", flush=True)
        recs += check_same(servers, params)
        for name in names:
            print(f"== load: {name}", flush=True)
            load(servers[name], params, a, recs)
    finally:
        for s in servers.values():
            s.stop()
    if "bienmoc" in names and not a.no_writes:
        print("== write latency (bienmoc)", flush=True)
        recs.append(post_latency(py, params))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    res = WORK / f"results-{stamp}.jsonl"
    res.write_text("".join(json.dumps(r) + "\n" for r in recs))
    text = table(recs)
    res.with_suffix(".md").write_text(text + "\n")
    print(f"\n== results ({res})\n\n{text}")
    return 0 if all(r["ok"] for r in recs if r["type"] == "check") else 1


if __name__ == "__main__":
    sys.exit(main())
