"""Locate N random incidents against the real Vietnam–Laos line: bienmoc next to its peers.

    python benchmarks/locate.py                      # 10k, 100k, 1M; PostGIS if installed
    python benchmarks/locate.py --sizes 10k --no-postgis
    python benchmarks/locate.py --full               # also run the geopandas way at 1M (~9 min)

For every incident P: distance to the VN–LA line, side, chainage of the nearest line point, the
two markers that bracket that chainage, the nearer of the two and its distance. Methods:

* ``bienmoc``      ``BorderModel(boundary_LA, markers, crs=32648)`` built once, then
                   ``model.locate(points, describe=False)`` (same outputs as the peers). Also
                   timed: the first call on a fresh model ("cold": it fills the lazily built
                   nearest-segment grid), the raw ``model.index.locate_xy`` and
                   ``model.locate(points)`` with the Vietnamese/English descriptions.
* ``bienmoc_e2e``  END TO END, the function ``bienmoc locate FILE -o OUT`` runs
                   (``bienmoc.io.locate_file.locate_file``): read the GeoPackage, build the
                   model (boundary, markers, demo provinces), locate with vi/en descriptions,
                   write CSV (median of runs) and GeoJSON (one run). Process start-up and
                   imports are not in it (~1 s: python -X importtime bienmoc).
* ``shapely``      plain vectorised shapely 2: STRtree of the line's segments,
                   ``query_nearest`` + numpy (the peer benchmark's method ii).
* ``geopandas``    the straightforward analyst way (peer method i): ``distance``,
                   ``apply(line.project)``, ``within`` a side polygon, ``sjoin_nearest`` markers.
                   ~510 µs/point: run at 10k and 100k only, 1M is extrapolated unless ``--full``.
* ``postgis_knn``  PostGIS in a private throw-away cluster (127.0.0.1, own port/socket dir,
                   stopped by PID at the end): nearest segment by GiST KNN, ST_Distance and
                   ST_LineLocatePoint on it, side by polygon containment, markers by a btree
                   range join (peer method iii-b, the fastest PostGIS query there).

Each method × size runs in its own child process (so peak RSS is per method); compute is the
median of ``--runs`` runs (one run when the first takes more than ``--single-run-above`` s).
Inputs are generated once under /tmp/bienmoc-bench/locate/data (GeoPackage, EPSG:4326, the
peer benchmark's recipe and seed); results go to /tmp/bienmoc-bench/locate/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("BIENMOC_BENCH_WORK", "/tmp/bienmoc-bench/locate"))
DATA = WORK / "data"
UTM = 32648
GEO = 4326
SEED = 20261124
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
N_MARKERS = 2200
BUFFER_M = 5000.0
SIDE_EXT_M = 20_000.0
END_ZONE_M = 2000.0       # side "of this line" is undefined near the tri-points (see README)
TOL_M = 0.01
GPKG_OPTS = {"VERSION": "1.2"}
KINDS = np.array(["illegal_crossing", "illegal_trade", "marker_damage", "encroachment",
                  "landslide", "other"])
OUT = ["dist_m", "side", "chainage_m", "before", "after", "nearest", "nearest_d"]


# == small helpers ===============================================================================
class Timer:
    def __init__(self):
        self.phases: dict[str, float] = {}

    def __call__(self, name):
        timer = self

        class _C:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                timer.phases[name] = timer.phases.get(name, 0.0) + time.perf_counter() - self.t0

        return _C()


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _status_mb(field: str, pid: str | int = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss
    over exec, so a child would report its parent's peak at fork time."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float | None:
    return _status_mb("VmRSS")


def boundary_path() -> Path:
    """The real VN–LA line: the demo boundary layer (border "LA"), whose geometry is the same
    as ../shared/data/vn_land_borders.geojson (neighbor "LA")."""
    return REPO / "data" / "markers" / "boundary.geojson"


def markers_path() -> Path:
    return DATA / "markers_la.gpkg"


def incidents_path(tag: str) -> Path:
    return DATA / f"incidents_la_{tag}.gpkg"


def read_boundary_la():
    import geopandas as gpd
    b = gpd.read_file(boundary_path(), engine="pyogrio")
    return b[b["border"] == "LA"].reset_index(drop=True)


def side_polygon(line, ext: float = SIDE_EXT_M):
    """The containment side rule of the peers (shared with tests/test_postgis.py)."""
    from bienmoc.testing import side_polygon as _side_polygon

    return _side_polygon(line, ext)


# == inputs (the peer benchmark's gen_data.py recipe) ===========================================
def generate_data() -> dict:
    import geopandas as gpd
    import shapely

    meta_path = DATA / "meta.json"
    want = {"seed": SEED, "sizes": SIZES, "markers": N_MARKERS, "buffer_m": BUFFER_M,
            "boundary_mtime": boundary_path().stat().st_mtime}
    if meta_path.exists() and all(p.exists() for p in
                                  [markers_path(), *map(incidents_path, SIZES)]):
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in want} == want:
            return meta
    t0 = time.perf_counter()
    DATA.mkdir(parents=True, exist_ok=True)
    for old in DATA.glob("*.gpkg"):
        old.unlink()
    la = read_boundary_la().to_crs(UTM).geometry.iloc[0]
    assert la.geom_type == "LineString", la.geom_type
    s = np.linspace(0.0, la.length, N_MARKERS)
    numbers = [str(i + 1) for i in range(N_MARKERS)]
    mk = gpd.GeoDataFrame({"number": numbers, "marker_no": numbers, "border": "LA",
                           "kind": "single"},
                          geometry=shapely.line_interpolate_point(la, s), crs=UTM)
    mk.to_crs(GEO).to_file(markers_path(), driver="GPKG", engine="pyogrio",
                           dataset_options=GPKG_OPTS)
    rng = np.random.default_rng(SEED)
    nmax = max(SIZES.values())
    from bienmoc.testing import points_near

    x, y = points_near(la, BUFFER_M, nmax, rng, batch=4_000_000)
    day0 = np.datetime64("2024-01-01")
    inc = gpd.GeoDataFrame(
        {"incident_id": np.arange(1, nmax + 1, dtype=np.int64),
         "date": (day0 + rng.integers(0, 731, nmax).astype("timedelta64[D]")).astype(str),
         "kind": KINDS[rng.integers(0, len(KINDS), nmax)],
         "severity": rng.integers(1, 4, nmax).astype(np.int32)},
        geometry=shapely.points(x, y), crs=UTM).to_crs(GEO)
    for tag, n in SIZES.items():        # nested: 10k = first rows of 100k = first rows of 1M
        inc.iloc[:n].to_file(incidents_path(tag), driver="GPKG", engine="pyogrio",
                             dataset_options=GPKG_OPTS)
    meta = {**want, "line_length_m": la.length, "seconds": time.perf_counter() - t0}
    meta_path.write_text(json.dumps(meta, indent=1))
    print(f"generated inputs in {meta['seconds']:.1f} s under {DATA}", flush=True)
    return meta


# == the methods (each runs in a child process) ==================================================
def read_inputs(tag, t):
    import geopandas as gpd
    with t("read"):
        boundary = read_boundary_la()
        markers = gpd.read_file(markers_path(), engine="pyogrio")
        inc = gpd.read_file(incidents_path(tag), engine="pyogrio")
    with t("to_crs"):
        inc = inc.to_crs(UTM)
    # the peak RSS reported for a method is that of build + compute (with the data held);
    # the peak while reading is recorded apart
    t.peak_rss_read_mb = peak_rss_mb()
    reset_peak_rss()
    return boundary, markers, inc


def timed_runs(fn, runs, single_above):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > single_above:
            break
    return times, out


def frame(**cols):
    import pandas as pd
    return pd.DataFrame({k: cols[k] for k in OUT})



def located_frame(out):
    """The comparison frame of bienmoc's located output (side as +1 / 0 / -1)."""
    side = np.where(out["side"] == "VN", 1, np.where(out["side"] == "", 0, -1))
    return frame(dist_m=out["distance_m"].to_numpy(), side=side,
                 chainage_m=out["chainage_m"].to_numpy(),
                 before=out["marker_before"].to_numpy(), after=out["marker_after"].to_numpy(),
                 nearest=out["nearest_marker"].to_numpy(),
                 nearest_d=out["nearest_marker_distance_m"].to_numpy())

def reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def method_bienmoc(tag, runs, single_above):
    import gc

    import shapely

    from bienmoc.geometry.locate import BorderModel

    t = Timer()
    boundary, markers, inc = read_inputs(tag, t)
    res = {"variants": {}}
    with t("build"):
        model = BorderModel(boundary, markers, crs=UTM)
    xy = shapely.get_coordinates(inc.geometry.values)
    kept = {}

    def variant(name, fn, n_runs, keep=False):
        """Time fn; the peak RSS reported is that of this variant (VmHWM reset before)."""
        gc.collect()
        before = rss_mb()
        resettable = reset_peak_rss()
        times, out = timed_runs(fn, n_runs, single_above)
        res["variants"][name] = {"times": times, "rss_before_mb": before,
                                 "peak_rss_mb": peak_rss_mb() if resettable else None}
        if keep:
            kept[name] = out

    # first call on the fresh model: fills the nearest-segment grid for the cells hit
    variant("cold", lambda: model.locate(inc, describe=False), 1)
    variant("locate", lambda: model.locate(inc, describe=False), runs, keep=True)
    variant("locate_xy", lambda: model.index.locate_xy(xy[:, 0], xy[:, 1]), runs)
    variant("describe", lambda: model.locate(inc, describe=True), runs)
    out = kept["locate"]
    df = located_frame(out)
    grid = model.index
    res["grid_cells"] = len(grid._cells)
    res["grid_mean_candidates"] = float(len(grid._cand) / max(1, len(grid._cells)))
    return t, res, df


class LineLocator:
    """The peer benchmark's vectorised-shapely locator (locate_shapely.py, method ii)."""

    def __init__(self, line):
        import shapely
        c = shapely.get_coordinates(line)
        keep = np.concatenate([[True], np.any(np.diff(c, axis=0) != 0, axis=1)])
        c = c[keep]
        self.A = c[:-1]
        self.D = c[1:] - c[:-1]
        self.len = np.hypot(self.D[:, 0], self.D[:, 1])
        self.cum = np.concatenate([[0.0], np.cumsum(self.len)])
        nl = np.column_stack([-self.D[:, 1], self.D[:, 0]]) / self.len[:, None]
        vn = np.zeros((len(c), 2))
        vn[:-1] += nl
        vn[1:] += nl
        self.seg_n, self.vtx_n = nl, vn
        self.tree = shapely.STRtree(shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1)))

    def nearest_segment(self, pts):
        (qi, seg), dist = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        if not np.array_equal(qi, np.arange(len(pts))):
            order = np.argsort(qi, kind="stable")
            seg, dist = seg[order], dist[order]
        return seg, dist

    def locate(self, pts, xy, seg=None, dist=None):
        if seg is None:
            seg, dist = self.nearest_segment(pts)
        a, d, L = self.A[seg], self.D[seg], self.len[seg]
        ap = xy - a
        t = np.clip((ap[:, 0] * d[:, 0] + ap[:, 1] * d[:, 1]) / (L * L), 0.0, 1.0)
        chain = self.cum[seg] + t * L
        cpx, cpy = a[:, 0] + t * d[:, 0], a[:, 1] + t * d[:, 1]
        n = self.seg_n[seg]
        n = np.where((t <= 0.0)[:, None], self.vtx_n[seg], n)
        n = np.where((t >= 1.0)[:, None], self.vtx_n[seg + 1], n)
        side_dot = (xy[:, 0] - cpx) * n[:, 0] + (xy[:, 1] - cpy) * n[:, 1]
        return dist, side_dot, chain


def method_shapely(tag, runs, single_above):
    import shapely

    t = Timer()
    boundary, markers, inc = read_inputs(tag, t)
    with t("build"):
        line = boundary.to_crs(UTM).geometry.iloc[0]
        loc = LineLocator(line)
        mk = markers.to_crs(UTM)
        mpts = mk.geometry.values
        mxy = shapely.get_coordinates(mpts)
        _, _, mch = loc.locate(mpts, mxy)
        order = np.argsort(mch, kind="stable")
        m_ch, m_xy = mch[order], mxy[order]
        m_no = mk["marker_no"].to_numpy(dtype=object)[order]

    def compute():
        pts = inc.geometry.values
        seg, dist = loc.nearest_segment(pts)
        xy = shapely.get_coordinates(pts)
        dist, side_dot, chain = loc.locate(pts, xy, seg, dist)
        k = np.clip(np.searchsorted(m_ch, chain, side="right") - 1, 0, len(m_ch) - 2)
        d0 = np.hypot(xy[:, 0] - m_xy[k, 0], xy[:, 1] - m_xy[k, 1])
        d1 = np.hypot(xy[:, 0] - m_xy[k + 1, 0], xy[:, 1] - m_xy[k + 1, 1])
        take1 = d1 < d0
        return frame(dist_m=dist, side=np.where(side_dot > 0, 1, np.where(side_dot < 0, -1, 0)),
                     chainage_m=chain, before=m_no[k], after=m_no[k + 1],
                     nearest=np.where(take1, m_no[k + 1], m_no[k]),
                     nearest_d=np.where(take1, d1, d0))

    times, df = timed_runs(compute, runs, single_above)
    return t, {"variants": {"compute": {"times": times}}}, df


def method_geopandas(tag, runs, single_above):
    import geopandas as gpd

    t = Timer()
    boundary, markers, inc = read_inputs(tag, t)
    with t("build"):   # what any method needs first: the line and markers in the metric CRS
        line = boundary.to_crs(UTM).geometry.iloc[0]
        markers = markers.to_crs(UTM)

    def compute():     # the peer benchmark's locate_geopandas.py, as an analyst writes it
        out = inc[["incident_id"]].copy()
        out["dist_m"] = inc.distance(line)
        out["chainage_m"] = inc.geometry.apply(line.project)
        vn_side = side_polygon(line)
        out["side"] = np.where(inc.within(vn_side), 1, -1)
        mk = markers[["marker_no", "geometry"]].copy()
        mk["m_chainage"] = mk.geometry.apply(line.project)
        mk = mk.sort_values("m_chainage").reset_index(drop=True)
        mk["prev_no"] = mk["marker_no"].shift(1)
        mk["next_no"] = mk["marker_no"].shift(-1)
        j = gpd.sjoin_nearest(inc[["incident_id", "geometry"]], mk, how="left",
                              distance_col="nearer_marker_dist_m")
        j = j[~j.index.duplicated(keep="first")]
        after = out["chainage_m"].to_numpy() >= j["m_chainage"].to_numpy()
        after = np.where(j["next_no"].isna(), False, after)
        after = np.where(j["prev_no"].isna(), True, after)
        return frame(dist_m=out["dist_m"].to_numpy(), side=out["side"].to_numpy(),
                     chainage_m=out["chainage_m"].to_numpy(),
                     before=np.where(after, j["marker_no"], j["prev_no"]),
                     after=np.where(after, j["next_no"], j["marker_no"]),
                     nearest=j["marker_no"].to_numpy(),
                     nearest_d=j["nearer_marker_dist_m"].to_numpy())

    times, df = timed_runs(compute, runs, single_above)
    return t, {"variants": {"compute": {"times": times}}}, df


# -- PostGIS ---------------------------------------------------------------------------------------
PG_PREP = """
DROP TABLE IF EXISTS la_line, la_side, la_segs, la_mk;
CREATE TABLE la_line AS SELECT g AS geom, ST_Length(g) AS len
  FROM (SELECT ST_GeomFromEWKB(%(line)s) AS g) q;
CREATE TABLE la_side AS SELECT ST_GeomFromEWKB(%(side)s) AS geom;
CREATE TABLE la_segs AS
  WITH d AS (SELECT (ST_DumpSegments(geom)).* FROM la_line),
       s AS (SELECT path[1] AS idx, geom, ST_Length(geom) AS len FROM d WHERE ST_Length(geom) > 0)
  SELECT idx, geom, len, sum(len) OVER (ORDER BY idx) - len AS s0 FROM s;
CREATE INDEX la_segs_gix ON la_segs USING gist (geom);
CREATE TABLE la_mk AS
  SELECT row_number() OVER (ORDER BY ch, marker_no::int) AS seq, marker_no, geom, ch AS chainage_m
  FROM (SELECT m.marker_no, m.geom, ST_LineLocatePoint(l.geom, m.geom) * l.len AS ch
        FROM (SELECT u.marker_no, ST_SetSRID(ST_MakePoint(u.x, u.y), 32648) AS geom
              FROM unnest(%(mno)s::text[], %(mx)s::float8[], %(my)s::float8[])
                   AS u(marker_no, x, y)) m
        CROSS JOIN la_line l) q;
CREATE UNIQUE INDEX la_mk_seq ON la_mk (seq);
CREATE INDEX la_mk_ch ON la_mk (chainage_m);
ANALYZE la_line; ANALYZE la_side; ANALYZE la_segs; ANALYZE la_mk;
"""

PG_KNN = """
WITH b AS (
  SELECT i.incident_id, i.geom, s.dist_m, s.chainage_m,
         CASE WHEN ST_Intersects(sp.geom, i.geom) THEN 1 ELSE -1 END AS side
  FROM inc i CROSS JOIN la_side sp
  CROSS JOIN LATERAL (
    SELECT ST_Distance(g.geom, i.geom) AS dist_m,
           g.s0 + ST_LineLocatePoint(g.geom, i.geom) * g.len AS chainage_m
    FROM la_segs g ORDER BY g.geom <-> i.geom LIMIT 1) s)
SELECT b.incident_id, b.dist_m, b.side, b.chainage_m,
       mf.marker_no AS before, mt.marker_no AS after,
       CASE WHEN ST_Distance(b.geom, mt.geom) < ST_Distance(b.geom, mf.geom)
            THEN mt.marker_no ELSE mf.marker_no END AS nearest,
       LEAST(ST_Distance(b.geom, mt.geom), ST_Distance(b.geom, mf.geom)) AS nearest_d
FROM b
CROSS JOIN LATERAL (
  SELECT m.seq, m.marker_no, m.geom FROM la_mk m
  WHERE m.chainage_m <= GREATEST(b.chainage_m, (SELECT min(chainage_m) FROM la_mk))
    AND m.seq < (SELECT max(seq) FROM la_mk)
  ORDER BY m.chainage_m DESC LIMIT 1) mf
JOIN la_mk mt ON mt.seq = mf.seq + 1
"""


def pg_connect(port):
    import psycopg
    return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                           autocommit=True)


def method_postgis_knn(tag, runs, single_above, port):
    import pandas as pd
    import shapely

    t = Timer()
    _, _, inc = read_inputs(tag, t)
    conn = pg_connect(port)
    conn.execute("SET max_parallel_workers_per_gather = 0")   # one core, like the others
    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with t("copy"):   # load: the metric points as hex EWKB, COPY into an unlogged table
        conn.execute("DROP TABLE IF EXISTS inc")
        conn.execute("CREATE UNLOGGED TABLE inc (incident_id bigint, geom geometry(Point, 32648))")
        ids = inc["incident_id"].to_numpy()
        hexes = shapely.to_wkb(shapely.set_srid(inc.geometry.values, UTM), hex=True,
                               include_srid=True)
        with conn.cursor() as cur, cur.copy("COPY inc (incident_id, geom) FROM STDIN") as cp:
            step = 200_000
            for s in range(0, len(ids), step):
                cp.write("".join(f"{i}\t{h}\n" for i, h in
                                 zip(ids[s:s + step].tolist(), hexes[s:s + step])))
        conn.execute("ANALYZE inc")

    def compute():
        conn.execute("DROP TABLE IF EXISTS res")
        conn.execute("CREATE UNLOGGED TABLE res AS " + PG_KNN)

    times, _ = timed_runs(compute, runs, single_above)
    cur = conn.execute("SELECT incident_id, dist_m, side, chainage_m, before, after, nearest, "
                       "nearest_d FROM res ORDER BY incident_id")
    raw = pd.DataFrame(cur.fetchall(), columns=["incident_id", *OUT])
    assert np.array_equal(raw["incident_id"].to_numpy(), ids)
    df = frame(**{c: raw[c].to_numpy(object if c in ("before", "after", "nearest") else float)
                  for c in OUT})
    hwm = _status_mb("VmHWM", backend)   # the server process that ran the queries
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + PG_KNN).fetchall())
    conn.execute("DROP TABLE IF EXISTS res; DROP TABLE IF EXISTS inc")
    conn.close()
    return t, {"variants": {"compute": {"times": times}}, "server_backend_vmhwm_mb": hwm,
               "plan": plan}, df


class PrivateCluster:
    """A throw-away PostgreSQL + PostGIS cluster on 127.0.0.1 (the peer benchmark's pg.sh)."""

    def __init__(self, root: Path):
        import glob
        cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        cands = [Path(c).parent for c in cands
                 if Path(f"/usr/share/postgresql/{Path(c).parents[1].name}/extension/"
                         "postgis.control").exists()]
        if not cands:
            raise FileNotFoundError("PostgreSQL/PostGIS not installed")
        self.bindir = cands[-1]
        self.root = root
        self.pid = None
        self.port = None

    def _run(self, *args):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *map(str, args)], cwd=self.work, check=True,
                              capture_output=True, text=True)

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="pg-", dir=self.root))
        self.data, sock = self.work / "data", self.work / "sock"
        sock.mkdir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (self.work, sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self._run(self.bindir / "initdb", "-D", self.data, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "-U", "postgres", "--no-sync")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"""
# --- benchmark settings (throw-away data: durability off), as the peer benchmark's pg.sh ---
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{sock}'
shared_buffers = 2GB
work_mem = 256MB
maintenance_work_mem = 1GB
effective_cache_size = 12GB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
checkpoint_timeout = 30min
jit = off
max_parallel_workers_per_gather = 0
""")
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.work / "server.log",
                  "-w", "-t", "60", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        print(f"PostGIS: private cluster started, postmaster pid {self.pid}, "
              f"127.0.0.1:{self.port}, data {self.data}", flush=True)
        with pg_connect(self.port) as c:
            c.execute("CREATE EXTENSION postgis")
            self.versions = {"postgresql": c.execute("SELECT version()").fetchone()[0],
                             "postgis": c.execute("SELECT postgis_full_version()").fetchone()[0]}

    def stop(self):
        if self.pid is None:
            return
        try:
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60",
                      "stop")
        except subprocess.CalledProcessError:
            try:
                os.kill(self.pid, signal.SIGINT)      # the postmaster this script started
                for _ in range(60):
                    os.kill(self.pid, 0)
                    time.sleep(1)
            except ProcessLookupError:
                pass
        print(f"PostGIS: private cluster (pid {self.pid}) stopped", flush=True)
        self.pid = None
        shutil.rmtree(self.work, ignore_errors=True)


def postgis_prep(port) -> float:
    """Per line, not per incident set: line, side polygon, segments + GiST, marker chainages."""
    import geopandas as gpd
    import shapely
    line = read_boundary_la().to_crs(UTM).geometry.iloc[0]
    mk = gpd.read_file(markers_path(), engine="pyogrio").to_crs(UTM)
    mxy = shapely.get_coordinates(mk.geometry.values)
    params = {"line": shapely.to_wkb(shapely.set_srid(line, UTM), include_srid=True),
              "side": shapely.to_wkb(shapely.set_srid(side_polygon(line), UTM),
                                     include_srid=True),
              "mno": mk["marker_no"].tolist(), "mx": mxy[:, 0].tolist(),
              "my": mxy[:, 1].tolist()}
    with pg_connect(port) as c:
        t0 = time.perf_counter()
        with c.cursor() as cur:
            for stmt in [s for s in PG_PREP.split(";") if s.strip()]:
                used = {k: v for k, v in params.items() if f"%({k})s" in stmt}
                cur.execute(stmt, used or None)
        return time.perf_counter() - t0


def method_bienmoc_e2e(tag, runs, single_above):
    """End to end, as ``bienmoc locate FILE --format csv|geojson -o OUT`` runs it: the same
    function (bienmoc.io.locate_file.locate_file) reads the GeoPackage (Arrow), builds the
    model from the boundary and markers, locates with the vi/en descriptions (threads) and
    writes the result; only the boundary/markers frames are read beforehand (a store read)."""
    import geopandas as gpd

    from bienmoc.geometry.linear import threads
    from bienmoc.io.locate_file import locate_file

    t = Timer()
    with t("read"):
        frames = {"boundary": read_boundary_la(),
                  "markers": gpd.read_file(markers_path(), engine="pyogrio"),
                  # the demo provinces, as a store has them: locate names each point's
                  "provinces": gpd.read_file(REPO / "data" / "markers" / "provinces.geojson",
                                             engine="pyogrio")}
    t.peak_rss_read_mb = peak_rss_mb()
    res = {"variants": {}, "threads": threads()}
    out_dir = Path(tempfile.mkdtemp(prefix="e2e-", dir=WORK))
    kept = {}
    try:
        for fmt in ("csv", "geojson"):
            target = out_dir / f"located.{fmt}"
            reset_peak_rss()
            times, out = timed_runs(lambda: locate_file(incidents_path(tag), frames, fmt=fmt,
                                                        output=target, metric_crs=UTM),
                                    runs if fmt == "csv" else 1, single_above)
            res["variants"][fmt] = {"times": times, "peak_rss_mb": peak_rss_mb(),
                                    "output_mb": target.stat().st_size / 1e6}
            kept[fmt] = out
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    out = kept["csv"]
    df = located_frame(out)
    return t, res, df


METHODS = {"bienmoc": method_bienmoc, "bienmoc_e2e": method_bienmoc_e2e,
           "shapely": method_shapely,
           "geopandas": method_geopandas, "postgis_knn": method_postgis_knn}


def worker(args) -> None:
    base = rss_mb()
    kw = {"port": args.port} if args.worker == "postgis_knn" else {}
    t, res, df = METHODS[args.worker](args.tag, args.runs, args.single_run_above, **kw)
    res["phases"] = t.phases
    res["peak_rss_read_mb"] = getattr(t, "peak_rss_read_mb", None)
    res["rss_before_mb"] = base
    res["peak_rss_mb"] = peak_rss_mb()
    df.to_pickle(args.out + ".pkl")
    Path(args.out).write_text(json.dumps(res, default=float))


# == the driver ====================================================================================
_child: subprocess.Popen | None = None


def run_child(method, tag, a, port=None) -> dict:
    global _child
    out = WORK / "runs" / f"{method}_{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--worker", method, "--tag", tag, "--out", str(out),
           "--runs", str(a.runs), "--single-run-above", str(a.single_run_above)]
    if port:
        cmd += ["--port", str(port)]
    la0 = loadavg()
    t0 = time.perf_counter()
    _child = subprocess.Popen(cmd)
    rc = _child.wait()
    _child = None
    if rc:
        raise RuntimeError(f"{method} {tag}: worker failed (exit {rc})")
    res = json.loads(out.read_text())
    res.update(method=method, tag=tag, n=SIZES[tag], load_before=la0, load_after=loadavg(),
               wall_s=time.perf_counter() - t0, out=str(out) + ".pkl")
    return res


def med(xs):
    return statistics.median(xs)


def rows_for(res) -> list[dict]:
    """Table rows of one worker result."""
    ph = res["phases"]
    read = ph.get("read", 0) + ph.get("to_crs", 0) + ph.get("copy", 0)
    build = ph.get("build", res.get("build_s", 0.0))
    n = res["n"]
    base = {"N": res["tag"], "n": n, "read_crs_s": read, "read_s": ph.get("read"),
            "to_crs_s": ph.get("to_crs"), "copy_s": ph.get("copy"), "build_s": build,
            "peak_rss_mb": res.get("server_backend_vmhwm_mb") or res["peak_rss_mb"],
            "load_before": res["load_before"], "load_after": res["load_after"]}
    labels = {("bienmoc", "locate"): "bienmoc BorderModel.locate (describe=False)",
              ("bienmoc", "cold"): "bienmoc, first call (fills the grid)",
              ("bienmoc", "locate_xy"): "bienmoc index.locate_xy (raw)",
              ("bienmoc", "describe"): "bienmoc locate + vi/en descriptions",
              ("shapely", "compute"): "(ii) shapely 2 vectorised",
              ("geopandas", "compute"): "(i) geopandas, the analyst way",
              ("postgis_knn", "compute"): "(iii) PostGIS KNN on segments",
              ("bienmoc_e2e", "csv"): "bienmoc END TO END gpkg→locate+vi/en→csv",
              ("bienmoc_e2e", "geojson"): "bienmoc END TO END gpkg→locate+vi/en→geojson"}
    out = []
    for v, d in res["variants"].items():
        comp = med(d["times"])
        row = {**base}
        if d.get("peak_rss_mb"):
            row["peak_rss_mb"] = d["peak_rss_mb"]
        out.append({**row, "method": f"{res['method']}:{v}",
                    "label": labels[(res["method"], v)], "compute_s": comp,
                    "runs": len(d["times"]), "times": d["times"],
                    "us_per_point": comp / n * 1e6})
    if res["method"] == "postgis_knn":
        out[0]["peak_rss_note"] = "server backend VmHWM (incl. touched shared buffers)"
    return out


def compare(ref, other, L) -> dict:
    """Per-point agreement of ``other`` with ``ref`` (bienmoc)."""
    dd = np.abs(ref["dist_m"].to_numpy(float) - other["dist_m"].to_numpy(float))
    dc = np.abs(ref["chainage_m"].to_numpy(float) - other["chainage_m"].to_numpy(float))
    rb, ra = ref["before"].astype(str).to_numpy(), ref["after"].astype(str).to_numpy()
    ob, oa = other["before"].astype(str).to_numpy(), other["after"].astype(str).to_numpy()
    same_pair = (rb == ob) & (ra == oa)
    # bienmoc names a single marker (before == after) at/after the last marker's chainage,
    # where the peers name the last pair: a convention, counted apart
    single = (rb == ra) & ((ob == rb) | (oa == rb))
    pair_bad = ~same_pair & ~single
    rn, on = ref["nearest"].astype(str).to_numpy(), other["nearest"].astype(str).to_numpy()
    dn = np.abs(ref["nearest_d"].to_numpy(float) - other["nearest_d"].to_numpy(float))
    sd = ref["side"].to_numpy() != other["side"].to_numpy()
    ch = ref["chainage_m"].to_numpy(float)
    near_end = np.minimum(ch, L - ch) < END_ZONE_M
    bad = (dd > TOL_M) | (dc > TOL_M) | pair_bad
    ex = [{"i": int(i), "dist": [float(ref["dist_m"].iat[i]), float(other["dist_m"].iat[i])],
           "chainage": [float(ref["chainage_m"].iat[i]), float(other["chainage_m"].iat[i])],
           "pair": [f"{rb[i]}-{ra[i]}", f"{ob[i]}-{oa[i]}"]} for i in np.flatnonzero(bad)[:10]]
    r = {"max_abs_dist_m": float(dd.max()), "max_abs_chainage_m": float(dc.max()),
         "dist_gt_tol": int((dd > TOL_M).sum()), "chainage_gt_tol": int((dc > TOL_M).sum()),
         "pair_differs": int(pair_bad.sum()), "pair_differs_pct": float(pair_bad.mean() * 100),
         "end_single_marker_convention": int((single & ~same_pair).sum()),
         "nearest_marker_differs": int((rn != on).sum()),
         "max_abs_nearest_d_where_same_m": float(dn[rn == on].max()) if (rn == on).any()
         else None,
         "side_differs": int(sd.sum()), "side_differs_within_2km_of_ends": int((sd & near_end)
                                                                              .sum()),
         "side_differs_elsewhere": int((sd & ~near_end).sum()),
         "mismatches": int(bad.sum()), "examples": ex}
    if pair_bad.any():
        try:
            off = np.abs(rb[pair_bad].astype(int) - ob[pair_bad].astype(int))
            r["pair_offset_median"] = float(np.median(off))
            r["pair_offset_max"] = int(off.max())
        except ValueError:
            pass
    return r


def check_targets(rows, checks, tags) -> list[dict]:
    """The issue's bar, at the largest N run (1M in the real run)."""
    tag = max(tags, key=SIZES.get)
    by = {r["method"]: r for r in rows if r["N"] == tag}
    if "bienmoc:locate" not in by:
        return []
    b = by["bienmoc:locate"]
    out = []

    def target(name, value, ok, note=""):
        out.append({"target": name, "value": value, "met": bool(ok), "note": note})

    gp = by.get("geopandas:compute") or by.get("geopandas:extrapolated")
    if gp:
        target("≥ 50× faster than the geopandas way", f"{gp['ratio_vs_bienmoc']:.0f}×",
               gp["ratio_vs_bienmoc"] >= 50, "extrapolated" if gp.get("extrapolated") else "")
    if "postgis_knn:compute" in by:
        r = by["postgis_knn:compute"]["ratio_vs_bienmoc"]
        target("≥ 5× faster than the best PostGIS query", f"{r:.1f}×", r >= 5)
    if "shapely:compute" in by:
        r = by["shapely:compute"]["ratio_vs_bienmoc"]
        target("at least as fast as vectorised shapely", f"{r:.1f}×", r >= 1)
    target("≤ 2 µs/point compute (index built once, reused)", f"{b['us_per_point']:.2f} µs",
           b["us_per_point"] <= 2.0, "BorderModel.locate(describe=False), warm")
    e2e = by.get("bienmoc_e2e:csv")
    if e2e:
        target("≤ 5 s end to end (read gpkg, locate + vi/en, write csv) at 1M",
               f"{e2e['compute_s']:.2f} s at N = {tag}",  # (not met below N = 1M: untested)
               e2e["compute_s"] <= 5.0 and e2e["n"] >= 1_000_000,
               f"load {e2e['load_before']} → {e2e['load_after']}; nproc {os.cpu_count()}")
    c = checks.get(f"postgis_knn|{tag}")
    if c:
        n_bad = c["dist_gt_tol"] + c["chainage_gt_tol"] + c["pair_differs"]
        target("exactly as correct as PostGIS (Δ ≤ 0.01 m, same marker pair)",
               f"{n_bad} mismatches", n_bad == 0,
               f"{c['end_single_marker_convention']} beyond-the-last-marker convention; "
               f"side: {c['side_differs_within_2km_of_ends']} differ within 2 km of a line end "
               f"(polygon vs cross-product rule), {c['side_differs_elsewhere']} elsewhere")
    print(f"\n== Targets at N = {tag}")
    for t in out:
        print(f"  [{'met' if t['met'] else 'NOT met'}] {t['target']}: {t['value']}"
              + (f" ({t['note']})" if t["note"] else ""))
    return out


def fmt_s(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 100 else f"{x:.1f}"


def print_table(rows, ref_by_n):
    hdr = (f"{'method':46s} {'N':>5s} {'read+CRS s':>10s} {'build s':>8s} {'compute s':>10s} "
           f"{'runs':>4s} {'µs/point':>9s} {'× bienmoc':>9s} {'peak RSS MB':>11s}  load before→after")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ref = ref_by_n.get(r["N"])
        ratio = f"{r['compute_s'] / ref:.1f}" if ref else "–"
        rss = f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") else "–"
        print(f"{r['label']:46s} {r['N']:>5s} {fmt_s(r.get('read_crs_s')):>10s} "
              f"{fmt_s(r.get('build_s')):>8s} {fmt_s(r['compute_s']):>10s} "
              f"{('extr' if r.get('extrapolated') else r.get('runs', '–'))!s:>4s} "
              f"{r['us_per_point']:9.2f} {ratio:>9s} {rss:>11s}  "
              f"{r.get('load_before', '')} → {r.get('load_after', '')}")


def versions(cluster) -> dict:
    import geopandas
    import pandas
    import pyproj
    import shapely

    import bienmoc
    v = {"python": platform.python_version(), "bienmoc": getattr(bienmoc, "__version__", "?"),
         "geopandas": geopandas.__version__, "pandas": pandas.__version__,
         "numpy": np.__version__, "shapely": shapely.__version__,
         "geos": shapely.geos_version_string, "pyproj": pyproj.__version__}
    try:
        v["git"] = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                  check=False, capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    if cluster is not None and getattr(cluster, "versions", None):
        v.update(cluster.versions)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10k,100k,1M")
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--full", action="store_true", help="also the geopandas way at 1M (~9 min)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--single-run-above", type=float, default=30.0)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--tag", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a)

    tags = [s.strip() for s in a.sizes.split(",") if s.strip()]
    for tg in tags:
        if tg not in SIZES:
            ap.error(f"unknown size {tg!r} (choose from {', '.join(SIZES)})")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"benchmarks/locate.py — {started}; nproc {os.cpu_count()}; load {loadavg()}",
          flush=True)
    meta = generate_data()
    L = meta["line_length_m"]

    def _term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, _term)

    cluster, pg_note, pg_build = None, None, None
    results, rows = [], []
    try:
        if a.no_postgis:
            pg_note = "PostGIS: skipped (--no-postgis)"
        else:
            try:
                cluster = PrivateCluster(WORK / "pg")
            except FileNotFoundError:
                pg_note = "PostGIS: not installed (run .ci/system-deps)"
            if cluster is not None:
                cluster.start()
                pg_build = postgis_prep(cluster.port)
        if pg_note:
            print(pg_note, flush=True)

        # numba's on-disk cache of bienmoc's compiled kernels (bienmoc[fast]) filled once, in
        # a process of its own, untimed: the workers then load it as any later `bienmoc
        # locate` does (a fresh install compiles once, ~10 s, on its first large call)
        subprocess.run([sys.executable, "-c", "from bienmoc.geometry.locate import "
                        "warm_compiled; warm_compiled()"], check=False)
        for tag in tags:
            print(f"\n== N = {tag}  (load {loadavg()})", flush=True)
            methods = ["bienmoc", "bienmoc_e2e", "shapely"]
            if tag != "1M" or a.full:
                methods.append("geopandas")
            if cluster is not None:
                methods.append("postgis_knn")
            for m in methods:
                res = run_child(m, tag, a, cluster.port if m == "postgis_knn" else None)
                if m == "postgis_knn":
                    res["build_s"] = pg_build
                results.append(res)
                rr = rows_for(res)
                rows.extend(rr)
                for r in rr:
                    print(f"  {r['label']:46s} compute {r['compute_s']:9.3f} s "
                          f"({r['us_per_point']:.2f} µs/point, runs {r['runs']}); "
                          f"load {r['load_before']} → {r['load_after']}", flush=True)
    finally:
        if _child is not None and _child.poll() is None:
            _child.terminate()          # the worker this script started, by its PID
            _child.wait()
        if cluster is not None:
            cluster.stop()

    # geopandas at 1M: extrapolated from the largest measured size unless --full
    if "1M" in tags and not a.full:
        gp = [r for r in rows if r["method"] == "geopandas:compute"]
        if gp:
            big = max(gp, key=lambda r: r["n"])
            rows.append({"N": "1M", "n": 1_000_000, "method": "geopandas:extrapolated",
                         "label": f"(i) geopandas — EXTRAPOLATED from {big['N']}",
                         "compute_s": big["us_per_point"], "us_per_point": big["us_per_point"],
                         "runs": 0, "read_crs_s": None, "build_s": None, "peak_rss_mb": None,
                         "load_before": "", "load_after": "", "extrapolated": True})

    import pandas as pd
    ref_by_n = {r["N"]: r["compute_s"] for r in rows if r["method"] == "bienmoc:locate"}
    order = {"bienmoc:locate": 0, "bienmoc:cold": 1, "bienmoc:locate_xy": 2,
             "bienmoc:describe": 3, "shapely:compute": 4, "postgis_knn:compute": 5,
             "geopandas:compute": 6, "geopandas:extrapolated": 7, "bienmoc_e2e:csv": 8,
             "bienmoc_e2e:geojson": 9}
    rows.sort(key=lambda r: (SIZES[r["N"]], order[r["method"]]))
    for r in rows:
        ref = ref_by_n.get(r["N"])
        r["ratio_vs_bienmoc"] = r["compute_s"] / ref if ref else None

    print(f"\n== Results (compute = median wall s; ratio = method compute / bienmoc "
          f"BorderModel.locate(describe=False) compute at the same N; nproc {os.cpu_count()})")
    print_table(rows, ref_by_n)
    if pg_note:
        print(pg_note)

    # correctness: everything against bienmoc, per point
    print("\n== Correctness, per point, against bienmoc (tolerance 0.01 m)")
    checks = {}
    for tag in tags:
        by = {r["method"]: r for r in results if r["tag"] == tag}
        if "bienmoc" not in by:
            continue
        ref = pd.read_pickle(by["bienmoc"]["out"])
        for m in ("bienmoc_e2e", "postgis_knn", "shapely", "geopandas"):
            if m not in by:
                continue
            c = compare(ref, pd.read_pickle(by[m]["out"]), L)
            checks[f"{m}|{tag}"] = c
            print(f"  {tag:>5s} {m:12s}: max|Δdist| {c['max_abs_dist_m']:.2e} m, "
                  f"max|Δchainage| {c['max_abs_chainage_m']:.2e} m, "
                  f">0.01 m: dist {c['dist_gt_tol']}, chainage {c['chainage_gt_tol']}; "
                  f"marker pair differs {c['pair_differs']} ({c['pair_differs_pct']:.2f} %)"
                  f" [+{c['end_single_marker_convention']} beyond the last marker: bienmoc "
                  f"names it alone]; nearest marker differs {c['nearest_marker_differs']}; "
                  f"side differs {c['side_differs']} ({c['side_differs_within_2km_of_ends']} "
                  f"within 2 km of a line end, {c['side_differs_elsewhere']} elsewhere)")
            if m != "geopandas" and c["examples"]:
                for e in c["examples"]:
                    print(f"      mismatch: {e}")
            if m == "geopandas" and c["pair_differs"]:
                print(f"      the geopandas way gets the marker pair wrong for "
                      f"{c['pair_differs_pct']:.2f} % of the points (median "
                      f"{c.get('pair_offset_median')}, max {c.get('pair_offset_max')} marker "
                      f"numbers off)")

    targets = check_targets(rows, checks, tags)
    report = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "nproc": os.cpu_count(), "sizes": tags, "full": a.full,
              "versions": versions(cluster), "postgis": pg_note or "ran",
              "postgis_prep_s": pg_build, "line_length_m": L, "rows": rows,
              "correctness_vs_bienmoc": checks, "targets": targets,
              "workers": [{k: v for k, v in r.items() if k != "plan"} for r in results],
              "postgis_plan": next((r.get("plan") for r in results if r.get("plan")), None)}
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"\nload at the end {loadavg()}; results in {WORK / 'results.json'}")


if __name__ == "__main__":
    main()
