"""Marker elevations from the DEM: filling the missing ones through the records layer (logged,
never overwriting, all or nothing) and the QA of recorded ones, on a plane of known height
under the tiny world's LA line (a test surface, not a real place)."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from bienmoc.cli.main import main
from bienmoc.errors import InvalidData
from bienmoc.records.recording import MARKER_LOG
from bienmoc.storage.geopackage import GeoPackageStore
from bienmoc.terrain.markers import check_elevations, fill_elevations, marker_dem_elevations

from test_terrain import plane_tif

UTM48 = "EPSG:32648"


def _plane(tmp_path, layers, c=500.0, name="tilt.tif"):
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    x0, y0 = line.bounds[0] - 3_000, line.bounds[3] + 3_000
    f = plane_tif(tmp_path / name, a=0.0, b=0.02, c=c, x0=x0, y0=y0, cell=50.0, h=320, w=120)
    return tmp_path / name, f


@pytest.fixture
def recorded(tmp_path, layers):
    """A store whose marker 100 has an elevation 5 m off the plane and 101 one 50 m off."""
    path, f = _plane(tmp_path, layers)
    m = layers["markers"]
    xy = m.geometry.to_crs(UTM48)
    truth = f(xy.x.to_numpy(), xy.y.to_numpy())
    m = m.copy()
    m.loc[m["number"] == "100", "elevation_m"] = truth[(m["number"] == "100").to_numpy()] + 5
    m.loc[m["number"] == "101", "elevation_m"] = truth[(m["number"] == "101").to_numpy()] + 50
    store = GeoPackageStore(tmp_path / "rec.gpkg")
    store.write_many({**layers, "markers": m})
    return store, path, dict(zip(m["id"], truth)), dict(zip(m["id"], m["elevation_m"]))


def test_fill_writes_only_missing_elevations_and_logs_each(recorded):
    store, dem, truth, before = recorded
    filled, skipped = fill_elevations(store, dem)
    assert len(skipped) == 0
    assert sorted(filled["id"]) == sorted(k for k, v in before.items() if np.isnan(v))
    after = store.read("markers").set_index("id")["elevation_m"]
    for rid, z in truth.items():
        if np.isnan(before[rid]):
            assert after[rid] == pytest.approx(z, abs=0.005)      # bilinear, exact on a plane
        else:
            assert after[rid] == before[rid]                     # never overwritten
    log = store.read(MARKER_LOG)
    assert len(log) == 6 and set(log["field"]) == {"elevation_m"}
    assert log["old_value"].isna().all() and log["note"].str.startswith("DEM ").all()
    # a second run has nothing to fill and writes nothing
    again, _ = fill_elevations(store, dem)
    assert len(again) == 0 and len(store.read(MARKER_LOG)) == 6


def test_fill_out_of_range_refuses_everything(tmp_path, layers, store):
    dem, _ = _plane(tmp_path, layers, c=9_400.0, name="high.tif")   # above the 9000 m limit
    with pytest.raises(InvalidData) as e:
        fill_elevations(store, dem)
    p = e.value.problems[0]
    assert p.field == "elevation_m" and p.row >= 1
    assert store.read("markers")["elevation_m"].isna().all()
    assert MARKER_LOG not in store.layers()


def test_no_dem_data_is_skipped_not_written(tmp_path, store):
    from rasterio.transform import from_origin

    from test_terrain import write_tif

    far = write_tif(tmp_path / "far.tif", np.full((10, 10), 100.0), UTM48,
                    from_origin(100_000, 1_000_000, 30, 30), dtype="float64")
    filled, skipped = fill_elevations(store, far)
    assert len(filled) == 0 and len(skipped) == 8


def test_check_flags_recorded_elevations_beyond_the_tolerance(recorded):
    store, dem, truth, _ = recorded
    qa = check_elevations(store, dem)
    assert list(qa["markers"]) == ["101"] and list(qa["check"]) == ["elevation_vs_dem"]
    assert qa["value"].iloc[0] == pytest.approx(50.0, abs=0.1)
    assert qa["severity"].iloc[0] == "warning" and "101" in qa["message_vi"].iloc[0]
    assert len(check_elevations(store, dem, tolerance_m=60)) == 0
    assert list(check_elevations(store, dem, tolerance_m=4)["markers"]) == ["100", "101"]
    rows = marker_dem_elevations(store, dem)
    assert set(rows.columns) >= {"recorded_m", "dem_m", "diff_m"}


def test_cli_fill_and_check(recorded):
    store, dem, _, _ = recorded
    run = CliRunner()
    r = run.invoke(main, ["--store", store.uri, "terrain", "fill-elevations", "--dem", str(dem),
                          "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "chạy thử" in r.output and store.read("markers")["elevation_m"].isna().sum() == 6
    r = run.invoke(main, ["--store", store.uri, "--lang", "en", "terrain", "fill-elevations",
                          "--dem", str(dem), "--border", "LA"])
    assert r.exit_code == 0, r.output
    assert "filled the elevation of 6 marker(s)" in r.output
    assert store.read("markers")["elevation_m"].notna().all()
    r = run.invoke(main, ["--store", store.uri, "check", "--dem", str(dem), "--format", "csv"])
    assert "elevation_vs_dem" in r.output and ",101," in r.output
    r = run.invoke(main, ["--store", store.uri, "check", "--dem", str(dem),
                          "--elevation-tolerance", "60", "--format", "csv"])
    assert "elevation_vs_dem" not in r.output
    r = run.invoke(main, ["--store", store.uri, "check", "--format", "csv"])
    assert "elevation_vs_dem" not in r.output


# -- profile chart and the strip map's profile band ------------------------------------------

def test_cli_profile_png_and_strip_band(tmp_path, store, layers):
    from PIL import Image

    from bienmoc.maps.strip import strip_svg

    dem, f = _plane(tmp_path, layers)
    out = tmp_path / "p.png"
    r = CliRunner().invoke(main, ["--store", store.uri, "terrain", "profile", "--border", "LA",
                                  "--dem", str(dem), "--step", "200", "--format", "png",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    img = Image.open(out)
    assert img.format == "PNG" and img.size == (1400, 500)
    # the chart is not blank: the profile's brown and the markers' red are drawn
    px = np.asarray(img.convert("RGB")).reshape(-1, 3)
    assert ((px == [0x7a, 0x4f, 0x1d]).all(axis=1)).sum() > 100
    assert ((px == [0xc0, 0x00, 0x00]).all(axis=1)).sum() > 20
    plain = strip_svg(store, "LA", 0, 12)
    svg = strip_svg(store, "LA", 0, 12, dem=dem)
    assert 'class="profile"' not in plain and 'class="profile"' in svg
    # the band's range is the plane's height at the line's ends (north high, south low)
    import re

    lo_m = float(re.search(r'data-min-m="([-0-9.]+)"', svg).group(1))
    hi_m = float(re.search(r'data-max-m="([-0-9.]+)"', svg).group(1))
    line = layers["boundary"].to_crs(UTM48).geometry.iloc[0]
    x = line.coords[0][0]
    assert hi_m == pytest.approx(f(x, line.bounds[3]), abs=0.1)
    assert lo_m == pytest.approx(f(x, line.bounds[1]), abs=0.1)
    png = tmp_path / "s.png"
    r = CliRunner().invoke(main, ["--store", store.uri, "strip", "--border", "LA", "--to-km",
                                  "11", "--dem", str(dem), "-o", str(png)])
    assert r.exit_code == 0, r.output
    # the profile band adds 110 px to the strip (whose legend may wrap onto more rows)
    flat = tmp_path / "flat.png"
    r = CliRunner().invoke(main, ["--store", store.uri, "strip", "--border", "LA", "--to-km",
                                  "11", "-o", str(flat)])
    assert r.exit_code == 0, r.output
    assert Image.open(png).size[1] == Image.open(flat).size[1] + 110


def test_api_sees_filled_elevations_and_strip_band(recorded):
    """The server's feature cache picks up the filled elevations (logged updates of markers)
    and its strip map has the profile band when it knows a DEM."""
    from fastapi.testclient import TestClient

    from bienmoc.api.app import create_app
    from bienmoc.api.settings import Settings

    store, dem, truth, _ = recorded
    c = TestClient(create_app(store, settings=Settings(dem=str(dem)), tiles=None))
    url = "/collections/markers/items/LA-103"
    assert c.get(url).json()["properties"]["elevation_m"] is None
    fill_elevations(store, dem)
    got = c.get(url).json()["properties"]["elevation_m"]
    assert got == pytest.approx(truth["LA-103"], abs=0.005)
    assert 'class="profile"' in c.get("/strip.svg?border=LA&to_km=12").text
    plain = TestClient(create_app(store, settings=Settings(), tiles=None))
    assert 'class="profile"' not in plain.get("/strip.svg?border=LA&to_km=12").text


def test_fill_marker_elevations_never_overwrites_a_recorded_value(recorded):
    from bienmoc.records.recording import fill_marker_elevations

    store, _, _, before = recorded
    out = fill_marker_elevations(store, {"LA-100": 1.0, "LA-103": 321.5, "LA-999": 5.0},
                                 note="survey sheet 7")
    assert list(out["id"]) == ["LA-103"] and list(out["elevation_m"]) == [321.5]
    after = store.read("markers").set_index("id")["elevation_m"]
    assert after["LA-100"] == before["LA-100"] and after["LA-103"] == 321.5
    log = store.read(MARKER_LOG)
    assert list(zip(log["record_id"], log["note"])) == [("LA-103", "survey sheet 7")]
    assert float(log["new_value"].iloc[0]) == 321.5
