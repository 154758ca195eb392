"""CPU per ``POST /collections/incidents/items`` spent in the HTTP layer (issue 16, item 6).

In-process: the app's ASGI callable is driven directly (no sockets, no uvicorn) on uvloop with
requests the rule layer never sees - a body refused by pydantic (422) and an unknown token
(401) - so the figure is the HTTP layer's alone: middlewares, routing, the token check, the
parameter and body validation, the answer. Two apps over the same GeoPackage store, measured
in the same run:

* ``lean``: as served (the lean POST route of ``bienmoc.api.lean``);
* ``fastapi``: the same app with ``bienmoc.api.writes.LEAN_POST = False``, i.e. FastAPI's own
  handler of the documented route (dependency solving) - the peer.

Prints process CPU ms/request (``time.process_time``) of each, the ratio, and the load. Quick:
``python benchmarks/http_post.py`` (~10 s). The server-level figure (uvicorn + kernel, over
TCP) is measured with wrk, see benchmarks/README_api.md's recipe.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

TOKEN = "bench-token"


def _app(store, lean: bool):
    from bienmoc.api import create_app, writes
    from bienmoc.api.settings import Settings

    writes.LEAN_POST = lean
    try:
        return create_app(store, settings=Settings(api_token=TOKEN), tiles=None)
    finally:
        writes.LEAN_POST = True


def _request(body: bytes, token: str):
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/collections/incidents/items",
            "raw_path": b"/collections/incidents/items", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"),
                        (b"content-type", b"application/geo+json"),
                        (b"authorization", f"Bearer {token}".encode()),
                        (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}


async def _run(app, body: bytes, token: str, n: int) -> tuple[float, set]:
    statuses = set()

    async def one():
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.add(message["status"])

        await app(_request(body, token), receive, send)

    for _ in range(100):  # warm: caches, the users copy, imports
        await one()
    t0 = time.process_time()
    for _ in range(n):
        await one()
    return (time.process_time() - t0) / n * 1000, statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=3000, help="requests per case (default 3000)")
    args = ap.parse_args()
    import uvloop

    from bienmoc.demo import seed_store
    from bienmoc.storage.geopackage import GeoPackageStore

    store = GeoPackageStore(Path(tempfile.mkdtemp()) / "bench.gpkg")
    seed_store(store)
    invalid = json.dumps({"type": "Feature", "geometry": {"type": "Point",
                          "coordinates": [103.9, 21.05]},
                          "properties": {"kind": "bogus", "reported_date": "2025-03-01"}}
                         ).encode()
    print(f"nproc {os.cpu_count()}, load before {os.getloadavg()}")
    apps = {"fastapi": _app(store, False), "lean": _app(store, True)}
    for case, token in (("422 invalid body", TOKEN), ("401 unknown token", "nope")):
        got = {}
        for name, app in apps.items():
            ms, statuses = uvloop.run(_run(app, invalid, token, args.n))
            got[name] = ms
            print(f"{case:18s} {name:8s} {ms:.3f} ms CPU/request  statuses {sorted(statuses)}"
                  f"  load {os.getloadavg()[0]:.2f}")
        print(f"{case:18s} fastapi/lean = {got['fastapi'] / got['lean']:.2f}x")
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
