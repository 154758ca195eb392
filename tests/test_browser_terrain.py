"""The progress map with a DEM in headless Chromium, offline: the hillshade and slope images
load from the server, the non-intervisible pair is drawn, terrain popups show elevation, and
no CSP violation or JS error happens. Skipped without Chromium/playwright unless CI is set
(then it fails), as tests/test_browser.py."""
from __future__ import annotations

import numpy as np
import pytest
from rasterio.transform import from_origin

from bienmoc.storage import GeoPackageStore
from bienmoc.testing import serve_app

from test_browser import Visit, artifacts, browser  # noqa: F401  (fixtures)
from test_terrain import write_tif

UTM48 = "EPSG:32648"


@pytest.fixture(scope="module")
def terrain_server(tmp_path_factory):
    """The map test store over a plain at 200 m with a 40 m east-west hill between markers
    102 and 103 (as tests/test_visibility.py's bump)."""
    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings
    from test_pages import map_layers

    tmp = tmp_path_factory.mktemp("browser-terrain")
    layers = map_layers()
    line = layers["boundary"][layers["boundary"]["border"] == "LA"].to_crs(UTM48) \
        .geometry.iloc[0]
    x0, y0 = line.bounds[0] - 4_000, line.bounds[3] + 4_000
    north = line.bounds[3] - 5_500.0
    h, w, cell = 700, 320, 25.0
    ny = y0 - (np.arange(h) + 0.5) * cell
    z = 200 + 40 * np.exp(-((ny - north) / 250.0) ** 2)
    dem = write_tif(tmp / "bump.tif", np.repeat(z[:, None], w, axis=1), UTM48,
                    from_origin(x0, y0, cell, cell), dtype="float64")
    store = GeoPackageStore(tmp / "maps.gpkg")
    store.write_many(layers)
    with serve_app(create_app(store=store, tiles=None, settings=Settings(dem=str(dem)))) as base:
        yield base


@pytest.mark.slow
def test_progress_map_terrain_layers_in_chromium(browser, terrain_server, artifacts):
    from test_pages import AS_OF

    v = Visit(browser, f"{terrain_server}/maps/progress?as_of={AS_OF}&border=LA")
    v.ready()
    v.page.wait_for_function("() => window.bienmocTerrain && window.bienmocTerrain.last",
                             timeout=10_000)
    pairs = v.page.evaluate("""() => window.bienmocTerrain.last.groups.blocked.getLayers()
        .map(l => [l.getTooltip().getContent(), l.getLatLngs().length,
                   l._map === window.bienmocTerrain.last.map])""")
    assert len(pairs) == 1 and pairs[0][0].startswith("Mốc 102 – 103: không thông hướng")
    assert pairs[0][1:] == [2, True]                       # a segment, drawn on the map
    v.page.wait_for_function("""() => { const imgs = document.querySelectorAll(
        'img.leaflet-image-layer'); return imgs.length >= 1 &&
        Array.from(imgs).every(i => i.complete && i.naturalWidth > 0); }""", timeout=10_000)
    text = v.page.evaluate("""() => { const t = window.bienmocTerrain.last;
        t.map.addLayer(t.groups.markers);
        const m = t.groups.markers.getLayers()[0];
        m.openPopup(); return document.querySelector('.leaflet-popup-content').textContent; }""")
    assert "Độ cao (DEM): 200" in text and "Độ dốc" in text and "Mức phơi nhiễm sạt lở" in text
    v.page.screenshot(path=str(artifacts / "map-progress-terrain.png"))
    v.assert_clean()
