"""Import/export through the CLI and the library: formats, round trips, every bad input."""
import json
import zipfile

import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from bienmoc import InvalidData
from bienmoc.cli.main import main
from bienmoc.io.files import export_layer, import_layer, read_source

HEADER = "number,border,kind,arrangement,construction_status,condition,province,lon,lat\n"


def run(store, *args, input=None):
    return CliRunner().invoke(main, ["--store", store.uri, *args], input=input,
                              catch_exceptions=False)


def csv_file(tmp_path, body, name="m.csv", header=HEADER, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes((header + body).encode(encoding))
    return p


def test_import_csv_appends(store, tmp_path):
    p = csv_file(tmp_path, "105,LA,mốc tiểu,single,built,good,Thanh Hóa,104.5,20.91\n"
                           "105/1,LA,stake,single,planned,unknown,Thanh Hóa,104.5,20.905\n")
    r = run(store, "import", "markers", str(p))
    assert r.exit_code == 0, r.output
    m = store.read("markers")
    assert len(m) == 10
    row = m[m["number"] == "105"].iloc[0]
    assert row["kind"] == "small" and row["province"] == "Thanh Hóa"
    assert row.geometry.equals(shapely.Point(104.5, 20.91))


BAD_CASES = {
    "unknown enum value": ("105,LA,giant,single,built,good,X,104.5,20.91\n", 1, "kind"),
    "malformed number": ("10a5,LA,small,single,built,good,X,104.5,20.91\n", 1, "number"),
    "duplicate on one border (store)": ("103,LA,small,single,built,good,X,104.5,20.91\n", 1,
                                        "number"),
    "duplicate within the file": ("106,LA,small,single,built,good,X,104.5,20.91\n"
                                  "106,LA,small,single,built,good,X,104.5,20.92\n", 2, "number"),
    "missing geometry": ("105,LA,small,single,built,good,X,,\n", 1, "geometry"),
    "out of range": ("105,LA,small,single,built,good,X,204.5,20.91\n", 1, "geometry"),
    "projected without --crs": ("105,LA,small,single,built,good,X,500123.4,2310456.7\n", 1,
                                "geometry"),
    "unknown border": ("105,ZZ,small,single,built,good,X,104.5,20.91\n", 1, "border"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_rows_are_listed_and_the_store_is_unchanged(store, tmp_path, case):
    body, row, field = BAD_CASES[case]
    # a good row first: it must not be written either
    p = csv_file(tmp_path, "107,LA,small,single,built,good,X,104.5,20.95\n" + body)
    before, version = store.read("markers"), store.version()
    r = run(store, "import", "markers", str(p))
    assert r.exit_code == 1
    assert f"dòng {row + 1}" in r.output and f"trường '{field}'" in r.output, r.output
    assert store.version() == version
    assert_geodataframe_equal(store.read("markers"), before)


def test_error_messages_in_english(store, tmp_path):
    p = csv_file(tmp_path, "105,LA,giant,single,built,good,X,104.5,20.91\n")
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "import", "markers",
                                  str(p)])
    assert r.exit_code == 1 and "row 1, field 'kind'" in r.output and "unchanged" in r.output


def test_wrong_geometry_type_geojson(store, tmp_path):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"number": "110", "border": "LA", "kind": "small",
                                           "arrangement": "single",
                                           "construction_status": "built", "condition": "good"},
         "geometry": {"type": "LineString", "coordinates": [[104.5, 20.9], [104.6, 20.9]]}},
        {"type": "Feature", "properties": {"number": "111", "border": "LA", "kind": "small",
                                           "arrangement": "single",
                                           "construction_status": "built", "condition": "good"},
         "geometry": None}]}
    p = tmp_path / "bad.geojson"
    p.write_text(json.dumps(fc))
    version = store.version()
    r = run(store, "import", "markers", str(p))
    assert r.exit_code == 1
    assert "dòng 1, trường 'geometry': sai kiểu hình học LineString; cần Point" in r.output
    assert "dòng 2, trường 'geometry': thiếu tọa độ (hình học rỗng)" in r.output
    assert store.version() == version


@pytest.mark.parametrize("content", [b"", b"   \n", HEADER.encode()])
def test_empty_files(store, tmp_path, content):
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    version = store.version()
    r = run(store, "import", "markers", str(p))
    assert r.exit_code == 1
    expected = "chỉ có dòng tiêu đề" if content.strip() else "tệp empty.csv rỗng"
    assert expected in r.output, r.output
    assert store.version() == version
    g = tmp_path / "empty.geojson"
    g.write_text('{"type": "FeatureCollection", "features": []}')
    r = run(store, "import", "markers", str(g))
    assert r.exit_code == 1 and "không có bản ghi nào" in r.output
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "import", "markers",
                                  str(g)])
    assert r.exit_code == 1 and "holds no records" in r.output


def test_non_utf8_csv_is_refused_unless_encoding_given(store, tmp_path):
    body = "105,LA,small,single,built,good,Thanh Hóa,104.5,20.91\n"
    p = csv_file(tmp_path, body, encoding="cp1258")
    version = store.version()
    r = run(store, "import", "markers", str(p))
    assert r.exit_code == 1 and "không đúng mã utf-8" in r.output and "ở dòng 2" in r.output
    assert "--encoding" in r.output
    assert store.version() == version
    r = run(store, "import", "markers", str(p), "--encoding", "cp1258")
    assert r.exit_code == 0, r.output
    assert "Thanh Hóa" in set(store.read("markers")["province"])


def test_csv_xy_in_vn2000_with_crs(store, tmp_path):
    lon, lat = 104.5, 20.915
    x, y = Transformer.from_crs(4326, 3405, always_xy=True).transform(lon, lat)
    p = csv_file(tmp_path, f"105,LA,small,single,built,good,Thanh Hóa,{x:.3f},{y:.3f}\n",
                 header=HEADER.replace("lon,lat", "x,y"))
    r = run(store, "import", "markers", str(p))
    assert r.exit_code == 1 and "--crs" in r.output  # projected numbers without a CRS
    r = run(store, "import", "markers", str(p), "--crs", "EPSG:3405")
    assert r.exit_code == 0, r.output
    pt = store.read("markers").set_index("number").loc["105", "geometry"]
    assert abs(pt.x - lon) < 1e-7 and abs(pt.y - lat) < 1e-7


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
def test_export_then_import_round_trip(store, tmp_path, fmt):
    ext = {"shp": "zip"}.get(fmt, fmt)
    out = tmp_path / f"markers.{ext}"
    r = run(store, "export", "markers", "--format", fmt, "--output", str(out))
    assert r.exit_code == 0, r.output
    original = store.read("markers")
    from bienmoc.storage import GeoPackageStore

    fresh = GeoPackageStore(tmp_path / f"fresh-{fmt}.gpkg")
    fresh.write("boundary", store.read("boundary"))
    r = run(fresh, "import", "markers", str(out))
    assert r.exit_code == 0, r.output
    back = fresh.read("markers")
    assert_geodataframe_equal(back, original, check_less_precise=True)


def test_export_to_stdout_and_xlsx_keeps_diacritics(store, tmp_path):
    r = CliRunner().invoke(main, ["--store", store.uri, "export", "markers", "--format",
                                  "geojson"])
    assert r.exit_code == 0
    fc = json.loads(r.stdout_bytes)
    assert len(fc["features"]) == 8 and fc["features"][0]["properties"]["province"] == "Sơn La"
    r = CliRunner().invoke(main, ["--store", store.uri, "export", "markers", "--format", "csv"])
    assert r.stdout_bytes.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    assert "Sơn La".encode() in r.stdout_bytes and b"\r\n" in r.stdout_bytes
    out = tmp_path / "m.xlsx"
    r = run(store, "export", "markers", "--output", str(out), "--labels", "vi")
    assert r.exit_code == 0, r.output
    ws = openpyxl.load_workbook(out).active
    headers = [c.value for c in ws[1]]
    assert "Số hiệu mốc" in headers and "Tình trạng xây dựng" in headers
    values = {c.value for row in ws.iter_rows(min_row=2) for c in row}
    assert {"Sơn La", "mốc đại", "đã xây dựng", "cọc dấu"} <= values


def test_shapefile_to_stdout_is_a_zip(store, tmp_path):
    r = CliRunner().invoke(main, ["--store", store.uri, "export", "gates", "--format", "shp"])
    p = tmp_path / "g.zip"
    p.write_bytes(r.stdout_bytes)
    assert {n.rsplit(".", 1)[1] for n in zipfile.ZipFile(p).namelist()} >= {"shp", "dbf", "prj"}
    raw, _ = read_source(p, "gates")
    assert "paired_gate" in raw.columns  # the 10-character DBF name was mapped back


def test_import_layer_replace_mode_library(store, tmp_path, layers):
    p = tmp_path / "g.geojson"
    export_layer(layers["gates"].iloc[:1], "geojson", p, kind="gates")
    import_layer(store, "gates", p, mode="replace")
    assert len(store.read("gates")) == 1
    with pytest.raises(InvalidData):
        import_layer(store, "nonsense", p)
    assert isinstance(pd.DataFrame(), pd.DataFrame)
