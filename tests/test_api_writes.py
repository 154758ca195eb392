"""API writes under load and retries: group commit, Idempotency-Key, concurrent doors.

Known answers: every acknowledged id is stored exactly once, the row counts add up exactly,
and a retried request with the same Idempotency-Key stores nothing new.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import subprocess
import sys

import geopandas as gpd
import httpx
import pytest
import shapely
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.records import record_incident, resurvey_marker
from bienmoc.storage import GeoPackageStore
from test_concurrency import OGR_EDITOR, _py
from test_features import AUTH, TOKEN, _incident, _Server, _settings


def _id(r) -> str:
    return r.json()["id"]


def test_a_retried_post_with_the_same_idempotency_key_stores_one_row(store):
    client = TestClient(create_app(store=store, settings=_settings(), tiles=None))
    before = len(store.read("incidents"))
    body = _incident(description="vượt biên trái phép")
    headers = {**AUTH, "Idempotency-Key": "phone-7f3a-0001"}
    first = client.post("/collections/incidents/items", json=body, headers=headers)
    again = client.post("/collections/incidents/items", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert _id(first) == _id(again) and again.headers["Location"] == first.headers["Location"]
    assert len(store.read("incidents")) == before + 1
    # the 201 body (built from the written record) is what a GET of the item answers
    got = client.get(first.headers["Location"].replace("http://testserver", ""))
    assert got.status_code == 200 and got.json() == first.json()
    other = client.post("/collections/incidents/items", json=body,
                        headers={**AUTH, "Idempotency-Key": "phone-7f3a-0002"})
    assert other.status_code == 201 and _id(other) != _id(first)
    assert len(store.read("incidents")) == before + 2
    # without a key every POST is a new record
    client.post("/collections/incidents/items", json=body, headers=AUTH)
    assert len(store.read("incidents")) == before + 3
    # the same key on inspections is its own space (per layer)
    insp = {"type": "Feature", "geometry": None, "properties": {
        "date": "2025-03-02", "border": "LA", "marker": "101", "team": "joint",
        "condition": "good"}}
    a = client.post("/collections/inspections/items", json=insp, headers=headers)
    b = client.post("/collections/inspections/items", json=insp, headers=headers)
    assert a.status_code == b.status_code == 201 and _id(a) == _id(b)


def test_record_functions_replay_an_idempotency_key(store):
    first = record_incident(store, "illegal_crossing", (104.51, 20.97),
                            reported_date="2025-03-01", idempotency_key="k-1")
    again = record_incident(store, "illegal_crossing", (104.51, 20.97),
                            reported_date="2025-03-01", idempotency_key="k-1")
    assert again.attrs.get("replayed") and list(again["id"]) == list(first["id"])
    assert (store.read("incidents")["id"] == first["id"].iloc[0]).sum() == 1
    assert "idempotency_key" not in store.read("incidents").columns  # kept out of reads


@pytest.mark.slow
def test_http_writers_an_import_a_resurvey_and_an_ogr_editor_at_once(store, tmp_path):
    """Two uvicorn workers, 8 clients posting (a new connection per request), a CLI import,
    a resurvey and a QGIS-like OGR append from another process at the same time: no 409, no
    5xx, every acknowledged id stored once, the other program's rows too."""
    before = len(store.read("incidents"))
    n_clients, per_client = 8, 25
    extra = gpd.GeoDataFrame({"kind": ["illegal_trade"] * 20, "status": ["reported"] * 20,
                              "reported_date": ["2025-04-01"] * 20},
                             geometry=[shapely.Point(104.505 + k * 1e-4, 20.96)
                                       for k in range(20)], crs=4326)
    src = tmp_path / "more.geojson"
    extra.to_file(src, driver="GeoJSON")
    env = {**os.environ, "BIENMOC_STORE": store.uri, "BIENMOC_API_TOKEN": TOKEN}
    server = _Server(store.path, workers=2)
    try:
        def client(k):
            codes, ids = [], []
            for i in range(per_client):
                r = httpx.post(f"{server.base}/collections/incidents/items",
                               json=_incident(description=f"client {k} #{i}"), headers=AUTH,
                               timeout=60)
                codes.append(r.status_code)
                if r.status_code == 201:
                    ids.append(r.json()["id"])
            return codes, ids

        with cf.ThreadPoolExecutor(n_clients + 2) as ex:
            posts = [ex.submit(client, k) for k in range(n_clients)]
            imp = ex.submit(subprocess.run, [sys.executable, "-m", "bienmoc.cli", "import",
                                             "incidents", str(src)],
                            env=env, capture_output=True, text=True, timeout=120)
            editor = _py(OGR_EDITOR, str(store.path), "Q-000001", "Q-000002", "Q-000003")
            moved = ex.submit(resurvey_marker, GeoPackageStore(store.path), "LA", "101",
                              (104.5001, 20.9899), "2024-05-01", "moved by a landslide")
            results = [f.result() for f in posts]
            done = imp.result()
            moved.result()
            _, err = editor.communicate(timeout=180)
    finally:
        server.stop()
    codes = [c for cs, _ in results for c in cs]
    ids = [i for _, is_ in results for i in is_]
    assert done.returncode == 0, done.stderr
    assert editor.returncode == 0, err[-2000:]
    assert codes.count(201) == n_clients * per_client, sorted(set(codes))
    stored = store.read("incidents")
    assert len(stored) == before + n_clients * per_client + len(extra) + 3
    assert stored["id"].is_unique and set(ids) <= set(stored["id"])
    assert {"Q-000001", "Q-000002", "Q-000003"} <= set(stored["id"])
    assert len(store.read("resurveys")) == 1
    assert store.check() == []
