"""Viewshed: exact answers on surfaces built here (a flat plain and the curvature horizon, a
straight wall and its shadow, a cone seen from its top), cell-for-cell agreement with GDAL's
``gdal_viewshed`` on a real DEM (matplotlib's Jacksboro sample, Tennessee, USA - not Vietnam),
the visible share of border sections, and the CLI.

The synthetic surfaces are test surfaces, not terrain of any real place."""
from __future__ import annotations

import importlib
import json
import math
import subprocess

import numpy as np
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from rasterio.transform import from_origin

from bienmoc.cli.main import main
from bienmoc.geometry.locate import BorderModel
from bienmoc.terrain import open_dem, viewshed
from bienmoc.terrain.viewshed import NODATA, ObserverError

from test_terrain import _need, jacksboro, write_tif  # noqa: F401  (fixture)

# the module (the package exports the function under the same name)
vs_mod = importlib.import_module("bienmoc.terrain.viewshed")

UTM48 = "EPSG:32648"
X0, Y0 = 500_000.0, 2_000_000.0


def grid_tif(path, z, cell, x0=X0, y0=Y0, nodata=None):
    write_tif(path, np.asarray(z, float), UTM48, from_origin(x0, y0, cell, cell),
              dtype="float64", nodata=nodata)
    return path


def offsets(v, cell):
    """Ground offsets (m) east and north of the observer of every cell of a viewshed."""
    h, w = v.visible.shape
    t = v.transform
    cx = t.c + (np.arange(w) + 0.5) * t.a - v.observer[0]
    cy = t.f + (np.arange(h) + 0.5) * t.e - v.observer[1]
    return np.broadcast_to(cx[None, :], (h, w)), np.broadcast_to(cy[:, None], (h, w))


# -- analytic surfaces ------------------------------------------------------------------------

def test_a_flat_plain_is_seen_up_to_the_curvature_horizon(tmp_path):
    """Sea-level plain, 30 m cells, eye 1.5 m: with curvature and refraction (k = 0.13) the
    ground is seen to sqrt(2 R h / (1 - k)) = 4 687 m, to within two cells; without them
    (k = 1) every cell within the 10 km radius."""
    path = grid_tif(tmp_path / "flat.tif", np.zeros((801, 801)), 30.0)
    ox, oy = X0 + 400.5 * 30, Y0 - 400.5 * 30
    v = viewshed(path, ox, oy, crs=UTM48, radius_m=10_000)
    assert v.observer == (ox, oy)
    ex, ny = offsets(v, 30.0)
    d = np.hypot(ex, ny)
    assert np.array_equal(v.valid, d <= 10_000)             # the radius, by cell centre
    horizon = math.sqrt(2 * 6_371_000 * 1.5 / 0.87)
    assert horizon == pytest.approx(4687.1, abs=0.1)
    assert v.visible[v.valid & (d < horizon - 60)].all()
    assert not v.visible[v.valid & (d > horizon + 60)].any()
    ring = v.valid & (abs(d - horizon) <= 60)
    assert ring.sum() < 0.03 * v.valid.sum()
    flat = viewshed(path, ox, oy, crs=UTM48, radius_m=10_000, k=1.0)
    assert flat.visible[flat.valid].all() and flat.share == 1.0
    r = flat.raster()
    assert set(np.unique(r)) == {0 + 1, NODATA}               # visible or outside the radius


def test_a_geographic_dem_is_measured_in_ground_metres(tmp_path):
    """The same sea-level plain as 1-arc-second cells in EPSG:4326 at 21° N (about 29 x 31 m):
    the radius and the curvature horizon are ground metres (geodesic), not degrees."""
    from pyproj import Geod

    res = 1 / 3600
    write_tif(tmp_path / "geo.tif", np.zeros((900, 900)), "EPSG:4326",
              from_origin(104.0, 21.2, res, res), dtype="float64")
    v = viewshed(tmp_path / "geo.tif", 104.0 + 450.5 * res, 21.2 - 450.5 * res,
                 radius_m=6_000)
    assert v.cell_m[0] == pytest.approx(28.9, abs=0.1) and v.cell_m[1] == pytest.approx(30.7,
                                                                                        abs=0.1)
    h, w = v.visible.shape
    t = v.transform
    lon = np.broadcast_to(t.c + (np.arange(w) + 0.5) * t.a, (h, w))
    lat = np.broadcast_to((t.f + (np.arange(h) + 0.5) * t.e)[:, None], (h, w))
    ol, oa = v.observer
    d = Geod(ellps="WGS84").inv(np.full(lon.size, ol), np.full(lon.size, oa), lon.ravel(),
                                lat.ravel())[2].reshape(h, w)
    assert not v.valid[d > 6_000 + 5].any() and v.valid[d < 6_000 - 5].all()
    horizon = math.sqrt(2 * 6_371_000 * 1.5 / 0.87)
    assert v.visible[v.valid & (d < horizon - 62)].all()
    assert not v.visible[v.valid & (d > horizon + 62)].any()


def test_a_straight_wall_casts_its_exact_shadow(tmp_path):
    """Plain at 0 m, 10 m cells; a north-south wall one cell wide, 20 m high, 310 m east of
    an eye 50 m above the plain (no curvature, k = 1). The sight line over the wall's top
    reaches the ground 310 * 50 / 30 = 516.7 m east: cells between 310 and 516.7 m east are
    hidden, all others are seen - exactly, in every direction (the shadow boundary is a plane
    through the eye, which the sweep reproduces)."""
    z = np.zeros((401, 401))
    z[:, 231] = 20.0                                           # 31 cells east of column 200
    path = grid_tif(tmp_path / "wall.tif", z, 10.0)
    v = viewshed(path, X0 + 200.5 * 10, Y0 - 200.5 * 10, crs=UTM48, radius_m=1900,
                 observer_height=50.0, k=1.0)
    ex, _ = offsets(v, 10.0)
    expected = ~((ex > 310) & (ex < 310 * 50 / 30))
    assert np.array_equal(v.visible[v.valid], expected[v.valid])
    assert (~v.visible[v.valid]).sum() > 3000                 # a real shadow
    # a lower eye (h = 15 m < the wall): everything east of the wall is hidden
    low = viewshed(path, X0 + 200.5 * 10, Y0 - 200.5 * 10, crs=UTM48, radius_m=1900,
                   observer_height=15.0, k=1.0)
    assert not low.visible[low.valid & (ex > 310)].any()
    assert low.visible[low.valid & (ex <= 310)].all()


def test_a_cone_seen_from_its_top(tmp_path):
    """Cone z = 1000 - 0.3 r (30 m cells), eye 1.5 m above its top: without curvature every
    cell is seen. With curvature the cone's slope cancels out of the sight line (the ground
    and the line both fall 0.3 m per metre), so the horizon is the flat plain's, 4 687 m:
    exactly so along the 8 rays through cell centres (rows, columns, diagonals), where the
    sweep needs no interpolation. (Off them, on a surface every sight line grazes by
    centimetres, the interpolated horizon lets about half the cells beyond it through - the
    known limit of XDraw-type sweeps, GDAL's included; real terrain is far from grazing.)"""
    n = 401
    rr, cc = np.mgrid[0:n, 0:n]
    z = 1000 - 0.3 * np.hypot(rr - 200, cc - 200) * 30
    path = grid_tif(tmp_path / "cone.tif", z, 30.0)
    at = (X0 + 200.5 * 30, Y0 - 200.5 * 30)
    v = viewshed(path, *at, crs=UTM48, radius_m=5_000, k=1.0)
    assert v.ground_m == pytest.approx(1000.0)
    assert v.visible[v.valid].all()
    v = viewshed(path, *at, crs=UTM48, radius_m=5_900)
    ex, ny = offsets(v, 30.0)
    d = np.hypot(ex, ny)
    rays = v.valid & ((abs(ex) < 1) | (abs(ny) < 1) | (abs(abs(ex) - abs(ny)) < 1))
    horizon = math.sqrt(2 * 6_371_000 * 1.5 / 0.87)
    assert v.visible[rays & (d < horizon)].all()
    assert not v.visible[rays & (d > horizon)].any()
    assert (rays & (d > horizon)).sum() > 200


def test_nodata_and_the_window_read(tmp_path):
    """A hole of no data is "no data" in the answer and does not block; the DEM is read
    once, only in the window of the radius."""
    z = np.zeros((400, 400))
    z[180:190, 200:210] = -9999.0
    path = grid_tif(tmp_path / "hole.tif", z, 30.0, nodata=-9999.0)
    with open_dem(path) as dem:
        v = viewshed(dem, X0 + 200.5 * 30, Y0 - 200.5 * 30, crs=UTM48, radius_m=2_000, k=1.0)
        assert dem.reads == 1
    assert v.visible.shape == (2 * 67 + 1, 2 * 67 + 1)        # ceil(2000 / 30) each side
    hole = np.zeros_like(v.valid)
    t = v.transform
    r0, c0 = round((Y0 - t.f) / 30), round((t.c - X0) / 30)
    hole[180 - r0:190 - r0, 200 - c0:210 - c0] = True
    assert not v.valid[hole].any() and not v.visible[hole].any()
    assert v.visible[v.valid].all()
    assert v.raster()[hole].tolist() == [NODATA] * 100
    with pytest.raises(ObserverError, match="outside"):
        viewshed(path, X0 - 100, Y0 - 100, crs=UTM48)
    with pytest.raises(ObserverError, match="no data"):
        viewshed(path, X0 + 205 * 30, Y0 - 185 * 30, crs=UTM48)


def test_polygon_and_geotiff(tmp_path):
    z = np.zeros((401, 401))
    z[:, 231] = 20.0
    path = grid_tif(tmp_path / "wall.tif", z, 10.0)
    v = viewshed(path, X0 + 200.5 * 10, Y0 - 200.5 * 10, crs=UTM48, radius_m=1900,
                 observer_height=50.0, k=1.0)
    poly = v.polygon(UTM48)
    assert poly.area == pytest.approx(v.visible_cells * 100.0)     # the visible cells, exactly
    assert v.visible_area_m2 == pytest.approx(poly.area)
    ll = v.polygon()                                                # EPSG:4326
    lon, lat = v.observer_lonlat
    assert ll.contains(shapely.Point(lon, lat))
    assert 103 < lon < 106 and 17 < lat < 19
    v.to_tif(tmp_path / "vs.tif")
    with rasterio.open(tmp_path / "vs.tif") as ds:
        assert ds.nodata == NODATA and ds.crs.to_epsg() == 32648
        assert ds.transform == v.transform
        assert np.array_equal(ds.read(1), v.raster())


# -- the reference: gdal_viewshed on a real DEM ---------------------------------------------

def _gdal36_first_ring(sweep):
    """GDAL up to 3.8 sees the cells next to the observer over the observer's own ground (as if
    it were one cell away); later GDAL, and bienmoc, over nothing. This wraps the sweep with the
    old rule so the comparison can be cell for cell with whichever GDAL is installed."""
    def wrapped(a, target_height):
        b = a.copy()
        g = a[:, 0, 0][:, None]
        b[:, 1, :2] = np.fmax(a[:, 1, :2], g)
        b[1::2, 1, 0] = a[1::2, 1, 0]          # GDAL's first line: the cells beside the eye
        vis = sweep(b, target_height)
        vis[:, 1, :2] = a[:, 1, :2] + target_height >= g
        vis[1::2, 1, 0] = True
        return vis
    return wrapped


def test_agrees_with_gdal_viewshed_on_a_real_dem(jacksboro, monkeypatch):
    """gdal_viewshed -cc 0.87 (= 1 - k) on the 90 m Jacksboro DEM, 10 km radius, 8 observers
    and two eye heights: with GDAL's rule for the first ring every cell agrees (the same
    sweep); with bienmoc's own rule >= 95 % of cells agree (measured 97.1-99.9 %)."""
    exe = _need("gdal_viewshed")
    src = jacksboro["dir"] / "sq90.tif"
    rng = np.random.default_rng(3)
    plain, same = [], []
    for _ in range(8):
        r, c = rng.integers(40, 300), rng.integers(40, 360)
        x, y = 700_000 + (c + 0.5) * 90, 4_050_000 - (r + 0.5) * 90
        for h in (1.5, 10.0):
            out = jacksboro["dir"] / "gv.tif"
            subprocess.run([exe, "-q", "-ox", str(x), "-oy", str(y), "-oz", str(h), "-tz", "0",
                            "-md", "10000", "-cc", "0.87", "-vv", "1", "-iv", "0", "-ov", "255",
                            str(src), str(out)], check=True)
            with rasterio.open(out) as ds:
                ref, rt = ds.read(1), ds.transform
            kw = dict(crs="EPSG:32616", radius_m=10_000, observer_height=h,
                      radius_earth=6_378_137.0)         # GDAL: the CRS's semi-major axis
            ours = viewshed(src, x, y, **kw)
            assert ours.transform == rt and ours.visible.shape == ref.shape
            assert np.array_equal(ours.valid, ref != 255)     # the same cells within range
            g = ref[ours.valid] == 1
            plain.append((ours.visible[ours.valid] == g).mean())
            with monkeypatch.context() as m:
                m.setattr(vs_mod, "_sweep", _gdal36_first_ring(vs_mod._sweep))
                old = viewshed(src, x, y, **kw)
            same.append(max((old.visible[old.valid] == g).mean(), plain[-1]))
    assert min(same) >= 0.9995, same
    assert min(plain) >= 0.95, plain
    assert np.mean(plain) >= 0.98, plain


# -- border sections --------------------------------------------------------------------------

@pytest.fixture
def wall_across_la(tmp_path, layers):
    """Plain at 200 m (10 m cells) under the tiny world's LA line (nearly a meridian, chainage
    growing southwards); an east-west wall 20 m high across it 500 m south of marker 102."""
    bm = BorderModel.from_source(layers)
    mx, my = bm.index.point_at("LA", 3320.29)[0]
    x0, y0 = 445_000.0, 2_323_000.0
    z = np.full((900, 600), 200.0)
    row = int((y0 - my) // 10) + 50                      # 50 rows south of the observer's row
    z[row, :] = 220.0
    path = grid_tif(tmp_path / "wall_la.tif", z, 10.0, x0=x0, y0=y0)
    return path, (mx, my)


def test_visible_share_of_border_sections(layers, wall_across_la):
    """Eye 50 m above marker 102, radius 3 km: the sections north of it are wholly seen; of
    section 102-103, 3 000 m lie within the radius and the wall hides 500..833 m of them
    (500 * 50 / 30), so 2 667 m are seen."""
    path, (mx, my) = wall_across_la
    v = viewshed(path, mx, my, crs=UTM48, radius_m=3_000, observer_height=50.0, k=1.0)
    s = v.visible_share(layers)
    assert list(zip(s["marker_from"], s["marker_to"])) == [
        ("100", "100/1"), ("100/1", "101"), ("101", "101/1"), ("101/1", "102"), ("102", "103")]
    north = s.iloc[:4]
    assert (north["visible_share"] == 1.0).all()
    assert north["length_in_radius_m"].iloc[1:].tolist() == pytest.approx(
        north["length_m"].iloc[1:].tolist(), abs=1e-6)
    assert north["length_in_radius_m"].iloc[0] == pytest.approx(553.4 - 320.3, abs=10)
    south = s.iloc[4]
    assert south["length_m"] == pytest.approx(7747.3 - 3320.3, abs=0.1)
    assert south["length_in_radius_m"] == pytest.approx(3000, abs=10)
    assert south["visible_m"] == pytest.approx(3000 - (500 * 50 / 30 - 500), abs=15)
    assert south["visible_share"] == pytest.approx(south["visible_m"] / 3000, abs=0.005)
    # far away: no section within the radius
    far = viewshed(path, 449_000, 2_315_000, crs=UTM48, radius_m=500, k=1.0)
    assert far.visible_share(layers).empty


# -- CLI --------------------------------------------------------------------------------------

def test_cli_viewshed_from_a_marker_a_gate_and_a_point(store, wall_across_la, tmp_path):
    path, _ = wall_across_la
    base = ["--store", store.uri, "terrain", "viewshed", "--dem", str(path), "--radius", "3000",
            "--observer-height", "50"]
    r = CliRunner().invoke(main, base + ["--marker", "LA:102", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["radius_m"] == 3000 and doc["refraction_k"] == 0.13
    assert doc["observer"]["height_m"] == 50 and doc["observer"]["ground_m"] == 200
    sec = {(s["marker_from"], s["marker_to"]): s for s in doc["sections"]}
    assert sec[("101/1", "102")]["visible_share"] == 1.0
    # curvature (k = 0.13) moves the shadow's end by under a metre here
    assert sec[("102", "103")]["visible_m"] == pytest.approx(2666.7, abs=20)
    assert 0 < doc["visible_share"] < 1

    r = CliRunner().invoke(main, base + ["--gate", "cửa khẩu a", "--format", "geojson"])
    assert r.exit_code == 0, r.output
    fc = json.loads(r.output)
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds == ["viewshed", "observer"]
    area = shapely.geometry.shape(fc["features"][0]["geometry"])
    assert area.contains(shapely.geometry.shape(fc["features"][1]["geometry"]))
    assert fc["features"][1]["geometry"]["coordinates"] == pytest.approx([104.503, 20.98],
                                                                         abs=1e-4)
    assert fc["sections"] and all(0 <= s["visible_share"] <= 1 for s in fc["sections"])

    out = tmp_path / "vs.tif"
    r = CliRunner().invoke(main, ["--lang", "en"] + base + ["--at", "104.5,20.97", "--format",
                                                        "tif", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "Visible share" in r.output and "102" in r.output
    with rasterio.open(out) as ds:
        assert ds.nodata == NODATA and set(np.unique(ds.read(1))) == {0, 1, NODATA}


def test_cli_viewshed_errors(store, wall_across_la):
    path, _ = wall_across_la
    base = ["--store", store.uri, "terrain", "viewshed", "--dem", str(path)]
    cases = [
        ([], "--at, --gate"),
        (["--at", "104.5,20.97", "--gate", "X"], "--at, --gate"),
        (["--at", "104.5"], "--at"),
        (["--gate", "Không có"], "Không có cửa khẩu"),
        (["--marker", "LA:999"], "Không có mốc LA:999"),
        (["--marker", "102"], "BIÊN_GIỚI:SỐ"),
        (["--at", "105.5,20.97"], "nằm ngoài DEM"),
        (["--at", "104.5,20.97", "--format", "tif"], "--output"),
    ]
    for args, text in cases:
        r = CliRunner().invoke(main, base + args)
        assert r.exit_code != 0, args
        assert text in r.output, (args, r.output)
        assert "Traceback" not in r.output
    r = CliRunner().invoke(main, ["--lang", "en"] + base + ["--at", "105.5,20.97"])
    assert r.exit_code != 0 and "outside the DEM" in r.output
