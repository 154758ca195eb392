"""The map builders as a library (notebooks): folium.Map objects, embedded data and assets."""
import json
import re

import folium
import pandas as pd
import pytest

from bienmoc.errors import InvalidData
from bienmoc.maps import (base_data, incidents_data, incidents_map, overview_map, progress_data,
                          progress_map)
from bienmoc.maps.assets import BUNDLES, STATIC_DIR, asset_paths
from bienmoc.maps.data import parse_bbox, safe_json
from bienmoc.storage import GeoPackageStore

from test_pages import AS_OF, XSS, map_layers


@pytest.fixture
def frames():
    return map_layers()


def _config(html: str) -> dict:
    return json.loads(re.search(r"bienmoc\.map\([^,]+, \{[^}]*\}, (\{.*\})\);", html).group(1))


def test_safe_json_cannot_close_a_script():
    text = safe_json({"a": "</script><!-- & \u2028\u2029 `${x}`"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 `${x}`"}


def test_vendored_assets_are_present_with_licences():
    for p in asset_paths():
        assert p.is_file() and p.stat().st_size > 0, p
    readme = (STATIC_DIR / "vendor" / "README.md").read_text()
    for folder in ("leaflet-1.9.4", "leaflet.markercluster-1.5.3", "leaflet.heat-0.2.0",
                   "swagger-ui-5.35.0"):
        assert any((STATIC_DIR / "vendor" / folder).glob("*LICEN*")), folder
        assert f"`{folder}/`" in readme, folder   # its source and licence are listed
    assert sorted(p.name for p in (STATIC_DIR / "vendor").iterdir() if p.is_dir()) == sorted(
        ["leaflet-1.9.4", "leaflet.markercluster-1.5.3", "leaflet.heat-0.2.0",
         "swagger-ui-5.35.0"])
    assert set(BUNDLES) == {"leaflet", "markercluster", "heat", "bienmoc", "terrain"}


@pytest.mark.parametrize("builder", [progress_map, incidents_map, overview_map])
def test_builders_return_offline_maps_from_frames(builder, frames):
    m = builder(frames, tiles=None)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", html)
    assert not re.search(r"""url\(["']?(https?:)?//""", html)       # CSS: fonts, images
    assert "cdn." not in html and "jquery" not in html.lower()
    assert "window.L=" in html or "window.L =" in html         # Leaflet embedded
    assert "data:image/png;base64," in html                     # its CSS images too
    cfg = _config(html)
    assert "data" in cfg["source"] and "data" in cfg["base"]    # data embedded
    # the scale bar is metric only (maps.js adds it; folium's would show miles too)
    assert "L.control.scale()" not in html and "bienmoc-legend" in html
    assert "L.control.scale({imperial: false" in html


def _evil(frames: dict) -> dict:
    """Every payload in data every builder embeds: four more province polygons (the base layer
    of every map) and four markers' provinces (the progress/overview marker layer)."""
    import geopandas as gpd
    import shapely

    prov = frames["provinces"]
    extra = gpd.GeoDataFrame({"name": XSS}, crs=prov.crs, geometry=[
        shapely.box(104.0 + i / 10, 20.0, 104.05 + i / 10, 20.05) for i in range(len(XSS))])
    markers = frames["markers"].copy()
    markers.loc[markers.index[:len(XSS)], "province"] = XSS
    return {**frames, "provinces": pd.concat([prov, extra], ignore_index=True),
            "markers": markers}


def _strings(obj) -> set:
    if isinstance(obj, dict):
        return set().union(*(_strings(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_strings(v) for v in obj)) if obj else set()
    return {obj} if isinstance(obj, str) else set()


@pytest.mark.parametrize("builder", [progress_map, incidents_map, overview_map])
def test_every_builder_embeds_the_payloads_escaped_never_raw(builder, frames):
    html = builder(_evil(frames), tiles=None).get_root().render()
    config = re.search(r"bienmoc\.map\([^,]+, \{[^}]*\}, (\{.*\})\);", html).group(1)
    decoded = _strings(json.loads(config))
    outside = html.replace(config, "")
    for p in XSS:
        assert p in decoded, (builder.__name__, p)          # the data really is there ...
        assert safe_json(p) in config                        # ... as an escaped JSON string
        assert p not in outside                              # and nowhere else
        if any(c in p for c in "<>&"):
            assert p not in html                             # markup never raw, anywhere


def test_incidents_map_embeds_cluster_and_heat_assets(frames):
    html = incidents_map(frames, tiles=None).get_root().render()
    assert "markerClusterGroup" in html and "heatLayer" in html
    assert _config(html)["source"]["data"]["total"] == 7


def test_server_mode_links_assets_and_data(frames):
    html = progress_map(frames, tiles="http://tiles.local/{z}/{x}/{y}.png", attr="local",
                        assets="../static", data_url="data", form=True,
                        as_of=AS_OF).get_root().render()
    assert '<script src="../static/vendor/leaflet-1.9.4/leaflet.js?v=' in html
    assert "http://tiles.local/{z}/{x}/{y}.png" in html
    cfg = _config(html)
    assert cfg["source"]["url"] == "data/progress" and cfg["base"]["url"] == "data/base"
    assert len(html) < 30_000
    assert 'class="bienmoc-filter"' in html
    # the date field is a dd/mm/yyyy text field (not <input type=date>: browser-locale order)
    assert 'type="date"' not in html
    field = re.search(r'<input type="text" name="as_of"[^>]*>', html).group(0)
    assert 'value="01/06/2025"' in field and 'placeholder="dd/mm/yyyy"' in field
    assert re.fullmatch(re.search(r'pattern="([^"]+)"', field).group(1), "01/06/2025")
    assert not re.fullmatch(re.search(r'pattern="([^"]+)"', field).group(1), "06-01-2025")
    assert cfg["history"] == "../history"


def test_english_labels(frames):
    cfg = _config(progress_map(frames, lang="en", tiles=None).get_root().render())
    assert cfg["labels"]["fields"]["number"] == "Number"
    assert cfg["labels"]["enums"]["construction_status"]["built"] == "built"
    vi = _config(progress_map(frames, tiles=None).get_root().render())
    assert vi["labels"]["enums"]["construction_status"]["built"] == "đã xây dựng"
    assert vi["labels"]["enums"]["side"]["LA"] == "phía Lào"
    with pytest.raises(ValueError):
        progress_map(frames, lang="fr")


def test_progress_data_from_frames(frames):
    d = progress_data(frames, as_of=AS_OF)
    assert d["counts"]["markers"] == 8 and d["counts"]["stalled"] == 1
    assert progress_data(frames, province="Sơn La", as_of=AS_OF)["counts"]["markers"] == 6


def test_built_date_after_as_of_shows_under_construction(frames):
    m = frames["markers"]
    frames["markers"] = m.assign(built_date=m["built_date"].where(
        m["number"] != "103", "2025-01-01").astype("datetime64[ms]"))
    def status_of(as_of):
        d = progress_data(frames, as_of=as_of)
        row = next(r for r in d["markers"]["rows"] if r[2] == "103")
        return d["enums"]["construction_status"][row[6]]
    assert status_of("2024-06-01") == "under_construction"
    assert status_of("2025-06-01") == "built"


def test_incidents_data_limits_and_errors(frames):
    everything = incidents_data(frames, limit=None)
    assert everything["complete"] and everything["total"] == 7
    cells = incidents_data(frames, limit=3, zoom=5, bbox="100,10,110,25")
    assert cells["mode"] == "cells" and sum(c[2] for c in cells["cells"]) == 7
    with pytest.raises(InvalidData):
        incidents_data(frames, kinds="arson")
    with pytest.raises(InvalidData):
        incidents_data(frames, date_from="someday")
    with pytest.raises(InvalidData):
        parse_bbox("3,2,1,0")
    assert incidents_data(frames, kinds=["khác"])["total"] == 2     # labels work too


def test_store_results_are_cached_by_data_version(tmp_path, frames):
    store = GeoPackageStore(tmp_path / "s.gpkg")
    store.write_many(frames)
    first = base_data(store)
    assert base_data(store) is first                               # cached
    store.write("provinces", frames["provinces"].iloc[:1])
    again = base_data(store)
    assert again is not first and len(again["provinces"]["features"]) == 1


def test_notebook_maps_render_in_jupyter(frames):
    m = progress_map(frames, tiles=None)
    html = m._repr_html_()
    assert "iframe" in html and len(html) > 100_000


# -- maps that read at a glance ---------------------------------------------------------------

def _rgb(c: str) -> tuple[int, int, int]:
    return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))


def test_cluster_colours_reuse_no_status_colour():
    """Cluster bubbles (and server-side cell counts) are sand-coloured: no colour that means a
    status anywhere (green would read 'resolved'), and none even close to one."""
    from bienmoc.maps import style

    statuses = style.status_colours()
    # every status palette is in there (a new palette must be added to status_colours)
    for pal in (style.STATUS_COLOURS, style.CONDITION_COLOURS, style.WORK_COLOURS,
                style.INCIDENT_COLOURS):
        assert {c.lower() for c in pal.values()} <= statuses
    assert {style.OVERDUE_RING, style.NEVER_RING, style.STALLED_HALO} <= statuses
    cluster = {c.lower() for pair in style.CLUSTER_COLOURS.values() for c in pair}
    assert len(cluster) >= 4 and cluster.isdisjoint(statuses)
    for c in cluster:
        for s in statuses:
            dist = sum((a - b) ** 2 for a, b in zip(_rgb(c), _rgb(s))) ** 0.5
            assert dist >= 60, (c, s, dist)
    css = style.cluster_css()
    for size in ("small", "medium", "large"):
        assert f".leaflet-container .marker-cluster-{size}{{background-color:" in css
    # markercluster's own green/yellow/orange are overridden in every map that clusters
    html = incidents_map(map_layers(), tiles=None).get_root().render()
    assert css in html


def test_province_outlines_are_clipped_off_the_boundary(frames):
    """The boundary is drawn once: no province outline runs within CLIP_M of it (they were
    a second, offset line); the outlines away from the line stay."""
    import geopandas as gpd
    import shapely

    from bienmoc.geometry.crs import metric_crs
    from bienmoc.maps.detail import CLIP_M, OUTLINE_TOL_M

    base = base_data(frames)
    lines = gpd.GeoDataFrame.from_features(base["province_lines"]["features"], crs=4326)
    assert sorted(lines["name"]) == ["Sơn La", "Thanh Hóa"]
    crs = metric_crs(frames["boundary"])
    border = frames["boundary"].to_crs(crs).geometry.iloc[0]
    outl = lines.to_crs(crs)
    # known answer: the line is x = 104.5 from lat 20.9 to 21.0 and each province shares
    # 0.05° of it (≈ 5.53 km): that edge is gone, plus CLIP_M at each of its ends
    for g in outl.geometry:
        assert g.distance(border) >= CLIP_M - 1
    raw = frames["provinces"].to_crs(crs).geometry.boundary
    for g, r in zip(outl.geometry, raw):
        assert 5_500 + 2 * CLIP_M - OUTLINE_TOL_M < r.length - g.length \
            < 5_600 + 2 * CLIP_M + OUTLINE_TOL_M
    assert shapely.get_num_geometries(outl.geometry.iloc[0]) >= 1


def test_due_markers_counted_per_section(frames):
    """Below the ring zoom the map shows one count per section of line, for each section
    length the browser may pick (known: marker 100 overdue; 100/1, 101, 102(1) never
    inspected; all within the first 10 km of the line)."""
    from bienmoc.maps.style import DUE_SECTION_KM

    d = progress_data(frames, as_of=AS_OF)
    assert [s for s, _ in d["due_sections"]] == list(DUE_SECTION_KM)
    rows = [r for r in d["markers"]["rows"] if r[9] > 0]
    for size, secs in d["due_sections"]:
        ((lon, lat, overdue, never, border, km0, km1),) = secs
        assert (overdue, never, border, km0, km1) == (1, 3, "LA", 0.0, size)
        assert lon == pytest.approx(sum(r[0] for r in rows) / 4, abs=1e-5)
        assert lat == pytest.approx(sum(r[1] for r in rows) / 4, abs=1e-5)
    # as of 15/01/2020 marker 100 was inspected 5 days before: four never inspected
    assert progress_data(frames, as_of="2020-01-15")["due_sections"][0][1][0][2:4] == [0, 4]
    # nothing due: empty sections, not missing ones
    assert progress_data({k: v for k, v in frames.items() if k != "markers"},
                         as_of=AS_OF)["due_sections"] == [[s, []] for s in DUE_SECTION_KM]


def test_gate_legend_lists_each_kind_and_status_shown(frames):
    html = overview_map(frames, tiles=None).get_root().render()
    items = re.findall(r'<div class="bm-gate-item" data-kind="(\w+)" data-status="(\w+)">'
                       r'<span class="bm-gate-sym"><span class="bm-gate bm-gk-\1 bm-gs-\2">'
                       r'</span></span>([^<]+)</div>', html)
    assert items == [("main", "open", "cửa khẩu chính – đang hoạt động"),
                     ("opening", "suspended", "lối mở – tạm dừng")]
    en = overview_map(frames, tiles=None, lang="en").get_root().render()
    assert "main gate – open</div>" in en and "border opening – suspended</div>" in en
    # filtered to Thanh Hóa: only the gate there
    th = overview_map(frames, tiles=None, province="Thanh Hóa").get_root().render()
    assert re.findall(r'data-kind="(\w+)" data-status="(\w+)"', th) == [("opening",
                                                                         "suspended")]
    # the payload carries each gate's kind, status and id (for its history link)
    gates = progress_data(frames)["gates"]
    assert {(g["id"], g["kind"], g["status"]) for g in gates} == {
        ("G-000001", "main", "open"), ("G-000002", "opening", "suspended")}


def test_unknown_filters_raise_naming_parameter_and_value(frames):
    from bienmoc.errors import NotFound
    from bienmoc.maps.filters import UnknownFilter

    with pytest.raises(UnknownFilter, match="unknown province 'Nowhere'") as e:
        progress_map(frames, province="Nowhere", tiles=None)
    assert isinstance(e.value, NotFound) and e.value.param == "province"
    assert sorted(e.value.valid) == sorted(["Sơn La", "Thanh Hóa", XSS[1]])
    with pytest.raises(UnknownFilter, match="unknown border 'XX'"):
        overview_map(frames, border="XX", tiles=None)
    with pytest.raises(UnknownFilter, match="unknown kind 'arson'"):
        incidents_map(frames, kinds="arson", tiles=None)
    # known values (any case for provinces) pass
    progress_map(frames, province="SƠN LA", border="LA", tiles=None)


def test_zoom_thresholds_reach_the_browser(frames):
    from bienmoc.maps.style import GATE_LABEL_ZOOM, MARKER_LABEL_ZOOM, RING_MIN_ZOOM

    cfg = _config(progress_map(frames, tiles=None).get_root().render())
    assert cfg["zooms"] == {"rings": RING_MIN_ZOOM, "marker_labels": MARKER_LABEL_ZOOM,
                            "gate_labels": GATE_LABEL_ZOOM, "section_px": 40}
    assert RING_MIN_ZOOM >= 11 and MARKER_LABEL_ZOOM >= 12 and GATE_LABEL_ZOOM >= 9
    assert cfg["history"] is None          # a notebook map has no server to link to
