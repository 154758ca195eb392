"""Issue 10: every bad record is refused by every door (import, record, CLI, API) with the same
rule, a message naming row, field and value, and the store file byte-identical afterwards; the
override lets it in and shows on the record and in the marker's history."""
import logging
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bienmoc.analysis.inspections import marker_history
from bienmoc.api import create_app
from bienmoc.api.settings import Settings
from bienmoc.cli.main import main
from bienmoc.errors import InvalidData
from bienmoc.geometry.locate import BorderModel
from bienmoc.geometry.provinces import province_of
from bienmoc.io.files import import_layer
from bienmoc.messages import to_vi
from bienmoc.records import (RuleSettings, import_records, record_incident, record_inspection,
                             record_progress, resurvey_marker, update_incident)
from bienmoc.storage import GeoPackageStore
from bienmoc.testing import make_layers

#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores

TOKEN = "tok"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HANOI = (105.85, 21.03)
UTM48 = 32648


def _bytes(store):
    """The GeoPackage file's bytes; for PostGIS the version token (any write changes it) and
    every layer's content."""
    if hasattr(store, "path"):
        return store.path.read_bytes()
    from concurrent.futures import ThreadPoolExecutor

    def snapshot():  # in another thread: what other connections see (not an open transaction)
        frames = {n: store.read(n) for n in store.layers()}
        return store.version(), tuple((n, (f.to_wkb() if hasattr(f, "to_wkb") else f).to_csv())
                                      for n, f in frames.items())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(snapshot).result()


def _refused(store, call, field, rule, pattern=None):
    """``call()`` raises InvalidData naming ``field`` (row 1) by ``rule``; file unchanged."""
    before = _bytes(store)
    with pytest.raises(InvalidData) as e:
        call()
    hits = [p for p in e.value.problems if p.field == field and getattr(p, "rule", None) == rule]
    assert hits, e.value.problems
    assert hits[0].row == 1
    if pattern:
        assert re.search(pattern, hits[0].reason), hits[0].reason
    assert _bytes(store) == before
    return hits[0]


def _cli(store, *args):
    return CliRunner().invoke(main, ["--store", store.uri, "--lang", "vi", *args],
                              catch_exceptions=False)


def _api(store):
    return TestClient(create_app(store=store, settings=Settings(api_token=TOKEN), tiles=None))


def _geojson(tmp_path, kind, rows, geoms, name=None):
    p = tmp_path / (name or f"{kind}.geojson")
    gpd.GeoDataFrame(rows, geometry=geoms, crs=4326).to_file(p, driver="GeoJSON")
    return p


def _line_distance_m(store, border, lon, lat):
    """Independent check: distance in UTM 48N from the border's boundary geometry."""
    b = store.read("boundary")
    line = b[b["border"] == border].to_crs(UTM48).geometry.iloc[0]
    pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(UTM48).iloc[0]
    return line.distance(pt)


def _km(reason):
    return float(re.search(r"lies ([\d.]+) km", reason).group(1))


# -- markers and stakes ----------------------------------------------------------------------

def _marker_row(number, kind="small", province=None):
    return {"number": number, "border": "LA", "kind": kind, "arrangement": "single",
            "construction_status": "built", "condition": "good", "province": province}


def test_marker_at_hanoi_is_refused_by_import_then_allowed_and_recorded(demo, tmp_path,
                                                                         caplog):
    f = _geojson(tmp_path, "markers", [_marker_row("5000")], [shapely.Point(*HANOI)])
    p = _refused(demo, lambda: import_layer(demo, "markers", f), "geometry", "far",
                 r"marker 5000 lies [\d.]+ km from the LA border line; the limit is 50\.0 m")
    truth = _line_distance_m(demo, "LA", *HANOI) / 1000
    assert truth > 100 and _km(p.reason) == pytest.approx(truth, rel=0.01)
    assert to_vi(p.reason).startswith("mốc 5000 cách đường biên giới LA ")
    # the CLI door: same rule, in Vietnamese, with the override to give; file unchanged
    before = _bytes(demo)
    r = _cli(demo, "import", "markers", str(f))
    assert r.exit_code == 1
    assert "dòng 1" in r.output and "mốc 5000 cách đường biên giới LA" in r.output
    assert "[--allow far]" in r.output
    assert _bytes(demo) == before
    # the override lets it in, stored on the record and logged
    with caplog.at_level(logging.WARNING, logger="bienmoc.records"):
        r = _cli(demo, "import", "markers", str(f), "--allow", "far")
    assert r.exit_code == 0, r.output
    rec = demo.read("markers").set_index("id").loc["LA-5000"]
    assert rec["overrides"].startswith("far: marker 5000 lies ")
    assert any("override of rule 'far'" in m for m in caplog.messages)


def test_stake_5_km_inside_laos_is_refused(demo, tmp_path):
    m = demo.read("markers").set_index("id").loc["LA-222(1)"]
    model = BorderModel.from_source(demo)
    # 5 km from marker 222, on the Lao side, in the direction farthest from the line
    pts = gpd.GeoSeries([m.geometry], crs=4326).to_crs(model.crs).iloc[0]
    angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    cands = gpd.GeoSeries([shapely.Point(pts.x + 5000 * np.cos(a), pts.y + 5000 * np.sin(a))
                           for a in angles], crs=model.crs).to_crs(4326)
    loc = model.locate(cands, describe=False)
    stake = cands.iloc[int(np.argmax(np.where(loc["side"] == "LA", loc["distance_m"], -1)))]
    f = _geojson(tmp_path, "markers", [_marker_row("222/9", kind="stake")], [stake])
    p = _refused(demo, lambda: import_layer(demo, "markers", f), "geometry", "far",
                 r"marker 222/9 lies [\d.]+ km from the LA border line")
    assert _km(p.reason) == pytest.approx(  # the message rounds to 0.1 km
        _line_distance_m(demo, "LA", stake.x, stake.y) / 1000, abs=0.06)
    assert 3.5 < _km(p.reason) <= 5.0


def test_double_marker_parts_may_stand_on_the_banks(store):
    # 102(1)/102(2) of the tiny world stand ~10 m either side of the line: within the part
    # tolerance (200 m) while a single marker must stand within 50 m
    rows = [_marker_row("105", province="Thanh Hóa"), _marker_row("106", province="Thanh Hóa")]
    far = gpd.GeoDataFrame(rows, geometry=[shapely.Point(104.5005, 20.91),   # ~52 m
                                           shapely.Point(104.5003, 20.905)], crs=4326)
    with pytest.raises(InvalidData) as e:
        import_records(store, "markers", far)
    assert [(p.row, p.rule) for p in e.value.problems] == [(1, "far")]
    part = gpd.GeoDataFrame([{**_marker_row("107(1)"), "arrangement": "double",
                              "province": "Thanh Hóa"}],
                            geometry=[shapely.Point(104.499, 20.903)], crs=4326)  # ~104 m
    assert list(import_records(store, "markers", part)["id"]) == ["LA-107(1)"]
    # a stricter office: a per-kind tolerance
    tight = RuleSettings(marker_tolerance_m={"small": 20.0, "stake": 5.0},
                         part_tolerance_m=50.0)
    with pytest.raises(InvalidData) as e:
        import_records(store, "markers", far.iloc[1:], settings=tight)
    assert "the limit is 20.0 m" in e.value.problems[0].reason


def test_wrong_province_is_refused(store):
    rec = gpd.GeoDataFrame([_marker_row("105", province="Sơn La")],
                           geometry=[shapely.Point(104.5, 20.91)], crs=4326)
    p = _refused(store, lambda: import_records(store, "markers", rec), "province", "province")
    assert p.reason == "province Sơn La disagrees with the position, which lies in Thanh Hóa"
    assert to_vi(p.reason) == ("tỉnh Sơn La không khớp với vị trí, vị trí này thuộc Thanh Hóa")


def test_gate_across_the_line_is_refused(store):
    gate = gpd.GeoDataFrame([{"name": "Cửa khẩu X", "border": "LA", "kind": "main",
                              "status": "open"}],
                            geometry=[shapely.Point(104.49, 20.97)], crs=4326)  # 1 km in LA
    _refused(store, lambda: import_records(store, "gates", gate), "geometry", "side",
             r"gate Cửa khẩu X lies 1\.0 km on the LA side")


# -- inspections -----------------------------------------------------------------------------

def test_inspection_28_km_from_its_marker_is_refused_by_every_door(demo, tmp_path):
    call = lambda **kw: record_inspection(demo, "LA", "222(1)", "2025-06-01", "joint",  # noqa
                                          "good", position=(104.1, 20.7), **kw)
    p = _refused(demo, call, "geometry", "displacement",
                 r"measured position lies 2\d\.\d km from the registered position of marker "
                 r"222\(1\) \(LA\); the limit is 100\.0 m")
    reg = demo.read("markers").set_index("id").loc["LA-222(1)"].geometry
    truth = gpd.GeoSeries([reg, shapely.Point(104.1, 20.7)], crs=4326).to_crs(UTM48)
    km = float(re.search(r"lies ([\d.]+) km", p.reason).group(1))
    assert km == pytest.approx(truth.iloc[0].distance(truth.iloc[1]) / 1000, abs=0.1)
    f = _geojson(tmp_path, "inspections", [{"date": "2025-06-01", "border": "LA",
                                            "marker": "222(1)", "team": "joint",
                                            "condition": "good"}], [shapely.Point(104.1, 20.7)])
    assert _refused(demo, lambda: import_layer(demo, "inspections", f), "geometry",
                    "displacement").reason == p.reason
    before = _bytes(demo)
    r = _cli(demo, "record", "inspection", "222(1)", "--border", "LA", "--date", "2025-06-01",
             "--team", "joint", "--condition", "good", "--lon", "104.1", "--lat", "20.7")
    assert r.exit_code == 1 and "vị trí đo được cách vị trí đăng ký của mốc 222(1)" in r.output
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.1, 20.7]},
            "properties": {"border": "LA", "marker": "222(1)", "date": "2025-06-01",
                           "team": "joint", "condition": "good"}}
    r = _api(demo).post("/collections/inspections/items", json=body, headers=AUTH)
    assert r.status_code == 422
    assert {"field": "geometry", "reason": p.reason} in r.json()["problems"]
    assert _bytes(demo) == before
    # the override: accepted via the API, stored, and shown in the marker's history
    r = _api(demo).post("/collections/inspections/items?allow=displacement", json=body,
                        headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["overrides"].startswith("displacement: measured position")
    h = marker_history(demo, "222(1)", border="LA")
    last = h[h["record_id"] == r.json()["id"]].iloc[0]
    assert "[override: displacement: measured position lies" in last["description_en"]
    assert "ngoại lệ được chấp nhận: displacement: vị trí đo được" in last["description_vi"]


def test_correction_must_name_a_record_of_the_same_marker(demo, tmp_path):
    ins = demo.read("inspections")
    other = ins[(ins["border"] == "CN")].iloc[0]
    call = lambda: record_inspection(demo, "LA", "222(1)", "2025-06-01", "joint", "good",  # noqa
                                     corrects=other["id"])
    before = _bytes(demo)
    with pytest.raises(InvalidData) as e:
        call()
    assert [(q.row, q.field) for q in e.value.problems] == [(1, "corrects")]
    assert e.value.problems[0].reason.startswith(
        f"record {other['id']} is of CN/{other['marker']}, not LA/222(1)")
    f = _geojson(tmp_path, "inspections", [{"date": "2025-06-01", "border": "LA",
                                            "marker": "222(1)", "team": "joint",
                                            "condition": "good", "corrects": other["id"]}],
                 [None])
    with pytest.raises(InvalidData) as e:
        import_layer(demo, "inspections", f)
    assert e.value.problems[0].field == "corrects"
    r = _api(demo).post("/collections/inspections/items", headers=AUTH, json={
        "type": "Feature", "geometry": None,
        "properties": {"border": "LA", "marker": "222(1)", "date": "2025-06-01",
                       "team": "joint", "condition": "good", "corrects": other["id"]}})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "corrects"
    assert _bytes(demo) == before


def test_inspection_before_the_marker_was_built(demo):
    _refused(demo, lambda: record_inspection(demo, "LA", "222(1)", "2010-01-01", "joint",
                                             "good"), "date", "before_existence",
             r"2010-01-01 is before marker 222\(1\) was built \(2014-07-24\)")


# -- resurveys -------------------------------------------------------------------------------

def test_resurvey_moving_a_marker_60_km_needs_an_override(demo):
    m = demo.read("markers").set_index("id").loc["KH-96"].geometry
    to = (m.x + 0.55, m.y)  # ~60 km east
    call = lambda **kw: resurvey_marker(demo, "KH", "96", to, "2025-06-01",  # noqa: E731
                                        "GPS đo lại", **kw)
    p = _refused(demo, call, "geometry", "resurvey_far",
                 r"resurvey moves marker 96 \(KH\) by (5\d|6\d)\.\d km; the limit is 200\.0 m")
    before = _bytes(demo)
    r = _cli(demo, "record", "resurvey", "96", "--border", "KH", "--date", "2025-06-01",
             "--lon", str(to[0]), "--lat", str(to[1]), "--reason", "GPS")
    assert r.exit_code == 1 and "đo đạc lại dời mốc 96 (KH)" in r.output
    assert _bytes(demo) == before
    # allowing the move alone is not enough: the moved marker stands far from its line, in
    # another province than its record says
    with pytest.raises(InvalidData) as e:
        call(allow=["resurvey_far"])
    assert {q.rule for q in e.value.problems} == {"far", "province"}
    assert _bytes(demo) == before
    rec = call(allow=["resurvey_far", "far", "province"])
    assert rec["overrides"].iloc[0].startswith("resurvey_far: " + p.reason)
    moved = demo.read("markers").set_index("id").loc["KH-96"]
    assert moved.geometry.equals(shapely.Point(*to)) and "far: marker 96 lies" in \
        moved["overrides"]
    h = marker_history(demo, "96", border="KH")
    row = h[h["record_id"] == rec["id"].iloc[0]].iloc[0]
    assert row["event"] == "resurvey"
    assert "[override: resurvey_far: resurvey moves marker 96" in row["description_en"]


def test_small_resurvey_passes(demo):
    m = demo.read("markers").set_index("id").loc["KH-96"].geometry
    rec = resurvey_marker(demo, "KH", "96", (m.x + 0.0003, m.y), "2025-06-01", "GPS")
    assert rec["overrides"].iloc[0] is None


# -- incidents -------------------------------------------------------------------------------

def _incident_rows(**kw):
    return {"kind": "illegal_crossing", "status": "reported", "border": "LA",
            "reported_date": "2025-03-01", **kw}


@pytest.mark.parametrize("props, field, rule, pattern", [
    ({"reported_date": "2999-01-01"}, "reported_date", "future_date",
     r"2999-01-01 is in the future \(today is "),
    ({"occurred_date": "2025-03-05"}, "occurred_date", "date_order",
     r"occurred date 2025-03-05 is after reported date 2025-03-01"),
])
def test_incident_dates_are_refused_by_every_door(store, tmp_path, props, field, rule,
                                                  pattern):
    pt = shapely.Point(104.51, 20.97)
    f = _geojson(tmp_path, "incidents", [_incident_rows(**props)], [pt])
    _refused(store, lambda: import_layer(store, "incidents", f), field, rule, pattern)
    kw = {"occurred_date": props.get("occurred_date"),
          "reported_date": props.get("reported_date", "2025-03-01")}
    _refused(store, lambda: record_incident(store, "illegal_crossing", (104.51, 20.97), **kw),
             field, rule, pattern)
    before = _bytes(store)
    args = ["record", "incident", "--kind", "illegal_crossing", "--lon", "104.51", "--lat",
            "20.97", "--reported", kw["reported_date"]]
    if kw["occurred_date"]:
        args += ["--occurred", kw["occurred_date"]]
    r = _cli(store, *args)
    assert r.exit_code == 1 and f"[--allow {rule}]" in r.output
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.51, 20.97]},
            "properties": {"kind": "illegal_crossing", **kw}}
    body["properties"] = {k: v for k, v in body["properties"].items() if v is not None}
    r = _api(store).post("/collections/incidents/items", json=body, headers=AUTH)
    assert r.status_code == 422 and field in {p["field"] for p in r.json()["problems"]}
    assert _bytes(store) == before
    # allowed: in, with the override on the record
    rec = record_incident(store, "illegal_crossing", (104.51, 20.97), allow=[rule], **kw)
    assert rec["overrides"].iloc[0].startswith(f"{rule}: ")


def test_incident_far_from_the_line_uses_the_configured_distance(store):
    _refused(store, lambda: record_incident(store, "other", (104.9, 20.97)), "geometry", "far",
             r"the incident lies 4\d\.\d km from the LA border line; the limit is 20\.0 km")
    near = record_incident(store, "other", (104.9, 20.97),
                           settings=RuleSettings(incident_max_distance_m=50_000))
    assert (near["border"].iloc[0], near["province"].iloc[0]) == ("LA", None)
    # a PATCH of its date goes through the same rule
    with pytest.raises(InvalidData) as e:
        update_incident(store, near["id"].iloc[0], {"reported_date": "2999-01-01"})
    assert e.value.problems[0].rule == "future_date"
    # an empty change and a missing status are the library's refusals (the API only relays
    # them), and nothing is written
    version = store.version()
    with pytest.raises(InvalidData, match="nothing to change"):
        update_incident(store, near["id"].iloc[0], {})
    with pytest.raises(InvalidData) as e:
        update_incident(store, near["id"].iloc[0], {"status": None})
    assert (e.value.problems[0].field, e.value.problems[0].reason) == ("status",
                                                                      "value is required")
    assert store.version() == version


def test_nul_and_control_characters_are_refused_never_cut(store, tmp_path):
    text = "before\u0000after"
    f = _geojson(tmp_path, "incidents", [_incident_rows(description="tab\tok"),
                                         _incident_rows(description="bell\u0007")],
                 [shapely.Point(104.51, 20.97)] * 2)
    before = _bytes(store)
    with pytest.raises(InvalidData) as e:
        import_layer(store, "incidents", f)
    assert [(p.row, p.field) for p in e.value.problems] == [(2, "description")]
    assert e.value.problems[0].reason.startswith("control character U+0007 at position 5")
    with pytest.raises(InvalidData) as e:
        record_incident(store, "other", (104.51, 20.97), description=text)
    assert e.value.problems[0].reason == (
        "control character U+0000 at position 7 of 'before\\x00after'; only tab and newline "
        "are allowed")
    r = _api(store).post("/collections/incidents/items", headers=AUTH, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [104.51, 20.97]},
        "properties": {"kind": "other", "description": text}})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "description"
    r = _api(store).patch("/collections/incidents/items/V-000001", headers=AUTH,
                          json={"description": text})
    assert r.status_code == 422
    r = _cli(store, "record", "incident", "--kind", "other", "--lon", "104.51", "--lat",
             "20.97", "--description", text)
    assert r.exit_code == 1 and "ký tự điều khiển U+0000 ở vị trí 7" in r.output
    assert _bytes(store) == before
    # text is stored NFC: a decomposed "Hóa" comes back composed
    rec = record_incident(store, "other", (104.51, 20.97), description="Tha\u0301nh Ho\u0301a")
    stored = store.read("incidents").set_index("id").loc[rec["id"].iloc[0], "description"]
    assert stored == "Thánh Hóa" and len(stored) == 9


def test_progress_rules(store):
    works = gpd.GeoDataFrame([{"title": "Kè mốc 101", "kind": "embankment", "border": "LA",
                               "marker_from": "101", "actual_start": "2024-05-01"}],
                             geometry=[None], crs=4326)
    with pytest.raises(InvalidData) as e:  # a work names markers of the register
        import_records(store, "works", works.assign(marker_from="999", marker_to="102"))
    assert [(p.row, p.field, p.reason) for p in e.value.problems] == [
        (1, "marker_from", "no marker 999 on border LA")]  # 102 = the position 102(1)/(2)
    wid = import_records(store, "works", works)["id"].iloc[0]
    _refused(store, lambda: record_progress(store, wid, "2024-04-01", 10), "date",
             "before_existence", r"2024-04-01 is before work W-000001 started \(2024-05-01\)")
    _refused(store, lambda: record_progress(store, wid, "2999-04-01", 10), "date",
             "future_date")
    first = record_progress(store, wid, "2024-06-01", 10)
    other = import_records(store, "works", works.assign(title="Đường ra mốc"))["id"].iloc[0]
    with pytest.raises(InvalidData) as e:
        record_progress(store, other, "2024-07-01", 5, corrects=first["id"].iloc[0])
    assert e.value.problems[0].field == "corrects"


def test_unknown_override_is_an_error(store):
    with pytest.raises(InvalidData) as e:
        record_incident(store, "other", (104.51, 20.97), allow=["everything"])
    assert e.value.problems[0].field == "allow"
    r = _api(store).post("/collections/incidents/items?allow=everything", headers=AUTH, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [104.51, 20.97]},
        "properties": {"kind": "other"}})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "allow"


def test_records_share_one_transaction(store):
    """Given an open transaction, the records functions write nothing until it commits."""
    before = _bytes(store)
    with store.transaction() as tx:
        a = record_incident(tx, "other", (104.51, 20.97), reported_date="2025-01-01")
        b = record_incident(tx, "other", (104.51, 20.96), reported_date="2025-01-02")
        assert _bytes(store) == before
    assert (a["id"].iloc[0], b["id"].iloc[0]) == ("V-000004", "V-000005")
    assert len(store.read("incidents")) == 5


# -- province of a point ---------------------------------------------------------------------

def test_province_is_the_containing_polygon(demo):
    model = BorderModel.from_source(demo)
    loc = model.locate(gpd.GeoSeries([shapely.Point(*HANOI)], crs=4326), describe=False)
    assert loc["province"].iloc[0] is None          # the demo has no Hà Nội polygon
    assert loc["section_province"].iloc[0] is not None  # the nearest section has an owner
    # with a Hà Nội polygon the point is in Hà Nội, not in the nearest border section's
    layers = make_layers()
    hanoi = gpd.GeoDataFrame({"name": ["Hà Nội"]}, geometry=[shapely.box(105.3, 20.5, 106.0,
                                                                          21.4)], crs=4326)
    provinces = gpd.GeoDataFrame(
        gpd.pd.concat([layers["provinces"][["name", "geometry"]], hanoi], ignore_index=True),
        crs=4326)
    world = BorderModel(layers["boundary"], layers["markers"], provinces)
    pts = gpd.GeoSeries([shapely.Point(*HANOI), shapely.Point(104.51, 20.97),
                         shapely.Point(104.49, 20.97),    # 1 km into Laos: nearest, Sơn La
                         shapely.Point(104.45, 20.97)],   # 5 km into Laos: none
                        crs=4326)
    loc = world.locate(pts, describe=False)
    assert [None if pd.isna(p) else p for p in loc["province"]] == [
        "Hà Nội", "Sơn La", "Sơn La", None]
    assert loc["section_province"].tolist()[:3] == ["Sơn La", "Sơn La", "Sơn La"]
    assert province_of(pts, provinces).tolist() == ["Hà Nội", "Sơn La", "Sơn La", None]


def test_demo_markers_agree_with_their_province_polygons(demo):
    m = demo.read("markers")
    got = province_of(m, demo.read("provinces"))
    assert np.mean(got == m["province"].to_numpy(dtype=object)) == 1.0


def test_the_demo_passes_every_entry_rule(demo):
    """The rules' defaults fit real-shaped data: the demo (4,938 markers, 7,544 inspections,
    gates, works, incidents...) raises no problem."""
    from bienmoc.records.entry import border_model, reference_problems
    from bienmoc.records.rules import Context, run_rules

    for kind in ("markers", "gates", "works", "incidents", "inspections", "work_progress",
                 "resurveys"):
        d = demo.read(kind)
        ctx = Context(demo, kind, d, np.arange(1, len(d) + 1), RuleSettings(),
                      lambda: border_model(demo, demo))
        assert run_rules(ctx) + reference_problems(kind, d, demo) == [], kind


def test_every_rule_message_has_a_vietnamese_rendering(store):
    """One message per rule, each rendered in Vietnamese by the CLI's catalogue."""
    from bienmoc.records.entry import border_model
    from bienmoc.records.rules import RULE_NAMES, Context, run_rules

    pt = shapely.Point
    cases = {
        "markers": gpd.GeoDataFrame(
            [_marker_row("105", province="Sơn La"), {**_marker_row("106"), "border": "LA",
                                                     "built_date": "2999-01-01"}],
            geometry=[pt(104.5, 20.91), pt(104.6, 20.93)], crs=4326),
        "gates": gpd.GeoDataFrame([{"name": "X", "border": "LA", "kind": "main",
                                    "status": "open"}], geometry=[pt(104.45, 20.97)], crs=4326),
        "incidents": gpd.GeoDataFrame([_incident_rows(occurred_date="2025-03-09")],
                                      geometry=[pt(104.9, 20.97)], crs=4326),
        "inspections": gpd.GeoDataFrame([{"date": "2025-01-01", "border": "LA",
                                          "marker": "101", "team": "joint",
                                          "condition": "good"}],
                                        geometry=[pt(104.51, 20.99)], crs=4326),
        "resurveys": gpd.GeoDataFrame([{"date": "2025-01-01", "border": "LA", "marker": "101",
                                        "previous_wkt": "POINT (104.5 20.99)", "reason": "x"}],
                                      geometry=[pt(104.52, 20.99)], crs=4326),
        "line_sections": gpd.GeoDataFrame({"border": "LA", "from_m": [0, 2000, 9000, 9000],
                                           "to_m": [3000, 4000, 8000, 12000],
                                           "province": [None, None, None, "Sơn La"],
                                           "status": "demarcated"},
                                          geometry=[None] * 4, crs=4326),
    }
    from bienmoc.model.schema import validate

    seen = set()
    for kind, raw in cases.items():
        d = validate(kind, raw, assign_ids=False)
        ctx = Context(store, kind, d, np.arange(1, len(d) + 1), RuleSettings(),
                      lambda: border_model(store, store))
        for p in run_rules(ctx):
            seen.add(p.rule)
            vi = to_vi(p.reason)
            assert vi != p.reason and not re.search(r"\b(lies|limit|after|before)\b", vi), \
                p.reason
    assert seen >= set(RULE_NAMES) - {"border", "before_existence", "parts"}  # tested apart


def test_a_record_on_another_line_is_refused_by_the_border_rule(tmp_path):
    layers = make_layers()
    cn = gpd.GeoDataFrame({"border": ["CN"], "name_vi": ["Biên giới Việt Nam - Trung Quốc"],
                           "home_side": ["left"]},
                          geometry=[shapely.LineString([(104.6, 21.0), (104.6, 20.9)])],
                          crs=4326)
    layers["boundary"] = gpd.GeoDataFrame(gpd.pd.concat([layers["boundary"], cn],
                                                        ignore_index=True), crs=4326)
    store = GeoPackageStore(tmp_path / "two.gpkg")
    store.write_many(layers)
    rec = gpd.GeoDataFrame([_marker_row("105")], geometry=[shapely.Point(104.6001, 20.95)],
                           crs=4326)
    p = _refused(store, lambda: import_records(store, "markers", rec), "border", "border",
                 r"marker 105 says border LA but lies 10\.\d m from the CN line and "
                 r"10\.\d km from the LA line")
    assert to_vi(p.reason).startswith("mốc 105 ghi tuyến LA nhưng cách đường biên giới CN 10,")
    # the before_existence message reads in Vietnamese too
    assert to_vi("2010-01-01 is before marker 222(1) was built (2014-07-24)") == \
        "01/01/2010 trước ngày mốc 222(1) được xây dựng xong (24/07/2014)"


def test_api_thresholds_come_from_the_settings(store, monkeypatch):
    monkeypatch.setenv("BIENMOC_WRITE_RULES", '{"displacement_m": 5}')
    c = TestClient(create_app(store=store, settings=Settings(api_token=TOKEN), tiles=None))
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.5001, 20.99]},
            "properties": {"border": "LA", "marker": "101", "date": "2025-04-02",
                           "team": "joint", "condition": "good"}}  # ~10 m from marker 101
    r = c.post("/collections/inspections/items", json=body, headers=AUTH)
    assert r.status_code == 422 and "the limit is 5.0 m" in r.json()["problems"][0]["reason"]
    monkeypatch.setenv("BIENMOC_WRITE_RULES", '{"displacment_m": 5}')
    with pytest.raises(ValueError, match="unknown setting"):
        create_app(store=store, settings=Settings(api_token=TOKEN), tiles=None)


def test_locate_province_agrees_with_containment_everywhere(demo):
    """Points within 20 km of the line on the Vietnamese side: locate's province is the
    polygon containing them (checked against a geopandas spatial join); the nearest
    section's province differs for a few percent of them (the bug of issue 10)."""
    from bienmoc.testing import points_near

    model = BorderModel.from_source(demo)
    rng = np.random.default_rng(7)
    xy = np.vstack([np.column_stack(points_near(g, 20_000, 3000, rng, batch=50_000))
                    for g in demo.read("boundary").to_crs(model.crs).geometry])
    pts = gpd.GeoSeries(shapely.points(xy[:, 0], xy[:, 1]), crs=model.crs)
    loc = model.locate(pts, describe=False)
    vn = (loc["side"] == "VN").to_numpy()
    truth = gpd.sjoin(gpd.GeoDataFrame(geometry=pts[vn].to_crs(4326).values, crs=4326),
                      demo.read("provinces")[["name", "geometry"]], predicate="within",
                      how="left")
    truth = truth[~truth.index.duplicated()]["name"].to_numpy(dtype=object)
    inside = pd.notna(truth)
    assert inside.sum() > 4000
    got = loc["province"].to_numpy(dtype=object)[vn][inside]
    assert (got == truth[inside]).all()
    section = loc["section_province"].to_numpy(dtype=object)[vn][inside]
    assert 0.005 < np.mean(section != truth[inside]) < 0.2


def test_cli_records_an_incident_with_its_place_found(store):
    r = _cli(store, "record", "incident", "--kind", "xâm canh, xâm cư", "--lon", "104.51",
             "--lat", "20.93", "--reported", "02/03/2025", "--description", "Xâm canh")
    assert r.exit_code == 0, r.output
    rec = store.read("incidents").set_index("id").loc[r.output.strip()]
    assert (rec["kind"], rec["border"], rec["province"]) == ("encroachment", "LA", "Thanh Hóa")
    assert str(rec["reported_date"].date()) == "2025-03-02" and rec["overrides"] is None


def test_an_allowed_change_of_an_incident_is_stored_and_logged(store):
    changes = update_incident(store, "V-000001", {"reported_date": "2999-01-01"},
                              allow=["future_date"], settings=RuleSettings(), note="test")
    assert changes["reported_date"][1] == "2999-01-01T00:00:00"
    assert changes["overrides"][1].startswith("future_date: 2999-01-01 is in the future")
    rec = store.read("incidents").set_index("id").loc["V-000001"]
    assert rec["overrides"].startswith("future_date: ")
    assert rec["reported_date"] == pd.Timestamp("2999-01-01")
    log = store.read("incident_changes")
    assert set(log["field"]) == {"reported_date", "overrides"} and set(log["note"]) == {"test"}


def test_double_marker_parts_follow_the_qa_part_rules(store):
    def parts(*rows):
        return gpd.GeoDataFrame(
            [{**_marker_row(n), "arrangement": "double", "province": "Thanh Hóa"}
             for n, _ in rows], geometry=[shapely.Point(*xy) for _, xy in rows], crs=4326)

    # both parts east of the line (Vietnam's side), 20 m apart
    same = parts(("105(1)", (104.5001, 20.91)), ("105(2)", (104.5003, 20.91)))
    p = _refused(store, lambda: import_records(store, "markers", same), "geometry", "parts",
                 r"^marker parts 105\(1\), 105\(2\) stand on the same side of the line$")
    assert to_vi(p.reason) == "các mốc 105(1), 105(2) cùng một phía đường biên giới"
    # opposite banks but ~310 m apart (each within 200 m of the line)
    wide = parts(("106(1)", (104.4985, 20.905)), ("106(2)", (104.5015, 20.905)))
    _refused(store, lambda: import_records(store, "markers", wide), "geometry", "parts",
             r"^marker parts 106\(1\), 106\(2\) are 31\d m apart \(max 200 m\)$")
    # a new part checked against its registered sibling: 102(1) stands west, 102(2) east;
    # a second 107(2) on the same side as a stored 107(1)
    import_records(store, "markers", parts(("107(1)", (104.4999, 20.92))))
    with pytest.raises(InvalidData) as e:
        import_records(store, "markers", parts(("107(2)", (104.4998, 20.9201))))
    assert e.value.problems[0].rule == "parts"
    ok = import_records(store, "markers", parts(("107(2)", (104.5001, 20.92))))
    assert list(ok["id"]) == ["LA-107(2)"]
