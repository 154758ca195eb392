"""Builders of tiny layers with known answers, for tests, notebooks and bug reports.

The world: one border ``LA`` running north -> south along longitude 104.5 from latitude 21.0
to 20.9 (about 11.1 km), Vietnam on the left (east). Two provinces split it at latitude 20.95.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import geopandas as gpd
import numpy as np
import shapely

from bienmoc.model.schema import validate

__all__ = ["make_boundary", "make_markers", "make_gates", "make_incidents", "make_provinces",
           "make_layers", "side_polygon", "points_near"]

LON = 104.5


def make_boundary() -> gpd.GeoDataFrame:
    return validate("boundary", gpd.GeoDataFrame(
        {"border": ["LA"], "name_vi": ["Biên giới Việt Nam - Lào"],
         "name_en": ["Vietnam - Laos"], "home_side": ["left"]},
        geometry=[shapely.LineString([(LON, 21.0), (LON, 20.9)])], crs=4326))


def make_provinces() -> gpd.GeoDataFrame:
    return validate("provinces", gpd.GeoDataFrame(
        {"name": ["Sơn La", "Thanh Hóa"], "code": ["SL", "TH"]},
        geometry=[shapely.box(LON, 20.95, LON + 0.2, 21.05), shapely.box(LON, 20.85, LON + 0.2,
                                                                         20.95)], crs=4326))


def make_markers() -> gpd.GeoDataFrame:
    """Sơn La: 100 (built), 101 (built, damaged), 102(1)/102(2) double (one part under
    construction), stakes 100/1 (built) and 101/1 (planned). Thanh Hóa: 103 (built), 104
    (planned, missing)."""
    rows = [
        # number, kind, arrangement, status, condition, lat, province
        ("100", "large", "single", "built", "good", 21.0, "Sơn La"),
        ("100/1", "stake", "single", "built", "good", 20.995, "Sơn La"),
        ("101", "small", "single", "built", "damaged", 20.99, "Sơn La"),
        ("101/1", "stake", "single", "planned", "unknown", 20.985, "Sơn La"),
        ("102(1)", "medium", "double", "built", "good", 20.97, "Sơn La"),
        ("102(2)", "medium", "double", "under_construction", "good", 20.97, "Sơn La"),
        ("103", "small", "single", "built", "good", 20.93, "Thanh Hóa"),
        ("104", "small", "single", "planned", "missing", 20.9, "Thanh Hóa"),
    ]
    offsets = {"102(1)": -0.0001, "102(2)": 0.0001}
    return validate("markers", gpd.GeoDataFrame(
        {"number": [r[0] for r in rows], "border": "LA", "kind": [r[1] for r in rows],
         "arrangement": [r[2] for r in rows], "construction_status": [r[3] for r in rows],
         "condition": [r[4] for r in rows], "province": [r[6] for r in rows]},
        geometry=[shapely.Point(LON + offsets.get(r[0], 0.0), r[5]) for r in rows], crs=4326))


def make_gates() -> gpd.GeoDataFrame:
    return validate("gates", gpd.GeoDataFrame(
        {"name": ["Cửa khẩu A", "Lối mở B"], "paired_gate": ["Gate A", "Opening B"],
         "border": "LA", "province": ["Sơn La", "Thanh Hóa"], "kind": ["main", "opening"],
         "status": ["open", "suspended"]},
        geometry=[shapely.Point(LON + 0.003, 20.98), shapely.Point(LON + 0.003, 20.92)],
        crs=4326))


def make_incidents() -> gpd.GeoDataFrame:
    return validate("incidents", gpd.GeoDataFrame(
        {"kind": ["illegal_crossing", "encroachment", "landslide"], "border": "LA",
         "status": ["reported", "resolved", "verifying"],
         "province": ["Sơn La", "Sơn La", "Thanh Hóa"],
         "reported_date": ["2024-01-05", "2023-06-01", "2025-02-03"],
         "description": ["Vượt biên trái phép", "Xâm canh", "Sạt lở gần mốc 103"]},
        geometry=[shapely.Point(LON + 0.01, 20.98), shapely.Point(LON + 0.01, 20.96),
                  shapely.Point(LON + 0.01, 20.93)], crs=4326))


def make_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the tiny world, validated."""
    return {"boundary": make_boundary(), "provinces": make_provinces(),
            "markers": make_markers(), "gates": make_gates(), "incidents": make_incidents()}


def side_polygon(line: shapely.LineString, ext: float = 20_000.0) -> shapely.Polygon:
    """Reference side rule by containment, for cross-checks: the region LEFT of ``line`` (a
    metric LineString running north -> south with the left side to the east, as VN–Laos): the
    line extended ``ext`` m along its end segments, closed by a detour 100 km outside its
    bounding box on the east (the construction of the peer benchmarks)."""
    c = np.asarray(line.coords)[:, :2]
    d0 = (c[0] - c[1]) / np.hypot(*(c[0] - c[1]))
    d1 = (c[-1] - c[-2]) / np.hypot(*(c[-1] - c[-2]))
    s_ext, e_ext = c[0] + d0 * ext, c[-1] + d1 * ext
    _, ymin, xmax, ymax = line.bounds
    far = 100_000.0
    ring = np.vstack([s_ext[None, :], c, e_ext[None, :],
                      [[e_ext[0], ymin - far], [xmax + far, ymin - far],
                       [xmax + far, ymax + far], [s_ext[0], ymax + far]], s_ext[None, :]])
    poly = shapely.Polygon(ring)
    if not poly.is_valid:
        raise ValueError("side polygon is invalid: " + shapely.is_valid_reason(poly))
    return poly


def points_near(line, distance_m: float, n: int, rng: np.random.Generator,
                batch: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform within ``distance_m`` of a metric ``line`` (rejection sampling in
    its buffer's bounding box; deterministic for a seeded ``rng``)."""
    buf = line.buffer(distance_m, quad_segs=16)
    shapely.prepare(buf)
    xmin, ymin, xmax, ymax = buf.bounds
    xs, ys, got = [], [], 0
    while got < n:
        x = rng.uniform(xmin, xmax, batch)
        y = rng.uniform(ymin, ymax, batch)
        keep = shapely.contains_xy(buf, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


@contextlib.contextmanager
def serve_app(app, *, timeout: float = 30.0) -> Iterator[str]:
    """Run an ASGI ``app`` with uvicorn in a thread on a free loopback port; yields its base
    URL (``http://127.0.0.1:PORT``) and stops the server afterwards (browser tests)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + timeout
    while not srv.started:
        if time.monotonic() > deadline or not th.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(10)
