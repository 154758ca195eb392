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
    # day first (the form's text field) is the same date as ISO; month first is refused
    assert client.get("/strip.svg", params={"border": "LA", "to_km": 100,
                                            "as_of": "01/06/2025"}).text == svg.text
    assert client.get("/strip", params={"border": "LA", "as_of": "06/30/2025"}).status_code \
        == 422
    assert 'name="as_of" class="bm-date"' in r.text and 'value="01/06/2025"' in r.text


@pytest.mark.parametrize("path", ["/maps/progress", "/maps/incidents", "/maps/overview"])
def test_every_map_page_is_offline_with_controls(client, path):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    # the scale bar is metric only: maps.js adds L.control.scale({imperial: false})
    assert "L.control.scale()" not in html and "L.control.layers(" in html
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
    ("/maps/progress", {"as_of": "02/13/2025"}),      # month first: refused, not guessed
    ("/maps/progress", {"border": "laos"}), ("/maps/incidents", {"from": "2025/02/01"}),
    ("/maps/overview", {"lang": "fr"}),
    ("/maps/data/incidents", {"bbox": "1,2,3"}), ("/maps/data/incidents", {"zoom": 40}),
])
def test_bad_filters_answer_422(client, path, params):
    assert client.get(path, params=params).status_code == 422


def test_a_bad_date_on_a_page_is_a_visible_message(client):
    r = client.get("/maps/progress", params={"as_of": "31/02/2025"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Ngày không hợp lệ" in r.text and "as_of=31/02/2025" in r.text
    assert "dd/mm/yyyy" in r.text and "bienmoc.map(" not in r.text


def test_pages_take_dates_day_first_in_both_languages(client):
    """dd/mm/yyyy (the form's text fields) and ISO both reach the data as ISO."""
    for lang in ("vi", "en"):
        html = client.get("/maps/incidents", params={"from": "01/02/2025", "to": "2025-03-31",
                                                     "lang": lang}).text
        cfg = json.loads(re.search(r"bienmoc\.map\([^,]+, \{[^}]*\}, (\{.*\})\);", html).group(1))
        assert cfg["source"]["params"]["from"] == "2025-02-01"
        assert cfg["source"]["params"]["to"] == "2025-03-31"
        assert 'name="from" class="bm-date"' in html and 'value="01/02/2025"' in html
        assert 'value="31/03/2025"' in html and 'type="date"' not in html
    html = client.get("/maps/progress", params={"as_of": "01/06/2025"}).text
    assert '"as_of":"2025-06-01"' in html
    # what the form sends with "all" selected: empty border and province (was a 422)
    r = client.get("/maps/progress?lang=en&border=&province=&as_of=01%2F06%2F2025")
    assert r.status_code == 200 and '"as_of":"2025-06-01"' in r.text


@pytest.mark.parametrize("path,params,param,value", [
    ("/maps/progress", {"province": "Nowhere"}, "province", "Nowhere"),
    ("/maps/overview", {"border": "XX"}, "border", "XX"),
    ("/maps/incidents", {"kind": "arson"}, "kind", "arson"),
    ("/maps/incidents", {"status": "closed"}, "status", "closed"),
])
def test_unknown_filter_values_show_a_message_not_a_blank_map(client, path, params, param,
                                                                value):
    for lang, word in (("vi", "Không tìm thấy"), ("en", "Not found")):
        r = client.get(path, params={**params, "lang": lang})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert word in r.text and repr(value) in r.text.replace("&#x27;", "'")
        assert "bienmoc.map(" not in r.text                 # no (blank) map
        assert "unsafe-inline" not in r.headers["content-security-policy"]
    # a near name is offered as a link
    r = client.get("/maps/progress", params={"province": "son la 2"})
    assert r.status_code == 404 and "Có phải là" in r.text and "province=S%C6%A1n+La" in r.text


@pytest.mark.parametrize("path,params,param,value", [
    ("/maps/data/progress", {"province": "Nowhere"}, "province", "Nowhere"),
    ("/maps/data/progress", {"border": "XX"}, "border", "XX"),
    ("/maps/data/incidents", {"province": "Nowhere"}, "province", "Nowhere"),
    ("/maps/data/incidents", {"status": "closed"}, "status", "closed"),
    ("/maps/data/incidents", {"kind": "arson"}, "kind", "arson"),
    ("/maps/data/base", {"border": "XX"}, "border", "XX"),
])
def test_unknown_filter_values_answer_404_json_naming_them(client, path, params, param, value):
    r = client.get(path, params=params)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["parameter"] == param and body["value"] == value
    assert param in body["detail"] and value in body["detail"]
    # case does not matter for provinces (as the filter itself)
    assert client.get("/maps/data/progress", params={"province": "sơn la"}).status_code == 200


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
    # a border the data do not have: 404 naming it (not an empty, blank-map answer)
    assert client.get("/maps/data/progress", params={"border": "CN"}).status_code == 404


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
    assert client.get("/maps/data/incidents", params={"border": "CN"}).status_code == 404


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


def test_base_data_for_an_unknown_border_is_404_naming_it(store):
    """(Was: an empty 200. An unknown filter value now answers 404 naming it, as every data
    endpoint does, so a page never draws a silently blank map.)"""
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app

    client = TestClient(create_app(store=store, tiles=None))
    r = client.get("/maps/data/base", params={"border": "AA"})
    assert r.status_code == 404
    assert r.json()["parameter"] == "border" and r.json()["value"] == "AA"
    assert r.json()["valid"] == ["LA"]
    assert client.get("/maps/data/base", params={"border": "LA"}).status_code == 200


# -- history pages (linked from every popup) --------------------------------------------------

def test_history_pages_of_each_layer(client, mstore):
    from bienmoc.records import update_incident

    # a marker: its inspection of 10/01/2020 (number with a slash: a query parameter)
    r = client.get("/history/markers", params={"border": "LA", "number": "100"})
    assert r.status_code == 200 and "Lịch sử cột mốc 100 (Việt Nam – Lào)" in r.text
    assert "10/01/2020" in r.text and "kiểm tra" in r.text
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    en = client.get("/history/markers", params={"border": "LA", "number": "100", "lang": "en"})
    assert "History of marker 100" in en.text and "2020-01-10" in en.text
    # a stake with nothing recorded: an empty history, said in words
    assert client.get("/history/markers", params={"number": "100/1", "f": "json"}).json() == []
    assert "Chưa có sự kiện nào được ghi nhận." in client.get(
        "/history/markers", params={"number": "100/1"}).text
    # a work: planned dates (escaped title is not needed: rows are dates and progress)
    w = client.get("/history/works/W-000001", params={"f": "json"}).json()
    assert [(x["date"], x["description_en"]) for x in w] == [
        ("2019-01-01", "Planned start"), ("2019-03-01", "Actual start"),
        ("2020-12-31", "Planned end")]
    # an incident: reported, then every change of the change log
    update_incident(mstore, "V-000001", {"status": "verifying"}, note="đội tuần tra")
    h = client.get("/history/incidents/V-000001")
    assert h.status_code == 200 and "05/01/2024" in h.text
    assert "Trạng thái: mới phát hiện → đang xác minh (đội tuần tra)" in h.text
    j = client.get("/history/incidents/V-000001", params={"f": "json", "lang": "en"}).json()
    assert [x["event"] for x in j] == ["incident", "change"]
    assert j[1]["description_en"].startswith("Status: reported → verifying")
    # a gate with no dates: says so; unknown records: 404 (HTML and JSON)
    g = client.get("/history/gates/G-000001", params={"lang": "en"})
    assert g.status_code == 200 and "Nothing recorded yet." in g.text
    assert client.get("/history/gates/G-999").status_code == 404
    assert client.get("/history/works/W-9", params={"f": "json"}).json()["detail"] \
        == "no record 'W-9' in layer 'works'"
    assert client.get("/history/markers", params={"number": "999"}).status_code == 404
    assert client.get("/history/provinces/x").status_code == 422


def test_dashboard_is_cached_per_data_version(client, mstore, monkeypatch):
    """Built once per data version and query; a write (a new incident through the one write
    path) changes the version and the next request shows it."""
    import bienmoc.api.dashboard as dash
    from bienmoc.records import record_incident

    calls = []
    real = dash.dashboard_figures
    monkeypatch.setattr(dash, "dashboard_figures",
                        lambda *a, **k: calls.append(k) or real(*a, **k))
    q = {"from": "01/01/2025", "to": "31/12/2025", "as_of": AS_OF, "f": "json"}
    first = client.get("/dashboard", params=q).json()
    html1 = client.get("/dashboard", params={**q, "f": "html"})
    assert client.get("/dashboard", params=q).json() == first
    assert len(calls) == 1 and html1.status_code == 200
    assert client.get("/dashboard", params={**q, "f": "html"}).text == html1.text
    assert len(calls) == 1
    record_incident(mstore, "illegal_trade", (104.49, 20.95), reported_date="2025-05-05",
                    border="LA", province="Sơn La")
    after = client.get("/dashboard", params=q).json()
    assert len(calls) == 2
    assert after["incidents"]["total"] == first["incidents"]["total"] + 1
    assert after["incidents"]["by_kind"].get("illegal_trade", 0) \
        == first["incidents"]["by_kind"].get("illegal_trade", 0) + 1


def test_record_history_from_frames():
    """The library function behind the history pages (notebooks: a mapping of frames)."""
    from bienmoc.analysis.history import record_history

    layers = map_layers()
    layers["incident_changes"] = pd.DataFrame({
        "record_id": ["V-000001", "V-000002"], "field": ["status", "status"],
        "old_value": ["reported", "reported"], "new_value": ["verifying", "resolved"],
        "changed_at": ["2025-01-02T08:00:00.000Z"] * 2, "note": [None, None]})
    h = record_history(layers, "incidents", "V-000001")
    assert list(h["event"]) == ["incident", "change"]
    assert list(h["date"].dt.strftime("%Y-%m-%d")) == ["2024-01-05", "2025-01-02"]
    assert list(h["description_vi"]) == ["Ngày phát hiện",
                                         "Trạng thái: mới phát hiện → đang xác minh"]
    w = record_history(layers, "works", "W-000001")
    assert list(w["description_en"]) == ["Planned start", "Actual start", "Planned end"]
    from bienmoc.errors import NotFound
    with pytest.raises(NotFound, match="no record .V-9."):
        record_history(layers, "incidents", "V-9")
