import geopandas as gpd
import pandas as pd
import pytest
import shapely

from bienmoc import InvalidData
from bienmoc.model.schema import (SCHEMAS, ConstructionStatus, MarkerKind, conform, label, validate)


def _markers(**over):
    base = {"number": ["207", "208"], "border": "LA", "kind": ["large", "small"],
            "arrangement": "single", "construction_status": "built", "condition": "good"}
    base.update(over)
    geoms = over.pop("geometry", None) or [shapely.Point(104.5, 20.9), shapely.Point(104.5, 21)]
    base.pop("geometry", None)
    return gpd.GeoDataFrame(base, geometry=geoms, crs=4326)


def test_valid_markers_get_canonical_dtypes_and_ids():
    g = validate("markers", _markers())
    assert list(g["id"]) == ["LA-207", "LA-208"]
    assert str(g["part"].dtype) == "Int64" and str(g["tri_border"].dtype) == "boolean"
    assert list(g["tri_border"]) == [False, False]
    assert g.crs.to_epsg() == 4326


def test_labels_in_vietnamese_are_accepted_and_stored_as_codes():
    g = validate("markers", _markers(kind=["Mốc Đại", "cọc dấu"],
                                     construction_status=["đã xây dựng", "Under construction"]))
    assert list(g["kind"]) == ["large", "stake"]
    assert list(g["construction_status"]) == ["built", "under_construction"]
    assert label(MarkerKind.LARGE) == "mốc đại" and label("built", "en") == "built"
    assert ConstructionStatus.parse("ĐANG XÂY DỰNG") is ConstructionStatus.UNDER_CONSTRUCTION


def test_every_problem_is_reported_with_row_and_field():
    df = _markers(kind=["huge", "small"], number=["12x", "208"],
                  construction_status=["built", None])
    with pytest.raises(InvalidData) as e:
        validate("markers", df)
    got = {(p.row, p.field) for p in e.value.problems}
    assert got == {(1, "kind"), (1, "number"), (2, "construction_status")}
    assert "huge" in str(e.value) and "allowed" in str(e.value)


def test_part_index_is_taken_from_the_number_and_checked():
    g = validate("markers", _markers(number=["222(1)", "222(2)"], arrangement="double"))
    assert list(g["part"]) == [1, 2]
    with pytest.raises(InvalidData) as e:
        validate("markers", _markers(number=["222", "223(1)"], arrangement=["double", "single"]))
    assert {(p.row, p.field) for p in e.value.problems} == {(1, "number"), (2, "arrangement")}


def test_duplicates_against_the_store_and_within_the_input():
    existing = validate("markers", _markers())
    with pytest.raises(InvalidData) as e:
        validate("markers", _markers(number=["208", "209"]), existing=existing)
    assert [(p.row, p.field) for p in e.value.problems] == [(1, "number")]
    assert "already in the store" in e.value.problems[0].reason
    # same number on another border is fine
    validate("markers", _markers(number=["208", "209"], border="KH"), existing=existing)


def test_geometry_checks():
    geoms = [shapely.Point(104.5, 20.9), shapely.LineString([(104, 20), (104.1, 20)])]
    with pytest.raises(InvalidData) as e:
        validate("markers", _markers(geometry=geoms))
    assert e.value.problems[0].row == 2 and "wrong geometry type" in e.value.problems[0].reason
    with pytest.raises(InvalidData) as e:  # lat/lon swapped
        validate("markers", _markers(geometry=[shapely.Point(20.9, 104.5),
                                               shapely.Point(104.5, 21)]))
    assert "out of range" in e.value.problems[0].reason
    with pytest.raises(InvalidData) as e:  # a real place, far from Vietnam
        validate("markers", _markers(geometry=[shapely.Point(2.35, 48.85),
                                               shapely.Point(104.5, 21)]))
    assert "outside the border region" in e.value.problems[0].reason


def test_unknown_border_is_rejected_when_borders_are_known():
    with pytest.raises(InvalidData) as e:
        validate("markers", _markers(border="TH"), borders={"LA", "CN"})
    assert {p.field for p in e.value.problems} == {"border"}


def test_dates_accept_iso_and_vietnamese_order():
    g = validate("incidents", gpd.GeoDataFrame(
        {"kind": ["other", "other"], "status": "reported", "border": "LA",
         "reported_date": ["2024-03-01", "05/02/2024"]},
        geometry=[shapely.Point(104.5, 20.9)] * 2, crs=4326))
    assert list(g["reported_date"]) == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-02-05")]
    assert list(g["id"]) == ["V-000001", "V-000002"]


def test_conform_restores_dtypes():
    g = validate("markers", _markers())
    raw = pd.DataFrame(g).astype({"part": object, "tri_border": object})
    back = conform("markers", gpd.GeoDataFrame(raw, geometry="geometry", crs=4326))
    assert list(back.dtypes) == list(g.dtypes)


def test_every_layer_has_labels():
    for schema in SCHEMAS.values():
        assert schema.vi and schema.en
        for f in schema.fields:
            assert f.vi and f.en, (schema.name, f.name)
