"""OGC API – Features and the authenticated writes (issue #7).

In-process over ASGI for every endpoint and error path; real uvicorn processes for GDAL's OAPIF
driver (the round trip a GIS client makes) and for the durability of an acknowledged write
across a SIGKILL.
"""
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.api.features import COLLECTIONS, features_router
from bienmoc.api.settings import Settings
from bienmoc.storage import GeoPackageStore, open_store
from bienmoc.storage.geopackage import DuplicateKey

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GEOJSON = "application/geo+json"


#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores


def _where(store) -> str:
    """What names the store for another app or process: the file, or the PostGIS URL."""
    return str(store.path) if hasattr(store, "path") else store.uri


def _settings(**kw) -> Settings:
    return Settings(**{"api_token": TOKEN, "lang": "vi", **kw})


@pytest.fixture
def client(store):
    return TestClient(create_app(store=store, settings=_settings(), tiles=None))


@pytest.fixture
def demo_client(demo):
    return TestClient(create_app(store=demo, settings=_settings(), tiles=None))


def _incident(lon=104.51, lat=20.97, **props):
    props = {"kind": "illegal_crossing", "reported_date": "2025-03-01", **props}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props}


def _fields(r) -> set:
    return {p["field"] for p in r.json()["problems"]}


# -- landing page, conformance, collections --------------------------------------------------

def test_landing_page_for_gis_clients(store):
    app = FastAPI()
    app.include_router(features_router(store, _settings()))
    c = TestClient(app)
    r = c.get("/", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    rels = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["data"]["href"].endswith("/collections")
    assert c.get("/?f=json").json()["links"] == r.json()["links"]
    # a browser is not given JSON (the app's HTML index answers it)
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 404


def test_html_index_stays_for_browsers(client):
    r = client.get("/", headers={"Accept": "text/html,*/*"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_conformance_and_openapi(client):
    r = client.get("/conformance")
    assert r.status_code == 200
    classes = r.json()["conformsTo"]
    for part in ("core", "geojson", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{part}" in classes
    spec = client.get("/openapi.json").json()
    for name in COLLECTIONS:
        assert f"/collections/{name}/items" in spec["paths"]
    post = spec["paths"]["/collections/incidents/items"]["post"]
    assert GEOJSON in post["requestBody"]["content"]
    assert {"IncidentIn", "IncidentPatch", "InspectionIn"} <= set(spec["components"]["schemas"])
    limit = next(p for p in spec["paths"]["/collections/markers/items"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10_000 and limit["schema"]["default"] == 10
    assert client.get("/docs").status_code == 200
    assert client.get("/api").json()["paths"] == spec["paths"]  # GDAL looks at /api


def test_collections_describe_every_layer(client, store):
    r = client.get("/collections")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    docs = {c["id"]: c for c in r.json()["collections"]}
    assert list(docs) == list(COLLECTIONS)
    markers = docs["markers"]
    assert markers["title"] == "Cột mốc" and markers["itemType"] == "feature"
    items = next(link for link in markers["links"] if link["rel"] == "items")
    assert items["href"].endswith("/collections/markers/items") and items["type"] == GEOJSON
    box = markers["extent"]["spatial"]["bbox"][0]
    assert box == pytest.approx(list(store.read("markers").total_bounds))
    assert client.get("/collections/markers").json() == markers
    t0, t1 = docs["incidents"]["extent"]["temporal"]["interval"][0]
    assert t0.startswith("2023-06-01") and t1.startswith("2025-02-03")
    for missing in ("provinces", "nope", "work_progress"):
        assert client.get(f"/collections/{missing}").status_code == 404
        assert client.get(f"/collections/{missing}/items").status_code == 404
        assert client.get(f"/collections/{missing}/items/x").status_code == 404


def test_queryables(client):
    r = client.get("/collections/incidents/queryables")
    assert r.status_code == 200
    props = r.json()["properties"]
    assert props["status"]["enum"] == ["reported", "verifying", "negotiating", "resolved"]
    assert props["reported_date"]["format"] == "date" and "description" not in props


# -- items -----------------------------------------------------------------------------------

def test_items_page_through_every_feature(client, store):
    truth = store.read("markers")
    r = client.get("/collections/markers/items", params={"limit": 3})
    assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
    page = r.json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == len(truth) and page["numberReturned"] == 3
    seen = []
    rels = []
    while True:
        seen += [f["id"] for f in page["features"]]
        links = {link["rel"]: link["href"] for link in page["links"]}
        rels.append(set(links))
        if "next" not in links:
            break
        page = client.get(links["next"]).json()
    assert seen == list(truth["id"])  # every feature once, in store order
    assert "prev" not in rels[0] and "prev" in rels[-1] and "next" in rels[0]
    back = client.get(links["prev"]).json()
    assert [f["id"] for f in back["features"]] == seen[3:6]
    assert client.get("/collections/markers/items", params={"offset": 100}).json()[
        "numberReturned"] == 0


def test_features_carry_the_stored_values(client, store):
    truth = store.read("markers").set_index("id")
    feats = client.get("/collections/markers/items", params={"limit": 100}).json()["features"]
    for f in feats:
        row = truth.loc[f["id"]]
        assert shapely.geometry.shape(f["geometry"]).equals_exact(row.geometry, 1e-12)
        p = f["properties"]
        assert p["number"] == row["number"] and p["kind"] == row["kind"]
        assert p["tri_border"] is bool(row["tri_border"])
        assert (p["part"] is None) == bool(pd.isna(row["part"]))
        assert "id" not in p
    inc = client.get("/collections/incidents/items").json()["features"][0]["properties"]
    assert inc["reported_date"] == "2024-01-05" and inc["occurred_date"] is None


def test_one_feature_by_id(client, store):
    r = client.get("/collections/incidents/items/V-000002")
    assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
    f = r.json()
    assert f["id"] == "V-000002" and f["properties"]["status"] == "resolved"
    assert {link["rel"] for link in f["links"]} >= {"self", "collection"}
    # marker ids hold slashes: encoded or not, both reach the feature
    for path in ("LA-100/1", quote("LA-100/1", safe="")):
        assert client.get(f"/collections/markers/items/{path}").json()["id"] == "LA-100/1"
    assert client.get("/collections/boundary/items/LA").json()["properties"]["border"] == "LA"
    r = client.get("/collections/incidents/items/V-999999")
    assert r.status_code == 404 and "V-999999" in r.json()["detail"]


def test_bbox_matches_geopandas(demo_client, demo):
    truth = demo.read("incidents")
    for box in [(103.0, 20.0, 104.5, 21.5), (102.0, 21.5, 103.0, 22.6), (100, 5, 101, 6)]:
        r = demo_client.get("/collections/incidents/items",
                            params={"bbox": ",".join(map(str, box)), "limit": 10_000})
        assert r.status_code == 200
        want = truth[truth.intersects(shapely.box(*box))]["id"]
        got = [f["id"] for f in r.json()["features"]]
        assert got == list(want) and r.json()["numberMatched"] == len(want)
    # 6 numbers (with heights) are accepted; a box crossing the antimeridian too
    assert demo_client.get("/collections/markers/items",
                           params={"bbox": "102,21,0,104,23,10"}).status_code == 200
    assert demo_client.get("/collections/markers/items",
                           params={"bbox": "170,-10,-170,10"}).json()["numberMatched"] == 0


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "0,95,1,96", "0,10,1,5", "nan,1,2,3",
                                  "1,2,3,4,5"])
def test_bad_bbox_is_400(client, bbox):
    r = client.get("/collections/markers/items", params={"bbox": bbox})
    assert r.status_code == 400 and r.json()["parameter"] == "bbox"


def test_datetime_filter(demo_client, demo):
    truth = demo.read("incidents")
    day = truth["reported_date"]
    r = demo_client.get("/collections/incidents/items",
                        params={"datetime": "2020-01-01/2020-12-31", "limit": 10_000})
    want = truth[(day >= "2020-01-01") & (day <= "2020-12-31")]["id"]
    assert [f["id"] for f in r.json()["features"]] == list(want) and len(want)
    one = str(day.iloc[0].date())
    r = demo_client.get("/collections/incidents/items", params={"datetime": one,
                                                              "limit": 10_000})
    assert {f["properties"]["reported_date"] for f in r.json()["features"]} == {one}
    r = demo_client.get("/collections/incidents/items",
                        params={"datetime": f"{one}T10:00:00Z/..", "limit": 10_000})
    assert r.json()["numberMatched"] == int((day >= one).sum())
    r = demo_client.get("/collections/incidents/items", params={"datetime": "../2016-01-01"})
    assert r.json()["numberMatched"] == int((day <= "2016-01-01").sum())
    # works span planned/actual start..end: an interval overlapping one matches it
    works = demo.read("works")
    start = works["actual_start"].fillna(works["planned_start"])
    end = works["actual_end"].fillna(works["planned_end"]).fillna(start)
    hit = (start <= "2022-12-31") & (end >= "2022-01-01")
    r = demo_client.get("/collections/works/items", params={"datetime": "2022-01-01/2022-12-31"})
    assert r.json()["numberMatched"] == int(hit.sum())
    for bad in ("yesterday", "2020-13-01", "2021-01-01/2020-01-01", "..", "a/b/c"):
        r = demo_client.get("/collections/incidents/items", params={"datetime": bad})
        assert r.status_code == 400 and r.json()["parameter"] == "datetime"
    r = demo_client.get("/collections/boundary/items", params={"datetime": "2020-01-01"})
    assert r.status_code == 400  # the boundary has no date


def test_property_filters(client, store):
    m = store.read("markers")
    r = client.get("/collections/markers/items", params={"kind": "stake"})
    assert [f["id"] for f in r.json()["features"]] == list(m[m["kind"] == "stake"]["id"])
    r = client.get("/collections/markers/items", params={"province": "Thanh Hóa",
                                                         "construction_status": "planned"})
    assert [f["id"] for f in r.json()["features"]] == ["LA-104"]
    assert client.get("/collections/markers/items",
                      params={"part": 2}).json()["features"][0]["id"] == "LA-102(2)"
    r = client.get("/collections/incidents/items", params={"reported_date": "2023-06-01"})
    assert [f["id"] for f in r.json()["features"]] == ["V-000002"]
    assert client.get("/collections/markers/items",
                      params={"tri_border": "false"}).json()["numberMatched"] == len(m)
    for params in ({"kind": "huge"}, {"part": "one"}, {"colour": "red"},
                   {"reported_date": "05/01/2024"}, {"limit": 0}, {"limit": 10_001},
                   {"offset": -1}, {"f": "html"}, {"crs": "EPSG:3857"}):
        url = "/collections/incidents/items" if "reported_date" in params else \
            "/collections/markers/items"
        r = client.get(url, params=params)
        assert r.status_code == 400, params
        assert r.json()["parameter"] == next(iter(params)), r.json()
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    r = client.get("/collections/markers/items", params={"crs": crs84, "bbox-crs": crs84,
                                                         "bbox": "104,20,105,21", "f": "json"})
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{crs84}>"


def test_reads_never_need_a_token(client):
    for url in ("/collections", "/collections/incidents/items", "/conformance",
                "/collections/incidents/items/V-000001"):
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 200


# -- tokens ----------------------------------------------------------------------------------

def test_writes_are_disabled_without_a_configured_token(store):
    c = TestClient(create_app(store=store, settings=_settings(api_token=None), tiles=None))
    for method, url, body in [("post", "/collections/incidents/items", _incident()),
                              ("patch", "/collections/incidents/items/V-000001",
                               {"status": "resolved"}),
                              ("post", "/collections/inspections/items", {})]:
        r = c.request(method.upper(), url, json=body, headers=AUTH)
        assert r.status_code == 403 and "BIENMOC_API_TOKEN" in r.json()["detail"]
    assert len(store.read("incidents")) == 3


@pytest.mark.parametrize("header", [None, "Bearer nope", f"Basic {TOKEN}", "Bearer",
                                    f"Bearer {TOKEN}x", "bearer  "])
def test_missing_or_wrong_token_is_401(client, store, header):
    headers = {} if header is None else {"Authorization": header}
    version = store.version()
    r = client.post("/collections/incidents/items", json=_incident(), headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = client.patch("/collections/incidents/items/V-000001", json={"status": "resolved"},
                     headers=headers)
    assert r.status_code == 401
    assert store.version() == version


def test_token_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("BIENMOC_API_TOKEN", "from-env")
    c = TestClient(create_app(store=store, tiles=None))
    assert c.post("/collections/incidents/items", json=_incident(),
                  headers={"Authorization": "Bearer from-env"}).status_code == 201
    assert c.post("/collections/incidents/items", json=_incident(),
                  headers=AUTH).status_code == 401


# -- POST incidents --------------------------------------------------------------------------

def test_post_incident_is_stored_and_served_at_once(client, store):
    r = client.post("/collections/incidents/items", headers=AUTH,
                    json=_incident(description="Phát hiện 2 người vượt biên",
                                   occurred_date="2025-02-27"))
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["id"] == "V-000004"
    assert r.headers["location"].endswith("/collections/incidents/items/V-000004")
    p = f["properties"]
    # border and province come from the position; the status starts as reported
    assert (p["border"], p["province"], p["status"]) == ("LA", "Sơn La", "reported")
    assert client.get("/collections/incidents/items/V-000004").json()["properties"] == p
    fresh = open_store(_where(store)).read("incidents").set_index("id")  # a new reader
    assert fresh.loc["V-000004", "description"] == "Phát hiện 2 người vượt biên"
    assert fresh.loc["V-000004"].geometry.equals(shapely.Point(104.51, 20.97))
    assert client.get("/collections/incidents/items").json()["numberMatched"] == 4
    # a polygon (an encroached field) is an incident too; reported today by default
    poly = {"type": "Polygon", "coordinates": [[[104.49, 20.95], [104.495, 20.95],
                                                [104.495, 20.955], [104.49, 20.95]]]}
    r = client.post("/collections/incidents/items", headers=AUTH, json={
        "type": "Feature", "geometry": poly, "properties": {"kind": "encroachment"}})
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["reported_date"] == dt.date.today().isoformat()
    assert r.json()["geometry"]["type"] == "Polygon"


def test_another_worker_sees_the_write_at_once(store):
    a = TestClient(create_app(store=_where(store), settings=_settings(), tiles=None))
    b = TestClient(create_app(store=_where(store), settings=_settings(), tiles=None))
    assert b.get("/collections/incidents/items").json()["numberMatched"] == 3  # b caches
    assert a.post("/collections/incidents/items", json=_incident(),
                  headers=AUTH).status_code == 201
    assert b.get("/collections/incidents/items/V-000004").status_code == 200
    assert b.get("/collections/incidents/items").json()["numberMatched"] == 4
    # and a status change made through one is seen by the other
    assert b.patch("/collections/incidents/items/V-000004", json={"status": "verifying"},
                   headers=AUTH).status_code == 200
    assert a.get("/collections/incidents/items/V-000004").json()[
        "properties"]["status"] == "verifying"


@pytest.mark.parametrize("body, field", [
    (_incident(kind="alien_landing"), "kind"),
    (_incident(status="closed"), "status"),
    (_incident(reported_date="2999-01-01"), "reported_date"),
    (_incident(reported_date="01/03/2025"), "reported_date"),
    (_incident(reported_date="2025-02-30"), "reported_date"),
    (_incident(occurred_date="2025-03-05"), "occurred_date"),  # after the report
    (_incident(description="x" * 4001), "description"),
    (_incident(province="p" * 101), "province"),
    (_incident(border="Laos"), "border"),
    (_incident(border="KH"), "border"),  # not a border of this store
    (_incident(colour="red"), "colour"),
    (_incident(lon=200.0), "geometry"),
    (_incident(lon=21.0, lat=104.5), "geometry"),  # swapped
    (_incident(lon=104.9, lat=20.97), "geometry"),  # ~42 km from the line
    ({**_incident(), "geometry": {"type": "LineString",
                                  "coordinates": [[104.5, 20.9], [104.6, 20.9]]}}, "geometry"),
    ({**_incident(), "geometry": {"type": "Point", "coordinates": [104.5]}}, "geometry"),
    ({**_incident(), "geometry": {"type": "Point", "coordinates": ["104.5", 20.9]}},
     "geometry"),
    ({**_incident(), "geometry": None}, "geometry"),
    ({**_incident(), "geometry": {"type": "Polygon", "coordinates": [[[104.5, 20.9],
      [104.51, 20.91], [104.5, 20.91], [104.51, 20.9], [104.5, 20.9]]]}}, "geometry"),  # bowtie
    ({**_incident(), "id": "V-000001"}, "id"),
    ({**_incident(), "type": "FeatureCollection"}, "type"),
    ({"type": "Feature", "geometry": _incident()["geometry"]}, "properties"),
    ({**_incident(), "properties": {"reported_date": "2025-01-01"}}, "kind"),
])
def test_post_incident_problems_name_the_field(client, store, body, field):
    version = store.version()
    r = client.post("/collections/incidents/items", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert field in _fields(r), r.json()
    assert r.json()["detail"]
    assert store.version() == version and len(store.read("incidents")) == 3


def test_every_problem_is_reported_at_once(client):
    r = client.post("/collections/incidents/items", headers=AUTH, json=_incident(
        lon=104.9, reported_date="2999-01-01", occurred_date="2999-01-02"))
    assert r.status_code == 422
    assert {"geometry", "reported_date", "occurred_date"} <= _fields(r)


def test_body_limits_and_media_types(store):
    c = TestClient(create_app(store=store, settings=_settings(max_body_bytes=2000), tiles=None))
    big = _incident(description="x" * 3000)
    r = c.post("/collections/incidents/items", json=big, headers=AUTH)
    assert r.status_code == 413
    # a chunked body with no Content-Length is cut off at the limit as well
    payload = json.dumps(big).encode()
    r = c.post("/collections/incidents/items", headers={**AUTH, "Content-Type": GEOJSON},
               content=(payload[i:i + 500] for i in range(0, len(payload), 500)))
    assert r.status_code == 413
    r = c.post("/collections/incidents/items", content=b'{"type": "Feat',
               headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    r = c.post("/collections/incidents/items", content=b"kind=other",
               headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = c.post("/collections/incidents/items", content=json.dumps(_incident()).encode(),
               headers={**AUTH, "Content-Type": GEOJSON})
    assert r.status_code == 201
    r = c.post("/collections/incidents/items", content=b'{"type": NaN}',
               headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code in (400, 422)
    assert len(store.read("incidents")) == 4


def test_ids_are_allocated_in_the_transaction_not_from_the_cache(client, store):
    """Another writer appended V-000004 after this app cached the layer: the next id is
    allocated inside the store's transaction, so it is V-000005, never a duplicate."""
    from bienmoc.records import record_incident

    assert client.get("/collections/incidents/items").json()["numberMatched"] == 3  # cached
    other = record_incident(store, "other", (104.51, 20.96), reported_date="2025-01-02")
    assert list(other["id"]) == ["V-000004"]
    r = client.post("/collections/incidents/items", json=_incident(), headers=AUTH)
    assert r.status_code == 201 and r.json()["id"] == "V-000005"
    assert list(store.read("incidents")["id"]) == ["V-000001", "V-000002", "V-000003",
                                                    "V-000004", "V-000005"]


def test_store_refuses_a_duplicate_id(store):
    inc = store.read("incidents")
    with pytest.raises(DuplicateKey):
        store.write("incidents", inc.iloc[:1], mode="append")
    assert len(store.read("incidents")) == 3


# -- PATCH -----------------------------------------------------------------------------------

def test_patch_status_is_applied_and_logged(client, store):
    r = client.patch("/collections/incidents/items/V-000001", headers=AUTH,
                     json={"status": "negotiating"})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["status"] == "negotiating"
    r = client.patch("/collections/incidents/items/V-000001",
                     headers={**AUTH, "Content-Type": "application/merge-patch+json"},
                     content=json.dumps({"status": "resolved", "description": None}))
    assert r.status_code == 200
    got = client.get("/collections/incidents/items/V-000001").json()["properties"]
    assert got["status"] == "resolved" and got["description"] is None
    assert got["kind"] == "illegal_crossing"  # the rest is untouched
    log = store.read("incident_changes")
    new = [None if pd.isna(v) else v for v in log["new_value"]]  # NaN: a null read back
    assert list(zip(log["record_id"], log["field"], log["old_value"], new)) == [
        ("V-000001", "status", "reported", "negotiating"),
        ("V-000001", "status", "negotiating", "resolved"),
        ("V-000001", "description", "Vượt biên trái phép", None)]
    assert all(str(t).endswith("Z") for t in log["changed_at"])
    # the same status again changes nothing and logs nothing
    assert client.patch("/collections/incidents/items/V-000001", headers=AUTH,
                        json={"status": "resolved"}).status_code == 200
    assert len(store.read("incident_changes")) == 3


@pytest.mark.parametrize("body, status, field", [
    ({"status": "closed"}, 422, "status"),
    ({"status": None}, 422, "status"),
    ({"kind": "other"}, 422, "kind"),
    ({"description": "x" * 4001}, 422, "description"),
    ({}, 422, None),
    ([], 422, "body"),
])
def test_patch_problems(client, store, body, status, field):
    version = store.version()
    r = client.patch("/collections/incidents/items/V-000001", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert field in _fields(r)
    assert store.version() == version


def test_patch_unknown_incident_is_404(client):
    r = client.patch("/collections/incidents/items/V-424242", json={"status": "resolved"},
                     headers=AUTH)
    assert r.status_code == 404


# -- POST inspections ------------------------------------------------------------------------

def _inspection(**props):
    props = {"border": "LA", "marker": "101", "date": "2025-04-02", "team": "joint",
             "condition": "damaged", **props}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.5001, 20.99]},
            "properties": props}


def test_post_inspection(client, store):
    r = client.post("/collections/inspections/items", json=_inspection(notes="nứt chân mốc"),
                    headers=AUTH)
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["id"] == "I-000001" and r.headers["location"].endswith("/items/I-000001")
    assert f["properties"]["condition"] == "damaged"
    assert f["geometry"]["coordinates"] == [104.5001, 20.99]
    rec = store.read("inspections")
    assert list(rec["marker"]) == ["101"] and rec["date"].iloc[0] == np.datetime64("2025-04-02")
    # no measured position is fine; the next id follows
    r = client.post("/collections/inspections/items", headers=AUTH,
                    json={**_inspection(marker="102(1)"), "geometry": None})
    assert r.status_code == 201 and r.json()["id"] == "I-000002"
    assert client.get("/collections/inspections/items").json()["numberMatched"] == 2


@pytest.mark.parametrize("props, geometry, field", [
    ({"marker": "999"}, None, "marker"),
    ({"date": "2999-01-01"}, None, "date"),
    ({"team": "solo"}, None, "team"),
    ({"condition": "unknown"}, None, "condition"),
    ({"border": "CN"}, None, "border"),
    ({"corrects": "I-000777"}, None, "corrects"),
    ({}, {"type": "Point", "coordinates": [105.5, 20.99]}, "geometry"),
    ({}, {"type": "Polygon", "coordinates": [[[104.5, 20.9], [104.51, 20.9], [104.5, 20.91],
                                              [104.5, 20.9]]]}, "geometry"),
])
def test_post_inspection_problems(client, store, props, geometry, field):
    body = _inspection(**props)
    if geometry is not None:
        body["geometry"] = geometry
    r = client.post("/collections/inspections/items", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert field in _fields(r), r.json()
    assert len(store.read("inspections")) == 0


# -- the cache follows the store -------------------------------------------------------------

def test_cache_follows_appends_replaces_and_other_writers(client, store):
    from bienmoc.model.schema import validate

    assert client.get("/collections/gates/items").json()["numberMatched"] == 2
    gates = store.read("gates")
    more = validate("gates", gates.assign(id=None, name=["Cửa khẩu C", "Cửa khẩu D"]),
                    existing=gates)
    store.write("gates", more, mode="append")  # in place
    page = client.get("/collections/gates/items").json()
    assert page["numberMatched"] == 4 and page["features"][-1]["properties"]["name"] == \
        "Cửa khẩu D"
    store.write("gates", gates.iloc[:1], mode="replace")  # copy-on-write: a new file
    assert client.get("/collections/gates/items").json()["numberMatched"] == 1
    assert client.get(f"/collections/gates/items/{gates['id'].iloc[1]}").status_code == 404


def test_many_appends_keep_bbox_answers_exact(store, monkeypatch):
    import bienmoc.api.query as q

    monkeypatch.setattr(q, "TAIL_REBUILD", 3)  # rebuild the tree after a few appends
    c = TestClient(create_app(store=store, settings=_settings(), tiles=None))
    box = "104.505,20.95,104.52,20.99"
    assert c.get("/collections/incidents/items", params={"bbox": box}).json()[
        "numberMatched"] == 2
    for k in range(6):
        r = c.post("/collections/incidents/items", headers=AUTH,
                   json=_incident(lon=104.51, lat=20.951 + k * 0.005))
        assert r.status_code == 201
    ids = [f["id"] for f in c.get("/collections/incidents/items",
                                  params={"bbox": box, "limit": 100}).json()["features"]]
    truth = store.read("incidents")
    assert ids == list(truth[truth.intersects(shapely.box(104.505, 20.95, 104.52,
                                                          20.99))]["id"])


# -- real servers ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """``uvicorn bienmoc.api:create_app --factory`` on a free loopback port."""

    def __init__(self, store_path, token=TOKEN, workers: int = 1):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "BIENMOC_STORE": str(store_path), "BIENMOC_API_TOKEN": token}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bienmoc.api:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
             *(["--workers", str(workers)] if workers > 1 else [])],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.base}/conformance", timeout=5)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.proc.stdout.read().decode() if self.proc.poll() is not None \
                        else "no answer in 60 s"
                    self.stop()
                    raise AssertionError(out)
                time.sleep(0.2)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.mark.slow
def test_gdal_oapif_reads_exactly_what_the_store_holds(demo):
    pyogrio = pytest.importorskip("pyogrio")
    if "OAPIF" not in pyogrio.list_drivers():
        pytest.skip("this GDAL has no OAPIF driver")
    server = _Server(_where(demo))
    try:
        url = f"OAPIF:{server.base}"
        layers = [str(n) for n, _ in pyogrio.list_layers(url)]
        assert layers == list(COLLECTIONS)
        for name in ("markers", "incidents", "gates", "works"):
            got = pyogrio.read_dataframe(url, layer=name)
            want = demo.read(name)
            assert list(got["id"]) == list(want["id"]), name
            present = ~shapely.is_missing(np.asarray(want.geometry.values))
            # mixed layers (incidents: points + polygons, works: points + lines) come back
            # with each feature's own geometry type, not forced into the first one's
            assert (got.geom_type[present].tolist() == want.geom_type[present].tolist()), name
            assert shapely.equals_exact(np.asarray(got.geometry.values)[present],
                                        np.asarray(want.geometry.values)[present], 1e-9
                                        ).all(), name
        assert {"Point", "Polygon"} <= set(demo.read("incidents").geom_type)
        assert {"Point", "LineString"} <= set(demo.read("works").geom_type.dropna())
        got = pyogrio.read_dataframe(url, layer="markers")
        want = demo.read("markers")
        for col in ("number", "kind", "construction_status", "province"):
            assert got[col].fillna("").tolist() == want[col].fillna("").tolist(), col
        assert (got["built_date"].dt.date.astype(str).tolist()
                == want["built_date"].dt.date.astype(str).tolist())
        # a bbox read is passed to the server as bbox=...
        box = (103.0, 20.5, 104.0, 21.5)
        got = pyogrio.read_dataframe(url, layer="incidents", bbox=box)
        inc = demo.read("incidents")
        assert set(got["id"]) == set(inc[inc.intersects(shapely.box(*box))]["id"])
    finally:
        server.stop()


@pytest.mark.slow
def test_an_acknowledged_write_survives_sigkill(tmp_path, store):
    server = _Server(_where(store))
    try:
        r = httpx.post(f"{server.base}/collections/incidents/items", json=_incident(),
                       headers=AUTH, timeout=30)
        assert r.status_code == 201
        created = r.json()
        r2 = httpx.patch(f"{server.base}/collections/incidents/items/V-000002",
                         json={"status": "negotiating"}, headers=AUTH, timeout=30)
        assert r2.status_code == 200
        server.kill()  # right after the acknowledgements: no clean shutdown
    finally:
        server.stop()
    server = _Server(_where(store))
    try:
        got = httpx.get(f"{server.base}/collections/incidents/items/{created['id']}",
                        timeout=30)
        assert got.status_code == 200
        assert got.json()["geometry"] == created["geometry"]
        assert got.json()["properties"] == created["properties"]
        inc2 = httpx.get(f"{server.base}/collections/incidents/items/V-000002", timeout=30)
        assert inc2.json()["properties"]["status"] == "negotiating"
    finally:
        server.stop()
    if not hasattr(store, "path"):
        return  # PostGIS: committed before the answer, the database's own durability
    import sqlite3

    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


# -- other stores and the recommended app composition ----------------------------------------

class _PlainStore:
    """Only the Store contract (no in-place helpers): the generic cache and update paths."""

    def __init__(self, inner):
        self.inner, self.uri = inner, inner.uri

    def layers(self):
        return self.inner.layers()

    def read(self, layer, *, bbox=None):
        return self.inner.read(layer, bbox=bbox)

    def write(self, layer, data, *, mode="replace"):
        self.inner.write(layer, data, mode=mode)

    def write_many(self, layers, *, mode="replace"):
        self.inner.write_many(layers, mode=mode)

    def version(self):
        return self.inner.version()


def test_any_store_backend_serves_and_writes(store):
    plain = _PlainStore(store)
    c = TestClient(create_app(store=plain, settings=_settings(), tiles=None))
    assert c.get("/collections/markers/items").json()["numberMatched"] == 8
    assert c.post("/collections/incidents/items", json=_incident(),
                  headers=AUTH).status_code == 201
    r = c.patch("/collections/incidents/items/V-000004", json={"status": "resolved"},
                headers=AUTH)
    assert r.status_code == 200 and r.json()["properties"]["status"] == "resolved"
    log = store.read("incident_changes")
    assert list(log["new_value"]) == ["resolved"] and list(log["old_value"]) == ["reported"]
    assert c.get("/collections/incidents/items/V-000004").json()[
        "properties"]["status"] == "resolved"


def test_landing_page_and_html_index_share_the_root(store):
    """With the OGC router included before the pages, ``/`` answers JSON clients with the
    landing page and everyone else with the HTML index."""
    from bienmoc.api.pages import pages_router

    settings = _settings(tiles_url="")
    app = FastAPI()
    app.include_router(features_router(store, settings))
    app.include_router(pages_router(store, settings))
    c = TestClient(app)
    assert c.get("/", headers={"Accept": "application/json"}).json()["links"]
    assert c.get("/?f=json").headers["content-type"].startswith("application/json")
    html = c.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.headers["content-type"].startswith("text/html")
    assert c.get("/").headers["content-type"].startswith("text/html")


# A writer killed inside its transaction: see tests/test_concurrency.py
# (test_a_writer_killed_inside_its_transaction_leaves_the_store_intact), which kills it at a
# deterministic point (BIENMOC_FAULT=after-insert) instead of after a sleep.
