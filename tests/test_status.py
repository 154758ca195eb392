"""Status counts on the tiny fixture world, computed by hand (see bienmoc.testing)."""
import pytest

from bienmoc.analysis.status import STATUS_COLUMNS, marker_status

#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores


def test_default_groups_border_and_province(layers):
    df = marker_status(layers).set_index("province")
    sl, th = df.loc["Sơn La"], df.loc["Thanh Hóa"]
    # Sơn La: positions 100, 101, 102 (double: one part under construction -> not built)
    assert (sl.markers_total, sl.markers_built, sl.markers_under_construction) == (3, 2, 1)
    assert (sl.markers_parts, sl.stakes_total, sl.stakes_built) == (4, 2, 1)
    assert (sl.markers_large, sl.markers_medium, sl.markers_small) == (1, 1, 1)
    assert (sl.damaged, sl.needs_action, sl.gates_open, sl.gates_total) == (1, 1, 1, 1)
    assert sl.incidents_open == 1  # the resolved one does not count
    assert sl.summary_vi == "cột mốc: 2/3 đã xây dựng; cọc dấu: 1/2"
    assert (th.markers_total, th.markers_built, th.markers_planned, th.missing) == (2, 1, 1, 1)
    assert (th.gates_suspended, th.gates_open, th.incidents_open) == (1, 0, 1)
    assert list(df.columns[1:]) == STATUS_COLUMNS


def test_filters_and_custom_grouping(layers):
    one = marker_status(layers, province="sơn la")
    assert len(one) == 1 and one.iloc[0]["markers_total"] == 3
    assert marker_status(layers, border="CN").empty
    total = marker_status(layers, by=[])
    assert total.iloc[0][["markers_total", "markers_built", "stakes_total"]].tolist() == [5, 3, 2]
    by_kind = marker_status(layers, by=["kind"]).set_index("kind")
    assert by_kind.loc["stake", "stakes_total"] == 2 and by_kind.loc["small", "markers_total"] == 3
    assert by_kind["gates_total"].sum() == 0  # gates have no 'kind' of a marker's kind
    with pytest.raises(ValueError, match="colour"):
        marker_status(layers, by=["colour"])


def test_reads_from_a_store(store):
    df = marker_status(store)
    assert df["markers_total"].sum() == 5 and df["incidents_open"].sum() == 2
