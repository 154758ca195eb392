"""Locate and describe: marker pairs by position along the line, descriptions, provinces."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

from bienmoc.geometry.locate import BorderModel, describe_vi, format_distance, locate

UTM = 32648
X0, Y0 = 500000.0, 2300000.0


def world(numbers_forward=True, border="LA"):
    """A 10 km eastward line; markers every km: 1..11 (or 11..1 when backwards, like CN),
    a stake 3/1 at 2.5 km (2/1 ... when backwards) and a double marker at 5 km whose parts
    stand 10 m either side of the line. Province A west of x=5.2 km, B east."""
    line = shapely.LineString([(X0, Y0), (X0 + 10000, Y0)])
    boundary = gpd.GeoDataFrame({"border": [border], "home_side": ["left"]}, geometry=[line],
                                crs=UTM)
    nums, pts = [], []
    for k in range(11):
        n = k + 1 if numbers_forward else 11 - k
        if k == 5:
            nums += [f"{n}(1)", f"{n}(2)"]
            pts += [shapely.Point(X0 + 5000, Y0 - 10), shapely.Point(X0 + 5000, Y0 + 10)]
        else:
            nums.append(str(n))
            pts.append(shapely.Point(X0 + 1000 * k, Y0 + 1))
    stake = "3/1" if numbers_forward else "8/1"
    nums.append(stake)
    pts.append(shapely.Point(X0 + 2500, Y0))
    markers = gpd.GeoDataFrame({"border": border, "number": nums}, geometry=pts, crs=UTM)
    provinces = gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=[shapely.box(X0 - 1000, Y0, X0 + 5200, Y0 + 9000),
                                        shapely.box(X0 + 5200, Y0, X0 + 12000, Y0 + 9000)],
        crs=UTM)
    return {"boundary": boundary.to_crs(4326), "markers": markers.to_crs(4326),
            "provinces": provinces.to_crs(4326)}


def pts(*xy):
    return gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(xy))]},
                            geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=UTM)


def test_forward_numbering():
    r = locate(pts((1200, 45), (2700, -300), (5400, 20)), world(), crs=UTM)
    assert list(r["name"]) == ["p0", "p1", "p2"]  # input properties kept
    assert list(r["marker_before"]) == ["2", "3/1", "6"]
    assert list(r["marker_after"]) == ["3", "4", "7"]
    assert list(r["nearest_marker"]) == ["2", "3/1", "6"]
    assert list(r["side"]) == ["VN", "LA", "VN"]
    assert r["distance_m"].tolist() == pytest.approx([45, 300, 20], abs=0.01)
    assert r["chainage_m"].tolist() == pytest.approx([1200, 2700, 5400], abs=0.01)
    assert r["province"].tolist() == ["A", "A", "B"]
    # nearest part of the double marker 6: (5000, 10) from (5400, 20)
    assert r["nearest_marker_distance_m"].iloc[2] == pytest.approx(np.hypot(400, 10), abs=0.01)
    assert r["location_vi"].iloc[0] == ("khu vực mốc 2 – 3, cách mốc 2 khoảng "
                                        f"{format_distance(np.hypot(200, 44))} về phía Việt Nam, "
                                        "cách đường biên giới 45 m")
    assert r["location_en"].iloc[1].startswith("area of markers 3/1 – 4, about")
    assert "on the Lao side, 300 m from the boundary line" in r["location_en"].iloc[1]


def test_backward_numbering_like_vn_china():
    r = locate(pts((1200, 45), (8300, 320)), world(numbers_forward=False, border="CN"), crs=UTM)
    # along the line: 11 at x=0, 10 at 1 km ... numbering runs against the line
    assert list(r["marker_before"]) == ["9", "2"]
    assert list(r["marker_after"]) == ["10", "3"]
    assert list(r["nearest_marker"]) == ["10", "3"]
    assert r["location_vi"].iloc[1].startswith("khu vực mốc 2 – 3, cách mốc 3 khoảng")
    assert r["location_vi"].iloc[1].endswith("về phía Việt Nam, cách đường biên giới 320 m")


def test_polygons_use_their_point_nearest_the_line():
    poly = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(X0 + 3100, Y0 + 50,
                                                               X0 + 3300, Y0 + 150)], crs=UTM)
    r = locate(poly, world(), crs=UTM)
    assert r["distance_m"].iloc[0] == pytest.approx(50, abs=0.01)
    assert r["side"].iloc[0] == "VN" and r["marker_before"].iloc[0] == "4"
    crossing = poly.set_geometry([shapely.box(X0 + 3100, Y0 - 50, X0 + 3300, Y0 + 150)])
    r = locate(crossing, world(), crs=UTM)
    assert r["distance_m"].iloc[0] == 0 and r["side"].iloc[0] == ""
    assert "trên đường biên giới" in r["location_vi"].iloc[0]


def test_input_crs_is_respected():
    p = pts((1200, 45)).to_crs(3405)  # VN-2000 / UTM 48N
    r = locate(p, world(), crs=UTM)
    assert r["distance_m"].iloc[0] == pytest.approx(45, abs=0.5)  # datum shift ~ 1 m scale
    assert r.crs.to_epsg() == 3405


def test_province_lengths():
    model = BorderModel(**{k: v for k, v in world().items()}, crs=UTM)
    lengths = model.province_lengths().set_index("province")["length_km"]
    assert lengths["A"] == pytest.approx(5.2, abs=0.1) and lengths["B"] == pytest.approx(4.8,
                                                                                         abs=0.1)


@pytest.mark.parametrize("m, vi, en", [(45.4, "45 m", "45 m"), (317, "320 m", "320 m"),
                                       (1234, "1,2 km", "1.2 km")])
def test_format_distance(m, vi, en):
    assert format_distance(m) == vi and format_distance(m, "en") == en


def test_describe_on_a_marker():
    assert describe_vi("5", "5", "5", 3.0, "VN", 2.0) == (
        "khu vực mốc 5, cách mốc 5 khoảng 3 m về phía Việt Nam, cách đường biên giới 2 m")


# -- QA and spacing on the same known world ------------------------------------------------
from bienmoc.analysis.qa import check_markers  # noqa: E402
from bienmoc.analysis.spacing import densify, marker_spacing  # noqa: E402


def _with_markers(w, extra=None, drop=(), move=None):
    m = w["markers"].to_crs(UTM)
    m = m[~m["number"].isin(drop)].copy()
    m["kind"] = "small"
    m["province"] = np.where(m.geometry.x < X0 + 5200, "A", "B")
    if move:
        for num, (x, y) in move.items():
            m.loc[m["number"] == num, "geometry"] = shapely.Point(X0 + x, Y0 + y)
    if extra:
        m = gpd.GeoDataFrame(pd.concat([m, gpd.GeoDataFrame(extra, crs=UTM)]), crs=UTM)
    return {**w, "markers": m.to_crs(4326)}


import pandas as pd  # noqa: E402


def test_clean_world_has_no_errors():
    w = _with_markers(world())
    qa = check_markers(w, crs=UTM)
    assert qa[qa["severity"] == "error"].empty, qa


def test_qa_finds_each_planted_problem():
    w = _with_markers(
        world(), drop=("9",),
        move={"4": (3000, 12),            # 12 m off the line (tolerance 5)
              "7": (7500, 1),             # swapped with 8 along the line
              "8": (6500, 1),
              "6(2)": (5000, -30)},       # both parts on the neighbour side
        extra={"border": ["LA", "LA"], "number": ["2", "5/3"], "kind": "small",
               "province": ["A", "B"],     # duplicate 2; 5/3 (no 5/1, 5/2) in A's section
               "geometry": [shapely.Point(X0 + 1000, Y0), shapely.Point(X0 + 4500, Y0)]})
    qa = check_markers(w, crs=UTM)
    got = {(r.check, r.markers) for r in qa.itertuples()}
    assert ("duplicate", "2") in got
    assert ("off_line", "4") in got
    assert ("parts_same_side", "6(1), 6(2)") in got
    assert ("gap", "9") in got and ("gap", "5/1, 5/2") in got
    assert ("wrong_province", "5/3") in got
    assert {m for c, m in got if c == "out_of_order"} in ({"7"}, {"8"})
    off = qa[(qa["check"] == "off_line")].iloc[0]
    assert off["value"] == pytest.approx(12, abs=0.01) and "12,0 m" in off["message_vi"]
    assert "12.0 m" in off["message_en"]  # each language writes its own decimal mark
    assert set(qa.loc[qa["check"] == "gap", "severity"]) == {"warning"}


def test_qa_backward_numbering_is_not_out_of_order():
    w = _with_markers(world(numbers_forward=False, border="CN"))
    w["markers"]["province"] = np.where(w["markers"].to_crs(UTM).geometry.x < X0 + 5200,
                                        "A", "B")
    qa = check_markers(w, crs=UTM)
    assert "out_of_order" not in set(qa["check"])


def test_spacing_and_densification():
    w = _with_markers(world(), drop=("5", "3/1"))
    sp = marker_spacing(w, crs=UTM).set_index("marker_from")
    assert sp.loc["4", "marker_to"] == "6" and sp.loc["4", "spacing_m"] == pytest.approx(2000,
                                                                                        abs=0.01)
    sections, stakes = densify(w, max_spacing_m=600, crs=UTM)
    four = stakes[stakes["marker_from"] == "4"]
    assert list(four["number"]) == ["4/1", "4/2", "4/3"]  # 2000 m / 600 -> 3 stakes, 500 m
    assert four["chainage_m"].tolist() == pytest.approx([3500, 4000, 4500], abs=0.01)
    assert four.to_crs(UTM).geometry.x.tolist() == pytest.approx(
        [X0 + 3500, X0 + 4000, X0 + 4500], abs=0.01)
    # a used sub-number is skipped
    w2 = _with_markers(world(), drop=("5",), extra={
        "border": ["LA"], "number": ["4/1"], "kind": "stake", "province": "A",
        "geometry": [shapely.Point(X0 + 3100, Y0)]})
    _, stakes2 = densify(w2, max_spacing_m=1000, crs=UTM)
    assert list(stakes2.loc[stakes2["marker_from"] == "4/1", "number"]) == ["4/2"]


# -- lengths, belt, hotspots -------------------------------------------------------------
from bienmoc.analysis.lengths import (border_belt, border_lengths, features_in_belt,  # noqa: E402
                              hotspots, incident_counts, province_lengths)


def test_lengths_against_official():
    w = world()
    w["boundary"]["official_length_km"] = [10.5]
    df = border_lengths(w, crs=UTM)
    assert df.iloc[0]["length_km"] == pytest.approx(10.0, abs=1e-6)
    assert df.iloc[0]["difference_pct"] == pytest.approx(-4.7619, abs=1e-3)
    pl = province_lengths(w, crs=UTM, official_km={("LA", "A"): 5.0}).set_index("province")
    assert pl.loc["A", "difference_pct"] == pytest.approx(4.0, abs=2.0)


def test_belt_is_on_the_home_side_and_per_province():
    belt = border_belt(world(), 500, crs=UTM, widths_m={"B": 1000}).set_index("province")
    assert belt.loc["A", "area_km2"] == pytest.approx(5.2 * 0.5, rel=0.02)
    assert belt.loc["B", "area_km2"] == pytest.approx(4.8 * 1.0, rel=0.02)
    f = pts((1000, 300), (1000, -300), (6000, 800), (3000, 700))
    inside = features_in_belt(f, belt.reset_index())
    assert sorted(inside["name"]) == ["p0", "p2"]
    assert dict(zip(inside["name"], inside["belt_province"])) == {"p0": "A", "p2": "B"}


def test_hotspots_bins_and_periods():
    x = [1100, 1200, 1300, 1900, 7500, 7600]
    inc = pts(*[(v, 50) for v in x])
    inc["kind"] = ["illegal_crossing"] * 5 + ["landslide"]
    inc["reported_date"] = pd.to_datetime(["2024-01-01"] * 4 + ["2025-06-01", "2023-01-01"])
    inc["border"], inc["province"] = "LA", "A"
    hs = hotspots(world(), inc.to_crs(4326), crs=UTM)
    first = hs.iloc[0]
    assert (first["bin_start_km"], first["incidents"]) == (1.0, 4)
    assert (first["marker_from"], first["marker_to"]) == ("2", "3")
    assert hs["incidents"].sum() == 6
    hs = hotspots(world(), inc.to_crs(4326), crs=UTM, start="2024-06-01",
                  kinds=["illegal_crossing"])
    assert hs["incidents"].tolist() == [1] and hs.iloc[0]["bin_start_km"] == 7.0
    c = incident_counts(inc, by=["kind"])
    assert dict(zip(c["kind"], c["incidents"])) == {"illegal_crossing": 5, "landslide": 1}


def test_beyond_the_ends_the_end_section_is_reported():
    r = locate(pts((-300, 20), (10400, 20)), world(), crs=UTM)
    assert list(zip(r["marker_before"], r["marker_after"])) == [("1", "2"), ("10", "11")]
    assert list(r["nearest_marker"]) == ["1", "11"]


def test_provinces_of_a_few_points_equal_the_general_path():
    """ProvinceIndex.index_xy answers a small batch (an API write: all point-polygon pairs at
    once) as it answers many points (polygon by polygon): the same province for each point,
    none outside all of them (a point on an edge is in neither polygon: the slack decides)."""
    from bienmoc.geometry.provinces import ProvinceIndex

    a = shapely.box(0, 0, 1000, 1000)
    b = shapely.box(1000, 0, 2000, 1000)  # shares the edge x = 1000 with a
    idx = ProvinceIndex(gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[a, b],
                                         crs="EPSG:32648"), "EPSG:32648")
    rng = np.random.default_rng(3)
    x = np.concatenate([[500, 1000, 1500, 5000], rng.uniform(-500, 2500, 4000)])
    y = np.concatenate([[500, 500, 500, 500], rng.uniform(-500, 1500, 4000)])
    many = idx.index_xy(x, y, slack_m=0)  # 4004 points x 2 polygons: the general path
    assert many[:4].tolist() == [0, -1, 1, -1]
    for slack in (0, 50):
        whole = idx.index_xy(x, y, slack_m=slack)
        few = np.concatenate([idx.index_xy(x[i:i + 8], y[i:i + 8], slack_m=slack)
                              for i in range(0, len(x), 8)])  # 8 x 2 pairs: the small path
        assert (few == whole).all(), slack
    inside = (x > 0) & (x < 2000) & (x != 1000) & (y > 0) & (y < 1000)
    assert (many[inside] >= 0).all() and (many[(x < -1) | (y < -1)] == -1).all()
