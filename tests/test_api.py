"""The FastAPI app: in-process over ASGI, and a real `bienmoc serve` process over HTTP."""
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.model.schema import validate

#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores


@pytest.fixture
def client(store):
    return TestClient(create_app(store=store, tiles=None))


def test_index_links_the_maps(client):
    r = client.get("/")
    assert r.status_code == 200 and "/maps/overview" in r.text and "Bản đồ tổng quan" in r.text
    assert "Overview map" in client.get("/?lang=en").text


def test_overview_map_shows_markers_and_gates(client):
    html = client.get("/maps/overview").text
    assert "L.control.scale()" not in html and "L.control.layers(" in html   # metric scale: maps.js
    assert "bienmoc-legend" in html and "Đường biên giới" in html
    assert "Boundary line" in client.get("/maps/overview?lang=en").text
    d = client.get("/maps/data/progress").json()
    assert "102(1)" in [r[2] for r in d["markers"]["rows"]]
    assert "Cửa khẩu A" in [g["name"] for g in d["gates"]]
    th = client.get("/maps/data/progress", params={"province": "Thanh Hóa"}).json()
    assert sorted(r[2] for r in th["markers"]["rows"]) == ["103", "104"]


def test_overview_cache_follows_the_data_version(client, store):
    first = client.get("/maps/data/progress").json()
    gates = store.read("gates")
    store.write("gates", validate("gates", gates.assign(id=None, name=["Cửa khẩu C",
                                                                        "Cửa khẩu D"]),
                                  existing=gates), mode="append")
    names = [g["name"] for g in client.get("/maps/data/progress").json()["gates"]]
    assert "Cửa khẩu C" in names and len(names) == len(first["gates"]) + 2


def test_popups_escape_data(store, client):
    markers = store.read("markers")
    evil = markers.iloc[:1].assign(id=None, number="999", province="<script>alert(1)</script>")
    store.write("markers", validate("markers", evil, existing=markers), mode="append")
    assert "<script>alert(1)</script>" not in client.get("/maps/overview").text
    raw = client.get("/maps/data/progress").text
    assert "<script>" not in raw and "\\u003cscript\\u003ealert(1)" in raw


def test_status_endpoint_and_errors(client):
    r = client.get("/api/status")
    assert r.status_code == 200
    assert {d["province"]: d["markers_total"] for d in r.json()} == {"Sơn La": 3, "Thanh Hóa": 2}
    assert client.get("/api/status", params={"by": "colour"}).status_code == 422
    assert client.get("/maps/overview", params={"lang": "fr"}).status_code == 422
    assert client.get("/health").json()["status"] == "ok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bienmoc_serve_over_http(store):
    port = _free_port()
    env = {**os.environ, "BIENMOC_STORE": store.uri}
    proc = subprocess.Popen([sys.executable, "-m", "bienmoc.cli", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/maps/overview", timeout=10)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None
                                         else "server did not start in 60 s")
                time.sleep(0.3)
        assert r.status_code == 200 and "bienmoc.map(" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
