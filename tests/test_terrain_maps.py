"""Terrain on the maps: the offline overlay images (/terrain/{kind}.png) with known pixel
values on analytic DEMs, and the progress map's terrain layers (non-intervisible pairs, marker
popups with elevation, slope and exposure) with and without the server knowing a DEM. The
surfaces are test surfaces, not terrain of any real place."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bienmoc.api.app import create_app
from bienmoc.api.settings import Settings
from bienmoc.maps import progress_map
from bienmoc.maps.style import BLOCKED_PAIR_COLOUR, SLOPE_CLASS_COLOURS
from bienmoc.maps.terrain import terrain_data
from bienmoc.terrain.overlay import HILLSHADE_ALPHA, SLOPE_ALPHA, overlay_rgba

from test_terrain import plane_tif
from test_visibility import bump  # noqa: F401  (fixture: a hill between markers 102 and 103)

UTM48 = "EPSG:32648"
BBOX = "104.48,20.91,104.52,20.99"


def _plane(tmp_path, layers, deg):
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    x0, y0 = line.bounds[0] - 3_000, line.bounds[3] + 3_000
    p = tmp_path / f"p{deg}.tif"
    plane_tif(p, a=0.0, b=np.tan(np.radians(deg)), c=3000.0, x0=x0, y0=y0, cell=30.0,
              h=580, w=200)
    return p


def _png(resp):
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(resp.content))


def test_overlay_endpoint_returns_a_png_of_the_requested_size(tmp_path, store, layers):
    flat = _plane(tmp_path, layers, 0)
    steep = _plane(tmp_path, layers, 35)
    c = TestClient(create_app(store, settings=Settings(dem=str(flat)), tiles=None))
    img = _png(c.get(f"/terrain/hillshade.png?bbox={BBOX}&width=300&height=200"))
    assert img.size == (300, 200) and img.mode == "RGBA"
    px = np.asarray(img)
    # a flat DEM lit from 45° above: 1 + 254 sin(45°) = 180.6 -> 181 everywhere (as gdaldem)
    assert (px[..., 0] == 181).all() and (px[..., 3] == HILLSHADE_ALPHA).all()
    c = TestClient(create_app(store, settings=Settings(dem=str(steep)), tiles=None))
    px = np.asarray(_png(c.get(f"/terrain/slope.png?bbox={BBOX}&width=64&height=128")))
    assert px.shape == (128, 64, 4)
    want = [int(SLOPE_CLASS_COLOURS["30-40"][i:i + 2], 16) for i in (1, 3, 5)]
    assert (px[..., :3] == want).all() and (px[..., 3] == SLOPE_ALPHA).all()
    assert c.get(f"/terrain/aspect.png?bbox={BBOX}").status_code == 404
    assert c.get("/terrain/slope.png?bbox=1,2,3").status_code == 422
    assert c.get(f"/terrain/slope.png?bbox={BBOX}&width=0").status_code == 422
    assert c.get("/terrain/slope.png?bbox=104.6,20.9,104.5,21.0").status_code == 400
    # no DEM on the server: no terrain images
    c = TestClient(create_app(store, settings=Settings(), tiles=None))
    assert c.get(f"/terrain/hillshade.png?bbox={BBOX}").status_code == 404


def test_overlay_is_transparent_where_the_dem_has_no_data(tmp_path, layers):
    flat = _plane(tmp_path, layers, 0)
    # a box half east of the DEM (it ends ~3 km east of lon 104.5)
    px = overlay_rgba(flat, (104.50, 20.94, 104.60, 20.96), 100, 20)
    assert (px[:, :10, 3] == HILLSHADE_ALPHA).all() and (px[:, -10:, 3] == 0).all()


def test_terrain_payload_blocked_pair_and_popups(layers, bump):
    path, _ = bump
    data = terrain_data(layers, path, lang="vi")
    assert [(p[3], p[4]) for p in data["blocked"]] == [("102", "103")]
    assert "không thông hướng" in data["blocked"][0][2]
    pop = {m[2]: m[3] for m in data["markers"]}
    assert set(pop) == set(layers["markers"]["number"])
    # the plain is at 200 m; marker 100 is far from the hill
    assert pop["100"][0] == "Độ cao (DEM): 200,0 m"
    assert pop["100"][1] == "Độ dốc: 0,0 °"
    assert pop["100"][2] == "Mức phơi nhiễm sạt lở: thấp"
    en = terrain_data(layers, path, lang="en")
    assert {m[2]: m[3] for m in en["markers"]}["100"][0] == "Elevation (DEM): 200.0 m"


def test_progress_map_with_a_dem_has_the_terrain_layers(layers, bump):
    path, _ = bump
    html = progress_map(layers, lang="vi", tiles=None, dem=path).get_root().render()
    # the layer control lists the four terrain layers (names JSON-escaped by folium)
    for name in ("Bóng địa hình", "Cấp độ dốc", "Cặp mốc không thông hướng",
                 "Địa hình tại mốc"):
        assert json.dumps(name) + " : " in html, name
    assert "bienmocTerrain(" in html and "data:image/png;base64," in html
    call = re.search(r"bienmocTerrain\([^,]+, \{[^}]*\}, (\{.*?\})\);\n", html, re.S)
    payload = json.loads(call.group(1))
    assert [(p[3], p[4]) for p in payload["blocked"]] == [("102", "103")]
    assert payload["colour"] == BLOCKED_PAIR_COLOUR
    assert "Độ cao (DEM): 200,0 m" in html
    # legend entry of the pair layer
    assert "bm-bg-" + BLOCKED_PAIR_COLOUR[1:] in html
    plain = progress_map(layers, lang="vi", tiles=None).get_root().render()
    assert "bienmocTerrain" not in plain and "Cặp mốc không thông hướng" not in plain


def test_server_progress_page_links_the_overlays(store, bump):
    path, _ = bump
    c = TestClient(create_app(store, settings=Settings(dem=str(path)), tiles=None))
    r = c.get("/maps/progress?lang=en")
    assert r.status_code == 200
    assert "../terrain/hillshade.png?bbox=" in r.text and "bienmoc/terrain.js" in r.text
    assert json.dumps("Marker pairs not intervisible") + " : " in r.text
    assert "'unsafe-inline'" not in r.headers["content-security-policy"].split("style-src")[0]
    url = re.search(r'"(\.\./terrain/slope\.png\?[^"]+)"', r.text).group(1)
    url = url.replace("\\u0026", "&")          # JSON-escaped in the page script
    img = _png(c.get("/maps/" + url))
    w, h = (int(re.search(p, url).group(1)) for p in (r"width=(\d+)", r"height=(\d+)"))
    assert img.size == (w, h)
    r = TestClient(create_app(store, settings=Settings(), tiles=None)).get("/maps/progress")
    assert "terrain.js" not in r.text
