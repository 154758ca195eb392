import json

import pytest
from click.testing import CliRunner

from bienmoc.cli.main import main

#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_status_json_shape(store):
    r = run("--store", store.uri, "status", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert [d["province"] for d in data] == ["Sơn La", "Thanh Hóa"]
    sl = data[0]
    assert {k: sl[k] for k in ("border", "markers_total", "markers_built", "stakes_total",
                               "stakes_built")} == {"border": "LA", "markers_total": 3,
                                                    "markers_built": 2, "stakes_total": 2,
                                                    "stakes_built": 1}


def test_status_table_and_csv_show_the_same_numbers(store):
    r = run("--store", store.uri, "status", "--province", "Sơn La")
    assert r.exit_code == 0
    assert "2/3" in r.stdout and "1/2" in r.stdout
    assert "cột mốc: 2/3 đã xây dựng; cọc dấu: 1/2" in r.stdout
    r = run("--store", store.uri, "--lang", "en", "status", "--by", "border")
    assert "markers: 3/5 built; reference stakes: 1/2" in r.stdout
    r = run("--store", store.uri, "status", "--format", "csv", "--border", "la")
    assert r.stdout.splitlines()[0].startswith("border,province,markers_total,markers_built")


def test_status_bad_grouping_is_an_error_not_a_traceback(store):
    r = CliRunner().invoke(main, ["--store", store.uri, "status", "--by", "colour"])
    assert r.exit_code != 0 and "colour" in r.output


def test_store_from_environment(store, monkeypatch):
    monkeypatch.setenv("BIENMOC_STORE", store.uri)
    r = run("layers")
    assert r.exit_code == 0 and store.uri in r.stdout and "markers" in r.stdout


def test_without_store_uses_the_demo_store_and_says_so(tmp_path):
    r = run("status", "--border", "LA", "--format", "json")
    assert r.exit_code == 0
    assert "dùng kho dữ liệu mẫu" in r.stderr and "demo.gpkg" in r.stderr
    assert any(d["province"] == "Sơn La" for d in json.loads(r.stdout))


# -- analytics commands on the tiny world (line along lon 104.5, 21.0 -> 20.9) ---------------
def _points_file(tmp_path):
    import geopandas as gpd
    import shapely

    p = tmp_path / "inc.geojson"
    gpd.GeoDataFrame({"ref": ["a", "b"]},
                     geometry=[shapely.Point(104.502, 20.975), shapely.Point(104.498, 20.92)],
                     crs=4326).to_file(p)
    return p


def test_locate_geojson_keeps_properties_and_adds_columns(store, tmp_path):
    r = run("--store", store.uri, "locate", str(_points_file(tmp_path)))
    assert r.exit_code == 0, r.output
    feats = json.loads(r.stdout)["features"]
    a, b = (f["properties"] for f in feats)
    assert a["ref"] == "a" and a["side"] == "VN" and b["side"] == "LA"
    assert (a["marker_before"], a["marker_after"]) == ("101/1", "102")
    assert (b["marker_before"], b["marker_after"]) == ("103", "104")
    assert a["province"] == "Sơn La" and b["province"] == "Thanh Hóa"
    assert 200 < a["distance_m"] < 215  # 0.002 deg of longitude at 21 N is about 208 m
    assert a["location_vi"].startswith("khu vực mốc 101/1 – 102, cách mốc 102 khoảng")
    r = run("--store", store.uri, "locate", str(_points_file(tmp_path)), "--format", "csv")
    assert r.stdout_bytes.startswith(b"\xef\xbb\xbf") and "location_en" in r.stdout


def test_check_exit_code(store):
    r = CliRunner().invoke(main, ["--store", store.uri, "check", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == []  # the fixture is clean
    markers = store.read("markers")
    import shapely

    from bienmoc.model.schema import validate

    off = markers.iloc[:1].assign(id=None, number="103/1", province="Thanh Hóa",
                                  geometry=[shapely.Point(104.5001, 20.905)])  # ~10 m off
    store.write("markers", validate("markers", off, existing=markers), mode="append")
    r = CliRunner().invoke(main, ["--store", store.uri, "check", "--format", "json"])
    assert r.exit_code == 1
    (finding,) = [f for f in json.loads(r.stdout) if f["check"] == "off_line"]
    assert finding["markers"] == "103/1" and 10 < finding["value"] < 11
    r = CliRunner().invoke(main, ["--store", store.uri, "check", "--tolerance", "large=20"])
    assert r.exit_code == 0 and "103/1" not in r.stdout  # a copy of marker 100: large
    r = CliRunner().invoke(main, ["--store", store.uri, "check", "--tolerance", "small=oops"])
    assert r.exit_code == 2


def test_spacing_lengths_hotspots(store):
    r = run("--store", store.uri, "spacing", "--max-spacing", "2000", "--format", "json")
    assert r.exit_code == 0
    stakes = json.loads(r.stdout)
    assert {s["marker_from"] for s in stakes} == {"102", "103"}
    assert "103/1" in {s["number"] for s in stakes}
    r = run("--store", store.uri, "lengths", "--by", "border", "--format", "json")
    assert abs(json.loads(r.stdout)[0]["length_km"] - 11.06) < 0.05
    r = run("--store", store.uri, "hotspots", "--format", "json")
    assert sum(h["incidents"] for h in json.loads(r.stdout)) == 3
