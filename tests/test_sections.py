"""Line sections (demarcation status by chainage): entry rules, the summary, CLI import/export.

The test world (bienmoc.testing): one LA line along longitude 104.5 from latitude 21.0 to 20.9
(11,067.6 m in UTM 48N), Sơn La owning chainage 0–5,550 m and Thanh Hóa the rest.
"""
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from bienmoc.analysis.demarcation import demarcation_summary
from bienmoc.cli.main import main
from bienmoc.errors import InvalidData
from bienmoc.geometry.locate import BorderModel
from bienmoc.records import import_records
from test_browser import browser  # noqa: F401 - the offline Chromium fixture

SECTIONS = pd.DataFrame({"border": ["LA", "LA"], "from_m": [0, 3000], "to_m": [3000, 9000],
                         "status": ["demarcated", "chưa phân giới cắm mốc"],
                         "document": ["Nghị định thư 2016", None]})


def test_sections_enter_with_ids_geometry_and_province(store):
    out = import_records(store, "line_sections", SECTIONS)
    assert list(out["id"]) == ["S-000001", "S-000002"]
    got = store.read("line_sections")
    assert list(got["status"]) == ["demarcated", "not_demarcated"]
    # province filled from the line: 0–3000 m lies in Sơn La; 3000–9000 m mostly Thanh Hóa
    assert list(got["province"]) == ["Sơn La", "Thanh Hóa"]
    # geometry is the line between the chainages: its metric length equals to_m - from_m
    model = BorderModel.from_source(store)
    lengths = got.to_crs(model.crs).geometry.length.to_numpy()
    assert lengths == pytest.approx([3000.0, 6000.0], abs=0.5)
    # and its ends locate back to the chainages
    ends = model.locate(got.geometry.boundary.explode(index_parts=False), describe=False)
    assert sorted(ends["chainage_m"].round()) == [0.0, 3000.0, 3000.0, 9000.0]


def test_summary_known_kilometres_per_province(store):
    import_records(store, "line_sections", SECTIONS)
    df = demarcation_summary(store)
    assert list(df.columns) == ["border", "province", "demarcated_km", "not_demarcated_km",
                                "total_km"]
    rows = {r.province: r for r in df.itertuples()}
    # Sơn La: demarcated 0–3000, not demarcated 3000–5550; Thanh Hóa: not 5550–9000
    assert rows["Sơn La"].demarcated_km == pytest.approx(3.0)
    assert rows["Sơn La"].not_demarcated_km == pytest.approx(2.55)
    assert rows["Sơn La"].total_km == pytest.approx(5.55)
    assert rows["Thanh Hóa"].demarcated_km == pytest.approx(0.0)
    assert rows["Thanh Hóa"].not_demarcated_km == pytest.approx(3.45)
    assert rows["Thanh Hóa"].total_km == pytest.approx(11.0676 - 5.55, abs=1e-3)
    one = demarcation_summary(store, province="sơn la", border="LA")
    assert list(one["province"]) == ["Sơn La"] and one["demarcated_km"].iloc[0] == \
        pytest.approx(3.0)
    assert demarcation_summary(store, border="CN").empty


def test_overlap_is_refused_naming_row_field_and_section(store):
    import_records(store, "line_sections", SECTIONS)
    with pytest.raises(InvalidData) as e:
        import_records(store, "line_sections", pd.DataFrame(
            {"border": ["LA", "LA"], "from_m": [9000, 2500], "to_m": [10000, 2800],
             "status": ["demarcated", "demarcated"]}))
    (p,) = e.value.problems
    assert (p.row, p.field, p.rule) == (2, "from_m", "overlap")
    assert "2500–2800 m" in p.reason and "S-000001 (0–3000 m)" in p.reason
    assert len(store.read("line_sections")) == 2  # nothing half-written
    # within one import too
    with pytest.raises(InvalidData) as e:
        import_records(store, "line_sections", pd.DataFrame(
            {"border": ["LA", "LA"], "from_m": [9500, 9000], "to_m": [10500, 9600],
             "status": ["demarcated", "demarcated"]}))
    (p,) = e.value.problems
    assert (p.row, p.field) == (1, "from_m") and "overlaps row 2 (9000–9600 m)" in p.reason
    # a deliberate override is stored on the record
    out = import_records(store, "line_sections", pd.DataFrame(
        {"border": ["LA"], "from_m": [2500], "to_m": [2800], "status": ["demarcated"]}),
        allow=["overlap"])
    assert out["overrides"].iloc[0].startswith("overlap: section 2500–2800 m")
    # replacing the layer does not compare with the records it replaces
    import_records(store, "line_sections", SECTIONS, mode="replace")
    assert len(store.read("line_sections")) == 2


def test_chainage_order_length_and_province_rules(store):
    with pytest.raises(InvalidData) as e:
        import_records(store, "line_sections", pd.DataFrame(
            {"border": ["LA", "LA", "LA"], "from_m": [500, 11000, 6000],
             "to_m": [400, 12000, 7000], "status": ["demarcated"] * 3,
             "province": [None, None, "Sơn La"]}))
    got = [(p.row, p.field, p.rule) for p in e.value.problems]
    assert got == [(1, "to_m", ""), (2, "to_m", ""), (3, "province", "province")]
    assert "to_m 400 m is not after from_m 500 m" in e.value.problems[0].reason
    assert "beyond the end of the LA line (11068 m)" in e.value.problems[1].reason
    assert "which lies in Thanh Hóa" in e.value.problems[2].reason
    # an order error cannot be overridden
    with pytest.raises(InvalidData):
        import_records(store, "line_sections", pd.DataFrame(
            {"border": ["LA"], "from_m": [500], "to_m": [400], "status": ["demarcated"]}),
            allow=["overlap", "province"])


def test_cli_import_export_and_vietnamese_errors(store, tmp_path):
    good = tmp_path / "sections.csv"
    good.write_text("border,from_m,to_m,status,document\n"
                    "LA,0,3000,đã phân giới cắm mốc,Nghị định thư 2016\n"
                    "LA,3000,9000,chưa phân giới cắm mốc,\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["--store", store.uri, "import", "line_sections", str(good)])
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("border,from_m,to_m,status\nLA,2000,4000,demarcated\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["--store", store.uri, "import", "line_sections", str(bad)])
    assert r.exit_code != 0
    assert ("dòng 1, trường 'from_m': đoạn 2.000–4.000 m của đường biên giới LA chồng lấn "
            "đoạn S-000001 (0–3.000 m)") in r.output   # Vietnamese thousands separators
    out = tmp_path / "out.geojson"
    r = CliRunner().invoke(main, ["--store", store.uri, "export", "line_sections", "--format",
                                  "geojson", "-o", str(out)])
    assert r.exit_code == 0, r.output
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["status"] for f in feats] == ["demarcated", "not_demarcated"]
    assert all(f["geometry"]["type"] == "LineString" for f in feats)


# -- the demo's illustrative VN–Cambodia sections ----------------------------------------------
def test_demo_sections_cover_kh_and_pass_every_entry_rule(demo):
    sections = demo.read("line_sections")
    assert len(sections) == 15 and set(sections["border"]) == {"KH"}
    model = BorderModel.from_source(demo)
    # they tile the whole KH line, in order, without gaps
    f, t = sections["from_m"].to_numpy(), sections["to_m"].to_numpy()
    assert f[0] == 0 and (f[1:] == t[:-1]).all()
    assert t[-1] == pytest.approx(model.index.length_m["KH"], abs=1)
    # the files went through validate() only: the entry rules accept them as they are
    again = import_records(demo, "line_sections", sections.drop(columns="geometry"),
                           mode="replace")
    assert len(again) == 15
    # the derived geometry equals the shipped one (same chainage convention)
    assert again.geometry.geom_equals_exact(sections.geometry, tolerance=1e-6).all()


def test_demo_summary_tay_ninh_and_kh_share(demo):
    kh = demarcation_summary(demo, border="KH")
    total = kh["total_km"].sum()
    done = kh["demarcated_km"].sum()
    assert total == pytest.approx(1180.45, abs=0.1)   # the generalised line, not 1,137 km
    assert kh["not_demarcated_km"].sum() + done == pytest.approx(total, abs=0.01)
    assert 0.84 <= done / total <= 0.88                  # public figure: about 84 %
    tn = demarcation_summary(demo, province="Tây Ninh")
    (row,) = tn.itertuples()
    # S-000007 786,264–804,456 m is Tây Ninh's not-demarcated section
    assert row.not_demarcated_km == pytest.approx((804456 - 786264) / 1000, abs=0.01)
    assert row.demarcated_km + row.not_demarcated_km == pytest.approx(row.total_km, abs=0.2)
    # every KH marker not yet built lies in a not-demarcated section
    markers = demo.read("markers")
    kh_m = markers[markers["border"] == "KH"]
    ch = BorderModel.from_source(demo).locate(kh_m, describe=False)["chainage_m"].to_numpy()
    sec = demo.read("line_sections").sort_values("from_m")
    k = sec["from_m"].searchsorted(ch, side="right") - 1
    in_not = (sec["status"].to_numpy()[k] == "not_demarcated")
    assert (in_not == (kh_m["construction_status"] != "built").to_numpy()).all()


# -- maps ---------------------------------------------------------------------------------------
def test_progress_map_shows_sections_with_legend_in_both_languages(store):
    from bienmoc.maps.data import progress_data
    from bienmoc.maps.progress import progress_map

    import_records(store, "line_sections", SECTIONS)
    d = progress_data(store, as_of="2026-01-01")
    feats = d["sections"]["features"]
    assert [(f["properties"]["id"], f["properties"]["status"], f["properties"]["from_m"],
             f["properties"]["to_m"]) for f in feats] == [
        ("S-000001", "demarcated", 0, 3000), ("S-000002", "not_demarcated", 3000, 9000)]
    assert progress_data(store, province="Sơn La")["sections"]["features"][0][
        "properties"]["id"] == "S-000001"
    html = progress_map(store, tiles=None).get_root().render()
    assert "Tình trạng phân giới cắm mốc" in html and "chưa phân giới cắm mốc" in html
    assert '"dashArray":"10 8"' in html and '"id":"S-000002"' in html
    en = progress_map(store, tiles=None, lang="en").get_root().render()
    assert "Demarcation status" in en and "not demarcated" in en


def test_strip_map_band_of_demarcation_status(store):
    import re

    from bienmoc.maps.strip import strip_svg

    import_records(store, "line_sections", SECTIONS)
    svg = strip_svg(store, "LA", 2, 10)
    got = re.findall(r'<g class="section" data-id="([^"]+)" data-status="([^"]+)" '
                     r'data-from-m="([^"]+)" data-to-m="([^"]+)"', svg)
    # clipped to the strip's 2–10 km window
    assert got == [("S-000001", "demarcated", "2000.0", "3000.0"),
                   ("S-000002", "not_demarcated", "3000.0", "9000.0")]
    assert "Phân giới cắm mốc" in svg and ">chưa phân giới cắm mốc<" in svg
    assert ">not demarcated<" in strip_svg(store, "LA", 0, 11, lang="en")


def test_progress_map_draws_sections_in_chromium(browser, tmp_path):
    """maps.js draws the bands (a popup with the layer's labels), no JS error or CSP
    violation (tests/test_browser.py's offline Chromium)."""
    from test_browser import Visit

    from bienmoc.api import create_app
    from bienmoc.storage import GeoPackageStore
    from bienmoc.testing import make_layers, serve_app

    store = GeoPackageStore(tmp_path / "maps.gpkg")
    store.write_many(make_layers())
    import_records(store, "line_sections", SECTIONS)
    with serve_app(create_app(store=store, tiles=None)) as base:
        v = Visit(browser, f"{base}/maps/progress?as_of=2026-01-01")
        (stats,) = v.ready()
        assert stats["errors"] == [] and stats["sections"] == 2
        text = v.page.evaluate("""() => { const st = window.bienmoc.maps[0];
            return st.groups.sections.getLayers().map(l => st.popupFor(l).textContent); }""")
        assert any("chưa phân giới cắm mốc" in t and "Từ lý trình (m)" in t and "3.000" in t
                   for t in text), text
        v.assert_clean()


def test_sections_served_as_an_ogc_collection(demo):
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app

    c = TestClient(create_app(store=demo, tiles=None))
    r = c.get("/collections/line_sections/items", params={"status": "not_demarcated"})
    assert r.status_code == 200
    assert [f["id"] for f in r.json()["features"]] == ["S-000007", "S-000010", "S-000014"]
    r = c.get("/collections/line_sections/items/S-000007")
    assert r.json()["properties"]["province"] == "Tây Ninh" and r.headers["etag"]
