"""Works, progress, inspections and history on a fixture with hand-computed answers.

As of 2025-01-01 (N = 100 stall days):
  W1 planned 2024-01-01..2024-06-30, completed on its planned end 2024-06-30   -> completed
  W2 planned ..2024-12-31, started 2024-03-01, last update 2024-09-23 (100 d)  -> stalled
  W3 planned ..2025-06-30, started 2024-06-01, last update 2024-09-24 (99 d)   -> in progress
  W4 planned ..2024-10-31, started 2024-05-01, update 2024-12-20 (12 d)        -> stalled
                                                    (61 days past its planned end)
  W5 planned start 2025-03-01                                                   -> not started
"""
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from bienmoc import InvalidData
from bienmoc.analysis.inspections import (current_condition, displaced_markers, displacement,
                                 inspections_due, marker_history)
from bienmoc.analysis.progress import progress_summary, stalled_works, work_status
from bienmoc.records.recording import record_inspection, record_progress, resurvey_marker
from bienmoc.model.schema import validate
from bienmoc.analysis.status import marker_status

#: the store/demo fixtures run on GeoPackage and on PostGIS (tests/conftest.py)
pytestmark = pytest.mark.both_stores

AS_OF = "2025-01-01"


def works_layer():
    rows = [
        ("W1", "Kè bảo vệ mốc 100", "embankment", "100", None, "2024-01-01", "2024-06-30",
         "2024-01-05", "2024-06-30", 1_000_000_000, 950_000_000),
        ("W2", "Kiến trúc cảnh quan mốc 101", "landscape", "101", None, "2024-02-01",
         "2024-12-31", "2024-03-01", None, 2_000_000_000, 500_000_000),
        ("W3", "Cắm cọc dấu đoạn 101–102", "reference_stake", "101", "102", "2024-05-01",
         "2025-06-30", "2024-06-01", None, 300_000_000, 100_000_000),
        ("W4", "Sửa chữa mốc 103", "repair", "103", None, "2024-04-01", "2024-10-31",
         "2024-05-01", None, 400_000_000, 0),
        ("W5", "Đường ra mốc 104", "access_path", "104", None, "2025-03-01", "2025-12-31",
         None, None, 500_000_000, 0),
    ]
    cols = ["id", "title", "kind", "marker_from", "marker_to", "planned_start", "planned_end",
            "actual_start", "actual_end", "budget_planned_vnd", "budget_disbursed_vnd"]
    df = pd.DataFrame(rows, columns=cols)
    df["border"] = "LA"
    df["province"] = ["Sơn La", "Sơn La", "Sơn La", "Thanh Hóa", "Thanh Hóa"]
    return validate("works", gpd.GeoDataFrame(df, geometry=[None] * 5, crs=4326))


def progress_layer():
    rows = [("P-000001", "W1", "2024-03-01", 40, None), ("P-000002", "W1", "2024-06-30", 100,
                                                         None),
            ("P-000003", "W2", "2024-05-01", 20, 300_000_000),
            ("P-000004", "W2", "2024-09-23", 35, 450_000_000),
            ("P-000005", "W3", "2024-07-01", 10, None), ("P-000006", "W3", "2024-09-24", 30,
                                                         None),
            ("P-000007", "W4", "2024-12-20", 60, None)]
    df = pd.DataFrame(rows, columns=["id", "work_id", "date", "percent", "disbursed_vnd"])
    return validate("work_progress", gpd.GeoDataFrame(df, geometry=[None] * len(df), crs=4326))


@pytest.fixture
def pstore(store):
    store.write_many({"works": works_layer(), "work_progress": progress_layer()})
    return store


def test_statuses_days_and_budgets(pstore):
    ws = work_status(pstore, as_of=AS_OF, stall_days=100).set_index("id")
    assert ws["status"].to_dict() == {"W1": "completed", "W2": "stalled", "W3": "in_progress",
                                      "W4": "stalled", "W5": "not_started"}
    assert ws.loc["W1", "days_overdue"] == 0 and ws.loc["W1", "percent"] == 100
    assert ws.loc["W2", "days_idle"] == 100 and ws.loc["W2", "days_overdue"] == 1
    assert ws.loc["W3", "days_idle"] == 99 and ws.loc["W3", "percent"] == 30
    assert ws.loc["W4", "days_idle"] == 12 and ws.loc["W4", "days_overdue"] == 62
    assert ws.loc["W2", "budget_disbursed_vnd"] == 450_000_000  # latest update's figure
    assert ws.loc["W1", "budget_disbursed_vnd"] == 950_000_000  # works' own figure
    assert pd.isna(ws.loc["W5", "days_idle"])


def test_threshold_day_and_as_of(pstore):
    # one day earlier W2 has been idle 99 days and is not yet past its planned end
    ws = work_status(pstore, as_of="2024-12-31", stall_days=100).set_index("id")
    assert ws.loc["W2", "status"] == "in_progress" and ws.loc["W2", "days_idle"] == 99
    # before W1's end it was in progress at 40 %
    ws = work_status(pstore, as_of="2024-05-01", stall_days=100).set_index("id")
    assert (ws.loc["W1", "status"], ws.loc["W1", "percent"]) == ("in_progress", 40)
    assert ws.loc["W3", "status"] == "not_started"


def test_summary_and_stalled_list(pstore):
    s = progress_summary(pstore, as_of=AS_OF, by=["province"], stall_days=100).set_index(
        "province")
    assert s.loc["Sơn La", ["works_total", "completed", "stalled", "in_progress"]].tolist() == \
        [3, 1, 1, 1]
    assert s.loc["Sơn La", "budget_planned_vnd"] == 3_300_000_000
    assert s.loc["Sơn La", "budget_disbursed_vnd"] == 950_000_000 + 450_000_000 + 100_000_000
    assert s.loc["Sơn La", "percent_complete"] == pytest.approx((100 + 35 + 30) / 3, abs=0.05)
    assert s.loc["Thanh Hóa", "not_started"] == 1
    st = stalled_works(pstore, as_of=AS_OF, stall_days=100)
    assert list(st["id"]) == ["W4", "W2"]  # most overdue first
    assert list(st["section"]) == ["103", "101"]
    w3 = work_status(pstore, as_of=AS_OF).set_index("id").loc["W3", "section"]
    assert w3 == "101–102"


def test_recording_progress_is_validated_and_append_only(pstore):
    before = pstore.read("work_progress")
    with pytest.raises(InvalidData, match="below the previous update"):
        record_progress(pstore, "W3", "2024-10-01", 20)
    with pytest.raises(InvalidData, match="no work with id"):
        record_progress(pstore, "W9", "2024-10-01", 20)
    with pytest.raises(InvalidData, match="above the maximum"):
        record_progress(pstore, "W3", "2024-10-01", 120)
    with pytest.raises(InvalidData, match="in the future"):
        record_progress(pstore, "W3", "2999-01-01", 50)
    assert len(pstore.read("work_progress")) == len(before)
    rec = record_progress(pstore, "W3", "2024-10-01", 25, corrects="P-000006",
                          note="đính chính: 25% không phải 30%")
    after = pstore.read("work_progress")
    assert len(after) == len(before) + 1
    pd.testing.assert_frame_equal(pd.DataFrame(after.iloc[:len(before)]),
                                  pd.DataFrame(before))  # nothing earlier changed
    ws = work_status(pstore, as_of=AS_OF).set_index("id")
    assert ws.loc["W3", "percent"] == 25 and rec["id"].iloc[0] == "P-000008"


# -- inspections ------------------------------------------------------------------------------

def _offset(lon, lat, de, dn):
    """(lon, lat) moved by de/dn metres in UTM 48N."""
    fwd = Transformer.from_crs(4326, 32648, always_xy=True)
    inv = Transformer.from_crs(32648, 4326, always_xy=True)
    x, y = fwd.transform(lon, lat)
    return inv.transform(x + de, y + dn)


def inspections_layer():
    # markers of the fixture: 100 large (20.9?), see bienmoc.testing.make_markers
    p100 = _offset(104.5, 21.0, 0.0, 3.0)    # 100 measured 3 m north: displaced
    p103 = _offset(104.5, 20.93, 0.4, 0.3)   # 103 measured 0.5 m away: within tolerance
    rows = [("I-000001", "2023-12-15", "100", "joint", "good", None),
            ("I-000002", "2024-02-01", "100", "unilateral", "displaced", p100),
            ("I-000003", "2022-06-01", "101", "unilateral", "damaged", None),
            ("I-000004", "2024-11-30", "103", "joint", "good", p103),
            ("I-000005", "2024-12-02", "103", "unilateral", "destroyed", None)]
    df = pd.DataFrame(rows, columns=["id", "date", "marker", "team", "condition", "pos"])
    geoms = [None if p is None else shapely.Point(*p) for p in df.pop("pos")]
    df["border"] = "LA"
    df["notes"] = None
    df.loc[4, "notes"] = "nhập nhầm"
    return validate("inspections", gpd.GeoDataFrame(df, geometry=geoms, crs=4326))


@pytest.fixture
def istore(store):
    store.write("inspections", inspections_layer())
    return store


def test_due_under_cycle_policy(istore):
    due = inspections_due(istore, as_of=AS_OF).set_index("number")
    # built markers: 100 (large, 12 m), 100/1, 101, 102(1), 103 (102(2) under construction)
    assert "100" not in due.index  # inspected 2024-02-01 + 12 months > as-of
    assert due.loc["101", "due_date"] == pd.Timestamp("2024-06-01")
    assert due.loc["101", "days_overdue"] == 214
    assert bool(due.loc["100/1", "never_inspected"]) and bool(due.loc["102(1)",
                                                                      "never_inspected"])
    assert "103" not in due.index and "102(2)" not in due.index and "104" not in due.index
    due = inspections_due(istore, as_of="2025-02-01").set_index("number")
    assert due.loc["100", "days_overdue"] == 0  # due on that very day
    shorter = inspections_due(istore, as_of=AS_OF, cycle_months={"small": 1})
    assert "103" not in set(shorter["number"])  # 103 is small: 2024-12-02 + 1 month
    shorter = inspections_due(istore, as_of="2025-01-02", cycle_months={"small": 1})
    assert shorter.set_index("number").loc["103", "days_overdue"] == 0


def test_current_condition_and_displacement(istore):
    cur = current_condition(istore, as_of=AS_OF).set_index("number")
    assert cur.loc["100", "condition"] == "displaced"
    assert cur.loc["103", "condition"] == "destroyed"  # latest, even without a position
    assert cur.loc["104", "condition"] == "missing"  # never inspected: registered value
    d = displacement(istore).set_index("number")
    assert d.loc["100", "displacement_m"] == pytest.approx(3.0, abs=0.01)
    assert d.loc["103", "displacement_m"] == pytest.approx(0.5, abs=0.01)
    assert list(displaced_markers(istore, tolerance_m=1.0)["number"]) == ["100"]
    # status counts use the current condition
    row = marker_status(istore, province="Sơn La").iloc[0]
    assert (row.displaced, row.damaged) == (1, 1)


def test_correction_replaces_without_deleting(istore):
    before = istore.read("inspections")
    record_inspection(istore, "LA", "103", "2024-12-03", "unilateral", "good",
                      corrects="I-000005", notes="đính chính: mốc còn nguyên")
    after = istore.read("inspections")
    assert len(after) == 6
    pd.testing.assert_frame_equal(pd.DataFrame(after.iloc[:5]), pd.DataFrame(before))
    assert current_condition(istore).set_index("number").loc["103", "condition"] == "good"
    with pytest.raises(InvalidData, match="no marker 999"):
        record_inspection(istore, "LA", "999", "2024-12-03", "joint", "good")
    with pytest.raises(InvalidData, match="no inspections record"):
        record_inspection(istore, "LA", "103", "2024-12-03", "joint", "good", corrects="I-9")
    assert len(istore.read("inspections")) == 6


def test_resurvey_moves_the_registered_position_atomically(istore):
    new = _offset(104.5, 21.0, 0.0, 3.0)
    resurvey_marker(istore, "LA", "100", new, "2024-03-01", "đo đạc lại song phương")
    m = istore.read("markers").set_index("number")
    assert m.loc["100", "geometry"].equals_exact(shapely.Point(*new), 1e-9)
    rs = istore.read("resurveys")
    assert rs["previous_wkt"].iloc[0] == "POINT (104.5 21)"
    assert displacement(istore).set_index("number").loc["100", "displacement_m"] == \
        pytest.approx(0.0, abs=0.01)


def test_history(istore, pstore):
    h = marker_history(istore, "101")
    assert h.iloc[0]["event"] == "inspection"  # 2022-06-01 comes first
    assert h["date"].is_monotonic_increasing
    assert {"W2", "W3", "I-000003"} <= set(h["record_id"].dropna())
    record_inspection(istore, "LA", "103", "2024-12-03", "unilateral", "good",
                      corrects="I-000005")
    h3 = marker_history(istore, "103")
    flagged = h3[h3["record_id"] == "I-000005"]["description_vi"].iloc[0]
    assert flagged.endswith("(đã được đính chính)")
    fix = h3[h3["description_vi"].str.contains("đính chính I-000005")]
    assert len(fix) == 1
    with pytest.raises(Exception, match="no marker 999"):
        marker_history(istore, "999")


# -- the CLI over the same fixture ----------------------------------------------------------
import json  # noqa: E402

import openpyxl  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from bienmoc.cli.main import main  # noqa: E402


def cli(store, *args):
    return CliRunner().invoke(main, ["--store", store.uri, *args], catch_exceptions=False)


def test_progress_json_and_table(pstore):
    r = cli(pstore, "progress", "--as-of", AS_OF, "--stall-days", "100", "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["as_of"] == AS_OF and {w["id"] for w in doc["stalled"]} == {"W2", "W4"}
    w4 = next(w for w in doc["stalled"] if w["id"] == "W4")
    assert (w4["section"], w4["kind"], w4["days_idle"], w4["days_overdue"]) == (
        "103", "repair", 12, 62)
    assert sum(g["works_total"] for g in doc["summary"]) == 5
    r = cli(pstore, "progress", "--as-of", AS_OF, "--province", "Sơn La", "--stall-days", "100")
    assert "Công trình chậm tiến độ (1)" in r.stdout and "1.000.000.000" in r.stdout


def test_progress_and_due_xlsx_have_vietnamese_headers(istore, tmp_path):
    istore.write_many({"works": works_layer(), "work_progress": progress_layer()})
    out = tmp_path / "p.xlsx"
    assert cli(istore, "progress", "--as-of", AS_OF, "--format", "xlsx", "-o",
               str(out)).exit_code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Tiến độ", "Chậm tiến độ"]
    assert "Kinh phí kế hoạch (đồng)" in [c.value for c in wb["Tiến độ"][1]]
    assert "Số ngày quá hạn" in [c.value for c in wb["Chậm tiến độ"][1]]
    assert {"W2", "W4"} <= {c.value for row in wb["Chậm tiến độ"].iter_rows() for c in row}
    out = tmp_path / "d.xlsx"
    assert cli(istore, "inspections", "due", "--as-of", AS_OF, "--format", "xlsx", "-o",
               str(out)).exit_code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Đến hạn kiểm tra", "Mốc xê dịch"]
    assert "Hạn kiểm tra" in [c.value for c in wb["Đến hạn kiểm tra"][1]]
    assert "Độ xê dịch (m)" in [c.value for c in wb["Mốc xê dịch"][1]]


def test_inspections_due_and_record_commands(istore):
    r = cli(istore, "inspections", "due", "--as-of", AS_OF, "--format", "json")
    doc = json.loads(r.stdout)
    assert {d["number"] for d in doc["due"]} == {"101", "100/1", "102(1)"}
    assert [d["number"] for d in doc["displaced"]] == ["100"]
    r = cli(istore, "record", "inspection", "101", "--border", "LA", "--date", "2024-12-30",
            "--team", "song phương", "--condition", "tốt")
    assert r.exit_code == 0 and r.stdout.strip() == "I-000006"
    r = cli(istore, "inspections", "due", "--as-of", AS_OF, "--format", "json")
    assert "101" not in {d["number"] for d in json.loads(r.stdout)["due"]}
    r = CliRunner().invoke(main, ["--store", istore.uri, "record", "inspection", "101",
                                  "--border", "LA", "--date", "2024-12-30", "--team", "joint",
                                  "--condition", "broken"])
    assert r.exit_code == 1 and "trường 'condition'" in r.output
    assert len(istore.read("inspections")) == 6


def test_record_progress_and_history_commands(pstore):
    r = cli(pstore, "record", "progress", "W3", "--date", "2024-10-15", "--percent", "45",
            "--note", "đổ bê tông")
    assert r.exit_code == 0 and r.stdout.strip() == "P-000008"
    r = cli(pstore, "history", "101", "--format", "json")
    events = json.loads(r.stdout)
    assert any(e["record_id"] == "P-000008" and "45%" in e["description_vi"] for e in events)
    r = cli(pstore, "history", "101")
    assert "Sự kiện" in r.stdout and "15/10/2024" in r.stdout


def test_before_any_update_every_work_is_not_started(pstore):
    ws = work_status(pstore, as_of="1990-01-01")
    assert set(ws["status"]) == {"not_started"} and ws["last_update"].isna().all()
