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
    assert ("dòng 1, trường 'from_m': đoạn 2000–4000 m của đường biên giới LA chồng lấn đoạn "
            "S-000001 (0–3000 m)") in r.output
    out = tmp_path / "out.geojson"
    r = CliRunner().invoke(main, ["--store", store.uri, "export", "line_sections", "--format",
                                  "geojson", "-o", str(out)])
    assert r.exit_code == 0, r.output
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["status"] for f in feats] == ["demarcated", "not_demarcated"]
    assert all(f["geometry"]["type"] == "LineString" for f in feats)
