"""Metric CRS: the default UTM zone, and refusal of degree systems and distorting projections."""
import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from bienmoc import InvalidData
from bienmoc.cli.main import main
from bienmoc.geometry.crs import (check_metric, is_vn2000, metric_crs, parse_crs, scale_error,
                                  to_metric)


def pts(*lonlat, crs=4326):
    return gpd.GeoSeries([shapely.Point(x, y) for x, y in lonlat], crs=4326).to_crs(crs)


@pytest.mark.parametrize("lonlat, epsg", [
    ([(104.5, 21.0)], 32648),                  # Sơn La: zone 48 (102-108 °E)
    ([(102.2, 22.4), (107.9, 21.6)], 32648),   # whole VN-China line, centre 105 °E
    ([(106.7, 22.8), (108.1, 21.5)], 32648),   # Lạng Sơn - Quảng Ninh, centre 107.4 °E
    ([(108.2, 14.5), (108.5, 14.6)], 32649),   # east of 108 °E: zone 49
    ([(106.0, 11.0)], 32648),                  # Tây Ninh
])
def test_default_utm_zone_holds_the_data_centre(lonlat, epsg):
    assert metric_crs(pts(*lonlat)).to_epsg() == epsg
    # the same data given in another CRS picks the same zone
    assert metric_crs(pts(*lonlat, crs=3405)).to_epsg() == epsg


def test_default_without_data_is_utm_48n():
    assert metric_crs().to_epsg() == 32648
    assert metric_crs(gpd.GeoSeries([], crs=4326)).to_epsg() == 32648


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4756", "EPSG:2227"])
def test_non_metric_crs_is_refused(crs):
    with pytest.raises(InvalidData, match="not projected|not metres"):
        check_metric(crs)
    with pytest.raises(InvalidData):
        metric_crs(pts((104.5, 21.0)), crs)


def test_unknown_crs_is_an_invalid_data_error():
    with pytest.raises(InvalidData, match="unknown CRS"):
        check_metric("EPSG:99999999")


def test_web_mercator_is_refused_naming_a_suitable_crs():
    data = pts((103.5, 22.0), (104.5, 21.5))
    # known answer: Mercator scale is 1/cos(lat): 1/cos(22°) - 1 = 7.85 %
    assert scale_error("EPSG:3857", [[103.5, 22.0]]) == pytest.approx(0.0785, abs=5e-4)
    with pytest.raises(InvalidData) as e:
        metric_crs(data, "EPSG:3857")
    msg = str(e.value)
    assert "EPSG:3857" in msg and "7.85 %" in msg and "EPSG:32648" in msg


def test_utm_zone_far_from_its_meridian_is_refused():
    data = pts((103.0, 21.5), (104.0, 21.0))  # Điện Biên / Sơn La, 8 ° from 111 °E
    with pytest.raises(InvalidData, match="EPSG:32649 distorts distances.*use EPSG:32648"):
        metric_crs(data, "EPSG:32649")
    assert metric_crs(data, "EPSG:32648").to_epsg() == 32648


def test_vn2000_zones_accepted_near_their_meridian_refused_far():
    sonla = pts((103.8, 21.3), (104.4, 20.9))
    assert metric_crs(sonla, "EPSG:9206").to_epsg() == 9206      # TM-3 104°, k0 = 0.9999
    assert metric_crs(sonla, "EPSG:3405").to_epsg() == 3405      # VN-2000 / UTM 48N
    quang_ninh = pts((107.9, 21.55))                              # 3.9 ° east of 104 °E
    with pytest.raises(InvalidData, match="EPSG:9206 distorts"):
        metric_crs(quang_ninh, "EPSG:9206")


def test_distances_in_the_default_crs_are_true_within_the_limit():
    # 0.1 ° of latitude along a meridian near 21 °N is 11,069 m on the ellipsoid
    line = gpd.GeoSeries([shapely.LineString([(104.5, 21.0), (104.5, 21.1)])], crs=4326)
    assert to_metric(line).length.iloc[0] == pytest.approx(11069, rel=1e-3)


def test_is_vn2000():
    assert is_vn2000("EPSG:3405") and is_vn2000("EPSG:9206")
    assert not is_vn2000("EPSG:32648") and not is_vn2000("EPSG:4756") and not is_vn2000(None)


def test_cli_refuses_web_mercator(store):
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "lengths", "--by",
                                  "border", "--metric-crs", "EPSG:3857"])
    assert r.exit_code == 1 and "EPSG:3857 distorts distances" in r.output, r.output
    r = CliRunner().invoke(main, ["--store", store.uri, "lengths", "--by", "border",
                                  "--metric-crs", "EPSG:3857"])
    assert r.exit_code == 1 and "làm sai lệch khoảng cách" in r.output, r.output


@pytest.mark.parametrize("args", [["import", "markers", "{p}", "--crs", "+proj=utm +zone=48"],
                                  ["import", "markers", "{p}", "--crs", "EPSG:nonsense"],
                                  ["export", "markers", "--crs", "nonsense", "-o", "{o}"]])
def test_bad_crs_options_are_clear_errors(store, tmp_path, args):
    p = tmp_path / "m.csv"
    p.write_text("number,border,kind,arrangement,construction_status,condition,x,y\n"
                 "105,LA,small,single,built,good,500000,2300000\n")
    args = [a.format(p=p, o=tmp_path / "out.csv") for a in args]
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", *args])
    assert r.exit_code in (1, 2) and "Traceback" not in r.output  # 2: a usage error (click)
    assert "PROJ string" in r.output or "unknown CRS" in r.output, r.output
    assert not (tmp_path / "out.csv").exists()


def test_parse_crs_accepts_codes():
    assert parse_crs("EPSG:9206").to_epsg() == 9206 and parse_crs("9206").to_epsg() == 9206
    assert parse_crs(3405).to_epsg() == 3405
