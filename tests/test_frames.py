"""bienmoc.model.frames (small frames built from typed arrays) and the write path's use of it."""
import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bienmoc.api.query import LayerIndex, frame_feature_bytes
from bienmoc.model.frames import _public, geo_frame, object_columns
from bienmoc.model.schema import validate
from geopandas.array import from_shapely


def _columns():
    return {"kind": np.array(["landslide", None, "pollution"], dtype=object),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "x": np.array([1.5, np.nan, 2.0]),
            "day": np.array(["2025-03-01", "NaT", "1999-12-31"], dtype="datetime64[ms]")}


def test_geo_frame_equals_the_public_constructors():
    from bienmoc.model import frames

    assert frames.FAST  # the internal constructors exist here: the fast path is compared
    geoms = [shapely.Point(104, 21), None, shapely.Point(105.5, 22)]
    fast = geo_frame(_columns(), geoms, "EPSG:4326")
    slow = _public(_columns(), from_shapely(np.asarray(geoms, dtype=object), crs="EPSG:4326"),
                   "geometry", pd.RangeIndex(3))
    assert isinstance(fast, gpd.GeoDataFrame) and fast.crs == "EPSG:4326"
    assert list(fast.columns) == ["kind", "n", "x", "day", "geometry"]
    assert fast.dtypes.astype(str).tolist() == slow.dtypes.astype(str).tolist() == [
        "object", "Int64", "float64", "datetime64[ms]", "geometry"]
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.geometry.iloc[2].equals(shapely.Point(105.5, 22))
    # a frame of its own: changing it leaves a later frame alone
    fast.loc[0, "kind"] = "other"
    assert geo_frame(_columns(), geoms, "EPSG:4326")["kind"].iloc[0] == "landslide"


def test_geo_frame_refuses_columns_of_another_length():
    import pytest

    with pytest.raises(ValueError, match="'kind' has 2 values for 3"):
        geo_frame({"kind": ["a", "b"]}, [None, None, None], "EPSG:4326")


def test_object_columns_reads_every_column_once():
    f = geo_frame(_columns(), [shapely.Point(1, 2)] * 3, "EPSG:4326")
    cols = object_columns(f)
    assert list(cols) == ["kind", "n", "x", "day", "geometry"]
    assert cols["kind"].tolist() == ["landslide", None, "pollution"]
    assert cols["n"][0] == 1 and cols["n"][1] is pd.NA
    assert cols["day"][2] == pd.Timestamp("1999-12-31") and cols["day"][1] is pd.NaT
    assert cols["geometry"][0].equals(shapely.Point(1, 2))


def test_written_incidents_serialise_as_the_served_layer_does():
    """frame_feature_bytes (the 201 body, built from the frame just written) gives the bytes
    the items route serves for the same records (LayerIndex.feature_bytes)."""
    rec = gpd.GeoDataFrame({
        "id": ["INC-000001", "INC-000002"], "kind": ["landslide", "illegal_crossing"],
        "status": ["reported", "resolved"], "border": ["LA", "CN"],
        "province": ["Sơn La", None], "occurred_date": [dt.date(999, 1, 2), None],
        "reported_date": [dt.date(2025, 3, 1), dt.date(2025, 3, 2)],
        "description": ["đất \"sạt\" lở", None], "chainage_m": [1234.5, None],
        "distance_m": [12.0, 0.0], "side": ["VN", None]},
        geometry=[shapely.Point(103.9, 21.05), shapely.Polygon([(104, 22), (104.1, 22),
                                                                (104, 22.1)])],
        crs="EPSG:4326")
    data = validate("incidents", rec)
    served = LayerIndex("incidents", data, np.arange(1, 3)).feature_bytes([0, 1])
    assert frame_feature_bytes("incidents", data) == served
    assert b'"occurred_date":"0999-01-02"' in served[0]
