"""Coverage of the real VN-Laos line by patrol tracks built over known chainage intervals."""
import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bienmoc.analysis.coverage import coverage, fix_runs, merge_runs
from bienmoc.cli import main
from bienmoc.geometry.locate import BorderModel
from bienmoc.storage import GeoPackageStore
from bienmoc.testing_patrols import along_line, write_gpx_by_hand


@pytest.fixture(scope="module")
def model(demo_store_path):
    return BorderModel.from_source(GeoPackageStore(demo_store_path))


@pytest.fixture(scope="module")
def fixes(model):
    # the far and wrong-side pieces lie where the line runs straight for a few km (1505-1535
    # and 1665-1680 km), so that "800 m off" is 800 m from every part of the line
    ix = model.index
    return pd.concat([
        # unilateral: covered 1505-1510 km; 1510-1512 km at 800 m (beyond within_m);
        # 1512-1518 km; 1518-1520 km at 900 m; 1520-1523 km and, after a 1.5 km jump
        # (> gap_m), 1524.5-1528 km
        along_line(ix, "LA", [(1505000, 1510000, 100), (1510000, 1512000, 800, False),
                              (1512000, 1518000, 100), (1518000, 1520000, 900, False),
                              (1520000, 1523000, 120), (1524500, 1528000, 80)],
                   patrol_id="T-1"),
        # joint, on the Lao side: counts
        along_line(ix, "LA", [(1530000, 1535000, -150)], patrol_id="T-2", kind="joint",
                   start="2026-11-05T07:00:00+07:00"),
        # unilateral on the Lao side, 200 m across (beyond the 50 m slack): does not count
        along_line(ix, "LA", [(1665000, 1670000, -200, False)], patrol_id="T-3",
                   start="2026-11-06T07:00:00+07:00"),
        # unilateral overlapping T-1's first interval: the union is 1500-1510 km
        along_line(ix, "LA", [(1500000, 1507000, 60)], patrol_id="T-4",
                   start="2026-11-20T07:00:00+07:00"),
        # before the period: ignored when the period starts on 2026-11-01
        along_line(ix, "LA", [(1670000, 1675000, 50)], patrol_id="T-5",
                   start="2026-10-01T07:00:00+07:00"),
    ], ignore_index=True)


EXPECTED = {"unilateral": [(1500000, 1510000), (1512000, 1518000), (1520000, 1523000),
                           (1524500, 1528000)],
            "joint": [(1530000, 1535000)]}


def _intervals(cov, kind):
    iv = cov.intervals[cov.intervals["kind"] == kind]
    return list(zip(iv["start_m"], iv["end_m"]))


def _assert_close(got, expected, tol=1.0):
    assert len(got) == len(expected), (got, expected)
    for (a, b), (c, d) in zip(got, expected):
        assert abs(a - c) <= tol and abs(b - d) <= tol, (got, expected)


def test_known_intervals_on_the_real_line(model, fixes):
    cov = coverage(fixes, model, "LA", start="2026-11-01", end="2026-11-30")
    for kind, exp in EXPECTED.items():
        _assert_close(_intervals(cov, kind), exp)
    last = dict(zip(cov.intervals["start_m"].round(-2), cov.intervals["last_visit"]))
    assert last[1500000.0] == dt.date(2026, 11, 20)       # T-4's visit is the latest there
    assert last[1512000.0] == dt.date(2026, 11, 1)
    assert last[1530000.0] == dt.date(2026, 11, 5)
    assert cov.covered_m("joint") == pytest.approx(5000, abs=1)
    assert cov.covered_m() == pytest.approx(10000 + 6000 + 3000 + 3500 + 5000, abs=5)
    assert 0 < cov.fixes_used < cov.fixes_total
    # the whole period: T-5 counts too
    allp = coverage(fixes, model, "LA")
    assert _intervals(allp, "unilateral")[-1] == pytest.approx((1670000, 1675000), abs=1)


def test_side_slack_and_within_are_parameters(model, fixes):
    # with a 300 m slack T-3 (200 m on the Lao side) counts; with within 1000 m the 800 m
    # piece joins 10-30 km into one interval
    cov = coverage(fixes, model, "LA", start="2026-11-01", side_slack_m=300, within_m=1000)
    got = _intervals(cov, "unilateral")
    assert got[0] == pytest.approx((1500000, 1523000), abs=1)   # 800/900 m pieces count
    assert got[1] == pytest.approx((1524500, 1528000), abs=1)   # the jump still breaks
    assert got[-1] == pytest.approx((1665000, 1670000), abs=1)  # 200 m across < 300 m


def test_marker_sections_shares_and_overdue(model, fixes):
    bm = model.markers["LA"]
    ch = bm.chainage
    k = int(np.searchsorted(ch, 100_000))
    a, b, c, d = ch[k:k + 4]
    part = along_line(model.index, "LA", [(a, c + (d - c) / 2, 40)], patrol_id="T-9",
                      start="2026-11-25T07:00:00+07:00")
    cov = coverage(pd.concat([fixes, part], ignore_index=True), model, "LA",
                   start="2026-11-01", end="2026-11-30", overdue_days=20)
    s = cov.sections.set_index(["start_m"]).sort_index()
    got = [s.loc[v, "covered_share"] for v in (a, b, c)]
    assert got == pytest.approx([1.0, 1.0, 0.5], abs=1e-3)
    assert s.loc[a, "last_visit"] == dt.date(2026, 11, 25)
    assert not s.loc[a, "overdue"] and s.loc[a, "days_since_visit"] == 5
    # visited on 1 November only: 29 days before 30 November > 20 -> overdue
    first = s[(s.index >= 1512000) & (s.index < 1517000) & (s["covered_share"] > 0)]
    assert len(first)
    assert first["overdue"].all() and (first["last_visit"] >= dt.date(2026, 11, 1)).all()
    never = s[s["last_visit"].isna()]
    assert len(never) and never["overdue"].all()
    # numbering order, consecutive, shares within [0, 1]
    nums = [int(str(m).split("/")[0]) for m in cov.sections["marker_from"]]
    assert nums == sorted(nums)
    assert cov.sections["covered_share"].between(0, 1).all()


def test_km_sections(model, fixes):
    cov = coverage(fixes, model, "LA", start="2026-11-01", by="km")
    s = cov.sections.set_index("km")
    assert s.loc[1501, "covered_share"] == pytest.approx(1.0)      # 1500-1501 km
    assert s.loc[1500, "covered_share"] == pytest.approx(0.0)      # 1499-1500 km
    assert s.loc[1511, "covered_share"] == pytest.approx(0.0)      # 800 m off
    assert s.loc[1531, "joint_share"] == pytest.approx(1.0)
    assert s.loc[1531, "unilateral_share"] == pytest.approx(0.0)
    assert (s["end_m"] - s["start_m"]).iloc[:-1].eq(1000).all()


def test_runs_merge_exactly_across_any_split(model, fixes):
    whole = fix_runs(fixes, model.index, "LA")
    rng = np.random.default_rng(3)
    parts = [fixes.iloc[i] for i in np.array_split(rng.permutation(len(fixes)), 5)]
    merged = merge_runs(pd.concat([fix_runs(p, model.index, "LA") for p in parts],
                                  ignore_index=True))
    cols = ["patrol", "seq_first", "seq_last", "ch_min", "ch_max", "t_last"]
    pd.testing.assert_frame_equal(whole[cols].reset_index(drop=True),
                                  merged[cols].reset_index(drop=True))


def test_dask_geopandas_on_a_local_cluster_equals_in_memory(model, fixes):
    dask_geopandas = pytest.importorskip("dask_geopandas")
    distributed = pytest.importorskip("distributed")
    gdf = gpd.GeoDataFrame(fixes, geometry=gpd.points_from_xy(fixes["lon"], fixes["lat"]),
                           crs="EPSG:4326")
    ddf = dask_geopandas.from_geopandas(gdf, npartitions=4).spatial_shuffle(by="hilbert")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        got = coverage(ddf, model, "LA", start="2026-11-01", end="2026-11-30")
    want = coverage(fixes, model, "LA", start="2026-11-01", end="2026-11-30")
    pd.testing.assert_frame_equal(got.intervals, want.intervals)
    pd.testing.assert_frame_equal(got.sections, want.sections)
    assert got.fixes_used == want.fixes_used and got.fixes_total == want.fixes_total


def test_province_filter_clips(model, fixes):
    cov = coverage(fixes, model, "LA", start="2026-11-01")
    prov = model.province_at(np.array(["LA"], dtype=object), np.array([1506000.0]))[0]
    sub = coverage(fixes, model, "LA", start="2026-11-01", province=prov)
    lo, hi = sub.sections["start_m"].min(), sub.sections["end_m"].max()
    assert len(sub.sections) < len(cov.sections)
    assert (sub.intervals["start_m"] >= lo - 1e-6).all()
    assert (sub.intervals["end_m"] <= hi + 1e-6).all()


def test_cli_import_then_coverage_json_contract(demo, model, tmp_path):
    ix = model.index
    a = along_line(ix, "LA", [(10000, 20000, 100), (23000, 30000, 100)], patrol_id="a",
                   interval_s=30)
    b = along_line(ix, "LA", [(60000, 65000, -100)], patrol_id="b", interval_s=30,
                   start="2026-11-03T07:00:00+07:00")
    write_gpx_by_hand(tmp_path / "u.gpx", [a])
    write_gpx_by_hand(tmp_path / "j.gpx", [b])
    r = CliRunner()
    env = {"BIENMOC_STORE": str(demo.path)}
    out = r.invoke(main, ["import", "patrols", str(tmp_path / "u.gpx"), "--team", "Tổ 1",
                          "--unit", "Đồn Biên phòng Na Mèo"], env=env)
    assert out.exit_code == 0, out.output
    assert "Đã nhập 1 chuyến tuần tra" in out.output
    out = r.invoke(main, ["--lang", "en", "import", "patrols", str(tmp_path / "j.gpx"),
                          "--team", "Tổ 2", "--kind", "song phương",
                          "--neighbour-unit", "Đồn 505 (Lào)"], env=env)
    assert out.exit_code == 0, out.output
    out = r.invoke(main, ["coverage", "--border", "LA", "--from", "01/11/2026", "--to",
                          "2026-11-30", "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert {"border", "from", "to", "within_m", "intervals", "sections"} <= set(doc)
    assert doc["border"] == "LA" and doc["from"] == "2026-11-01" and doc["to"] == "2026-11-30"
    assert doc["within_m"] == 500
    iv = [(i["start_m"], i["end_m"], i["kind"], i["last_visit"]) for i in doc["intervals"]]
    assert iv == [(10000.0, 20000.0, "unilateral", "2026-11-01"),
                  (23000.0, 30000.0, "unilateral", "2026-11-01"),
                  (60000.0, 65000.0, "joint", "2026-11-03")]
    sec = doc["sections"][0]
    assert list(sec)[:6] == ["marker_from", "marker_to", "start_m", "end_m", "covered_share",
                             "unilateral_share"] or {"marker_from", "marker_to", "start_m",
                                                     "end_m", "covered_share",
                                                     "last_visit"} <= set(sec)
    assert any(s["covered_share"] == 1.0 for s in doc["sections"])
    # the table, in Vietnamese and English
    out = r.invoke(main, ["coverage", "--border", "LA", "--overdue-days", "10", "--to",
                          "2026-11-30"], env=env)
    assert out.exit_code == 0, out.output
    assert "song phương" in out.output and "Quá hạn" in out.output
    out = r.invoke(main, ["--lang", "en", "coverage", "--border", "LA", "--format", "csv",
                          "--to", "2026-11-30"], env=env)
    assert out.exit_code == 0 and "covered_share" in out.output


def test_cli_coverage_errors(demo):
    r = CliRunner()
    env = {"BIENMOC_STORE": str(demo.path)}
    out = r.invoke(main, ["coverage", "--border", "LX"], env=env)
    assert out.exit_code != 0 and "LX" in out.output
    out = r.invoke(main, ["coverage", "--border", "LA", "--from", "2026-11-20", "--to",
                          "2026-11-01"], env=env)
    assert out.exit_code != 0 and "--from" in out.output


def test_coverage_on_the_progress_map(demo_store_path, model, fixes):
    from bienmoc.maps import progress_map
    from bienmoc.maps.coverage import COVERAGE_COLOURS, coverage_geojson

    cov = coverage(fixes, model, "LA", start="2026-11-01", end="2026-11-30", overdue_days=20)
    gj = coverage_geojson(cov, model, lang="en")
    assert len(gj["features"]) == len(cov.sections)
    by = {f["properties"]["marker_from"]: f for f in gj["features"]}
    s = cov.sections
    full = s[(s["covered_share"] == 1) & (s["start_m"] > 1512000)].iloc[0]  # 1 Nov only
    f = by[full["marker_from"]]
    assert f["properties"]["state"] == "covered" and f["properties"]["overdue"] is True
    none = s[(s["covered_share"] == 0)].iloc[0]
    assert by[none["marker_from"]]["properties"]["state"] == "none"
    # the drawn stretch runs along the line from the section's start to its end
    start = model.index.point_at("LA", [full["start_m"]])[0]
    from pyproj import Transformer
    x, y = Transformer.from_crs(4326, model.crs, always_xy=True).transform(
        *f["geometry"]["coordinates"][0])
    assert np.hypot(x - start[0], y - start[1]) < 1.0
    html = progress_map(GeoPackageStore(demo_store_path), border="LA", coverage=cov,
                        lang="vi").get_root().render()
    assert "Tuần tra: mức độ bao phủ" in html and COVERAGE_COLOURS["overdue"] in html
    from bienmoc.maps.coverage import legend_html
    assert 'style="' not in legend_html("vi")  # legends use classes: no inline styles (CSP)
    assert html.count('class="bienmoc-legend') == 1  # one legend box, coverage lines inside
    assert "đã tuần tra hết đoạn" in html


def test_progress_page_shows_the_patrol_coverage(demo, model):
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app
    from bienmoc.io.tracks import import_patrols

    today = dt.date.today()
    fixes = along_line(model.index, "LA", [(10000, 14000, 80)], interval_s=30,
                       start=f"{today - dt.timedelta(days=3)}T07:00:00+07:00")
    path = demo.path.parent / "t.gpx"
    write_gpx_by_hand(path, [fixes])
    import_patrols(demo, path, team="Tổ 1")
    client = TestClient(create_app(demo))
    r = client.get("/maps/progress", params={"border": "LA", "patrol_days": 30})
    assert r.status_code == 200
    assert "Tuần tra: mức độ bao phủ" in r.text and "đã tuần tra hết đoạn" in r.text
    assert "'unsafe-inline'" not in r.headers["content-security-policy"].split("script-src")[1]
    plain = client.get("/maps/progress", params={"border": "LA"})
    assert plain.status_code == 200 and "mức độ bao phủ" not in plain.text
    assert client.get("/maps/progress", params={"patrol_days": 0}).status_code == 422


@pytest.mark.slow
def test_coverage_overlay_in_chromium(demo, model, tmp_path):
    """The progress page with the coverage overlay in headless Chromium: the sections are
    drawn, and no CSP violation, JS error or outside request."""
    import test_browser
    from bienmoc.api import create_app
    from bienmoc.io.tracks import import_patrols
    from bienmoc.testing import serve_app

    today = dt.date.today()
    fixes = along_line(model.index, "LA", [(10000, 14000, 80)], interval_s=30,
                       start=f"{today - dt.timedelta(days=3)}T07:00:00+07:00")
    write_gpx_by_hand(tmp_path / "t.gpx", [fixes])
    import_patrols(demo, tmp_path / "t.gpx", team="Tổ 1")
    n_sections = len(coverage(demo, model, "LA").sections)
    for browser in test_browser.browser.__wrapped__():
        with serve_app(create_app(store=demo, tiles=None)) as base:
            v = test_browser.Visit(browser, f"{base}/maps/progress?border=LA&patrol_days=30")
            v.ready()
            drawn = v.page.evaluate("""() => Object.keys(window)
                .filter(k => k.startsWith('geo_json_') && window[k]
                        && typeof window[k].getLayers === 'function')
                .map(k => window[k].getLayers().length)""")
            assert drawn == [n_sections]
            legend = v.page.inner_text(".bienmoc-legend")
            assert "Tuần tra: mức độ bao phủ" in legend and "quá hạn tuần tra" in legend
            v.assert_clean()


def _two_joint_patrols(demo, model, tmp_path):
    """A joint patrol over LA 10-14 km in November 2026 and one over 20-21 km in October;
    returns the November one's fixes."""
    from bienmoc.io.tracks import import_patrols

    a = along_line(model.index, "LA", [(10000, 14000, 80)], interval_s=30,
                   start="2026-11-02T07:00:00+07:00")
    b = along_line(model.index, "LA", [(20000, 21000, 80)], interval_s=30,
                   start="2026-10-02T07:00:00+07:00")
    write_gpx_by_hand(tmp_path / "a.gpx", [a, b])
    import_patrols(demo, tmp_path / "a.gpx", team="Tổ 1", kind="joint",
                   neighbour_unit="Đại đội 1")
    return a


def test_dashboard_figures_count_patrols_and_coverage(demo, model, tmp_path):
    from bienmoc.analysis.dashboard import dashboard_figures

    a = _two_joint_patrols(demo, model, tmp_path)
    f = dashboard_figures(demo, border="LA", start="2026-11-01", end="2026-11-30",
                          as_of="2026-11-30")
    assert f["patrols"]["total"] == 1 and f["patrols"]["joint"] == 1
    assert f["patrols"]["fixes"] == len(a)
    assert f["patrols"]["covered_km"] == pytest.approx(4.0, abs=0.002)
    assert f["patrols"]["line_km"] == pytest.approx(model.index.length_m["LA"] / 1000, abs=0.01)
    national = dashboard_figures(demo, start="2026-10-01", end="2026-11-30", as_of="2026-11-30")
    assert national["patrols"]["total"] == 2 and national["patrols"]["covered_km"] is None


def test_report_states_patrols_and_coverage_of_its_area(demo, model, tmp_path):
    from bienmoc.report import build_report

    _two_joint_patrols(demo, model, tmp_path)
    rep = build_report(demo, border="LA", start="2026-11-01", end="2026-11-30",
                       with_maps=False)
    f = rep.figures
    assert (f["patrols.total"], f["patrols.unilateral"], f["patrols.joint"]) == (1, 0, 1)
    (cov,) = f["patrols.coverage"]
    assert cov["border"] == "LA" and cov["covered_km"] == pytest.approx(4.0, abs=0.05)
    assert cov["line_km"] == pytest.approx(model.index.length_m["LA"] / 1000, abs=0.1)
    assert cov["sections_unvisited"] == cov["sections"] - 2 or \
        cov["sections_unvisited"] == cov["sections"] - 1   # 4 km spans one or two sections
    text = " ".join(x for s in rep.sections for x in s.blocks if isinstance(x, str))
    assert "01 lượt tuần tra biên giới (0 lượt đơn phương, 01 lượt song phương)" in text
    assert "tuần tra đã đi qua 4,0 km trên" in text
    # a province's report: the patrol counts where its track lies
    (home,) = set(model.province_at(np.array(["LA", "LA"], dtype=object),
                                    np.array([10000.0, 14000.0])))
    far = model.province_at(np.array(["LA"], dtype=object), np.array([1500000.0]))[0]
    assert far != home
    mine = build_report(demo, province=home, start="2026-11-01", end="2026-11-30",
                        with_maps=False).figures
    assert mine["patrols.total"] == 1
    assert mine["patrols.coverage"][0]["covered_km"] == pytest.approx(4.0, abs=0.05)
    assert mine["patrols.coverage"][0]["line_km"] < cov["line_km"]   # clipped to the province
    other = build_report(demo, province=far, start="2026-11-01", end="2026-11-30",
                         with_maps=False, lang="en")
    assert other.figures["patrols.total"] == 0 and other.figures["patrols.coverage"] == []
    assert "No patrol is recorded in the database for the period." in [
        x for s in other.sections for x in s.blocks if isinstance(x, str)]
