import geopandas as gpd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from bienmoc import StorageError, open_store
from bienmoc.model.schema import LAYERS, empty_layer
from bienmoc.storage import GeoPackageStore, Store


def test_round_trip_keeps_values_dtypes_and_crs(tmp_path, layers):
    store = GeoPackageStore(tmp_path / "s.gpkg")
    store.write_many(layers)
    assert isinstance(store, Store)
    assert set(store.layers()) == set(layers)
    for name, gdf in layers.items():
        back = store.read(name)
        assert back.crs.to_epsg() == 4326
        assert_geodataframe_equal(back, gdf, check_less_precise=False)


def test_append_and_replace(store, layers):
    inc = layers["incidents"]
    before = store.version()
    more = inc.copy()
    more["id"] = ["V-900001", "V-900002", "V-900003"]
    store.write("incidents", more, mode="append")
    assert len(store.read("incidents")) == 6
    assert store.version() != before
    store.write("incidents", inc.iloc[:1], mode="replace")
    assert list(store.read("incidents")["id"]) == [inc["id"].iloc[0]]


def test_failed_write_leaves_the_store_unchanged(store, layers, monkeypatch):
    import bienmoc.storage.geopackage as gp

    before = store.read("markers")
    version = store.version()
    real_insert = gp._Transaction._insert

    def boom(self, name, data):  # the rows are in (after the DELETE), then the disk fails
        real_insert(self, name, data)
        raise StorageError("disk on fire")

    monkeypatch.setattr(gp._Transaction, "_insert", boom)
    with pytest.raises(StorageError):
        store.write("markers", before.iloc[:2])
    assert store.version() == version
    assert_geodataframe_equal(store.read("markers"), before)
    assert not list(store.path.parent.glob(".store-*"))  # no staging file left behind


def test_missing_layer_reads_empty_and_bbox_filters(tmp_path, layers):
    store = GeoPackageStore(tmp_path / "new.gpkg")
    assert store.layers() == [] and store.version() == "empty"
    assert len(store.read("works")) == 0
    assert list(store.read("works").columns) == list(empty_layer("works").columns)
    store.write("markers", layers["markers"])
    north = store.read("markers", bbox=(104.4, 20.96, 104.6, 21.1))
    assert set(north["number"]) == {"100", "100/1", "101", "101/1", "102(1)", "102(2)"}


def test_open_store_by_path_env_and_unknown_scheme(tmp_path, monkeypatch):
    p = tmp_path / "x.gpkg"
    assert open_store(str(p)).uri == str(p)
    assert open_store(f"gpkg://{p}").uri == str(p)
    monkeypatch.setenv("BIENMOC_STORE", str(p))
    assert open_store().uri == str(p)
    with pytest.raises(StorageError, match="no store backend"):
        open_store("mysql://localhost/border")
    pg = open_store("postgresql://someone:secret@localhost/border?schema=b2")  # no connection yet
    assert type(pg).__name__ == "PostGISStore" and pg.schema == "b2"
    assert "secret" not in pg.uri and "secret" not in repr(pg)


def test_postgis_without_psycopg_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    store = open_store("postgresql://localhost:1/border")
    with pytest.raises(StorageError, match=r"pip install 'bienmoc\[postgis\]'"):
        store.layers()


def test_layers_in_schema_order():
    assert LAYERS[0] == "boundary" and "incidents" in LAYERS
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326)
    assert len(g) == 1
