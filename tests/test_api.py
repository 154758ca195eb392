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
from bienmoc.schema import validate


@pytest.fixture
def client(store):
    return TestClient(create_app(store=store, tiles=None))


def test_index_links_the_maps(client):
    r = client.get("/")
    assert r.status_code == 200 and "/maps/overview" in r.text and "Bản đồ tổng quan" in r.text
    assert "Overview map" in client.get("/?lang=en").text


def test_overview_map_shows_markers_and_gates(client):
    r = client.get("/maps/overview")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "Số hiệu: 102(1)" in html and "Cửa khẩu A" in html
    assert "L.control.scale()" in html and "L.control.layers(" in html
    assert "bienmoc-legend" in html and "Đường biên giới" in html
    en = client.get("/maps/overview?lang=en").text
    assert "Number: 102(1)" in en and "Boundary line" in en
    only_th = client.get("/maps/overview", params={"province": "Thanh Hóa"}).text
    assert "Số hiệu: 103" in only_th and "Số hiệu: 101" not in only_th


def test_overview_cache_follows_the_data_version(client, store):
    first = client.get("/maps/overview").text
    assert client.get("/maps/overview").text == first
    gates = store.read("gates")
    more = validate("gates", gates.assign(id=None, name=["Cửa khẩu C", "Cửa khẩu D"]),
                    existing=gates)
    store.write("gates", more, mode="append")
    assert "Cửa khẩu C" in client.get("/maps/overview").text


def test_popups_escape_data(store, client):
    markers = store.read("markers")
    evil = markers.iloc[:1].assign(id=None, number="999", province="<script>alert(1)</script>")
    store.write("markers", validate("markers", evil, existing=markers), mode="append")
    html = client.get("/maps/overview").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


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
        assert r.status_code == 200 and "Số hiệu: 100" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
