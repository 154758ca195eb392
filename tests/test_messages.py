"""Every message the validators produce has a Vietnamese rendering in the catalogue."""
import geopandas as gpd
import pytest
import shapely

from bienmoc import InvalidData
from bienmoc.messages import to_vi
from bienmoc.model.schema import validate


def _problems(**over):
    base = {"number": ["207"], "border": "LA", "kind": ["large"], "arrangement": "single",
            "construction_status": "built", "condition": "good"}
    geom = over.pop("geometry", [shapely.Point(104.5, 20.9)])
    base.update(over)
    with pytest.raises(InvalidData) as e:
        validate("markers", gpd.GeoDataFrame(base, geometry=geom, crs=4326),
                 borders={"LA"})
    return e.value.problems


@pytest.mark.parametrize("over", [
    {"kind": ["giant"]}, {"number": ["12x"]}, {"construction_status": [None]},
    {"geometry": [None]}, {"geometry": [shapely.LineString([(104, 20), (104.1, 20)])]},
    {"geometry": [shapely.Point(500000, 2300000)]}, {"geometry": [shapely.Point(20, 104)]},
    {"geometry": [shapely.Point(20.9, 104.5)]}, {"geometry": [shapely.Point(2.35, 48.85)]},
    {"built_date": ["2024-13-45"]}, {"elevation_m": ["high"]}, {"elevation_m": [99999]},
    {"border": ["ZZ"]}, {"border": ["laos"]}, {"arrangement": ["double"]},
    {"notes": ["x" * 5000]}, {"tri_border": ["maybe"]},
    {"number": ["207", "207"], "kind": ["large", "large"],
     "geometry": [shapely.Point(104.5, 20.9)] * 2},
])
def test_validator_messages_have_a_vietnamese_rendering(over):
    for p in _problems(**over):
        vi = to_vi(p.reason)
        assert vi != p.reason, p.reason


def test_examples():
    assert to_vi("value is required") == "thiếu giá trị bắt buộc"
    assert to_vi("2999-01-01 is in the future") == "01/01/2999 là ngày trong tương lai"
    assert to_vi("something new") == "something new"


def test_measured_quantities_take_the_vietnamese_separators():
    assert to_vi("the GPS fix is accurate to 35.5 m, worse than the 20 m required").endswith(
        "35,5 m, worse than the 20 m required")
    got = to_vi("section 1200–3400 m of LA overlaps (12345.5–20000 m)")
    assert "1.200–3.400 m" in got and "(12.345,5–20.000 m)" in got
    # numbers that are not quantities stay as written: ids, coordinates, versions
    assert to_vi("V-000123 at 102.5, 21.3 (version 1.2)") == "V-000123 at 102.5, 21.3 (version 1.2)"
