"""Terrain from a user's DEM: exact answers on analytic surfaces (planes written as GeoTIFFs
with rasterio), GDAL's own ``gdaldem`` as the reference on a real DEM (matplotlib's sample
``jacksboro_fault_dem.npz``, 3 arc-second, Tennessee, USA - not Vietnam), and the CLI.

The synthetic surfaces are test planes, not terrain of any real place."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from pyproj import CRS, Transformer
from rasterio.transform import from_origin

from bienmoc import open_dem, profile, slope_aspect, terrain_at
from bienmoc.cli.main import main
from bienmoc.terrain import DemError, slope_grid
from bienmoc.terrain.profile import marker_elevations

UTM48 = "EPSG:32648"


def _need(tool: str) -> str:
    """The path of a GDAL command-line tool; on CI (CI=true) its absence fails the test."""
    exe = shutil.which(tool)
    if exe is None:
        msg = f"{tool} not installed (Debian gdal-bin, see .ci/system-deps)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def write_tif(path, z, crs, transform, nodata=None, dtype=None):
    z = np.asarray(z)
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype=dtype or z.dtype, crs=crs, transform=transform,
                       nodata=nodata) as ds:
        ds.write(z.astype(dtype or z.dtype), 1)
    return path


def plane_tif(path, a=0.1, b=-0.05, c=100.0, x0=500_000.0, y0=2_000_000.0, cell=30.0,
              h=200, w=300, crs=UTM48, nodata=None):
    """z = c + a (x - x0) + b (y - y0) at the cell centres of a north-up metric grid."""
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    x, y = x0 + cols * cell, y0 - rows * cell
    z = c + a * (x - x0) + b * (y - y0)
    write_tif(path, z, crs, from_origin(x0, y0, cell, cell), nodata=nodata, dtype="float64")
    return lambda px, py: c + a * (np.asarray(px) - x0) + b * (np.asarray(py) - y0)


def expected_slope_aspect(a, b):
    """Slope and downhill azimuth of z = a x + b y (x east, y north)."""
    return np.degrees(np.arctan(np.hypot(a, b))), np.degrees(np.arctan2(-a, -b)) % 360


# -- analytic surfaces ----------------------------------------------------------------------

def test_bilinear_is_exact_on_a_plane_and_nearest_is_the_cell_value(tmp_path):
    f = plane_tif(tmp_path / "p.tif")
    rng = np.random.default_rng(1)
    x = 500_000 + rng.uniform(15, 300 * 30 - 15, 500)   # inside the outer cell centres
    y = 2_000_000 - rng.uniform(15, 200 * 30 - 15, 500)
    with open_dem(tmp_path / "p.tif") as dem:
        assert np.allclose(dem.sample(x, y, crs=UTM48), f(x, y), atol=1e-9)
        near = dem.sample(x, y, crs=UTM48, method="nearest")
        cx = 500_000 + (np.floor((x - 500_000) / 30) + 0.5) * 30
        cy = 2_000_000 - (np.floor((2_000_000 - y) / 30) + 0.5) * 30
        assert np.allclose(near, f(cx, cy), atol=1e-9)
        assert not np.allclose(near, f(x, y), atol=1e-3)   # nearest is not interpolating


def test_lonlat_points_are_transformed_to_the_dem_crs(tmp_path):
    f = plane_tif(tmp_path / "p.tif")
    x, y = np.array([501_234.5, 507_000.0]), np.array([1_996_543.2, 1_995_000.0])
    lon, lat = Transformer.from_crs(UTM48, 4326, always_xy=True).transform(x, y)
    pts = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    out = terrain_at(pts, tmp_path / "p.tif")
    assert list(out["name"]) == ["a", "b"]
    assert np.allclose(out["elevation_m"], f(x, y), atol=1e-6)
    s, a = expected_slope_aspect(0.1, -0.05)
    assert np.allclose(out["slope_deg"], s, atol=0.01)
    assert np.allclose(out["aspect_deg"], a, atol=0.01)


@pytest.mark.parametrize("a,b", [(0.0, 0.2), (0.3, 0.0), (0.0, -0.01), (-0.5, 0.0),
                                 (0.7, 0.7), (-1.2, 0.4)])
def test_slope_and_aspect_of_planes_facing_every_way(tmp_path, a, b):
    plane_tif(tmp_path / "p.tif", a=a, b=b)
    x = np.array([501_000.0, 505_555.0, 508_000.0])
    y = np.array([1_999_000.0, 1_996_000.0, 1_994_321.0])
    with open_dem(tmp_path / "p.tif") as dem:
        s, asp = slope_aspect(dem, x, y, crs=UTM48)
    es, ea = expected_slope_aspect(a, b)
    assert np.allclose(s, es, atol=0.01)
    assert np.allclose((asp - ea + 180) % 360 - 180, 0, atol=0.01)


def test_a_south_up_raster_gives_the_same_answers(tmp_path):
    from affine import Affine

    a, b = 0.1, -0.05
    f = plane_tif(tmp_path / "north_up.tif", a=a, b=b)
    with rasterio.open(tmp_path / "north_up.tif") as ds:
        z = ds.read(1)
    # the same cells, rows stored south first (transform e > 0)
    write_tif(tmp_path / "south_up.tif", z[::-1], UTM48,
              Affine(30.0, 0, 500_000.0, 0, 30.0, 2_000_000.0 - 200 * 30))
    x, y = np.array([501_000.0, 505_010.0]), np.array([1_999_000.0, 1_996_020.0])
    with open_dem(tmp_path / "south_up.tif") as dem:
        assert dem.transform.e > 0
        assert np.allclose(dem.sample(x, y, crs=UTM48), f(x, y), atol=1e-9)
        s, asp = slope_aspect(dem, x, y, crs=UTM48)
    es, ea = expected_slope_aspect(a, b)
    assert np.allclose(s, es, atol=0.01) and np.allclose(asp, ea, atol=0.01)


def test_flat_cells_have_no_aspect(tmp_path):
    plane_tif(tmp_path / "p.tif", a=0.0, b=0.0)
    with open_dem(tmp_path / "p.tif") as dem:
        s, asp = slope_aspect(dem, [502_000.0], [1_998_000.0], crs=UTM48)
    assert s[0] == 0 and np.isnan(asp[0])


def test_plane_on_a_geographic_dem_uses_metres_at_the_latitude(tmp_path):
    """z = 0.2 E + 0.1 N in a local transverse Mercator (k=1) sampled on a lon/lat grid:
    slope and aspect must be the plane's in metres, although a degree of longitude is ~104 km
    and a degree of latitude ~111 km here. (Independent of Dem.cells_at: pyproj does the
    geometry.)"""
    tm = CRS.from_proj4("+proj=tmerc +lat_0=21 +lon_0=105 +k=1 +ellps=WGS84 +units=m")
    res, h, w = 1 / 1200, 120, 120  # 3 arc-seconds, like SRTM
    lon0, lat0 = 105 - w / 2 * res, 21 + h / 2 * res
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    e, n = Transformer.from_crs(4326, tm, always_xy=True).transform(lon0 + cols * res,
                                                                    lat0 - rows * res)
    write_tif(tmp_path / "g.tif", 300 + 0.2 * e + 0.1 * n, "EPSG:4326",
              from_origin(lon0, lat0, res, res), dtype="float64")
    lon = np.array([104.99, 105.0, 105.02])
    lat = np.array([20.99, 21.0, 21.03])
    with open_dem(tmp_path / "g.tif") as dem:
        assert dem.is_geographic
        s, asp = slope_aspect(dem, lon, lat)
        z = dem.sample(lon, lat)
    es, ea = expected_slope_aspect(0.2, 0.1)
    assert np.allclose(s, es, atol=0.01)
    assert np.allclose(asp, ea, atol=0.05)  # grid convergence within 0.03 deg of lon 105
    e, n = Transformer.from_crs(4326, tm, always_xy=True).transform(lon, lat)
    # bilinear in degrees on a plane in metres: exact up to the grid's curvature (< 1 mm)
    assert np.allclose(z, 300 + 0.2 * e + 0.1 * n, atol=0.01)


def test_nodata_is_nan_never_minus_32768(tmp_path):
    z = np.full((50, 60), 250, np.int16)
    z[10, 20] = -32768
    write_tif(tmp_path / "n.tif", z, UTM48, from_origin(500_000, 2_000_000, 30, 30),
              nodata=-32768)
    cx, cy = 500_000 + 20.5 * 30, 2_000_000 - 10.5 * 30
    with open_dem(tmp_path / "n.tif") as dem:
        assert dem.nodata == -32768
        xs = np.array([cx, cx + 20, cx + 70, cx + 100, 400_000.0])
        ys = np.array([cy, cy, cy, cy, cy])
        near = dem.sample(xs, ys, crs=UTM48, method="nearest")
        bil = dem.sample(xs, ys, crs=UTM48)
        s, _ = slope_aspect(dem, xs, ys, crs=UTM48)
    # the nodata cell; its neighbour (nearest fine, bilinear touches nodata); 2 cells away;
    # 3 cells away; outside the DEM
    assert np.isnan(near[0]) and near[1] == 250 and near[2] == 250 and np.isnan(near[4])
    assert np.isnan(bil[0]) and np.isnan(bil[1]) and bil[2] == 250 and np.isnan(bil[4])
    assert np.isnan(s[0]) and np.isnan(s[1]) and s[2] == 0 and s[3] == 0 and np.isnan(s[4])
    assert not np.any(near == -32768) and not np.any(bil == -32768)


def test_nan_without_a_declared_nodata_is_still_no_data(tmp_path):
    z = np.full((20, 20), 10.0, np.float32)
    z[5, 5] = np.nan
    write_tif(tmp_path / "f.tif", z, UTM48, from_origin(0, 1000, 10, 10))
    with open_dem(tmp_path / "f.tif") as dem:
        v = dem.sample([55.0, 155.0], [945.0, 945.0], crs=UTM48, method="nearest")
    assert np.isnan(v[0]) and v[1] == 10.0


def test_queries_read_only_the_blocks_they_need(tmp_path):
    # 2048 x 2048 cells = 16 blocks of 512 x 512; points in one corner read 1 block only
    plane_tif(tmp_path / "big.tif", h=2048, w=2048, cell=10.0)
    with open_dem(tmp_path / "big.tif") as dem:
        x = 500_000 + np.linspace(100, 4_000, 50)
        dem.sample(x, np.full(50, 1_999_000.0), crs=UTM48)
        assert dem.reads == 1
        dem.sample([500_000 + 20_000.0], [2_000_000 - 20_000.0], crs=UTM48)
        assert dem.reads == 2
        # a point on the corner of 4 blocks: its bilinear neighbours lie in all four
        dem.sample([500_000 + 5120.0], [2_000_000 - 5120.0], crs=UTM48)
        assert dem.reads == 6


def test_a_vrt_of_tiles_is_one_dem(tmp_path):
    _need("gdalbuildvrt")
    f = plane_tif(tmp_path / "west.tif", w=100)
    plane_tif(tmp_path / "east.tif", x0=503_000.0, c=100 + 0.1 * 3_000, w=100)
    subprocess.run(["gdalbuildvrt", "-q", str(tmp_path / "all.vrt"), str(tmp_path / "west.tif"),
                    str(tmp_path / "east.tif")], check=True)
    x = np.array([502_990.0, 503_000.0, 503_010.0, 505_500.0])   # across the seam
    y = np.full(4, 1_998_000.0)
    with open_dem(tmp_path / "all.vrt") as dem:
        assert dem.width == 200
        assert np.allclose(dem.sample(x, y, crs=UTM48), f(x, y), atol=1e-9)


def test_open_dem_from_environment_and_errors(tmp_path, monkeypatch):
    plane_tif(tmp_path / "p.tif")
    monkeypatch.delenv("BIENMOC_DEM", raising=False)
    with pytest.raises(DemError, match="BIENMOC_DEM"):
        open_dem()
    monkeypatch.setenv("BIENMOC_DEM", str(tmp_path / "p.tif"))
    with open_dem() as dem:
        assert dem.crs == CRS.from_epsg(32648)
    with pytest.raises(DemError, match="no DEM at"):
        open_dem(tmp_path / "missing.tif")
    write_tif(tmp_path / "nocrs.tif", np.zeros((3, 3), np.float32), None,
              from_origin(0, 3, 1, 1))
    with pytest.raises(DemError, match="declares no CRS"):
        open_dem(tmp_path / "nocrs.tif")


# -- the real DEM against gdaldem ------------------------------------------------------------

@pytest.fixture(scope="module")
def jacksboro(tmp_path_factory):
    """matplotlib's 3-arc-second DEM (Jacksboro fault, Tennessee) as GeoTIFFs: geographic, and
    the same cells on square 90 m and on local-metre grids for gdaldem."""
    try:
        import matplotlib
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("matplotlib (test extra) is needed for the real DEM")
        pytest.skip("matplotlib not installed")
    d = np.load(os.path.join(matplotlib.get_data_path(), "sample_data",
                             "jacksboro_fault_dem.npz"))
    z = d["elevation"]
    # the file stores its y extent flipped: "ymin" is the north edge (row 0 is north, as
    # matplotlib's own hillshade example draws it)
    assert float(d["ymin"]) > float(d["ymax"])
    res = float(d["dx"])
    assert np.isclose(res, 1 / 1200) and np.isclose(float(d["dy"]), res)
    north, west = float(d["ymin"]), float(d["xmin"])
    h, w = z.shape
    assert (h, w) == (344, 403)
    assert np.isclose(float(d["xmax"]) - west, w * res)
    assert np.isclose(north - float(d["ymax"]), h * res)
    p = tmp_path_factory.mktemp("jacksboro")
    write_tif(p / "geo.tif", z, "EPSG:4326", from_origin(west, north, res, res), nodata=-32768)
    write_tif(p / "sq90.tif", z, "EPSG:32616", from_origin(700_000, 4_050_000, 90, 90),
              nodata=-32768)
    return {"dir": p, "z": z.astype(float), "res": res, "north": north, "west": west}


def _gdaldem(mode: str, src, dst, *args) -> np.ndarray:
    subprocess.run([_need("gdaldem"), mode, str(src), str(dst), "-q", *args], check=True)
    with rasterio.open(dst) as ds:
        return np.ma.filled(ds.read(1, masked=True).astype(float), np.nan)


def test_horn_matches_gdaldem_on_a_real_dem(jacksboro):
    p, z = jacksboro["dir"], jacksboro["z"]
    ref_s = _gdaldem("slope", p / "sq90.tif", p / "s.tif")
    ref_a = _gdaldem("aspect", p / "sq90.tif", p / "a.tif")
    s, a = slope_grid(z, 90.0, 90.0)
    assert np.array_equal(np.isnan(s), np.isnan(ref_s))      # the same edge cells
    assert np.array_equal(np.isnan(a), np.isnan(ref_a))      # ... and the same flat cells
    assert np.nanmax(np.abs(s - ref_s)) < 1e-3
    assert np.nanmax(np.abs((a - ref_a + 180) % 360 - 180)) < 1e-3
    assert 5 < np.nanmean(s) < 25  # real hills, not a flat test
    # at points, through the Dem (windowed reads), the same values as the grid
    with open_dem(p / "sq90.tif") as dem:
        rows, cols = np.array([1, 100, 200, 342]), np.array([1, 50, 300, 401])
        x, y = 700_000 + (cols + 0.5) * 90, 4_050_000 - (rows + 0.5) * 90
        ps, pa = slope_aspect(dem, x, y, crs="EPSG:32616")
    assert np.allclose(ps, ref_s[rows, cols], atol=1e-3)
    assert np.allclose(pa, ref_a[rows, cols], atol=1e-3)


def test_slope_on_the_geographic_dem_uses_metres_at_each_latitude(jacksboro):
    """gdaldem takes one cell size for the whole raster: give it the ground size of a cell at
    the DEM's central latitude (pyproj.Geod), and it agrees with our per-row sizes exactly on
    the central rows and within the change of cos(latitude) (0.3 %) elsewhere. gdaldem's
    ``-s 111120`` (no cos(latitude)) is degrees off."""
    from pyproj import Geod

    p, z, res = jacksboro["dir"], jacksboro["z"], jacksboro["res"]
    h, w = z.shape
    lat_c = jacksboro["north"] - h / 2 * res
    g = Geod(ellps="WGS84")
    ex = g.inv(jacksboro["west"], lat_c, jacksboro["west"] + res, lat_c)[2]
    ny = g.inv(jacksboro["west"], lat_c - res / 2, jacksboro["west"], lat_c + res / 2)[2]
    write_tif(p / "local.tif", z.astype(np.int16), "EPSG:32616",
              from_origin(700_000, 4_050_000, ex, ny), nodata=-32768)
    ref = _gdaldem("slope", p / "local.tif", p / "sl.tif")
    with open_dem(p / "geo.tif") as dem:
        lat = dem.transform.f + (np.arange(h) + 0.5) * dem.transform.e
        cells = dem.cells_at(np.full(h, jacksboro["west"]), lat)
        assert np.isclose(cells.dx_m[h // 2], ex, rtol=1e-4)
        assert np.isclose(cells.dy_m[h // 2], ny, rtol=1e-4)
        s, _ = slope_grid(z, cells.dx_m, cells.dy_m)
        # the same through points in lon/lat
        rows, cols = np.array([170, 172, 5]), np.array([200, 10, 390])
        lon = jacksboro["west"] + (cols + 0.5) * res
        ps, _ = slope_aspect(dem, lon, lat[rows])
    assert np.allclose(ps, s[rows, cols], atol=1e-9)
    centre = slice(h // 2 - 20, h // 2 + 20)
    assert np.nanmax(np.abs(s[centre] - ref[centre])) < 0.01
    assert np.nanmax(np.abs(s - ref)) < 0.1
    rough = _gdaldem("slope", p / "geo.tif", p / "s111.tif", "-s", "111120")
    assert np.nanmax(np.abs(s - rough)) > 2  # why we do not use -s 111120


# -- profile along a border -------------------------------------------------------------------

@pytest.fixture
def tilted(tmp_path, layers):
    """A plane (UTM 48N, z = 500 - 0.02 N') under the tiny world's LA line (lon 104.5)."""
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    x0, y0 = line.bounds[0] - 3_000, line.bounds[3] + 3_000
    f = plane_tif(tmp_path / "tilt.tif", a=0.0, b=0.02, c=500.0, x0=x0, y0=y0, cell=50.0,
                  h=320, w=120)
    return tmp_path / "tilt.tif", f


def test_profile_every_step_of_chainage(layers, tilted):
    path, f = tilted
    rows = profile(layers, "LA", path, step=500.0, slope=True)
    length = rows["chainage_m"].iloc[-1]
    assert 11_000 < length < 11_150                   # 0.1 deg of latitude
    assert np.allclose(np.diff(rows["chainage_m"])[:-1], 500.0)
    assert rows["chainage_m"].iloc[0] == 0 and (rows["part"] == 0).all()
    assert np.allclose(rows[["lon"]], 104.5, atol=1e-6)
    assert rows["lat"].is_monotonic_decreasing        # the line runs north -> south
    x, y = Transformer.from_crs(4326, UTM48, always_xy=True).transform(rows["lon"], rows["lat"])
    assert np.allclose(rows["elevation_m"], f(x, y), atol=1e-3)
    assert np.allclose(rows["slope_deg"], np.degrees(np.arctan(0.02)), atol=0.01)
    assert np.allclose(rows["aspect_deg"], 180.0, atol=0.5)   # downhill southwards
    part = profile(layers, "LA", path, step=250.0, from_km=2, to_km=3)
    assert list(part["chainage_m"]) == [2000, 2250, 2500, 2750, 3000]


def test_profile_skips_the_gap_between_parts(tmp_path, layers, tilted):
    path, _ = tilted
    b = layers["boundary"].copy()
    b.geometry = [shapely.MultiLineString([[(104.5, 21.0), (104.5, 20.96)],
                                           [(104.5, 20.95), (104.5, 20.9)]])]
    rows = profile({"boundary": b}, "LA", path, step=1000.0)
    assert rows["part"].tolist()[:5] == [0] * 5 and rows["part"].iloc[-1] == 1
    # no sample between latitudes 20.96 and 20.95 (the gap), and chainage runs on across it
    assert not ((rows["lat"] < 20.96 - 1e-7) & (rows["lat"] > 20.95 + 1e-7)).any()
    assert 9_900 < rows["chainage_m"].iloc[-1] < 10_050   # 0.09 deg, not 0.1


def test_marker_chainages_and_elevations(layers, tilted):
    path, f = tilted
    m = marker_elevations(layers, "LA", path)
    assert list(m["number"]) == ["100", "100/1", "101", "101/1", "102", "103", "104"]
    assert m["chainage_m"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert m["chainage_m"].iloc[2] == pytest.approx(1106.8, abs=1.0)  # 0.01 deg of latitude
    x, y = Transformer.from_crs(4326, UTM48, always_xy=True).transform(m["lon"], m["lat"])
    assert np.allclose(m["elevation_m"], f(x, y), atol=1e-3)


# -- CLI ------------------------------------------------------------------------------------

def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_cli_elevation_keeps_properties(tmp_path, monkeypatch):
    f = plane_tif(tmp_path / "p.tif")
    x, y = np.array([501_000.0, 506_000.0]), np.array([1_999_000.0, 1_996_000.0])
    lon, lat = Transformer.from_crs(UTM48, 4326, always_xy=True).transform(x, y)
    csv = tmp_path / "pts.csv"
    csv.write_text("tên,x,y\nđiểm A,%.9f,%.9f\nđiểm B,%.9f,%.9f\n" % (lon[0], lat[0], lon[1],
                                                                       lat[1]), encoding="utf-8")
    r = run("terrain", "elevation", str(csv), "--dem", str(tmp_path / "p.tif"),
            "--format", "geojson")
    assert r.exit_code == 0, r.output
    feats = json.loads(r.stdout)["features"]
    assert [ft["properties"]["tên"] for ft in feats] == ["điểm A", "điểm B"]
    assert np.allclose([ft["properties"]["elevation_m"] for ft in feats], f(x, y), atol=1e-4)
    monkeypatch.setenv("BIENMOC_DEM", str(tmp_path / "p.tif"))
    r = run("terrain", "elevation", str(csv), "--format", "csv", "--slope")
    assert r.exit_code == 0, r.output
    head = r.stdout.lstrip("\ufeff").splitlines()[0]
    assert "elevation_m" in head and "slope_deg" in head and "tên" in head
    r = run("terrain", "elevation", str(csv), "--format", "table")
    assert "Độ cao (m)" in r.stdout and "điểm A" in r.stdout


def test_cli_elevation_errors_name_the_problem(tmp_path, monkeypatch):
    monkeypatch.delenv("BIENMOC_DEM", raising=False)
    csv = tmp_path / "pts.csv"
    csv.write_text("x,y\n104.5,21\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["terrain", "elevation", str(csv)])
    assert r.exit_code != 0 and "chưa có DEM" in r.output and "BIENMOC_DEM" in r.output
    r = CliRunner().invoke(main, ["--lang", "en", "terrain", "elevation", str(csv), "--dem",
                                  str(tmp_path / "none.tif")])
    assert r.exit_code != 0 and "no DEM file at" in r.output and "none.tif" in r.output
    r = CliRunner().invoke(main, ["terrain", "elevation", str(csv), "--dem", str(csv)])
    assert r.exit_code != 0 and "không phải raster" in r.output
    plane_tif(tmp_path / "p.tif")
    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=[shapely.Point(104.5, 21),
                                               shapely.LineString([(104.5, 21), (104.6, 21)])],
                     crs=4326).to_file(lines)
    r = CliRunner().invoke(main, ["terrain", "elevation", str(lines), "--dem",
                                  str(tmp_path / "p.tif")])
    assert r.exit_code != 0 and "dòng 2" in r.output and "LineString" in r.output


def test_points_in_a_metric_csv_and_points_pyproj_cannot_transform(tmp_path):
    f = plane_tif(tmp_path / "p.tif")
    csv = tmp_path / "vn.csv"
    csv.write_text("x,y\n501000,1999000\n", encoding="utf-8")
    r = run("terrain", "elevation", str(csv), "--dem", str(tmp_path / "p.tif"), "--crs", UTM48)
    assert r.exit_code == 0, r.output
    head, row = r.stdout.lstrip("\ufeff").strip().splitlines()
    assert float(dict(zip(head.split(","), row.split(",")))["elevation_m"]) == pytest.approx(
        f(501_000, 1_999_000), abs=1e-4)
    with open_dem(tmp_path / "p.tif") as dem:
        v = dem.sample([np.inf, np.nan], [0.0, 0.0])
        s, a = slope_aspect(dem, [np.inf], [0.0])
    assert np.isnan(v).all() and np.isnan(s).all() and np.isnan(a).all()


def test_cli_profile(store, tilted):
    path, f = tilted
    r = run("--store", store.uri, "terrain", "profile", "--border", "la", "--dem", str(path),
            "--step", "1000", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["border"] == "LA" and doc["step_m"] == 1000
    ch = [row["chainage_m"] for row in doc["profile"]]
    assert ch[:3] == [0, 1000, 2000] and len(ch) == 13   # 0 .. 11000 and the end
    assert ch[-1] == pytest.approx(11_067.58, abs=0.01)
    assert [m["number"] for m in doc["markers"]][:3] == ["100", "100/1", "101"]
    x, y = Transformer.from_crs(4326, UTM48, always_xy=True).transform(
        [row["lon"] for row in doc["profile"]], [row["lat"] for row in doc["profile"]])
    assert np.allclose([row["elevation_m"] for row in doc["profile"]], f(x, y), atol=1e-3)
    r = run("--store", store.uri, "terrain", "profile", "--border", "LA", "--dem", str(path),
            "--from-km", "1", "--to-km", "2", "--step", "500", "--format", "csv")
    lines = r.stdout.lstrip("\ufeff").strip().splitlines()
    assert lines[0] == "chainage_m,lon,lat,elevation_m,part,marker"
    assert [ln.split(",")[0] for ln in lines[1:]] == ["1000.0", "1106.76", "1500.0",
                                                     "1660.15", "2000.0"]
    assert lines[2].endswith(",101")
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "profile", "--border", "LA",
                                  "--dem", str(path), "--from-km", "20"])
    assert r.exit_code != 0 and "LA" in r.output and "11.068 km" in r.output
