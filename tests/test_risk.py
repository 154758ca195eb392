"""Landslide exposure (terrain/risk.py, terrain/factors.py) on analytic surfaces whose answers
are known: planes of known slope, a bowl and a dome (curvature signs and magnitudes), D8 on a
V-shaped valley, frequency ratios and AUC with landslides placed only on steep cells or at
random, and the CLI. The surfaces are test surfaces, not terrain of any real place."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin

from bienmoc.cli.main import main
from bienmoc.terrain.factors import (AHP_CR, AHP_WEIGHTS, classify, curvatures,
                                     d8_accumulation, drainage_distance, factor_grids)
from bienmoc.terrain.risk import frequency_ratio, landslide_exposure, success_auc

from test_terrain import plane_tif, write_tif

UTM48 = "EPSG:32648"


def _under_line(layers):
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    return line.bounds[0] - 3_000, line.bounds[3] + 3_000


@pytest.fixture
def planes(tmp_path, layers):
    """Two planes under the tiny world's LA line (a meridian), dipping north-south at 5° and
    at 35°, cells of 30 m."""
    x0, y0 = _under_line(layers)
    out = {}
    for deg in (5, 35):
        p = tmp_path / f"plane{deg}.tif"
        plane_tif(p, a=0.0, b=np.tan(np.radians(deg)), c=3000.0, x0=x0, y0=y0, cell=30.0,
                  h=580, w=200)
        out[deg] = p
    return out


def test_weights_are_a_consistent_ahp_vector():
    assert sum(AHP_WEIGHTS.values()) == pytest.approx(1.0)
    assert AHP_CR < 0.1                                    # Saaty's consistency rule
    assert max(AHP_WEIGHTS, key=AHP_WEIGHTS.get) == "slope_deg"


def test_a_gentle_plane_is_low_and_a_steep_plane_high(layers, planes):
    low = landslide_exposure(layers, "LA", planes[5], method="wlc")
    high = landslide_exposure(layers, "LA", planes[35], method="wlc")
    assert low.method == high.method == "wlc"
    assert list(low.markers["marker"]) == ["100", "100/1", "101", "101/1", "102", "103", "104"]
    assert np.allclose(low.markers["slope_deg"], 5.0, atol=1e-6)
    assert np.allclose(high.markers["slope_deg"], 35.0, atol=1e-6)
    # a plane has no curvature; relief over the 500 m window (17 rows of 30 m) = 480 tan(a)
    assert np.allclose(high.markers["relief_m"], 480 * np.tan(np.radians(35)), atol=1e-6)
    assert (low.markers["exposure"] == "low").all()
    assert (high.markers["exposure"] == "high").all()
    assert (high.sections["high_share"] == 1.0).all() and (low.sections["high_m"] == 0).all()
    # section lengths are the chainage between consecutive markers
    ch = high.markers["chainage_m"].to_numpy()
    assert high.sections["length_m"].to_numpy() == pytest.approx(np.abs(np.diff(ch)))
    # WLC index by hand: ratings slope 4 (30-40°), relief 5 (336 m), straight 1, 1, and
    # drainage 1 (a plane's parallel flow never gathers 1 km² within the window)
    w = AHP_WEIGHTS
    hand = 4 * w["slope_deg"] + 5 * w["relief_m"] + w["profile_curv"] + w["plan_curv"] \
        + w["drainage_m"]
    assert high.markers["index"].to_numpy() == pytest.approx(hand)


def test_curvature_of_a_bowl_and_a_dome():
    """z = ±c r² (c = 0.001 /m): the contour through a point at radius r is a circle, plan
    curvature ±1/r (convergent bowl, divergent dome); profile curvature 2c / (1+4c²r²)^1.5,
    positive (concave) in the bowl."""
    y, x = np.mgrid[0:41, 0:41] * 10.0
    r2 = (x - 200) ** 2 + (y - 200) ** 2
    bowl = 0.001 * r2
    prof, plan = curvatures(bowl, 10.0, 10.0)
    # a cell 100 m north of the centre (row 10, col 20)
    assert plan[10, 20] == pytest.approx(1 / 100.0, rel=1e-9)
    assert prof[10, 20] == pytest.approx(0.002 / (1 + 4e-6 * 100 ** 2) ** 1.5, rel=1e-9)
    prof_d, plan_d = curvatures(-bowl, 10.0, 10.0)
    assert plan_d[10, 20] == pytest.approx(-1 / 100.0) and prof_d[10, 20] < 0
    assert classify("plan_curv", plan[10:11, 20]).tolist() == [2]      # convergent
    assert classify("plan_curv", plan_d[10:11, 20]).tolist() == [0]    # divergent
    assert np.isnan(curvatures(np.zeros((5, 5)), 10, 10)[0][2, 2])     # flat: undefined


def test_d8_on_a_v_valley_gathers_the_whole_area_at_the_outlet():
    """Two planes dipping 10 % towards a central column that dips 1 % south: every cell
    drains to the valley, the valley southwards; the outlet collects all n cells."""
    h, w, cell = 60, 41, 30.0
    r, c = np.mgrid[0:h, 0:w]
    z = 0.1 * np.abs(c - 20) * cell + 0.01 * (h - r) * cell
    acc = d8_accumulation(z, cell, cell)
    assert acc[-1, 20] == pytest.approx(h * w * cell * cell)
    # the valley column at row i collects its own row's cells and all rows above it
    assert acc[9, 20] == pytest.approx(10 * w * cell * cell)
    assert acc[5, 3] == pytest.approx(4 * cell * cell)        # 3 cells upslope of it + itself
    d = drainage_distance(z, cell, cell, channel_area_m2=20 * w * cell * cell)
    assert d[30, 20] == 0 and d[30, 25] == pytest.approx(5 * cell)


@pytest.fixture(scope="module")
def hills(tmp_path_factory):
    """Gentle sine hills (under ~25°) cut by three steep scarps (up to ~55°), 30 m cells in
    UTM 48N, and its slope grid: steep cells are a small share of the area."""
    tmp = tmp_path_factory.mktemp("hills")
    h, w, cell = 500, 500, 30.0
    x0, y0 = 500_000.0, 2_330_000.0
    r, c = np.mgrid[0:h, 0:w]
    x, y = (c + 0.5) * cell, (r + 0.5) * cell
    z = 1000 + 100 * np.sin(2 * np.pi * x / 3000) + 80 * np.sin(2 * np.pi * y / 2300 + 0.7)
    for xs in (2000.0, 7000.0, 12000.0):
        z = z + 150 * np.tanh((x - xs) / 100.0)
    path = write_tif(tmp / "hills.tif", z, UTM48, from_origin(x0, y0, cell, cell),
                     dtype="float64")
    f = factor_grids(z, cell, cell)
    return {"path": path, "slope": f["slope_deg"], "x0": x0, "y0": y0, "cell": cell,
            "h": h, "w": w}


def _line_over(hills):
    """A border line (LA) running north-south along the middle scarp, with markers."""
    import shapely
    from bienmoc.testing import make_layers

    layers = make_layers()
    xm = hills["x0"] + 7000.0
    ys = hills["y0"] - np.array([1000.0, 14000.0])
    line = gpd.GeoSeries([shapely.LineString([(xm, ys[0]), (xm, ys[1])])], crs=UTM48)
    b = layers["boundary"][layers["boundary"]["border"] == "LA"].copy()
    b = b.set_geometry(line.to_crs(4326).values)
    mk = layers["markers"][layers["markers"]["border"] == "LA"].iloc[:3].copy()
    mk["number"] = ["100", "101", "102"]
    mk["arrangement"] = "single"
    pts = gpd.GeoSeries(shapely.points(np.full(3, xm), ys[0] - np.array([0, 6000, 13000])),
                        crs=UTM48).to_crs(4326)
    mk = mk.set_geometry(pts.values)
    return {"boundary": b, "markers": mk}


def _slides(hills, cells):
    import shapely

    r, c = cells
    pts = shapely.points(hills["x0"] + (c + 0.5) * hills["cell"],
                         hills["y0"] - (r + 0.5) * hills["cell"])
    return gpd.GeoDataFrame({"kind": ["landslide"] * len(pts)}, geometry=pts, crs=UTM48)


def test_frequency_ratio_fitted_from_landslides_on_steep_cells(hills):
    frames = _line_over(hills)
    s = hills["slope"]
    rng = np.random.default_rng(7)
    rr, cc = np.nonzero(s >= 30)
    pick = rng.choice(len(rr), 150, replace=False)
    ex = landslide_exposure(frames, "LA", hills["path"],
                            landslides=_slides(hills, (rr[pick], cc[pick])))
    assert ex.method == "fr" and ex.landslides == 150
    fr = ex.weights["slope_deg"]
    assert fr[3] > 1 and fr[4] > 1                    # 30-40° and ≥40° hold the landslides
    assert fr[0] == fr[1] == fr[2] == 0.0
    assert ex.auc > 0.9
    assert set(ex.markers["exposure"]) <= {"low", "medium", "high"}
    assert 0.02 < (s >= 30).mean() < 0.2                 # steep cells: a small share
    # the classes follow the fitted index and its quantile breaks
    lo, hi = ex.breaks
    idx = ex.markers["index"].to_numpy()
    want = np.where(idx >= hi, "high", np.where(idx >= lo, "medium", "low"))
    assert list(ex.markers["exposure"]) == list(want)
    steep_line = ex.samples["slope_deg"] >= 30
    assert steep_line.any() and (ex.samples.loc[steep_line, "exposure"] == "high").all()
    meta = ex.meta()
    assert meta["method"] == "fr" and meta["frequency_ratio"]["slope_deg"]["≥40°"] > 1


def test_random_landslides_give_an_auc_near_one_half(hills):
    frames = _line_over(hills)
    rng = np.random.default_rng(3)
    n = 400
    cells = (rng.integers(5, hills["h"] - 5, n), rng.integers(5, hills["w"] - 5, n))
    ex = landslide_exposure(frames, "LA", hills["path"], landslides=_slides(hills, cells))
    assert ex.method == "fr"
    assert ex.auc == pytest.approx(0.5, abs=0.08)


def test_success_auc_by_ranks_on_hand_counts():
    # indexes 1, 2, 3: positives 0, 1, 3; negatives 4, 1, 0 -> pairs 4*4 = 16
    # wins: pos@2 beats 4 negs, ties 1 (0.5); pos@3 (x3) beat 5 negs each = 15 -> 19.5/20
    auc = success_auc(np.array([3.0, 1.0, 2.0]), np.array([3, 0, 1]), np.array([0, 4, 1]))
    assert auc == pytest.approx(19.5 / 20)
    fr = frequency_ratio(np.bincount([0, 0, 1], minlength=1125),
                         np.bincount([0], minlength=1125))
    # combination 0 (every factor class 0) holds 2 of 3 cells and the one landslide
    assert fr["drainage_m"][0] == pytest.approx(1.5) and fr["drainage_m"][1] == 0
    assert fr["slope_deg"][0] == pytest.approx(1.0)   # slope class 0 holds every cell


def test_few_landslides_fall_back_to_weighted_factors(layers, planes):
    ex = landslide_exposure(layers, "LA", planes[35])     # the tiny world has one landslide
    assert ex.method == "wlc" and ex.landslides == 1 and ex.auc is None


def test_cli_risk(store, planes):
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "risk", "--border", "LA",
                                  "--dem", str(planes[35]), "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["method"] == "wlc" and doc["markers"][0]["exposure"] == "high"
    assert {"marker_from", "marker_to", "high_share"} <= set(doc["sections"][0])
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "risk", "--border", "LA",
                                  "--dem", str(planes[5]), "--format", "csv",
                                  "--by", "section"])
    assert r.exit_code == 0, r.output
    head = r.output.splitlines()[0].split(",")
    assert head[:3] == ["border", "marker_from", "marker_to"] and "high_share" in head
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "risk", "--border", "LA",
                                  "--dem", str(planes[5])])
    assert r.exit_code == 0, r.output
    assert "Mức phơi nhiễm" in r.output and "thấp" in r.output
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "terrain", "risk",
                                  "--border", "LA", "--dem", str(planes[5])])
    assert "Landslide exposure" in r.output and "low" in r.output


def test_cli_fits_frequency_ratios_from_the_stores_landslides(tmp_path, hills):
    """Landslide incidents recorded in the store (kind = landslide) on steep cells: the CLI
    fits FR from them and reports the AUC; other incident kinds are not used."""
    import pandas as pd

    from bienmoc.storage.geopackage import GeoPackageStore
    from bienmoc.testing import make_layers

    frames = _line_over(hills)
    s = hills["slope"]
    rr, cc = np.nonzero(s >= 30)
    pick = np.random.default_rng(11).choice(len(rr), 40, replace=False)
    pts = _slides(hills, (rr[pick], cc[pick])).to_crs(4326)
    template = make_layers()["incidents"]
    inc = template.iloc[[2] * len(pts)].copy()           # the tiny world's landslide record
    inc["id"] = [f"I-{i}" for i in range(len(pts))]
    inc = inc.set_geometry(pts.geometry.values)
    other = inc.iloc[:5].copy()
    other["kind"] = "illegal_crossing"
    other["id"] = [f"X-{i}" for i in range(5)]
    store = GeoPackageStore(tmp_path / "slides.gpkg")
    store.write_many({**frames, "incidents": pd.concat([inc, other], ignore_index=True)})
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "risk", "--border", "LA",
                                  "--dem", str(hills["path"]), "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["method"] == "fr" and doc["landslide_cells"] == 40
    assert doc["auc"] > 0.9 and doc["frequency_ratio"]["slope_deg"]["<10°"] == 0
    r = CliRunner().invoke(main, ["--store", store.uri, "--lang", "en", "terrain", "risk",
                                  "--border", "LA", "--dem", str(hills["path"])])
    assert "frequency ratio (FR)" in r.output and "AUC = 0.9" in r.output
