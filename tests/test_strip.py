"""Strip map of a border section (maps/strip.py, api/strip.py, cli/strip.py) on the demo store."""
import os
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from bienmoc.testing import serve_app
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.cli.main import main
from bienmoc.errors import InvalidData
from bienmoc.geometry.locate import locate
from bienmoc.maps.strip import LABEL_GAP_PX, StripMap, strip_map, strip_svg
from bienmoc.model.numbers import parse_number
from bienmoc.storage import GeoPackageStore

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_ro(demo_store_path):
    return GeoPackageStore(demo_store_path)


@pytest.fixture(scope="module")
def la_svg(demo_ro):
    return strip_svg(demo_ro, "LA", 0, 50)


def _groups(svg: str, cls: str) -> list:
    root = ET.fromstring(svg)
    return [g for g in root.iter(SVG + "g") if g.get("class") == cls]


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_every_marker_of_the_section_in_numbering_order(demo_ro, la_svg):
    # independently of the drawing: the border model places each marker on its own border's
    # line (tri-point markers included) and groups parts 222(1)+222(2) into one position
    from bienmoc.geometry.locate import BorderModel

    bm = BorderModel.from_source(demo_ro).markers["LA"]
    stakes = set(demo_ro.read("markers").query("kind == 'stake'")["number"])
    sel = (bm.chainage >= 0) & (bm.chainage <= 50_000)
    expected = [p for p in bm.position[sel] if p not in {parse_number(n).position for n in stakes}]
    drawn = [g.get("data-number") for g in _groups(la_svg, "marker")]
    positions = [parse_number(n).position for n in drawn]
    positions = [p for i, p in enumerate(positions) if i == 0 or p != positions[i - 1]]
    assert len(expected) >= 10
    assert positions == expected
    # numbering order along the axis: the numbers grow (or fall) monotonically with chainage
    keys = [(p.main, p.sub) for p in map(parse_number, drawn)]
    assert keys == sorted(keys) or keys == sorted(keys, reverse=True)
    # and the x positions grow with chainage
    xs = [float(g.find(SVG + "circle").get("cx")) for g in _groups(la_svg, "marker")]
    assert xs == sorted(xs) and 150 <= xs[0] and xs[-1] <= 1400 - 30
    # the chainages agree with bienmoc.geometry.locate for markers nearest the LA line
    m = demo_ro.read("markers")
    loc = locate(m[m["number"].isin(drawn) & (m["border"] == "LA")], demo_ro)
    loc = loc[loc["border"] == "LA"].set_index("number")["chainage_m"]
    ch = {g.get("data-number"): float(g.get("data-chainage-m")) for g in _groups(la_svg, "marker")}
    assert len(loc) >= len(drawn) - 1
    np.testing.assert_allclose([ch[n] for n in loc.index], loc.to_numpy(), atol=0.1)


def test_rows_and_texts(demo_ro, la_svg):
    root = ET.fromstring(la_svg)
    text = "".join(root.itertext())
    assert "Sơ đồ duỗi thẳng tuyến biên giới Việt Nam – Lào, km 0 – km 50" in text
    assert "Cọc dấu" in text and "Cửa khẩu" in text and "Công trình" in text
    stakes = demo_ro.read("markers")
    stakes = locate(stakes[(stakes["border"] == "LA") & (stakes["kind"] == "stake")], demo_ro)
    n_stakes = int(((stakes["border"] == "LA") & stakes["chainage_m"].between(0, 50_000)).sum())
    assert len(_groups(la_svg, "stake")) == n_stakes
    # incidents of the section and their 1 km bins agree
    inc = locate(demo_ro.read("incidents"), demo_ro)
    inc = inc[(inc["border"] == "LA") & inc["chainage_m"].between(0, 50_000)]
    assert len(_groups(la_svg, "incident")) == len(inc)
    assert sum(int(g.get("data-count")) for g in _groups(la_svg, "hotspot")) == len(inc)
    assert [g.get("data-name") for g in _groups(la_svg, "province")] == ["Điện Biên"]
    en = strip_svg(demo_ro, "LA", 0, 50, lang="en")
    assert "Strip map of the Vietnam – Laos border, km 0 – km 50" in en
    # empty rows say so; the legend names the colours in the page's language
    assert "(không có)" in text and "(none)" in en
    legend = "".join(_groups(la_svg, "legend")[0].itertext())
    assert "đã xây dựng" in legend and "chậm tiến độ" in legend and "đang xác minh" in legend
    assert "stalled" in "".join(_groups(en, "legend")[0].itertext())


def test_long_section_thins_labels_but_draws_every_marker(demo_ro):
    svg = strip_svg(demo_ro, "LA", 0, 1000)
    groups = _groups(svg, "marker")
    labels = [g for g in groups if g.find(SVG + "text") is not None]
    assert len(groups) > 100 and 10 < len(labels) < len(groups)
    # bins of 5 km over 1000 km (at most ~200 bins), counts add up to the incidents drawn
    assert "Vụ việc / 5 km" in svg
    assert sum(int(g.get("data-count")) for g in _groups(svg, "hotspot")) == len(
        _groups(svg, "incident")) > 0
    xs = [float(g.find(SVG + "text").get("x")) for g in labels]
    assert min(np.diff(xs)) >= LABEL_GAP_PX
    assert [g.find(SVG + "text").text for g in labels] == [g.get("data-number") for g in labels]


def test_works_with_status_colours_and_gates(demo_ro):
    from bienmoc.analysis.progress import work_status
    from bienmoc.maps.style import WORK_COLOURS

    works = demo_ro.read("works")
    found = {"work": 0, "gate": 0}
    for as_of in ("2020-01-01", "2026-01-01"):
        status = work_status(demo_ro, as_of=as_of).set_index("id")["status"]
        for border in ("CN", "LA", "KH"):
            svg = strip_svg(demo_ro, border, 0, 2000, as_of=as_of)
            y, m, d = as_of.split("-")
            assert f"tính đến ngày {d}/{m}/{y}" in svg  # the Vietnamese date form
            for g in _groups(svg, "work"):
                wid = g.get("data-id")
                assert g.get("data-status") == status[wid]
                assert g.find(SVG + "rect").get("fill") == WORK_COLOURS[status[wid]]
                # the extent: every vertex of the work located on the line lies inside it
                w = works[works["id"] == wid]
                pts = w.geometry.get_coordinates()
                loc = locate(gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts.x, pts.y),
                                              crs=works.crs), demo_ro)
                loc = loc[loc["border"] == border]["chainage_m"]
                assert float(g.get("data-start-m")) <= loc.min() + 0.5
                assert float(g.get("data-end-m")) >= loc.max() - 0.5
                found["work"] += 1
            found["gate"] += len(_groups(svg, "gate"))
    assert found["work"] > 0 and found["gate"] > 0


def test_every_text_is_escaped(demo_ro):
    names = ("boundary", "markers", "provinces", "gates", "works", "incidents")
    src = {n: demo_ro.read(n) for n in names}
    bad = '<script>alert(1)</script>&"\''
    inc = locate(src["incidents"], demo_ro)
    i = inc.index[(inc["border"] == "LA") & inc["chainage_m"].between(0, 50_000)][0]
    src["incidents"] = src["incidents"].copy()
    src["incidents"].loc[i, "id"] = bad
    src["provinces"] = src["provinces"].copy()
    name_col = [c for c in src["provinces"].columns if c == "name"][0]
    src["provinces"][name_col] = src["provinces"][name_col].where(
        src["provinces"][name_col] != "Điện Biên", bad)
    svg = strip_svg(src, "LA", 0, 50)
    root = ET.fromstring(svg)  # still well-formed XML
    assert "<script" not in svg and root.find(SVG + "script") is None
    assert [g.get("data-name") for g in _groups(svg, "province")] == [bad]
    assert bad in [g.find(SVG + "circle/" + SVG + "title").text
                   for g in _groups(svg, "incident")]


def test_bad_ranges_name_the_value(demo_ro):
    with pytest.raises(InvalidData, match="from_km=50"):
        strip_svg(demo_ro, "LA", 50, 10)
    with pytest.raises(InvalidData, match="beyond the end of the LA line"):
        strip_svg(demo_ro, "LA", 99_999, 100_000)
    with pytest.raises(InvalidData, match="border='XX'"):
        strip_svg(demo_ro, "XX", 0, 10)


#: The strip map's size: 1400 wide; 490 high plus one 16 px row per extra legend row (the
#: Vietnamese legend wraps into two rows within the width).
SIZE = (1400, 506)


def test_legend_wraps_within_the_width(la_svg):
    """(Was one line running past the right edge at 1280 px.) Every legend item starts and
    ends inside the drawing, on rows 16 px apart."""
    from bienmoc.maps.strip import _CHAR_PX, WIDTH

    svg = ET.fromstring(la_svg)
    assert (float(svg.get("width")), float(svg.get("height"))) == SIZE
    (legend,) = _groups(la_svg, "legend")
    texts = [t for t in legend.iter() if t.tag.endswith("text")]
    assert len(texts) == 15
    ends = [float(t.get("x")) + _CHAR_PX * len(t.text) for t in texts]
    assert max(ends) <= WIDTH - 10
    assert sorted({float(t.get("y")) for t in texts}) == [4.0, 20.0]


def test_notebook_object_and_png(demo_ro, tmp_path):
    sm = strip_map(demo_ro, "LA", 0, 50)
    assert isinstance(sm, StripMap) and sm._repr_svg_().startswith("<svg")
    png = sm.to_png()
    assert _png_size(png) == SIZE
    sm.save(tmp_path / "s.png")
    sm.save(tmp_path / "s.svg")
    assert _png_size((tmp_path / "s.png").read_bytes()) == SIZE
    assert ET.fromstring((tmp_path / "s.svg").read_text("utf-8")) is not None
    # the PNG is not blank: the boundary colour is drawn
    assert len(set(png)) > 50


@pytest.fixture(scope="module")
def client(demo_ro):
    return TestClient(create_app(store=demo_ro, tiles=None))


def test_routes(client, la_svg):
    r = client.get("/strip.svg?border=LA&from_km=0&to_km=50&lang=vi")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text == la_svg
    r = client.get("/strip.png?border=LA&from_km=0&to_km=50")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert _png_size(r.content) == SIZE
    r = client.get("/strip?border=LA&from_km=0&to_km=50")
    assert r.status_code == 200 and la_svg in r.text
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "script-src 'self';" in csp
    assert "<script" not in r.text and "strip.png?border=LA" in r.text
    assert client.get("/strip?border=LA&from_km=10&to_km=5").status_code == 422
    assert client.get("/strip?border=<b>&to_km=5").status_code == 422
    assert client.get("/strip?border=LA&from_km=99999&to_km=99999.5").status_code == 422


def test_index_links_the_strip_map(client):
    assert "href='strip?lang=vi'" in client.get("/").text
    assert "Strip map of a border section" in client.get("/?lang=en").text


def test_cli(demo_store_path, tmp_path):
    run = CliRunner().invoke
    for name in ("s.svg", "s.png"):
        out = tmp_path / name
        r = run(main, ["--store", str(demo_store_path), "strip", "--border", "LA",
                       "--from-km", "0", "--to-km", "50", "-o", str(out)])
        assert r.exit_code == 0, r.output
    assert ET.fromstring((tmp_path / "s.svg").read_text("utf-8")) is not None
    assert _png_size((tmp_path / "s.png").read_bytes()) == SIZE
    r = run(main, ["--store", str(demo_store_path), "strip", "--border", "LA", "--to-km",
                   "50", "-o", str(tmp_path / "s.txt")])
    assert r.exit_code != 0 and ".svg hoặc .png" in r.output
    r = run(main, ["--store", str(demo_store_path), "strip", "--border", "LA", "--from-km",
                   "9999", "--to-km", "10000", "-o", str(tmp_path / "s.svg")])
    assert r.exit_code != 0 and "từ km 9999 nằm ngoài tuyến LA (dài " in r.output
    r = run(main, ["--store", str(demo_store_path), "strip", "--border", "LA", "--from-km",
                   "20", "--to-km", "10", "-o", str(tmp_path / "s.svg")])
    assert r.exit_code != 0 and "nhận được từ km = 20.0, đến km = 10.0" in r.output


# -- the page in headless Chromium, offline ------------------------------------------------
@pytest.fixture(scope="module")
def server(demo_ro):
    with serve_app(create_app(store=demo_ro, tiles=None)) as base:
        yield base


def test_strip_page_in_chromium(server, tmp_path):
    from test_browser import CHROMIUM, Visit, _need

    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "the playwright Python package is missing")
    art = Path(os.environ.get("BIENMOC_ARTIFACTS") or ROOT / "test-artifacts")
    art.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--headless=new", "--no-first-run"])
        try:
            v = Visit(b, f"{server}/strip?border=LA&from_km=0&to_km=50")
            assert v.response.status == 200
            n = v.page.evaluate("() => document.querySelectorAll('svg g.marker').length")
            assert n >= 10
            box = v.page.evaluate("() => document.querySelector('svg').getBoundingClientRect()"
                                  ".width")
            assert box > 500  # laid out, not collapsed
            v.page.screenshot(path=str(art / "strip.png"), full_page=True)
            v.assert_clean()
            # the form draws another section (a GET to /strip, no script)
            v.page.fill("input[name=to_km]", "20")
            with v.page.expect_navigation():
                v.page.click("button[type=submit]")
            assert "to_km=20" in v.page.url
            assert v.page.evaluate("() => document.querySelectorAll('svg g.marker').length") < n
            v.assert_clean()
        finally:
            b.close()
    assert (art / "strip.png").stat().st_size > 10_000


def test_gates_drawn_by_kind_and_status_as_on_the_web_maps(demo_ro):
    """Shape by kind, look by status (the web maps' rule); the legend names each pair drawn."""
    gates = demo_ro.read("gates")
    svg = strip_svg(demo_ro, "CN", 0, 2000)
    drawn = _groups(svg, "gate")
    want = gates[gates["border"] == "CN"]
    assert sorted((g.get("data-kind"), g.get("data-status")) for g in drawn) == sorted(
        zip(want["kind"], want["status"]))
    shape = {"international": "rect", "border_market": "rect", "main": "polygon",
             "auxiliary": "circle", "opening": "circle"}
    for g in drawn:
        first = list(g)[0]
        assert first.tag == SVG + shape[g.get("data-kind")]
        st = g.get("data-status")
        assert first.get("fill") == ("#ffffff" if st in ("planned", "closed") else "#000000")
        if st == "planned":
            assert first.get("stroke-dasharray") == "3 2"
        if st == "upgrading":
            assert first.get("stroke") == "#e6ab02"
        if st == "suspended":  # half filled: a white half over the black shape
            assert list(g)[1].get("fill") == "#ffffff"
    legend = [t.text for t in ET.fromstring(svg).iter(SVG + "text")]
    assert "cửa khẩu chính – quy hoạch" in legend and "lối mở – tạm dừng" in legend
    assert "cửa khẩu chính – đang nâng cấp" in legend
    assert not any("chợ biên giới" in (t or "") for t in legend)  # only the pairs drawn
