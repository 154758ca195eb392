"""Server hardening (issue 11): no 500 on hostile input, /health that checks the store and
names no file, error bodies without paths, security headers and a strict CSP on every
response, OpenAPI version = media type, declared field types (Part 5 schema, queryables).

In process over ASGI, on real GeoPackage files (a corrupted copy for the failure cases)."""
import base64
import hashlib
import os
import re

import pytest
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.api.security import inline_hashes, page_csp, sanitize
from bienmoc.api.settings import Settings
from bienmoc.storage import GeoPackageStore

TOKEN = "sec-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(store):
    return TestClient(create_app(store=store, settings=Settings(api_token=TOKEN), tiles=None),
                      raise_server_exceptions=False)


def _incident(coords, **extra) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
            "properties": {"kind": "other"}, **extra}


def _post(client, body: str):
    return client.post("/collections/incidents/items", content=body,
                       headers={**AUTH, "Content-Type": "application/geo+json"})


# -- no 500 on any input -----------------------------------------------------------------------

def test_a_400_digit_coordinate_is_refused_naming_the_geometry(client, store):
    before = len(store.read("incidents"))
    huge = "1" + "0" * 400
    r = _post(client, '{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,20.9]},'
                      '"properties":{"kind":"other"}}' % huge)
    assert r.status_code == 422, r.text
    (p,) = r.json()["problems"]
    assert p["field"] == "geometry" and p["loc"].endswith("coordinates.0")
    r = _post(client, '{"type":"Feature","bbox":[%s,1,2,3],"geometry":{"type":"Point",'
                      '"coordinates":[104.5,20.9]},"properties":{"kind":"other"}}' % huge)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "bbox.0"
    assert len(store.read("incidents")) == before   # nothing half-written


@pytest.mark.parametrize("coords, reason", [
    ("[104.5, 95]", "latitude 95.0 is outside -90..90"),
    ("[-200, 20.9]", "longitude -200.0 is outside -180..180"),
    ("[NaN, 20.9]", "finite number"),
    ("[Infinity, 20.9]", "finite number"),
    ("[104.5, 20.9, 1e9]", "less than or equal to 20000"),
    ('["104.5", 20.9]', "valid number"),
    ("[104.5]", "at least 2 items"),
    ("[104.5, 20.9, 1, 2]", "at most 3 items"),
])
def test_coordinates_are_finite_and_in_range(client, coords, reason):
    r = _post(client, '{"type":"Feature","geometry":{"type":"Point","coordinates":%s},'
                      '"properties":{"kind":"other"}}' % coords)
    assert r.status_code == 422, r.text
    assert any(reason in p["reason"] and p["field"] == "geometry"
               for p in r.json()["problems"]), r.json()


def test_integer_coordinates_are_still_accepted(client):
    # JSON integers are numbers: only their size is bounded (the point is 10 km off the line)
    r = client.post("/collections/incidents/items", json=_incident([105, 21]), headers=AUTH)
    assert r.status_code == 422
    assert "km from the" in r.json()["problems"][0]["reason"]


def test_status_by_geometry_is_a_422_naming_the_parameter(client):
    for by in ("geometry", "border,geometry", "_position", "elevation_m"):
        r = client.get("/api/status", params={"by": by})
        assert r.status_code == 422, (by, r.text)
        assert r.json()["problems"][0]["field"] == "by"
    r = client.get("/api/status", params={"by": "kind,construction_status"})
    assert r.status_code == 200
    assert {(d["kind"], d["construction_status"]) for d in r.json()} >= {("large", "built")}


def test_an_unexpected_exception_is_a_500_without_details_and_with_headers(store):
    app = create_app(store=store, tiles=None)

    @app.get("/boom")
    def boom():
        raise RuntimeError(f"secret at {store.uri}")

    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500 and r.json() == {"detail": "internal server error"}
    assert store.uri not in r.text
    _assert_security_headers(r)


# -- /health and storage errors ----------------------------------------------------------------

def test_health_reports_integrity_and_names_no_path(client, store):
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["checks"] == {"store": "ok"}
    assert body["data_version"] == store.version()
    assert store.uri not in r.text and os.path.dirname(store.uri) not in r.text
    assert "store" not in body   # the old answer's path field is gone


def _corrupt(path) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as f:   # garbage over pages in the middle of the file
        f.seek(size // 2)
        f.write(bytes(range(256)) * 32)


def test_health_is_503_on_a_corrupt_store(client, store):
    assert client.get("/health").status_code == 200
    assert store.check() == []
    _corrupt(store.path)
    problems = store.check()
    assert problems and "malformed" in problems[0]
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "error"
    assert "malformed" in r.json()["checks"]["store"][0]
    assert store.uri not in r.text


def test_storage_errors_are_503_without_the_path(tmp_path):
    path = tmp_path / "secret-dir" / "broken.gpkg"
    path.parent.mkdir()
    path.write_bytes(b"this is not a GeoPackage" * 200)
    store = GeoPackageStore(path)
    c = TestClient(create_app(store=store, tiles=None), raise_server_exceptions=False)
    for url in ("/collections/markers/items", "/maps/data/progress", "/api/status",
                "/maps/overview", "/health"):
        r = c.get(url)
        assert r.status_code == 503, (url, r.status_code, r.text)
        assert "secret-dir" not in r.text and str(tmp_path) not in r.text, (url, r.text)
        _assert_security_headers(r)
    assert "unavailable" in c.get("/api/status").json()["detail"]


def test_sanitize_removes_paths():
    text = ("cannot open store /srv/bienmoc/data/store.gpkg: '/srv/bienmoc/data/store.gpkg' "
            "not recognized; see C:\\data\\x.gpkg")
    out = sanitize(text, "/srv/bienmoc/data/store.gpkg")
    assert "/srv" not in out and "C:\\" not in out and out.startswith("cannot open store …")
    assert sanitize("layer 'markers' already holds id(s) M-1") == \
        "layer 'markers' already holds id(s) M-1"


# -- security headers and CSP ------------------------------------------------------------------

def _assert_security_headers(r) -> str:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff", r.url
    assert h["x-frame-options"] == "DENY", r.url
    assert h["referrer-policy"] == "no-referrer", r.url
    csp = h["content-security-policy"]
    for d in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert d in csp, (r.url, csp)
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    return csp


def test_every_response_carries_the_security_headers(client):
    for method, url, kw in [
        ("GET", "/", {}), ("GET", "/?f=json", {}), ("GET", "/maps/overview", {}),
        ("GET", "/maps/progress", {}), ("GET", "/maps/incidents", {}),
        ("GET", "/maps/data/base", {}), ("GET", "/collections", {}),
        ("GET", "/collections/markers/items", {}), ("GET", "/collections/markers/schema", {}),
        ("GET", "/openapi.json", {}), ("GET", "/api", {}), ("GET", "/docs", {}),
        ("GET", "/health", {}), ("GET", "/static/bienmoc/maps.js", {}),
        ("GET", "/nope", {}), ("GET", "/maps/overview?lang=fr", {}),
        ("GET", "/collections/markers/items?limit=0", {}),
        ("POST", "/collections/incidents/items", {"json": {}}),
        ("POST", "/collections/incidents/items", {"json": {}, "headers": AUTH}),
    ]:
        r = client.request(method, url, **kw)
        assert r.status_code < 500, (url, r.status_code)
        _assert_security_headers(r)


def test_pages_allow_exactly_their_inline_scripts_and_styles(client):
    for url in ("/", "/maps/overview", "/maps/progress?lang=en", "/maps/incidents"):
        r = client.get(url)
        csp = _assert_security_headers(r)
        assert "'unsafe-inline'" not in csp, csp
        scripts = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
        styles = re.findall(r"<style>(.*?)</style>", r.text, re.DOTALL)
        assert styles and (scripts or url == "/")
        for body in scripts + styles:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp, url
        assert ' style="' not in r.text   # no style attributes (classes instead)
        # a 304 carries the same policy (its hashes match the body the browser kept)
        again = client.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["content-security-policy"] == csp


def test_a_tile_server_is_allowed_for_images_only(store):
    c = TestClient(create_app(store=store, tiles="https://{s}.tiles.example.org/{z}/{x}/{y}"
                                                 ".png"))
    csp = c.get("/maps/overview").headers["content-security-policy"]
    img = re.search(r"img-src ([^;]*)", csp).group(1).split()
    assert "https://*.tiles.example.org" in img
    assert "tiles.example.org" not in csp.replace(re.search(r"img-src [^;]*", csp).group(0), "")


def test_page_csp_hashes_only_inline_elements():
    html = ("<script src='a.js'></script><script>var a = 1;</script><script>var a = 1;"
            "</script><style>p{color:red}</style>")
    scripts, styles = inline_hashes(html)
    want = base64.b64encode(hashlib.sha256(b"var a = 1;").digest()).decode()
    assert scripts == [f"'sha256-{want}'"] and len(styles) == 1
    csp = page_csp(html)
    assert f"script-src 'self' 'sha256-{want}';" in csp and "unsafe" not in csp


def test_docs_page_is_served_offline_without_inline_script(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text
    csp = _assert_security_headers(r)
    assert re.findall(r"<script>", r.text) == []          # nothing inline
    assert re.search(r"script-src ([^;]*)", csp).group(1) == "'self'"
    assert "http" not in csp and "unsafe" not in csp and "http" not in r.text
    assert "connect-src 'self'" in csp   # it fetches /openapi.json from the app
    for src in re.findall(r"(?:src|href)='([^']+)'", r.text):   # every asset is served
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 100, src
    assert "data-url='/openapi.json'" in r.text


# -- OpenAPI version and media type; declared field types -------------------------------------

def test_openapi_version_and_media_type_agree(client):
    doc = client.get("/openapi.json").json()
    version = doc["openapi"][:3]
    want = f"application/vnd.oai.openapi+json;version={version}"
    assert client.get("/api").headers["content-type"] == want
    link = next(li for li in client.get("/?f=json").json()["links"]
                if li["rel"] == "service-desc")
    assert link["type"] == want
    # a client that only takes JSON (GDAL asks for the 3.0 type or application/json) gets JSON
    gdal = "application/vnd.oai.openapi+json;version=3.0, application/json"
    r = client.get("/api", headers={"Accept": gdal})
    assert r.headers["content-type"] == "application/json" and r.json() == doc


def test_collections_declare_their_field_types(client):
    doc = client.get("/collections/markers").json()
    rels = {li["rel"]: li for li in doc["links"]}
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/schema"]["type"] == \
        "application/schema+json"
    r = client.get("/collections/markers/schema")
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["planned_date"] == {**props["planned_date"], "type": "string",
                                     "format": "date"}
    assert props["part"]["type"] == "integer" and props["elevation_m"]["type"] == "number"
    assert props["tri_border"]["type"] == "boolean"
    assert "planned" in props["construction_status"]["enum"]
    assert props["id"]["x-ogc-role"] == "id"
    assert props["geometry"] == {"x-ogc-role": "primary-geometry", "format": "geometry-point"}
    # the GeoJSON-Feature form behind the describedby link (what GDAL's OAPIF driver reads)
    feature = client.get(rels["describedby"]["href"]).json()
    assert feature["properties"]["properties"]["properties"]["planned_date"]["format"] == "date"
    q = client.get("/collections/markers/queryables").json()["properties"]
    assert q["planned_date"]["format"] == "date" and q["part"]["type"] == "integer"
    w = client.get("/collections/works/schema").json()["properties"]
    assert w["budget_planned_vnd"]["type"] == "number"
    assert w["actual_end"]["format"] == "date"


@pytest.mark.slow
def test_gdal_types_fields_from_the_schema_not_the_first_page(demo_store_path):
    """Regression: markers.planned_date arrived as String through GDAL's OAPIF driver (the
    first page held only nulls); with the declared schema it is a Date, ``part`` an Integer."""
    pyogrio = pytest.importorskip("pyogrio")
    if "OAPIF" not in pyogrio.list_drivers():
        pytest.skip("this GDAL has no OAPIF driver")
    import socket
    import threading
    import time

    import uvicorn

    store = GeoPackageStore(demo_store_path)
    first = store.read("markers").head(10)   # GDAL's first page (limit=10)
    assert first["planned_date"].isna().all()  # the situation of the bug
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(store=store, tiles=None), host="127.0.0.1",
                                        port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 30
        while not srv.started:
            assert time.monotonic() < deadline and th.is_alive(), "server did not start"
            time.sleep(0.05)
        info = pyogrio.read_info(f"OAPIF:http://127.0.0.1:{port}", layer="markers")
        types = dict(zip(info["fields"], info["dtypes"]))
        assert types["planned_date"] == "datetime64[D]", types
        assert types["built_date"] == "datetime64[D]" and types["part"] == "int32", types
        assert types["elevation_m"] == "float64" and types["tri_border"] == "bool", types
    finally:
        srv.should_exit = True
        th.join(10)
