"""Intervisibility of markers and hillshade: sight lines over DEMs whose answer is known by
hand (a flat plain with a ridge of known height, a long flat line and the curvature formula),
a brute-force reference on a real DEM (matplotlib's Jacksboro sample, Tennessee - not Vietnam),
``gdaldem hillshade`` as the reference for the hillshade, and the CLI.

The synthetic surfaces are test surfaces, not terrain of any real place."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from pyproj import Transformer
from rasterio.transform import from_origin

from bienmoc.cli.main import main
from bienmoc.terrain import hillshade_grid, intervisibility, open_dem, propose_stakes, sight_lines
from bienmoc.terrain.visibility import EARTH_RADIUS_M, REFRACTION_K, curvature_drop

from test_terrain import _gdaldem, jacksboro, write_tif  # noqa: F401  (fixture)

UTM48 = "EPSG:32648"
X0, Y0 = 500_000.0, 2_000_000.0


def grid_tif(path, z, cell):
    write_tif(path, np.asarray(z, float), UTM48, from_origin(X0, Y0, cell, cell),
              dtype="float64")
    return path


def drop(d1, d2):
    return d1 * d2 * (1 - 0.13) / (2 * 6_371_000.0)


# -- sight lines with answers by hand ---------------------------------------------------------

@pytest.mark.parametrize("ridge,visible", [(101.40, True), (101.45, False), (90.0, True),
                                          (140.0, False)])
def test_a_ridge_of_known_height_blocks_or_clears_as_by_hand(tmp_path, ridge, visible):
    """Plain at 100 m, cells of 10 m; a north-south ridge 60 m wide (6 cells) at height
    ``ridge`` centred between observer and target 2 km apart, both 1.5 m above the plain.
    With 5 m steps the middle sample lies on the ridge crest: clearance = 101.5 - ridge -
    drop(1000, 1000) exactly."""
    z = np.full((40, 300), 100.0)
    z[:, 147:153] = ridge                     # columns 147..152: x in [1470, 1530]
    path = grid_tif(tmp_path / "ridge.tif", z, 10.0)
    y = Y0 - 200.0
    with open_dem(path) as dem:
        s = sight_lines(dem, [X0 + 500.0], [y], [X0 + 2500.0], [y], UTM48, step=5.0)
    expected = 101.5 - ridge - drop(1000.0, 1000.0)
    if ridge < 100:   # a ditch: the worst is the plain at its edge (cell centre 1465 m,
        # bilinear reaches the ditch beyond it), 965 m from the observer
        expected = 1.5 - drop(965.0, 1035.0)
    assert s["clearance_m"].iloc[0] == pytest.approx(expected, abs=1e-9)
    assert bool(s["visible"].iloc[0]) is visible
    if ridge > 100:
        assert s["x"].iloc[0] == pytest.approx(X0 + 1500.0)      # the crest, the middle
    assert s["distance_m"].iloc[0] == pytest.approx(2000.0)


def test_curvature_drop_of_a_long_flat_sight_line(tmp_path):
    """Sea-level flat DEM, 20 km sight line: the bulge at the middle is D^2 (1-k) / (8 R)
    = 6.83 m; eyes (both ends) at 7 m see each other, at 6.5 m they do not."""
    path = grid_tif(tmp_path / "flat.tif", np.zeros((10, 260)), 100.0)
    y = Y0 - 500.0
    d = 20_000.0
    assert curvature_drop(d / 2, d / 2) == pytest.approx(d * d * 0.87 / (8 * EARTH_RADIUS_M))
    assert drop(d / 2, d / 2) == pytest.approx(6.8278, abs=1e-4)
    assert REFRACTION_K == 0.13
    with open_dem(path) as dem:
        for h, vis in [(7.0, True), (6.5, False)]:
            s = sight_lines(dem, [X0 + 1000.0], [y], [X0 + 1000.0 + d], [y], UTM48,
                            observer_height=h, target_height=h, step=50.0)
            assert s["clearance_m"].iloc[0] == pytest.approx(h - drop(d / 2, d / 2), abs=1e-9)
            assert bool(s["visible"].iloc[0]) is vis
            assert s["fraction"].iloc[0] == pytest.approx(0.5)
        # unequal heights: the line slopes; its least clearance is where h(f) - drop is least
        s = sight_lines(dem, [X0 + 1000.0], [y], [X0 + 1000.0 + d], [y], UTM48,
                        observer_height=40.0, target_height=10.0, step=50.0)
        f = np.arange(1, 400) / 400
        ref = (40.0 + f * (10.0 - 40.0) - drop(f * d, (1 - f) * d)).min()
        assert s["clearance_m"].iloc[0] == pytest.approx(ref, abs=1e-9)
        # no data on the line: neither visible nor a clearance
        s = sight_lines(dem, [X0 + 1000.0], [y], [X0 + 40_000.0], [y], UTM48)
        assert np.isnan(s["clearance_m"].iloc[0]) and not s["visible"].iloc[0]


def _brute(dem, xa, ya, xb, yb, h, cell):
    """Reference: every pair sampled at 1/10 cell, one pair at a time (no vectorising)."""
    out = []
    for i in range(len(xa)):
        d = np.hypot(xb[i] - xa[i], yb[i] - ya[i])
        n = int(np.ceil(d / (cell / 10)))
        f = np.linspace(0, 1, n + 1)
        z = dem.sample(xa[i] + f * (xb[i] - xa[i]), ya[i] + f * (yb[i] - ya[i]),
                       crs="EPSG:32616")
        line = (z[0] + h) + f * ((z[-1] + h) - (z[0] + h))
        clear = line[1:-1] - (z[1:-1] + drop(f[1:-1] * d, (1 - f[1:-1]) * d))
        out.append(clear.min() > 0)
    return np.array(out)


def test_line_of_sight_agrees_with_brute_force_on_a_real_dem(jacksboro):
    p = jacksboro["dir"]
    rng = np.random.default_rng(14)
    n = 2000
    # points well inside the 403 x 344 cells of 90 m; pairs up to ~6 km apart
    xa = 700_000 + rng.uniform(200, 403 * 90 - 200, n)
    ya = 4_050_000 - rng.uniform(200, 344 * 90 - 200, n)
    ang, dist = rng.uniform(0, 2 * np.pi, n), rng.uniform(100, 6000, n)
    xb = np.clip(xa + dist * np.cos(ang), 700_100, 700_000 + 403 * 90 - 100)
    yb = np.clip(ya + dist * np.sin(ang), 4_050_000 - 344 * 90 + 100, 4_049_900)
    h = 10.0
    with open_dem(p / "sq90.tif") as dem:
        s = sight_lines(dem, xa, ya, xb, yb, "EPSG:32616", observer_height=h, target_height=h)
        ref = _brute(dem, xa, ya, xb, yb, h, 90.0)
    vis = s["visible"].to_numpy()
    assert 0.2 < vis.mean() < 0.8                 # a real mix, not all one answer
    agree = (vis == ref).mean()
    assert agree >= 0.995, agree


# -- markers along a border -------------------------------------------------------------------

@pytest.fixture
def bump(tmp_path, layers):
    """Plain at 200 m under the tiny world's LA line (a meridian, markers 100..104) with an
    east-west hill z = 200 + 40 exp(-((N - Nc)/250)^2) across the line between markers 102
    (chainage 3320 m) and 103 (7747 m), at chainage ~5500 m."""
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    x0, y0 = line.bounds[0] - 2_000, line.bounds[3] + 2_000
    north = line.bounds[3] - 5_500.0
    h, w, cell = 600, 160, 25.0
    rows = np.arange(h) + 0.5
    ny = y0 - rows * cell
    z = 200 + 40 * np.exp(-((ny - north) / 250.0) ** 2)
    write_tif(tmp_path / "bump.tif", np.repeat(z[:, None], w, axis=1), UTM48,
              from_origin(x0, y0, cell, cell), dtype="float64")
    return tmp_path / "bump.tif", line.bounds[3] - north


def test_intervisibility_of_consecutive_markers(layers, bump):
    path, hill_ch = bump
    rows = intervisibility(layers, "LA", path, max_range_m=4000.0)
    assert list(rows["marker_from"]) == ["100", "100/1", "101", "101/1", "102", "103"]
    assert list(rows["marker_to"]) == ["100/1", "101", "101/1", "102", "103", "104"]
    assert list(rows["visible"]) == [True, True, True, True, False, True]
    assert list(rows["too_far"]) == [False, False, False, False, True, False]
    assert rows["distance_m"].iloc[4] == pytest.approx(7747.32 - 3320.29, abs=0.5)
    blocked = rows.iloc[4]
    assert blocked["clearance_m"] < -35                  # the 40 m hill, eyes at 1.5 m
    assert blocked["obstruction_chainage_m"] == pytest.approx(hill_ch, abs=15)
    assert blocked["obstruction_lon"] == pytest.approx(104.5, abs=1e-5)
    # over the plain the clearance is the eye height less the bulge at the worst sample
    d = rows["distance_m"].iloc[0]
    assert rows["clearance_m"].iloc[0] == pytest.approx(1.5 - drop(d / 2, d / 2), abs=1e-3)


def test_stakes_proposed_where_a_pair_is_blocked_see_both_neighbours(layers, bump):
    path, hill_ch = bump
    st = propose_stakes(layers, "LA", path)
    assert len(st) == 1 and bool(st["found"].iloc[0])
    s = st.iloc[0]
    assert (s["marker_from"], s["marker_to"], s["number"]) == ("102", "103", "102/1")
    assert 3320 < s["chainage_m"] < 7747
    # checked independently: from the stake (1.5 m above ground) both markers are visible
    from bienmoc.geometry.locate import BorderModel

    bm = BorderModel.from_source(layers)
    xy = bm.index.point_at("LA", np.array([s["chainage_m"], 3320.28723105, 7747.31878694]))
    with open_dem(path) as dem:
        v = sight_lines(dem, xy[[0, 0], 0], xy[[0, 0], 1], xy[1:, 0], xy[1:, 1], UTM48)
    assert v["visible"].all()
    assert abs(s["chainage_m"] - hill_ch) < 600          # on the hill, not on the plain
    x, y = Transformer.from_crs(4326, UTM48, always_xy=True).transform(s["lon"], s["lat"])
    assert np.hypot(x - xy[0, 0], y - xy[0, 1]) < 0.01


def test_a_chain_of_stakes_when_no_single_one_sees_both(tmp_path, layers):
    """Two 60 m walls across the line between 102 and 103: no point on the line sees both
    markers; a chain of stakes on the walls' crests does, each seeing the next."""
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    x0, y0 = line.bounds[0] - 2_000, line.bounds[3] + 2_000
    h, w, cell = 400, 160, 25.0
    ny = y0 - (np.arange(h) + 0.5) * cell
    top = line.bounds[3]
    z = 200 + 60 * np.exp(-((ny - (top - 4_500)) / 200.0) ** 2) \
        + 60 * np.exp(-((ny - (top - 6_500)) / 200.0) ** 2)
    write_tif(tmp_path / "two.tif", np.repeat(z[:, None], w, axis=1), UTM48,
              from_origin(x0, y0, cell, cell), dtype="float64")
    st = propose_stakes(layers, "LA", tmp_path / "two.tif")
    chain = st[st["marker_from"] == "102"]
    assert len(chain) >= 2 and chain["found"].all()
    assert list(chain["number"]) == [f"102/{i}" for i in range(1, len(chain) + 1)]
    from bienmoc.geometry.locate import BorderModel

    bm = BorderModel.from_source(layers)
    ch = np.r_[3320.28723105, chain["chainage_m"].to_numpy(), 7747.31878694]
    xy = bm.index.point_at("LA", ch)
    with open_dem(tmp_path / "two.tif") as dem:
        v = sight_lines(dem, xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1], UTM48)
    assert v["visible"].all()
    # allowed one stake only: none proposed, and said so
    one = propose_stakes(layers, "LA", tmp_path / "two.tif", max_stakes=1)
    row = one[one["marker_from"] == "102"]
    assert len(row) == 1 and not row["found"].iloc[0] and row["number"].iloc[0] is None


# -- hillshade ---------------------------------------------------------------------------------

def test_hillshade_matches_gdaldem_on_a_real_dem(jacksboro):
    p, z = jacksboro["dir"], jacksboro["z"]
    ref = _gdaldem("hillshade", p / "sq90.tif", p / "hs.tif")   # az 315, alt 45, byte
    hs = hillshade_grid(z, 90.0, 90.0)
    ours = np.where(np.isnan(hs), 0, np.round(hs))
    ref = np.nan_to_num(ref, nan=0)
    assert np.array_equal(ours == 0, ref == 0)
    assert np.abs(ours - ref).max() <= 1
    assert (ours == ref).mean() > 0.99        # measured: 100 % equal with GDAL 3.x
    assert ref[ref > 0].std() > 10            # real relief: the shades vary
    # another light: from the east, low
    ref2 = np.nan_to_num(_gdaldem("hillshade", p / "sq90.tif", p / "hs2.tif", "-az", "90",
                                  "-alt", "20"), nan=0)
    ours2 = np.nan_to_num(np.round(hillshade_grid(z, 90.0, 90.0, azimuth=90, altitude=20)))
    assert np.abs(ours2 - ref2).max() <= 1


# -- CLI ----------------------------------------------------------------------------------------

def test_cli_visibility(store, bump):
    path, _ = bump
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "visibility", "--border",
                                  "la", "--dem", str(path), "--format", "json",
                                  "--max-range", "4000"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["border"] == "LA" and doc["refraction_k"] == 0.13
    assert [p["visible"] for p in doc["pairs"]] == [True] * 4 + [False, True]
    assert doc["pairs"][4]["too_far"] is True
    assert [s["number"] for s in doc["stakes"]] == ["102/1"]
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "visibility", "--border",
                                  "LA", "--dem", str(path), "--format", "csv",
                                  "--observer-height", "50", "--target-height", "50"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("marker_from,marker_to,distance_m,visible,clearance_m")
    assert all(",True," in ln for ln in lines[1:])            # 50 m masts see over the hill
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "visibility", "--border",
                                  "LA", "--dem", str(path)])
    assert "Thông hướng" in r.stdout and "102/1@" in r.stdout


def test_default_step_is_half_a_cell_in_ground_metres(jacksboro):
    from bienmoc.terrain.visibility import default_step

    with open_dem(jacksboro["dir"] / "geo.tif") as dem:       # 3" cells: ~74 m x 93 m here
        step = default_step(dem, [jacksboro["west"] + 0.1], [jacksboro["north"] - 0.1],
                            "EPSG:4326")
    assert 36 < step < 38


def test_cli_visibility_errors(store, bump, monkeypatch):
    path, _ = bump
    monkeypatch.delenv("BIENMOC_DEM", raising=False)
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "visibility", "--border",
                                  "LA"])
    assert r.exit_code != 0 and "BIENMOC_DEM" in r.output
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "visibility", "--border",
                                  "XX", "--dem", str(path)])
    assert r.exit_code != 0 and "XX" in r.output
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "visibility", "--border",
                                  "LA", "--dem", str(path), "--observer-height", "-1"])
    assert r.exit_code != 0 and "-1" in r.output


def test_pairs_follow_numbering_not_the_line_direction(layers, bump):
    import shapely

    path, hill_ch = bump
    flipped = {k: v.copy() for k, v in layers.items()}
    flipped["boundary"].geometry = shapely.reverse(flipped["boundary"].geometry.values)
    rows = intervisibility(flipped, "LA", path)
    assert list(rows["marker_from"]) == ["100", "100/1", "101", "101/1", "102", "103"]
    assert list(rows["visible"]) == [True, True, True, True, False, True]
    length = 11_067.5788992
    assert rows["obstruction_chainage_m"].iloc[4] == pytest.approx(length - hill_ch, abs=15)
