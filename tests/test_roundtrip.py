"""Every format bienmoc exports imports back unchanged, for every layer of the demo store.

What a format cannot carry (and the comparison therefore allows):
* GeoJSON (RFC 7946) and Shapefile fix polygon ring orientation: the same polygon may come back
  with its rings starting elsewhere or running the other way (compared after normalising).
* Shapefile does not tell a one-part MultiPolygon/MultiLineString from a Polygon/LineString.
* XLSX: an Excel cell holds at most 32,767 characters, so the WKT of long boundary lines and
  province outlines cannot go into a sheet: that export is refused, nothing is written.
* CSV/XLSX coordinates are rounded to 7 decimals of a degree (1 cm), as GeoJSON's are.
"""
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from bienmoc import InvalidData
from bienmoc.cli.main import main
from bienmoc.io.files import export_layer, import_layer
from bienmoc.model.schema import IMPORTABLE, SCHEMAS
from bienmoc.storage import GeoPackageStore

FORMATS = ("geojson", "gpkg", "shp", "csv", "xlsx")
#: what each layer's records refer to (imported first, as an office would: line, provinces,
#: markers, then works and inspections that name the markers)
BASE = ("boundary", "provinces")
NEEDS = {"inspections": BASE + ("markers",), "works": BASE + ("markers",),
         "incidents": BASE + ("markers",),  # located between two markers on the way in
         "work_progress": BASE + ("markers", "works")}
EXT = {"shp": "zip"}
TOO_LONG_FOR_EXCEL = {"boundary", "provinces"}


@pytest.fixture(scope="module")
def demo(demo_store_path):
    return GeoPackageStore(demo_store_path)


def _empty_store(tmp_path, demo, kind):
    """A new store holding only what ``kind``'s records refer to (not ``kind`` itself)."""
    fresh = GeoPackageStore(tmp_path / "fresh.gpkg")
    needed = {k: demo.read(k) for k in NEEDS.get(kind, BASE) if k != kind}
    if needed:
        fresh.write_many(needed)
    return fresh


def _sorted(gdf, kind):
    key = ["id"] if "id" in gdf else list(SCHEMAS[kind].key)
    return gdf.sort_values(key).reset_index(drop=True)


def _single(g):
    if g is not None and g.geom_type.startswith("Multi") and shapely.get_num_geometries(g) == 1:
        return shapely.get_geometry(g, 0)
    return g


def assert_same_content(back, orig, kind, fmt):
    a, b = _sorted(orig, kind), _sorted(back, kind)
    assert len(a) == len(b) > 0
    cols = [c for c in a.columns if c != a.geometry.name]
    pd.testing.assert_frame_equal(pd.DataFrame(b[cols]), pd.DataFrame(a[cols]), check_exact=False,
                                  rtol=1e-12)
    ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
    assert (shapely.is_missing(ga) == shapely.is_missing(gb)).all()
    if fmt == "shp":
        ga, gb = np.array([_single(g) for g in ga]), np.array([_single(g) for g in gb])
    if fmt in ("shp", "geojson"):
        ga, gb = shapely.normalize(ga), shapely.normalize(gb)
    present = ~shapely.is_missing(ga)
    same = shapely.equals_exact(ga[present], gb[present], tolerance=1e-7)
    assert same.all(), f"{(~same).sum()} geometries differ, e.g. {gb[present][~same][0]}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", IMPORTABLE)
def test_export_of_every_demo_layer_imports_back_unchanged(demo, tmp_path, kind, fmt):
    orig = demo.read(kind)
    out = tmp_path / f"{kind}.{EXT.get(fmt, fmt)}"
    if fmt == "xlsx" and kind in TOO_LONG_FOR_EXCEL:
        with pytest.raises(InvalidData, match="does not fit an Excel cell"):
            export_layer(orig, fmt, out, kind=kind)
        assert list(tmp_path.iterdir()) == []
        return
    export_layer(orig, fmt, out, kind=kind)
    fresh = _empty_store(tmp_path, demo, kind)
    import_layer(fresh, kind, out)
    assert_same_content(fresh.read(kind), orig, kind, fmt)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("labels", ["vi", "en"])
@pytest.mark.parametrize("kind", ["markers", "incidents", "works"])
def test_labelled_exports_import_back(demo, tmp_path, kind, fmt, labels):
    out = tmp_path / f"{kind}.{fmt}"
    r = CliRunner().invoke(main, ["--store", str(demo.uri), "export", kind, "--labels", labels,
                                  "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    fresh = _empty_store(tmp_path, demo, kind)
    r = CliRunner().invoke(main, ["--store", fresh.uri, "import", kind, str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert_same_content(fresh.read(kind), demo.read(kind), kind, fmt)


def test_mixed_layer_to_shapefile_zip_one_file_per_geometry_type(demo, tmp_path):
    import zipfile

    out = tmp_path / "incidents.zip"
    r = CliRunner().invoke(main, ["--store", str(demo.uri), "export", "incidents", "--format",
                                  "shp", "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    names = set(zipfile.ZipFile(out).namelist())
    assert {"incidents_point.shp", "incidents_point.dbf", "incidents_polygon.shp",
            "incidents_polygon.dbf", "incidents_polygon.prj"} <= names
    fresh = _empty_store(tmp_path, demo, "incidents")
    r = CliRunner().invoke(main, ["--store", fresh.uri, "import", "incidents", str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert len(fresh.read("incidents")) == 400


def test_mixed_layer_to_a_single_shp_is_refused_before_writing(demo, tmp_path):
    out = tmp_path / "incidents.shp"
    r = CliRunner().invoke(main, ["--store", str(demo.uri), "--lang", "en", "export",
                                  "incidents", "-o", str(out)])
    assert r.exit_code == 1 and "mixes geometry types" in r.output and ".zip" in r.output
    assert "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []
    r = CliRunner().invoke(main, ["--store", str(demo.uri), "export", "incidents", "-o",
                                  str(out)])
    assert r.exit_code == 1 and "nhiều kiểu hình học" in r.output


def test_single_type_layer_to_shp_path_round_trips(demo, tmp_path):
    out = tmp_path / "gates.shp"
    export_layer(demo.read("gates"), "shp", out, kind="gates")
    assert {p.suffix for p in tmp_path.iterdir()} >= {".shp", ".dbf", ".shx", ".prj"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left over
    fresh = _empty_store(tmp_path, demo, "gates")
    import_layer(fresh, "gates", out)
    assert_same_content(fresh.read("gates"), demo.read("gates"), "gates", "shp")


def test_shapefile_with_gdal_datetime_text_imports(demo, tmp_path):
    """Shapefiles exported before dates were written as ISO text hold 2004/06/22 00:00:00."""
    import pyogrio

    m = demo.read("markers").iloc[:50]
    old = m.copy()
    for col in ("planned_date", "built_date"):
        old[col] = m[col].dt.strftime("%Y/%m/%d 00:00:00").where(m[col].notna(), None)
    pyogrio.write_dataframe(old, tmp_path / "old.shp", encoding="UTF-8")
    fresh = _empty_store(tmp_path, demo, "markers")
    import_layer(fresh, "markers", tmp_path / "old.shp")
    back = _sorted(fresh.read("markers"), "markers")
    pd.testing.assert_series_equal(back["built_date"], _sorted(m, "markers")["built_date"])

