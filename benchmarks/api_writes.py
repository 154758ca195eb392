"""Concurrent POSTs through the HTTP API: writes/s and latency, this tree vs a baseline tree.

Run from the repository root (a couple of minutes)::

    python benchmarks/api_writes.py [--clients 8] [--per-client 500] [--workers 2]
        [--baseline-src PATH/src]

Issue 11's load: ``--clients`` clients each send ``--per-client`` valid incident POSTs, a new
TCP connection per request (``http.client``; each client its own process, so the load generator
is not limited by one interpreter: ``httpx.post`` builds an SSL context per call and one Python
process tops out near 50 requests/s on this machine, whatever the server), to ``uvicorn bienmoc.api:create_app --factory
--workers N`` serving a fresh copy of the demo store. Every request is timed from send to
answer. Afterwards the store is checked: rows added == 201s, every acknowledged id stored
once, ``PRAGMA quick_check`` ok. With ``--baseline-src`` the same load runs first against
another source tree (e.g. a worktree of the commit before issue 11: ``git worktree add
/tmp/old ed20b34`` then ``--baseline-src /tmp/old/src``), in the same run, so the ratio is
measured on the same machine state. Load averages are printed (2 shared cores).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
TOKEN = "bench-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(path: Path, src: Path) -> None:
    code = ("from bienmoc.demo import seed_store; from bienmoc.storage import GeoPackageStore; "
            f"seed_store(GeoPackageStore({str(path)!r}))")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ,
                   "PYTHONPATH": str(src)})


def _count(path: Path) -> tuple[int, list[str]]:
    con = sqlite3.connect(path)
    try:
        ids = [r[0] for r in con.execute("SELECT id FROM incidents")]
        ok = con.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        con.close()
    return ok, ids


def _incident(k: int, i: int) -> dict:
    lon = 103.90 + (k * 0.01)  # near the VN-Laos line in Sơn La (the demo's 20 km rule)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, 21.05]},
            "properties": {"kind": "illegal_crossing", "reported_date": "2025-03-01",
                           "description": f"bench client {k} #{i}"}}


def _client(port: int, k: int, n: int) -> list[tuple[float, object, str | None]]:
    """One client: ``n`` POSTs, a new TCP connection for each; (seconds, status, id)."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        try:
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            con.request("POST", "/collections/incidents/items",
                        body=json.dumps(_incident(k, i)),
                        headers={"Authorization": f"Bearer {TOKEN}",
                                 "Content-Type": "application/geo+json"})
            r = con.getresponse()
            data = r.read()
            con.close()
            code = r.status
            rid = json.loads(data).get("id") if code == 201 else None
        except OSError as e:
            code, rid = type(e).__name__, None
        out.append((time.perf_counter() - t0, code, rid))
    return out


def _peer_incident(k: int, i: int) -> dict:
    """:func:`_incident` for a server without bienmoc's rules (pygeoapi's PostgreSQL
    provider): what bienmoc fills in or defaults is sent (the id, the status)."""
    f = _incident(k, i)
    # (the process id keeps the ids of repeated runs apart: each run starts new writers)
    f["properties"] = {"id": f"P-{os.getpid()}-{k}-{i}", "status": "reported",
                       **f["properties"]}
    return f


def _client_keepalive(port: int, k: int, n: int, peer: bool = False
                      ) -> list[tuple[float, object, str | None]]:
    """One writer: ``n`` POSTs over one kept-alive HTTP/1.1 connection, as a field app or a
    script with a session sends them; (seconds, status, id) per POST, plus
    ("start"/"end", perf_counter) marks. A raw socket and prebuilt request bytes: the
    client costs ~30 µs of CPU per POST (http.client ~0.3 ms, a new connection each ~1 ms), so
    the 2 cores are left to the server and the database. ``peer``: :func:`_peer_incident`
    bodies, the id read from the answer's Location (pygeoapi answers 201 without a body)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = sock.makefile("rb")
    out: list = [("start", time.perf_counter(), None)]
    for i in range(n):
        body = json.dumps((_peer_incident if peer else _incident)(k, i)).encode()
        req = (b"POST /collections/incidents/items HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Type: "
               b"application/geo+json\r\nContent-Length: " + str(len(body)).encode()
               + b"\r\n\r\n" + body)
        t0 = time.perf_counter()
        try:
            sock.sendall(req)
            status = int(f.readline().split()[1])
            length, close, location = 0, False, None
            while (line := f.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"location":
                    location = value.strip().decode()
            data = f.read(length)
            rid = None
            if status == 201:
                rid = json.loads(data).get("id") if data else location.rsplit("/", 1)[1]
            code = status
            if close:
                raise ConnectionResetError("server closed the connection")
        except (OSError, ValueError, IndexError) as e:
            code, rid = type(e).__name__, None
            sock.close()
            sock = socket.create_connection(("127.0.0.1", port), timeout=120)
            f = sock.makefile("rb")
        out.append((time.perf_counter() - t0, code, rid))
    out.append(("end", time.perf_counter(), None))
    sock.close()
    return out


def run(src: Path, label: str, clients: int, per_client: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmpd:
        path = Path(tmpd) / "store.gpkg"
        _seed(path, src)
        before = len(_count(path)[1])
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(src), "BIENMOC_STORE": str(path),
               "BIENMOC_API_TOKEN": TOKEN}
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bienmoc.api:create_app",
                                 "--factory", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers), "--log-level", "warning"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:  # both workers up: a few answers in a row
                try:
                    if all(httpx.get(f"{base}/conformance", timeout=5).status_code == 200
                           for _ in range(4)):
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{label}: server did not start")
                time.sleep(0.3)
            # one warm-up write per worker builds the rule caches (not timed)
            for _ in range(workers * 2):
                httpx.post(f"{base}/collections/incidents/items", json=_incident(99, 0),
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
            warm = len(_count(path)[1])

            t0 = time.perf_counter()
            with mp.get_context("spawn").Pool(clients) as pool:
                res = [x for part in pool.starmap(
                    _client, [(port, k, per_client) for k in range(clients)]) for x in part]
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        ok, ids = _count(path)
    lat = np.array([r[0] for r in res]) * 1000
    codes: dict = {}
    for _, c, _ in res:
        codes[c] = codes.get(c, 0) + 1
    acked = [r[2] for r in res if r[1] == 201]
    return {"label": label, "writes_s": len(acked) / wall, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "codes": codes,
            "added": len(ids) - warm, "acked": len(acked),
            "all_acked_stored": set(acked) <= set(ids), "unique": len(ids) == len(set(ids)),
            "quick_check": ok, "before": before}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline-src", type=Path, default=None)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load before {os.getloadavg()}")
    rows = []
    if a.baseline_src:
        rows.append(run(a.baseline_src, "baseline", a.clients, a.per_client, a.workers))
    rows.append(run(SRC, "this tree", a.clients, a.per_client, a.workers))
    print(f"load after {os.getloadavg()}")
    print(f"{a.clients} clients x {a.per_client} POSTs, new connection each, "
          f"uvicorn --workers {a.workers}")
    print(f"{'server':<10} {'writes/s':>9} {'p50 ms':>8} {'p99 ms':>8}  codes / checks")
    for r in rows:
        print(f"{r['label']:<10} {r['writes_s']:>9.1f} {r['p50']:>8.1f} {r['p99']:>8.1f}  "
              f"{r['codes']} added={r['added']} acked={r['acked']} "
              f"all_acked_stored={r['all_acked_stored']} unique_ids={r['unique']} "
              f"quick_check={r['quick_check']}")
    if len(rows) == 2:
        print(f"ratio writes/s: {rows[1]['writes_s'] / max(rows[0]['writes_s'], 1e-9):.1f}x, "
              f"p99: {rows[0]['p99'] / max(rows[1]['p99'], 1e-9):.1f}x lower")


if __name__ == "__main__":
    main()
