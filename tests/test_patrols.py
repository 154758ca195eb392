"""Patrol tracks in: GPX (GDAL-written and hand-written), GeoJSON, CSV, zip; bad fixes."""
import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from bienmoc.cli import main
from bienmoc.errors import InvalidData
from bienmoc.geometry.locate import BorderModel
from bienmoc.io.tracks import import_patrols, read_fixes
from bienmoc.model.dates import parse_datetime, show_datetime
from bienmoc.model.schema import validate
from bienmoc.storage import GeoPackageStore
from bienmoc.testing_patrols import along_line, write_gpx_by_hand


@pytest.fixture(scope="module")
def tracks(demo_store_path):
    ix = BorderModel.from_source(GeoPackageStore(demo_store_path)).index
    a = along_line(ix, "LA", [(10000, 14000, 100)], patrol_id="a", interval_s=30)
    b = along_line(ix, "LA", [(60000, 62000, 50)], patrol_id="b", interval_s=20,
                   start="2026-11-03T06:00:00+07:00")
    return a, b


def test_datetime_field_keeps_the_offset_and_shows_vietnam_time():
    assert parse_datetime("2026-11-05T01:30:00Z") == "2026-11-05T01:30:00+00:00"
    assert parse_datetime("2026-11-05T08:30:00+07:00") == "2026-11-05T08:30:00+07:00"
    assert parse_datetime("05/11/2026 08:30") == "2026-11-05T08:30:00+07:00"  # no offset: VN
    assert parse_datetime("2026-11-05 08:30") == "2026-11-05T08:30:00+07:00"
    assert show_datetime("2026-11-05T01:30:00Z") == "05/11/2026 08:30"
    assert show_datetime("2026-11-05T01:30:00Z", "en") == "2026-11-05 08:30"
    with pytest.raises(ValueError, match="not a date-time"):
        parse_datetime("05/13/2026 08:30")
    rec = gpd.GeoDataFrame({"team": ["Tổ 1"], "kind": ["đơn phương"], "border": ["LA"],
                            "start_time": ["2026-11-05T06:00:00+06:00"],
                            "end_time": ["2026-11-05T09:15"]},
                           geometry=[shapely.LineString([(104, 20), (104.01, 20)])],
                           crs="EPSG:4326")
    out = validate("patrols", rec)
    assert out["start_time"].iloc[0] == "2026-11-05T06:00:00+06:00"  # its own offset kept
    assert out["end_time"].iloc[0] == "2026-11-05T09:15:00+07:00"
    assert out["kind"].iloc[0] == "unilateral"
    with pytest.raises(InvalidData) as e:
        validate("patrols", rec.assign(start_time=["yesterday"]))
    assert e.value.problems[0].field == "start_time"


def test_gpx_written_by_gdal_round_trips(demo, tracks, tmp_path):
    a, _ = tracks
    gdf = gpd.GeoDataFrame({"track_fid": 0, "track_seg_id": 0,
                            "track_seg_point_id": np.arange(len(a)),
                            "time": pd.to_datetime(a["time"], format="ISO8601", utc=True)},
                           geometry=gpd.points_from_xy(a["lon"], a["lat"]), crs="EPSG:4326")
    path = tmp_path / "gdal.gpx"
    pyogrio.write_dataframe(gdf, path, layer="track_points", driver="GPX")
    data = import_patrols(demo, path, team="Tổ tuần tra 1", unit="Đồn Biên phòng Na Mèo")
    assert len(data) == 1 and data.attrs["fixes"] == len(a)
    p = demo.read("patrols")
    assert p["border"].tolist() == ["LA"] and p["kind"].tolist() == ["unilateral"]
    assert p["id"].iloc[0].startswith("T-") and p["fixes"].iloc[0] == len(a)
    assert pd.Timestamp(p["start_time"].iloc[0]) == pd.Timestamp(a["time"].iloc[0])
    assert p.geometry.iloc[0].geom_type == "LineString"
    assert p["length_m"].iloc[0] == pytest.approx(4000, rel=0.15)
    f = demo.read("patrol_fixes")
    assert len(f) == len(a) and (f["patrol_id"] == p["id"].iloc[0]).all()
    assert f["seq"].tolist() == list(range(len(a)))
    np.testing.assert_allclose(f["lon"], a["lon"], atol=1e-9)
    np.testing.assert_allclose(f["lat"], a["lat"], atol=1e-9)
    got = pd.to_datetime(f["time"], format="ISO8601", utc=True)
    want = pd.to_datetime(a["time"], format="ISO8601", utc=True)
    assert (got.to_numpy() == want.to_numpy()).all()
    assert f["time"].iloc[0].endswith(("Z", "+00:00"))  # GPX times are UTC, kept so


def test_hand_written_gpx_with_two_tracks(demo, tracks, tmp_path):
    a, b = tracks
    write_gpx_by_hand(tmp_path / "hand.gpx", [a, b])
    fx = read_fixes(tmp_path / "hand.gpx")
    assert fx["patrol"].nunique() == 2 and len(fx) == len(a) + len(b)
    # the line of each <trkpt> in the file (header: 2 lines, then one <trk> line per track)
    assert fx["line"].iloc[0] == 4 and fx["line"].iloc[len(a)] == 4 + len(a) + 2
    data = import_patrols(demo, tmp_path / "hand.gpx", team="Tổ 2", kind="joint",
                          neighbour_unit="Đại đội 1 (Lào)")
    assert len(data) == 2 and set(data["kind"]) == {"joint"}
    assert len(demo.read("patrol_fixes")) == len(a) + len(b)
    out = CliRunner().invoke(main, ["export", "patrols", "--format", "csv", "--labels", "vi"],
                             env={"BIENMOC_STORE": str(demo.path)})
    assert out.exit_code == 0 and "Tổ tuần tra,Đồn biên phòng,Hình thức tuần tra" in out.output
    assert "song phương" in out.output and "Đại đội 1 (Lào)" in out.output
    # the same tracks again: refused, nothing added
    with pytest.raises(InvalidData, match="already in the store"):
        import_patrols(demo, tmp_path / "hand.gpx", team="Tổ 2", kind="joint",
                       neighbour_unit="Đại đội 1 (Lào)")
    assert len(demo.read("patrols")) == 2


def test_joint_patrol_needs_the_neighbours_unit(demo, tracks, tmp_path):
    write_gpx_by_hand(tmp_path / "j.gpx", [tracks[0]])
    with pytest.raises(InvalidData) as e:
        import_patrols(demo, tmp_path / "j.gpx", team="Tổ 3", kind="joint")
    assert [p.field for p in e.value.problems] == ["neighbour_unit"]
    assert len(demo.read("patrols")) == 0 and len(demo.read("patrol_fixes")) == 0


def _csv(path, df):
    df[["lon", "lat", "time"]].to_csv(path, index=False)


def test_bad_fixes_are_reported_with_file_and_line_and_nothing_is_written(demo, tracks,
                                                                         tmp_path):
    a = tracks[0].iloc[:40].copy().reset_index(drop=True)
    a.loc[5, "time"] = None                              # no time: line 7
    a.loc[9, ["lon", "lat"]] = (2.35, 48.85)             # Paris: line 11
    a.loc[20, "time"] = a.loc[19, "time"]                # duplicate timestamp: line 22
    a.loc[30, "lon"] += 0.05                             # ~5 km in 30 s: line 32
    _csv(tmp_path / "bad.csv", a)
    with pytest.raises(InvalidData) as e:
        import_patrols(demo, tmp_path / "bad.csv", team="Tổ 4")
    got = [(p.file, p.row, p.field) for p in e.value.problems]
    assert ("bad.csv", 7, "time") in got
    assert ("bad.csv", 11, "geometry") in got
    assert ("bad.csv", 22, "time") in got
    assert ("bad.csv", 32, "geometry") in got
    reasons = " | ".join(p.reason for p in e.value.problems)
    assert "no time" in reasons and "outside the border region" in reasons
    assert "duplicate timestamp" in reasons and "impossible speed" in reasons
    assert "bad.csv, row 22" in str(e.value)
    assert len(demo.read("patrols")) == 0 and len(demo.read("patrol_fixes")) == 0
    # a faster limit accepts nothing more, a slower one refuses the walk itself
    with pytest.raises(InvalidData, match="impossible speed"):
        _csv(tmp_path / "ok.csv", tracks[0])
        import_patrols(demo, tmp_path / "ok.csv", team="Tổ 4", max_speed_kmh=1)


def test_bad_gpx_fix_names_its_line(demo, tracks, tmp_path):
    write_gpx_by_hand(tmp_path / "t.gpx", [tracks[0].iloc[:10]])
    lines = (tmp_path / "t.gpx").read_text().splitlines()
    k = next(i for i, t in enumerate(lines) if "<trkpt" in t) + 3   # the 4th point
    lines[k] = lines[k].replace(lines[k][lines[k].index("<time>"):lines[k].index("</time>")
                                         + 7], "")
    (tmp_path / "t.gpx").write_text("\n".join(lines))
    with pytest.raises(InvalidData) as e:
        import_patrols(demo, tmp_path / "t.gpx", team="Tổ 5")
    (p,) = e.value.problems
    assert (p.file, p.row, p.field) == ("t.gpx", k + 1, "time")


def test_geojson_times_and_a_zip_of_many(demo, tracks, tmp_path):
    a, b = tracks
    feats = [{"type": "Feature", "properties": {"times": list(a["time"])},
              "geometry": {"type": "LineString",
                           "coordinates": a[["lon", "lat"]].values.tolist()}},
             {"type": "Feature", "properties": {},
              "geometry": {"type": "MultiLineString", "coordinates": [
                  [[x, y, 0.0, pd.Timestamp(t).timestamp()] for x, y, t in
                   zip(b["lon"][:50], b["lat"][:50], b["time"][:50])],
                  [[x, y, 0.0, pd.Timestamp(t).timestamp() * 1000] for x, y, t in
                   zip(b["lon"][50:], b["lat"][50:], b["time"][50:])]]}}]
    gj = json.dumps({"type": "FeatureCollection", "features": feats})
    fx = read_fixes(_write(tmp_path / "t.geojson", gj))
    assert fx["patrol"].nunique() == 2 and len(fx) == len(a) + len(b)
    want = pd.to_datetime(pd.concat([a["time"], b["time"]]), format="ISO8601", utc=True)
    assert (fx["t"].to_numpy() == pd.DatetimeIndex(want).as_unit("ns").asi8).all()
    write_gpx_by_hand(tmp_path / "h.gpx", [b.assign(time=pd.to_datetime(
        b["time"], format="ISO8601") + pd.Timedelta(days=2))])
    _csv(tmp_path / "c.csv", a.assign(time=pd.to_datetime(a["time"], format="ISO8601")
                                      + pd.Timedelta(days=5)))
    with zipfile.ZipFile(tmp_path / "many.zip", "w") as z:
        for n in ("t.geojson", "h.gpx", "c.csv"):
            z.write(tmp_path / n, f"tracks/{n}")
    r = CliRunner().invoke(main, ["import", "patrols", str(tmp_path / "many.zip"), "--team",
                                  "Tổ 6", "--kind", "đơn phương"],
                           env={"BIENMOC_STORE": str(demo.path)})
    assert r.exit_code == 0, r.output
    p = demo.read("patrols")
    assert len(p) == 4 and set(p["source"]) == {"many.zip/tracks/t.geojson",
                                                "many.zip/tracks/h.gpx", "many.zip/tracks/c.csv"}
    assert (p.loc[p["source"].str.endswith("t.geojson"), "fixes"].sort_values().tolist()
            == sorted([len(a), len(b)]))
    assert p.geometry.geom_type.isin(["LineString", "MultiLineString"]).all()
    assert len(demo.read("patrol_fixes")) == 2 * len(a) + 2 * len(b)
    # a bad member names the zip and the member, in Vietnamese
    bad = a.copy()
    bad.loc[3, "time"] = "hôm qua"
    _csv(tmp_path / "x.csv", bad)
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as z:
        z.write(tmp_path / "x.csv", "x.csv")
    r = CliRunner().invoke(main, ["import", "patrols", str(tmp_path / "bad.zip"), "--team",
                                  "Tổ 7"], env={"BIENMOC_STORE": str(demo.path)})
    assert r.exit_code != 0
    assert "bad.zip/x.csv, dòng 5, trường 'time'" in r.output
    assert "không phải thời điểm" in r.output
    assert len(demo.read("patrols")) == 4


def test_cli_patrol_options_and_errors(demo, tracks, tmp_path):
    env = {"BIENMOC_STORE": str(demo.path)}
    r = CliRunner().invoke(main, ["import", "patrols", str(tmp_path)], env=env)
    assert r.exit_code != 0 and "--team" in r.output
    r = CliRunner().invoke(main, ["import", "markers", "x.csv", "--team", "A"], env=env)
    assert r.exit_code != 0 and "--team" in r.output
    (tmp_path / "none.txt").write_text("x")
    r = CliRunner().invoke(main, ["--lang", "en", "import", "patrols", str(tmp_path / "none.txt"),
                                  "--team", "A"], env=env)
    assert r.exit_code != 0 and "not a track file" in r.output


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_element_lines_and_point_coordinates_read_from_buffers():
    from bienmoc.io.tracks import _element_lines, _point_xy
    import pyarrow as pa

    doc = (b'<gpx>\n<trk><trkseg><trkpt lat="1" lon="2">\n<time>x</time></trkpt>'
           b'<trkpt\tlat="3" lon="4"/>\n\n<trkptx/><!-- <trkpt> -->\n<trkpt\n lat="5"/>')
    # the fourth is inside a comment: counted (GDAL would not read it, so the caller's length
    # check falls back to positions), <trkptx is another element and is not counted
    assert _element_lines(doc, b"trkpt").tolist() == [2, 3, 5, 6]
    assert _element_lines(b"", b"trkpt").tolist() == []
    pts = shapely.points([[102.5, 21.25], [-1.0, 0.0]])
    got = _point_xy(pa.array(shapely.to_wkb(pts, byte_order=1).tolist(), pa.binary()))
    assert got.tolist() == [[102.5, 21.25], [-1.0, 0.0]]
    # big-endian and 3D points take the general path and give the same numbers
    be = _point_xy(pa.array(shapely.to_wkb(pts, byte_order=0).tolist(), pa.binary()))
    assert be.tolist() == [[102.5, 21.25], [-1.0, 0.0]]
    z = _point_xy(pa.array(shapely.to_wkb(shapely.points([[1.0, 2.0, 3.0]])).tolist()))
    assert z.tolist() == [[1.0, 2.0]]
