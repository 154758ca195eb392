"""Known-answer and property tests for linear referencing and the side of the line.

Lines are built in UTM 48N (EPSG:32648) metres so chainages and offsets are known exactly,
then stored in EPSG:4326 as a boundary layer is.
"""
import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bienmoc.geometry.linear import LineIndex

UTM = 32648
X0, Y0 = 500000.0, 2300000.0


def boundary(geom, home="left", border="LA"):
    return gpd.GeoDataFrame({"border": [border], "home_side": [home]}, geometry=[geom],
                            crs=UTM).to_crs(4326)


# An L-shaped part (east 1 km, then north 1 km), a 500 m gap, then a second part east 1 km.
PARTS = shapely.MultiLineString([
    [(X0, Y0), (X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)],
    [(X0 + 1000, Y0 + 1500), (X0 + 2000, Y0 + 1500)]])


@pytest.fixture(scope="module")
def idx():
    return LineIndex(boundary(PARTS), crs=UTM)


def test_length_ignores_the_gap(idx):
    assert idx.length_m["LA"] == pytest.approx(3000.0, abs=1e-3)


@pytest.mark.parametrize("x, y, chain, dist, side", [
    (X0 + 500, Y0 + 10, 500, 10, 1),          # left of an eastward segment = home
    (X0 + 500, Y0 - 25, 500, 25, -1),
    (X0 + 990, Y0 + 500, 1500, 10, 1),        # left of a northward segment is west
    (X0 + 1010, Y0 + 500, 1500, 10, -1),
    (X0 + 1010, Y0 - 10, 1000, np.hypot(10, 10), -1),   # outside the convex corner
    (X0 + 980, Y0 + 10, 980, 10, 1),          # inside the corner
    (X0 + 1500, Y0 + 1490, 2500, 10, -1),     # second part: chainage continues at 2000
    (X0 + 1500, Y0 + 1510, 2500, 10, 1),
    (X0 + 900, Y0 + 1250, 2000, np.hypot(100, 250), 1),  # in the gap, west of it
    (X0 + 1100, Y0 + 1200, 2000, np.hypot(100, 200), -1),  # in the gap, east of it
    (X0 - 100, Y0 + 5, 0, np.hypot(100, 5), 1),  # before the start: tangent extension
    (X0 + 2100, Y0 + 1495, 3000, np.hypot(100, 5), -1),  # after the end
])
def test_known_answers(idx, x, y, chain, dist, side):
    r = idx.locate_xy(np.array([x]), np.array([y]))
    assert r.border[0] == "LA"
    assert r.chainage_m[0] == pytest.approx(chain, abs=0.01)
    assert r.distance_m[0] == pytest.approx(dist, abs=0.01)
    assert r.side[0] == side


def test_the_same_few_points_asked_again_get_the_remembered_answer_unshared(idx):
    """A write batch asks the same points twice (placing, then the distance rule): the second
    answer is the first one's, and changing a returned array changes no later answer."""
    x, y = np.array([X0 + 500, X0 + 990]), np.array([Y0 + 10, Y0 + 500])
    first = idx.locate_xy(x, y)
    again = idx.locate_xy(x.copy(), y.copy())
    assert idx._memo[0] == x.tobytes() + y.tobytes()  # answered from the memo
    for a, b in zip(vars(first).values(), vars(again).values()):
        np.testing.assert_array_equal(a, b)
    again.distance_m[:] = -1.0
    again.border[:] = "XX"
    third = idx.locate_xy(x, y)
    np.testing.assert_allclose(third.distance_m, [10, 10], atol=0.01)
    assert list(third.border) == ["LA", "LA"]
    other = idx.locate_xy(np.array([X0 + 500]), np.array([Y0 - 25]))  # other points: searched
    assert other.distance_m[0] == pytest.approx(25, abs=0.01) and other.side[0] == -1


def test_home_on_the_right_flips_sides():
    idx = LineIndex(boundary(PARTS, home="right"), crs=UTM)
    r = idx.locate_xy(np.array([X0 + 500, X0 + 500]), np.array([Y0 + 10, Y0 - 10]))
    assert list(r.side) == [-1, 1]


def test_sharp_turn_vertex():
    # a hairpin: east 1 km, then back west-north-west at a very acute angle
    line = shapely.LineString([(X0, Y0), (X0 + 1000, Y0), (X0, Y0 + 100)])
    idx = LineIndex(boundary(line), crs=UTM)
    # beyond the tip: nearest point is the vertex; it is outside the turn -> right side
    r = idx.locate_xy(np.array([X0 + 1050.0]), np.array([Y0 + 2.0]))
    assert r.side[0] == -1 and r.chainage_m[0] == pytest.approx(1000, abs=0.01)
    # between the two arms, near the tip: inside the turn (left of both) -> home
    r = idx.locate_xy(np.array([X0 + 900.0]), np.array([Y0 + 5.0]))
    assert r.side[0] == 1


def test_point_at_is_the_inverse_of_chainage(idx):
    ch = np.array([0, 250, 1000, 1999.99, 2000, 2750, 3000])
    xy = idx.point_at("LA", ch)
    r = idx.locate_xy(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(r.chainage_m, ch, atol=0.01)
    np.testing.assert_allclose(r.distance_m, 0, atol=0.01)


def test_many_borders_pick_the_nearest():
    a = shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])
    b = shapely.LineString([(X0, Y0 + 5000), (X0 + 1000, Y0 + 5000)])
    gdf = gpd.GeoDataFrame({"border": ["LA", "KH"], "home_side": ["left", "left"]},
                           geometry=[a, b], crs=UTM).to_crs(4326)
    idx = LineIndex(gdf, crs=UTM)
    r = idx.locate_xy(np.array([X0 + 10, X0 + 10]), np.array([Y0 + 100, Y0 + 4000]))
    assert list(r.border) == ["LA", "KH"]
    assert r.distance_m == pytest.approx([100, 1000], abs=0.01)


# A zigzag whose vertices turn by at most 60 degrees, segments 1 km long.
ZIG = shapely.LineString([(X0, Y0), (X0 + 1000, Y0), (X0 + 1500, Y0 + 866.0254),
                          (X0 + 2500, Y0 + 866.0254), (X0 + 3000, Y0)])
ZIG_IDX = LineIndex(boundary(ZIG), crs=UTM)
VERTEX_CH = np.array([0, 1000, 2000, 3000, 4000])


# The zigzag's own geometry, computed here from its coordinates (not from the index): segment
# start chainages and the left-hand unit normal of each segment (left = the home side).
ZIG_XY = np.asarray(ZIG.coords)
ZIG_DIR = np.diff(ZIG_XY, axis=0) / np.linalg.norm(np.diff(ZIG_XY, axis=0), axis=1)[:, None]
ZIG_LEFT = np.column_stack([-ZIG_DIR[:, 1], ZIG_DIR[:, 0]])
np.testing.assert_allclose(VERTEX_CH, np.r_[0, np.cumsum(np.hypot(*np.diff(ZIG_XY, axis=0).T))],
                           atol=0.01)


@settings(max_examples=300, deadline=None)
@given(ch=st.floats(0, 4000), off=st.floats(-60, 60).filter(lambda o: abs(o) > 0.05))
def test_offset_points_come_back(ch, off):
    # away from vertices, so the offset point's nearest segment is its own
    assume(np.min(np.abs(VERTEX_CH - ch)) >= 150)
    p = shapely.get_coordinates(ZIG.interpolate(ch))[0]          # GEOS, not the index
    seg = int(np.searchsorted(VERTEX_CH, ch, side="right")) - 1
    q = p + off * ZIG_LEFT[seg]                                   # hand-made perpendicular
    # GEOS agrees the point lies `off` metres to the left (positive) or right (negative)
    assert shapely.distance(shapely.Point(q), ZIG.offset_curve(off)) < 0.01
    r = ZIG_IDX.locate_xy(q[:1], q[1:])
    assert r.chainage_m[0] == pytest.approx(ch, abs=0.01)
    assert r.distance_m[0] == pytest.approx(abs(off), abs=0.01)
    assert r.side[0] == (1 if off > 0 else -1)     # home is on the left


@settings(max_examples=200, deadline=None)
@given(x=st.floats(X0 - 2000, X0 + 5000), y=st.floats(Y0 - 3000, Y0 + 3000))
def test_invariants_anywhere(x, y):
    r = ZIG_IDX.locate_xy(np.array([x]), np.array([y]))
    assert 0 <= r.chainage_m[0] <= 4000 + 1e-6
    # distance equals GEOS's distance to the line
    assert r.distance_m[0] == pytest.approx(
        shapely.distance(shapely.Point(x, y), ZIG), abs=0.01)
    # the nearest line point is at that distance, and mirroring across it flips the side
    cx, cy = r.x[0], r.y[0]
    if r.distance_m[0] > 0.5:
        mx, my = 2 * cx - x, 2 * cy - y
        m = ZIG_IDX.locate_xy(np.array([mx]), np.array([my]))
        if m.distance_m[0] == pytest.approx(r.distance_m[0], abs=0.01) and \
                m.chainage_m[0] == pytest.approx(r.chainage_m[0], abs=0.01):
            assert m.side[0] == -r.side[0]
