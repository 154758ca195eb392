"""The map pages over HTTP (in process): every page, filter, JSON endpoint, cache and XSS."""
import gzip
import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.model.schema import validate
from bienmoc.storage import GeoPackageStore
from bienmoc.testing import LON, make_layers

#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores

#: Stored as incident descriptions, a work title and a marker's province: every map must show
#: them as text (the browser test also checks that none runs).
XSS = [
    "<script>window.__xss=1;alert(1)</script>",
    '"><img src=x onerror="window.__xss=2;alert(2)">',
    "back`tick` ${window.__xss=3} `",
    "</script><script>window.__xss=4</script>${alert(4)}",
]
AS_OF = "2025-06-01"


def map_layers() -> dict:
    """The tiny world plus works, inspections and four incidents carrying XSS payloads.

    As of AS_OF: works W-1 stalled (planned end 2020), W-2 not started; marker 100 overdue for
    inspection (last 2020-01-10, large: 12 months), 103 inspected 2025-01-10 (not due), the
    other built markers (100/1, 101, 102(1)) never inspected."""
    layers = make_layers()
    inc = layers["incidents"]
    evil = gpd.GeoDataFrame(
        {"kind": ["other", "illegal_trade", "other", "pollution"], "border": "LA",
         "status": ["reported", "verifying", "negotiating", "reported"],
         "province": ["Sơn La", "Sơn La", XSS[0], "Thanh Hóa"],
         "reported_date": ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"],
         "description": XSS},
        geometry=[shapely.Point(LON - 0.01, 20.99 - 0.01 * i) for i in range(4)], crs=4326)
    layers["incidents"] = pd.concat([inc, validate("incidents", evil, existing=inc)],
                                    ignore_index=True)
    layers["works"] = validate("works", gpd.GeoDataFrame(
        {"title": ["Kè bảo vệ mốc 101", XSS[1]], "kind": ["embankment", "landscape"],
         "border": "LA", "marker_from": ["101", "100"], "province": ["Sơn La", "Sơn La"],
         "planned_start": ["2019-01-01", "2026-01-01"], "planned_end": ["2020-12-31",
                                                                       "2027-12-31"],
         "actual_start": ["2019-03-01", None], "budget_planned_vnd": [1.5e9, 2e9]},
        geometry=[None, shapely.Point(LON + 0.001, 21.0)], crs=4326))
    layers["inspections"] = validate("inspections", gpd.GeoDataFrame(
        {"date": ["2020-01-10", "2025-01-10"], "border": "LA", "marker": ["100", "103"],
         "team": ["joint", "unilateral"], "condition": ["good", "good"]},
        geometry=[None, None], crs=4326))
    markers = layers["markers"]
    layers["markers"] = markers.assign(province=markers["province"].where(
        markers["number"] != "104", XSS[1]))
    return layers


@pytest.fixture
def mstore(tmp_path):
    s = GeoPackageStore(tmp_path / "maps.gpkg")
    s.write_many(map_layers())
    return s


@pytest.fixture
def client(mstore):
    return TestClient(create_app(store=mstore, tiles=None))


def _data(client, path, **params) -> dict:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


# -- pages -----------------------------------------------------------------------------------

def test_index_links_every_map(client):
    vi = client.get("/").text
    for path, text in (("maps/progress", "Bản đồ tiến độ xây dựng"),
                       ("maps/incidents", "Bản đồ vụ việc, vi phạm"),
                       ("maps/overview", "Bản đồ tổng quan")):
        assert path in vi and text in vi
    en = client.get("/?lang=en").text
    assert "Construction progress map" in en and "Incidents map" in en and "Overview map" in en
    # the API: its documentation and the OGC collections, linked relative (works under a prefix)
    assert "href='docs'" in vi and "tài liệu API" in vi and "href='collections'" in vi
    assert "API documentation" in en and "href='collections'" in en
    assert client.get("/docs").status_code == 200
    assert client.get("/collections", headers={"Accept": "application/json"}).status_code == 200


def test_strip_page_escapes_and_links(client):
    """The strip map page (api/strip.py) over the XSS-laden layers: linked from the index,
    no script at all, every payload escaped, works coloured by their status as of AS_OF."""
    assert "href='strip?lang=vi'" in client.get("/").text
    assert "Sơ đồ duỗi thẳng đoạn biên giới" in client.get("/").text
    r = client.get("/strip", params={"border": "LA", "from_km": 0, "to_km": 100,
                                     "as_of": AS_OF})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "script-src 'self';" in csp
    assert "<script" not in r.text and "<img" not in r.text
    assert "W-000002 &quot;&gt;&lt;img src=x onerror=" in r.text
    assert 'data-id="W-000002" data-status="not_started"' in r.text
    assert r.text.count('class="marker"') == 6 and r.text.count('class="gate"') == 2
    svg = client.get("/strip.svg", params={"border": "LA", "to_km": 100, "as_of": AS_OF})
    assert svg.status_code == 200 and svg.text in r.text
    assert client.get("/strip", params={"border": "LA", "as_of": "30/06/2025"}).status_code \
        == 422


@pytest.mark.parametrize("path", ["/maps/progress", "/maps/incidents", "/maps/overview"])
def test_every_map_page_is_offline_with_controls(client, path):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "L.control.scale()" in html and "L.control.layers(" in html
    assert "bienmoc-legend" in html and "bienmoc.map(" in html
    assert "Đường biên giới" in html and "Chú giải" in html
    # no CDN, no absolute URL to any script, stylesheet, font or image
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", html)
    assert not re.search(r"""url\(["']?(https?:)?//""", html)       # CSS: fonts, images
    assert "cdn" not in html.lower() and "jquery" not in html.lower()
    for asset in re.findall(r"""(?:src|href)="(\.\./static/[^"?]+)""", html):
        assert client.get("/maps/" + asset).status_code == 200, asset
    assert "../static/vendor/leaflet-1.9.4/leaflet.js" in html
    en = client.get(path, params={"lang": "en"}).text
    assert "Boundary line" in en and "Legend" in en


def test_pages_pass_filters_to_their_data(client):
    html = client.get("/maps/progress", params={"border": "LA", "province": "Sơn La",
                                                "as_of": AS_OF}).text
    cfg = json.loads(re.search(r"bienmoc\.map\([^,]+, \{[^}]*\}, (\{.*\})\);", html).group(1))
    assert cfg["source"]["url"] == "data/progress"
    assert cfg["source"]["params"]["border"] == "LA"
    assert cfg["source"]["params"]["province"] == "Sơn La"
    assert cfg["source"]["params"]["as_of"] == AS_OF
    assert '<option value="Sơn La" selected>' in html
    html = client.get("/maps/incidents", params={"from": "2025-01-01", "to": "2025-12-31",
                                                 "kind": "other,pollution"}).text
    cfg = json.loads(re.search(r"bienmoc\.map\([^,]+, \{[^}]*\}, (\{.*\})\);", html).group(1))
    assert cfg["source"]["params"]["from"] == "2025-01-01"
    assert cfg["source"]["params"]["kind"] == "other,pollution"
    assert 'value="other" checked' in html and 'value="landslide">' in html


@pytest.mark.parametrize("path,params", [
    ("/maps/progress", {"as_of": "2025-13-01"}), ("/maps/progress", {"as_of": "yesterday"}),
    ("/maps/progress", {"border": "laos"}), ("/maps/incidents", {"from": "01/02/2025"}),
    ("/maps/incidents", {"kind": "arson"}), ("/maps/overview", {"lang": "fr"}),
    ("/maps/data/incidents", {"bbox": "1,2,3"}), ("/maps/data/incidents", {"zoom": 40}),
    ("/maps/data/incidents", {"status": "closed"}),
])
def test_bad_filters_answer_422(client, path, params):
    assert client.get(path, params=params).status_code == 422


# -- JSON data -------------------------------------------------------------------------------

def test_progress_data_markers_works_and_inspections(client):
    d = _data(client, "/maps/data/progress", as_of=AS_OF)
    assert d["as_of"] == AS_OF and d["complete"]
    rows = {r[2]: dict(zip(d["markers"]["fields"], r)) for r in d["markers"]["rows"]}
    assert set(rows) == {"100", "100/1", "101", "101/1", "102(1)", "102(2)", "103", "104"}
    assert rows["100"]["due"] == 1 and rows["100"]["days_overdue"] > 0
    assert rows["100"]["last_inspection"] == "2020-01-10"
    assert rows["103"]["due"] == 0
    assert {n for n, r in rows.items() if r["due"] == 2} == {"100/1", "101", "102(1)"}
    cond = d["enums"]["condition"]
    assert cond[rows["101"]["condition"]] == "damaged"
    assert rows["101"]["works"] == 2            # the stalled embankment stands at 101
    works = {w["id"]: w for w in d["works"]}
    assert [w["status"] for w in works.values()] == ["stalled", "not_started"]
    stalled = next(w for w in d["works"] if w["status"] == "stalled")
    assert stalled["geometry"]["type"] == "Point"      # no geometry: drawn at marker 101
    assert d["counts"] == {"markers": 8, "overdue": 1, "never_inspected": 3, "needs_action": 2,
                           "works": 2, "stalled": 1}
    assert len(d["gates"]) == 2
    th = _data(client, "/maps/data/progress", province="Thanh Hóa", as_of=AS_OF)
    assert sorted(r[2] for r in th["markers"]["rows"]) == ["103"]   # 104's province is XSS
    assert th["works"] == []
    assert _data(client, "/maps/data/progress", border="CN")["markers"]["rows"] == []


def test_progress_as_of_moves_work_status(client):
    before = _data(client, "/maps/data/progress", as_of="2019-06-01")
    assert [w["status"] for w in before["works"]] == ["in_progress", "not_started"]
    assert before["counts"]["overdue"] == 0   # nothing inspected yet in 2019: never


def test_incidents_data_side_location_and_filters(client):
    d = _data(client, "/maps/data/incidents")
    assert d["mode"] == "points" and d["complete"] and d["total"] == 7
    rows = [dict(zip(d["points"]["fields"], r)) for r in d["points"]["rows"]]
    first = next(r for r in rows if r["description"] == "Vượt biên trái phép")
    assert first["side"] == "VN"
    assert first["location"].startswith("khu vực mốc 101/1 – 102")
    assert "về phía Việt Nam" in first["location"]
    west = next(r for r in rows if r["description"] == XSS[0])
    assert west["side"] == "LA" and "về phía Lào" in west["location"]
    en = _data(client, "/maps/data/incidents", lang="en")
    assert any("Lao side" in r[10] for r in en["points"]["rows"])
    # filters: date range (reported date, inclusive), kind, status, province, border, bbox
    assert _data(client, "/maps/data/incidents", **{"from": "2025-01-01"})["total"] == 5
    assert _data(client, "/maps/data/incidents", **{"from": "2024-01-05",
                                                    "to": "2024-01-05"})["total"] == 1
    assert _data(client, "/maps/data/incidents", kind="other")["total"] == 2
    assert _data(client, "/maps/data/incidents", kind="other,landslide")["total"] == 3
    assert _data(client, "/maps/data/incidents", status="reported")["total"] == 3
    assert _data(client, "/maps/data/incidents", province="Thanh Hóa")["total"] == 2
    assert _data(client, "/maps/data/incidents", border="CN")["total"] == 0


def test_incidents_per_view_cells_and_points(mstore, monkeypatch):
    import bienmoc.maps.data as data

    monkeypatch.setattr(data, "POINTS_LIMIT", 2)
    client = TestClient(create_app(store=mstore, tiles=None))
    d = _data(client, "/maps/data/incidents", zoom=6, bbox="100,15,110,25")
    assert d["mode"] == "cells" and not d["complete"]
    assert sum(c[2] for c in d["cells"]) == 7 and d["in_view"] == 7
    east = _data(client, "/maps/data/incidents", zoom=16, bbox=f"{LON},20.95,{LON + 0.1},21")
    assert east["mode"] == "points" and east["in_view"] == 2 and not east["complete"]
    assert {r[11] for r in east["points"]["rows"]} == {"Vượt biên trái phép", "Xâm canh"}


def test_base_data_layers(client):
    d = _data(client, "/maps/data/base")
    assert [f["properties"]["name"] for f in d["provinces"]["features"]] == ["Sơn La",
                                                                             "Thanh Hóa"]
    assert d["boundary"]["features"][0]["properties"]["border"] == "LA"
    band = d["neighbours"]["features"][0]
    assert band["properties"]["name_vi"] == "Lào"
    lon, lat = band["properties"]["label_at"]
    assert lon < LON and 20.5 < lat < 21.5     # Laos lies west of the line


# -- caching ---------------------------------------------------------------------------------

def test_cache_follows_the_data_version(client, mstore):
    page = client.get("/maps/progress")
    assert client.get("/maps/progress").text == page.text
    etag = page.headers["etag"]
    assert client.get("/maps/progress", headers={"If-None-Match": etag}).status_code == 304
    before = _data(client, "/maps/data/incidents")
    inc = mstore.read("incidents")
    new = validate("incidents", gpd.GeoDataFrame(
        {"kind": ["landslide"], "border": "LA", "status": ["reported"], "province": "Sơn La",
         "reported_date": ["2025-05-05"], "description": ["Sạt lở mới"]},
        geometry=[shapely.Point(LON + 0.02, 20.95)], crs=4326), existing=inc)
    mstore.write("incidents", new, mode="append")
    after = _data(client, "/maps/data/incidents")
    assert after["total"] == before["total"] + 1
    assert any(r[11] == "Sạt lở mới" for r in after["points"]["rows"])
    page2 = client.get("/maps/progress")
    assert page2.headers["etag"] != etag          # the page names the new data version
    assert client.get("/maps/progress", headers={"If-None-Match": etag}).status_code == 200


def test_data_urls_with_the_current_version_may_be_cached(client, mstore):
    v = mstore.version()
    r = client.get("/maps/data/base", params={"v": v})
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/maps/data/base", params={"v": "old"}).headers[
        "cache-control"] == "no-cache"


def test_gzip_and_static_files(client):
    r = client.get("/maps/progress", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    raw = client.get("/maps/progress", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert raw.text == r.text and len(gzip.compress(raw.content)) < len(raw.content)
    js = client.get("/static/vendor/leaflet-1.9.4/leaflet.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "max-age" in js.headers["cache-control"]
    for bad in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/..%2fpages.py",
                "/static/vendor/nothing.js", "/static//etc/passwd"):
        assert client.get(bad).status_code == 404, bad
    assert client.get("/static/vendor/leaflet-1.9.4/LICENSE").status_code == 200


# -- XSS -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/maps/progress", "/maps/incidents", "/maps/overview",
                                  "/maps/progress?province=%3Cscript%3Ealert(1)%3C/script%3E",
                                  "/maps/incidents?lang=en"])
def test_pages_never_carry_raw_payloads(client, path):
    html = client.get(path).text
    for p in XSS:
        assert p not in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "<script>window.__xss" not in html


def test_data_carries_payloads_as_escaped_json(client):
    for path in ("/maps/data/incidents", "/maps/data/progress"):
        raw = client.get(path).text
        assert "<" not in raw and ">" not in raw          # escaped as \u003c / \u003e
        assert "\\u003cimg src=x" in raw or "\\u003cscript\\u003e" in raw
    rows = _data(client, "/maps/data/incidents")["points"]["rows"]
    assert {r[11] for r in rows} >= set(XSS)               # the text itself is intact


def test_server_entry_point(mstore, monkeypatch):
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("BIENMOC_STORE", mstore.uri)
    monkeypatch.setenv("BIENMOC_WARM", "0")
    monkeypatch.setenv("BIENMOC_TILES_URL", "")
    path = Path(__file__).resolve().parent.parent / "server" / "main.py"
    spec = importlib.util.spec_from_file_location("bienmoc_server_main", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    c = TestClient(mod.app)
    assert c.get("/maps/progress").status_code == 200
    health = c.get("/health")
    # the server opened this store (its data version), and says so without naming the file
    assert health.json()["data_version"] == mstore.version()
    assert mstore.uri not in health.text and "store" not in health.json()


def test_base_data_for_an_unknown_border_is_empty_not_an_error(store):
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app

    client = TestClient(create_app(store=store, tiles=None))
    r = client.get("/maps/data/base", params={"border": "AA"})
    assert r.status_code == 200
    assert r.json()["neighbours"]["features"] == [] and r.json()["boundary"] is None
