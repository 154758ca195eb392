"""Locate at scale: column-wise descriptions equal the row-wise ones, threads and dask
partitions give the in-memory answer, Arrow reading/writing keeps the files' meaning."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from bienmoc.geometry.descriptions import describe_many, format_distances
from bienmoc.geometry.locate import BorderModel, describe, format_distance, locate
from bienmoc.io.files import read_source
from bienmoc.io.locate_file import locate_file

from test_locate import UTM, X0, Y0, world

TEXT_COLS = ("marker_before", "marker_after", "nearest_marker", "nearest_marker_distance_m",
             "side", "distance_m")


def two_borders():
    """world()'s LA line with markers, and a CN line 50 km north without any marker."""
    w = world()
    cn = gpd.GeoDataFrame({"border": ["CN"], "home_side": ["right"]},
                          geometry=[shapely.LineString([(X0, Y0 + 50000),
                                                        (X0 + 10000, Y0 + 50000)])],
                          crs=UTM).to_crs(4326)
    w["boundary"] = pd.concat([w["boundary"], cn], ignore_index=True)
    return w


def varied_points(n=4000, seed=7):
    """Points on both sides of both lines, on the lines, beyond their ends; distances from
    centimetres to 4 km (below and above 1 km; ties like 125 m and 1250 m included)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3000, 13000, n)
    off = np.concatenate([rng.uniform(-4000, 4000, n - 400), rng.uniform(-2, 2, 200),
                          np.zeros(100), rng.choice([-1250.0, -125.0, 125.0, 1050.0, 2350.0],
                                                    100)])
    y = np.where(rng.random(n) < 0.3, 50000.0, 0.0) + off
    return gpd.GeoDataFrame({"i": np.arange(n)}, geometry=shapely.points(X0 + x, Y0 + y),
                            crs=UTM)


def row_wise(r, lang):
    """The per-row describe() of located columns (missing labels as None)."""
    cols = [[None if (v is None or (isinstance(v, float) and np.isnan(v))) and c not in
             ("nearest_marker_distance_m", "distance_m") else v for v in r[c].tolist()]
            for c in TEXT_COLS]
    return [describe(*row, lang) for row in zip(*cols)]


def test_vectorised_descriptions_equal_row_wise_ones():
    r = locate(varied_points(), two_borders(), crs=UTM)
    sides = set(r["side"])
    assert {"VN", "LA", "CN", ""} <= sides  # both sides of both borders and on the line
    no_markers = r["border"] == "CN"
    assert no_markers.sum() > 500 and r.loc[no_markers, "marker_before"].isna().all()
    assert (r["distance_m"] < 1000).sum() > 500 and (r["distance_m"] >= 1000).sum() > 500
    assert (r["nearest_marker_distance_m"] >= 1000).sum() > 100
    for lang in ("vi", "en"):
        assert r[f"location_{lang}"].tolist() == row_wise(r, lang)
    cn = r[no_markers & (r["side"] == "CN")].iloc[0]
    assert cn["location_vi"].startswith("về phía Trung Quốc, cách đường biên giới ")
    assert r.loc[r["distance_m"] == 0, "location_en"].str.endswith("on the boundary line").all()


@pytest.mark.parametrize("compiled", [False, True])
def test_describe_many_on_arbitrary_columns(compiled, monkeypatch):
    from bienmoc.geometry import descriptions

    if compiled and descriptions._compiled() is None:
        if os.environ.get("CI"):
            raise AssertionError("numba (the bienmoc[fast] extra, in the test extra) missing")
        pytest.skip("numba is not installed")
    monkeypatch.setattr(descriptions, "COMPILED_MIN", 0 if compiled else 1 << 40)
    rng = np.random.default_rng(3)
    n = 5000
    m = np.concatenate([rng.uniform(0, 5000, n - 42),
                        [0.0, 0.5, 1.5, 99.5, 100.0, 125.0, 135.0, 995.0, 999.99, 1000.0,
                         1049.99, 1050.0, 1150.0, 1250.0, 2350.0, 12345.678, 999960.0, 1234567.0, np.nan, np.inf,
                         *np.arange(22) * 50.0 + 1000.0]])
    pos = np.array(["1", "2", "3/1", "1088/2", "5(1)"], dtype=object)
    b = pos[rng.integers(0, 5, n)]
    b[rng.random(n) < 0.1] = None
    a = np.where(rng.random(n) < 0.3, b, pos[rng.integers(0, 5, n)])
    a[pd.isna(b)] = None
    nm = np.where(pd.isna(b), None, pos[rng.integers(0, 5, n)])
    side = np.array(["VN", "LA", "CN", "KH", "", None], dtype=object)[rng.integers(0, 6, n)]
    d2 = rng.permutation(m)
    for lang in ("vi", "en"):
        assert format_distances(m, lang).to_pylist() == [format_distance(v, lang) for v in m]
        got = describe_many(b, a, nm, m, side, d2, lang).to_pylist()
        assert got == [describe(*row, lang) for row in zip(b, a, nm, m, side, d2)]
    assert format_distances([1250.0], "vi").to_pylist() == ["1,2 km"]  # half to even
    assert format_distances([1350.0], "en").to_pylist() == ["1.4 km"]


def test_compiled_and_arrow_descriptions_agree(monkeypatch):
    """The numba builder (bienmoc[fast]) and the Arrow path write the same bytes."""
    from bienmoc.geometry import descriptions

    if descriptions._compiled() is None:
        if os.environ.get("CI"):
            raise AssertionError("numba (the bienmoc[fast] extra, in the test extra) missing")
        pytest.skip("numba is not installed")
    r = locate(varied_points(), two_borders(), crs=UTM)
    args = [r[c].to_numpy() for c in TEXT_COLS]
    monkeypatch.setattr(descriptions, "COMPILED_MIN", 0)
    compiled = descriptions.describe_both(*args)
    monkeypatch.setattr(descriptions, "COMPILED_MIN", len(r) + 1)
    arrow = descriptions.describe_both(*args)
    for lang in ("vi", "en"):
        assert compiled[lang].equals(arrow[lang])
        assert compiled[lang].to_pylist() == r[f"location_{lang}"].tolist()
    for limit in (0, 10):  # compiled and Arrow
        monkeypatch.setattr(descriptions, "COMPILED_MIN", limit)
        got = descriptions.describe_both(["1"], ["2"], ["2"], [1234567.0], ["VN"], [5.0])
        assert {k: v.to_pylist() for k, v in got.items()} == {"vi": ["khu vực mốc 1 – 2, cách mốc 2 khoảng 1.234,6 km về phía Việt Nam, "
                       "cách đường biên giới 5 m"],
                "en": ["area of markers 1 – 2, about 1,234.6 km from marker 2 on the "
                       "Vietnamese side, 5 m from the boundary line"]}


def test_threads_give_the_single_thread_answer(monkeypatch):
    model = BorderModel.from_source(two_borders(), crs=UTM)
    pts = varied_points(120_000, seed=11)
    monkeypatch.setenv("BIENMOC_THREADS", "1")
    one = model.locate(pts)
    fresh = BorderModel.from_source(two_borders(), crs=UTM)  # cold grid, filled in threads
    monkeypatch.setenv("BIENMOC_THREADS", "3")
    three = fresh.locate(pts)
    pd.testing.assert_frame_equal(one, three, check_exact=True)


def _dask_gpd():
    try:
        import dask_geopandas
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("dask-geopandas is not installed (the bienmoc[dask] extra)")
    return dask_geopandas


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_partitions_equal_in_memory(scheduler):
    dgpd = _dask_gpd()
    pts = varied_points(6000, seed=5).set_index(pd.RangeIndex(100, 6100)).to_crs(4326)
    model = BorderModel.from_source(two_borders(), crs=UTM)
    want = locate(pts, model)
    lazy = locate(dgpd.from_geopandas(pts, npartitions=4), model)
    assert lazy.npartitions == 4
    got = lazy.compute(scheduler=scheduler)
    assert isinstance(got, gpd.GeoDataFrame)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_locate_file_csv_arrow_reading_and_writing(tmp_path):
    pts = varied_points(3000, seed=9).to_crs(4326)
    xy = shapely.get_coordinates(pts.geometry.values)
    src = tmp_path / "pts.csv"
    pd.DataFrame({"ref": [f"'=r{i}" if i % 7 == 0 else f"r{i}" for i in range(len(pts))],
                  "lon": [f"{v:.9f}".replace(".", ",") if i % 5 == 0 else f" {float(v)!r}"
                          for i, v in enumerate(xy[:, 0])],
                  "lat": [repr(float(v)) for v in xy[:, 1]]}).to_csv(src, index=False, sep=";")
    slow, _ = read_source(src)
    fast, _ = read_source(src, arrow=True)
    pd.testing.assert_frame_equal(pd.DataFrame(fast), pd.DataFrame(slow), check_exact=True)
    assert fast["ref"].iloc[0] == "=r0"  # export's formula guard undone, as the slow reader
    out = tmp_path / "out.csv"
    res = locate_file(src, two_borders(), fmt="csv", output=out, metric_crs=UTM)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    back, _ = read_source(out)
    assert back["ref"].tolist() == res["ref"].tolist()  # '=r0 written as ''=r0, read back
    assert back["location_vi"].tolist() == res["location_vi"].tolist()
    assert np.allclose(back["distance_m"].astype(float), res["distance_m"], atol=1e-9)
    assert np.allclose(back.geometry.x, res.geometry.x, atol=1e-7)
    gj = tmp_path / "out.geojson"
    locate_file(src, two_borders(), fmt="geojson", output=gj, metric_crs=UTM)
    g = gpd.read_file(gj)
    assert g["location_en"].tolist() == res["location_en"].tolist()
    assert oct(gj.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    m = os.umask(0o022)
    os.umask(m)
    return m


def test_csv_with_a_bad_coordinate_still_names_the_row(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("ref,lon,lat\na,104.5,21.0\nb,104.x,21.0\n", encoding="utf-8")
    from bienmoc.errors import InvalidData

    with pytest.raises(InvalidData) as e:
        read_source(src, arrow=True)
    (p,) = e.value.problems
    assert p.row == 2 and "104.x" in p.reason


def test_province_slack_by_grid_equals_geos_point_by_point():
    """Many points outside every province: the grid answer equals GEOS's nearest-edge
    answer (reached below 10k points), ties on the vertex two provinces share included."""
    from bienmoc.geometry.provinces import ProvinceIndex

    prov = world()["provinces"]
    index = ProvinceIndex(prov, UTM)
    rng = np.random.default_rng(4)
    n = 30_000
    x = X0 + rng.uniform(-4000, 15000, n)
    y = Y0 + rng.uniform(-4000, 13000, n)
    x[:500] = X0 + 5200.0  # straight below/above the shared corner: two provinces tie
    y[:500] = Y0 - rng.uniform(0, 2500, 500)
    many = index.of_xy(x, y)
    few = np.concatenate([index.of_xy(x[i:i + 5000], y[i:i + 5000]) for i in range(0, n, 5000)])
    assert list(many) == list(few)
    assert {"A", "B", None} <= set(many)
    outside = (y < Y0) | (y > Y0 + 9000) | (x < X0 - 1000) | (x > X0 + 12000)
    assert outside.sum() > 10_000  # the grid path ran


def test_compiled_and_numpy_searches_agree(monkeypatch):
    """The compiled nearest-segment searches (line; province edges with the tie flag) give
    numpy's answer: whole located frames compared, numba against BIENMOC_NO_NUMBA."""
    from bienmoc.geometry.linear import compiled_nearest

    if compiled_nearest() is None:
        if os.environ.get("CI"):
            raise AssertionError("numba (the bienmoc[fast] extra, in the test extra) missing")
        pytest.skip("numba is not installed")
    import bienmoc.analysis._nearest as nearest
    import bienmoc.geometry.linear as linear
    import bienmoc.geometry.provinces as provinces

    pts = varied_points(60_000, seed=13)
    monkeypatch.setattr(linear, "COMPILED_MIN", 1)  # every call compiled, however small
    monkeypatch.setattr(provinces, "COMPILED_MIN", 1)
    calls = []
    monkeypatch.setattr(nearest, "nearest_segment_owners",
                        lambda *a, f=nearest.nearest_segment_owners: calls.append(1) or f(*a))
    fast = BorderModel.from_source(two_borders(), crs=UTM)
    assert fast.index.cell == 2000.0
    got = fast.locate(pts)
    monkeypatch.setenv("BIENMOC_NO_NUMBA", "1")
    slow = BorderModel.from_source(two_borders(), crs=UTM)
    assert slow.index.cell == 500.0
    want = slow.locate(pts)
    assert calls  # the province-edge search was the compiled one
    assert got["province"].notna().sum() > 20_000 and got["province"].isna().sum() > 1000
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_locate_file_csv_is_export_layers_csv(tmp_path, monkeypatch):
    """The fast CSV (Arrow columns, first-byte formula check, slices written in order from
    threads) is byte for byte export_layer's; the model built and the compiled code loaded
    beside the read (as for big files) change nothing."""
    import bienmoc.io.locate_file as lf
    from bienmoc.io.write import export_layer

    pts = varied_points(5000, seed=21).to_crs(4326)
    pts["ref"] = [f"=r{i}" if i % 11 == 0 else ("-x" if i % 13 == 0 else f"r{i}")
                  for i in range(len(pts))]
    pts["note"] = pd.array([None if i % 3 else f"n{i}" for i in range(len(pts))], dtype="str")
    src = tmp_path / "pts.gpkg"
    pts.to_file(src, engine="pyogrio")
    monkeypatch.setattr(lf, "_CSV_SLICE", 700)  # 8 slices over the threads
    monkeypatch.setenv("BIENMOC_THREADS", "3")
    monkeypatch.setattr(lf, "_WARM_BYTES", 0)  # model + compiled code in the helper thread
    out = tmp_path / "out.csv"
    res = locate_file(src, two_borders(), fmt="csv", output=out, metric_crs=UTM)
    want = tmp_path / "want.csv"
    export_layer(res, "csv", want)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") == len(pts) + 1
    # the same cells (Arrow quotes the header and every text cell, pandas only where needed)
    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False,  # noqa: E731
                                 encoding="utf-8-sig")
    got, exp = read(out), read(want)
    nums = ["distance_m", "chainage_m", "nearest_marker_distance_m", "lon", "lat"]
    for c in nums:  # Arrow writes 0.0 as "0"; the numbers are the same
        np.testing.assert_array_equal(pd.to_numeric(got[c]), pd.to_numeric(exp[c]))
    pd.testing.assert_frame_equal(got.drop(columns=nums), exp.drop(columns=nums))
    assert got.loc[0, "ref"] == "'=r0" and got.loc[13, "ref"] == "'-x"
    assert got.loc[1, "note"] == "" and got.loc[3, "note"] == "n3"
    monkeypatch.setattr(lf, "_WARM_BYTES", 1 << 60)
    again = locate_file(src, two_borders(), fmt=None, metric_crs=UTM)
    pd.testing.assert_frame_equal(pd.DataFrame(again), pd.DataFrame(res), check_exact=True)


def test_point_wkb_read_from_the_arrow_buffer_equals_from_wkb(tmp_path):
    """A GeoPackage of points is read by coordinates from the Arrow buffer (files._wkb_points):
    the same frame as pyogrio's own reader; other layers fall back to from_wkb."""
    import pyarrow as pa

    from bienmoc.io.files import _wkb_points

    pts = varied_points(3000, seed=11).to_crs(4326)
    pts["ref"] = [f"r{i}" for i in range(len(pts))]
    src = tmp_path / "pts.gpkg"
    pts.to_file(src, engine="pyogrio")
    fast, _ = read_source(src, arrow=True)
    slow, _ = read_source(src)
    assert fast.geometry.geom_type.eq("Point").all()
    assert (shapely.get_coordinates(fast.geometry.values) ==
            shapely.get_coordinates(pts.geometry.values)).all()
    assert shapely.equals_exact(fast.geometry.values, slow.geometry.values, 0).all()
    assert fast["ref"].tolist() == slow["ref"].tolist()
    geoms = np.asarray(pts.geometry.values[:50], dtype=object)
    wkb = pa.array(shapely.to_wkb(geoms).tolist(), pa.binary())
    got = _wkb_points(wkb.slice(7, 30))  # an offset into the buffers
    assert (shapely.get_coordinates(got) == shapely.get_coordinates(geoms[7:37])).all()
    line = shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)]))
    for bad in ([*shapely.to_wkb(geoms[:3]).tolist(), line],  # another type
                [*shapely.to_wkb(geoms[:3]).tolist(), None],  # a missing geometry
                [shapely.to_wkb(shapely.Point(1, 2, 3))] * 2,  # Z
                [shapely.to_wkb(shapely.Point())] * 2,  # empty: NaN coordinates
                shapely.to_wkb(geoms[:3], byte_order=0).tolist()):  # big-endian
        assert _wkb_points(pa.array(bad, pa.binary())) is None


@pytest.mark.parametrize("threads", ["1", "2"])
def test_text_columns_by_index_equal_the_object_columns(monkeypatch, threads):
    """border/side/province/section_province taken by index as Arrow strings (and the slices'
    strings kept as chunks) give the frame the object arrays gave: same values, same None."""
    monkeypatch.setenv("BIENMOC_THREADS", threads)
    pts = varied_points(60_000, seed=13).to_crs(4326)  # >= PARALLEL_MIN: slices in threads
    model = BorderModel.from_source(two_borders(), crs=UTM)
    fast = model.locate(pts)
    assert model._dictionaries() is not None
    model._dict_cache = None  # the object path
    slow = model.locate(pts)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert {"VN", "LA", "CN", ""} <= set(fast["side"])
    assert fast["province"].isna().any() and fast["province"].notna().any()
    assert fast["section_province"].notna().any()
