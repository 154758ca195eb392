"""The demo dataset reproduces every fact the seed reports state (DOMAIN.md)."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bienmoc.demo import demo_dir
from bienmoc.geometry.locate import BorderModel, locate
from bienmoc.model.numbers import parse_number
from bienmoc.analysis.qa import check_markers
from bienmoc.model.schema import IncidentKind, IncidentStatus
from bienmoc.analysis.status import marker_status
from bienmoc.storage import GeoPackageStore


@pytest.fixture(scope="module")
def demo(demo_store_path):
    s = GeoPackageStore(demo_store_path)
    return {k: s.read(k) for k in s.layers()}


@pytest.fixture(scope="module")
def model(demo):
    return BorderModel(demo["boundary"], demo["markers"], demo["provinces"])


def numbers(demo, border, province):
    m = demo["markers"]
    return set(m[(m["border"] == border) & (m["province"] == province)]["number"])


def test_son_la_125_markers_and_12_stakes_all_built(demo):
    row = marker_status(demo, province="Sơn La").iloc[0]
    assert (row.markers_built, row.markers_total) == (125, 125)
    assert (row.stakes_built, row.stakes_total) == (12, 12)
    assert row.summary_vi == "cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12"


def test_son_la_named_markers(demo, model):
    m = demo["markers"].set_index(["border", "number"])
    assert m.loc[("LA", "207"), "kind"] == "large" and m.loc[("LA", "255"), "kind"] == "large"
    assert m.loc[("LA", "222(1)"), "arrangement"] == "double"
    assert {"163/1", "206/1", "222(1)", "222(2)"} <= numbers(demo, "LA", "Sơn La")
    both = demo["markers"][demo["markers"]["number"].isin(["222(1)", "222(2)"])
                           & (demo["markers"]["border"] == "LA")]
    assert set(locate(both, model)["side"]) == {"VN", "LA"}  # straddling the line
    built = demo["markers"][(demo["markers"]["province"] == "Sơn La")
                            & (demo["markers"]["kind"] != "stake")]["built_date"]
    assert built.dt.year.between(2011, 2015).all()


def test_lang_son_markers_and_huu_nghi_gate(demo, model):
    assert {"1088/2", "1089", "1119", "1120", "1139", "1140"} <= numbers(demo, "CN", "Lạng Sơn")
    gate = demo["gates"][demo["gates"]["name"] == "Hữu Nghị"]
    g = locate(gate, model).iloc[0]
    assert {g.marker_before, g.marker_after} == {"1119", "1120"}
    assert g.side == "VN" and g.province == "Lạng Sơn"
    inc = demo["incidents"]
    viol = inc[(inc["province"] == "Lạng Sơn") & (inc["kind"] == "construction")
               & inc["reported_date"].between("2020-01-01", "2020-09-30")]
    assert len(viol) == 2 and set(viol["status"]) == {"resolved"}


def test_tay_ninh_markers(demo):
    assert {"96", "118", "147/6", "150", "152/2", "168", "168/2", "171"} <= numbers(
        demo, "KH", "Tây Ninh")


def test_long_sap_stands_at_marker_255(demo, model):
    gate = demo["gates"][demo["gates"]["name"] == "Lóng Sập"]
    g = locate(gate, model).iloc[0]
    assert g.nearest_marker == "255" and g.province == "Sơn La"
    assert gate.iloc[0]["paired_gate"] == "Pa Háng" and gate.iloc[0]["kind"] == "international"


def test_gates_are_real_pairs_within_1_km_on_the_vietnamese_side(demo, model):
    gates = demo["gates"]
    assert len(gates) >= 15 and gates["paired_gate"].notna().all()
    loc = locate(gates, model)
    assert (loc["side"] == "VN").all() and (loc["distance_m"] <= 1000).all()
    assert (loc["border"] == gates["border"]).all()


def test_numbering_directions(model):
    assert model.markers["CN"].direction == -1  # west -> east, against the line
    assert model.markers["LA"].direction == 1 and model.markers["KH"].direction == 1


def test_markers_are_qa_clean(demo, model):
    qa = check_markers(demo, model=model)
    assert qa[qa["severity"] == "error"].empty, qa.head()


def test_incidents_cover_every_kind_and_status(demo):
    inc = demo["incidents"]
    assert 200 <= len(inc) <= 1000
    assert set(inc["kind"]) == {k.value for k in IncidentKind}
    assert set(inc["status"]) == {s.value for s in IncidentStatus}
    assert inc["reported_date"].min() >= pd.Timestamp("2015-01-01")
    assert inc["reported_date"].max() <= pd.Timestamp("2026-12-31")
    ok = inc["occurred_date"].isna() | (inc["occurred_date"] <= inc["reported_date"])
    assert ok.all()


def test_seed_works_exist(demo):
    w = demo["works"]
    keyed = {(r.marker_from, r.marker_to or "", r.kind) for r in w.itertuples()}
    for item in [("255", "", "landscape"), ("207", "", "landscape"), ("222", "", "embankment"),
                 ("1088/2", "1089", "road"), ("1139", "1140", "road"), ("1119", "1120", "road"),
                 ("96", "", "repair"), ("147/6", "", "repair"), ("152/2", "", "repair"),
                 ("168", "168/2", "reference_stake")]:
        assert item in keyed, item


def test_demo_counts_are_realistic(demo):
    m = demo["markers"]
    assert 4500 <= len(m) <= 5500
    assert set(m["border"]) == {"CN", "LA", "KH"}
    mains = [parse_number(n).main for n in m.loc[m["border"] == "CN", "number"]]
    assert min(mains) == 0 and max(mains) == 1378
    assert m["tri_border"].sum() >= 2


@pytest.mark.slow
def test_build_script_is_deterministic(tmp_path):
    """Rebuilding writes byte-identical files (the script runs from a copy)."""
    src = Path(__file__).resolve().parent.parent / "data" / "markers"
    if not (src / "build_demo.py").exists():
        pytest.skip("source tree not available")
    import shutil

    work = tmp_path / "markers"
    shutil.copytree(src, work)
    subprocess.run([sys.executable, str(work / "build_demo.py")], check=True,
                   capture_output=True)
    for f in sorted(src.glob("*.geojson")):
        assert hashlib.sha256(f.read_bytes()).digest() == hashlib.sha256(
            (work / f.name).read_bytes()).digest(), f.name


def test_demo_dir_is_never_written(tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in demo_dir().glob("*.geojson")}
    from click.testing import CliRunner

    from bienmoc.cli.main import main

    r = CliRunner().invoke(main, ["status", "--format", "json"])
    assert r.exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in demo_dir().glob("*.geojson")} == before


# -- progress and inspections in the demo (issue 5) ---------------------------------------
def test_son_la_stalled_works_via_cli(demo_store_path):
    import json

    from click.testing import CliRunner

    from bienmoc.cli.main import main

    r = CliRunner().invoke(main, ["--store", str(demo_store_path), "progress", "--province",
                                  "Sơn La", "--as-of", "2026-11-24", "--format", "json"])
    assert r.exit_code == 0, r.output
    stalled = {w["section"]: w for w in json.loads(r.stdout)["stalled"]}
    assert {"255", "222"} <= set(stalled)
    assert stalled["255"]["kind"] == "landscape" and stalled["222"]["kind"] == "embankment"
    assert stalled["255"]["days_overdue"] > 0 and stalled["222"]["days_idle"] > 180
    r = CliRunner().invoke(main, ["--store", str(demo_store_path), "progress", "--province",
                                  "Sơn La", "--as-of", "2026-11-24"])
    assert "Kiến trúc cảnh quan mốc 255" in r.stdout and "Kè bảo vệ mốc 222" in r.stdout


def test_tay_ninh_2023_works_completed(demo):
    from bienmoc.analysis.progress import work_status

    ws = work_status(demo, as_of="2026-11-24")
    tn = ws[(ws["province"] == "Tây Ninh") & ws["section"].isin(["96", "147/6", "152/2",
                                                                  "168–168/2"])]
    assert len(tn) == 4 and set(tn["status"]) == {"completed"}
    assert set(tn["actual_end"].dt.year) == {2023}


def test_inspections_some_due_some_displaced(demo):
    from bienmoc.analysis.inspections import displaced_markers, inspections_due

    due = inspections_due(demo, as_of="2026-11-24")
    assert due["never_inspected"].sum() > 0 and (~due["never_inspected"]).sum() > 0
    assert len(displaced_markers(demo, tolerance_m=1.0)) >= 5


def test_demo_store_is_reseeded_when_the_dataset_changes(monkeypatch):
    from bienmoc import demo as demo_mod
    from bienmoc.demo import default_store_path

    first = demo_mod.open_demo_store()
    assert first.layers() and default_store_path().exists()
    version = first.version()
    assert demo_mod.open_demo_store().version() == version  # same data: reused as is
    monkeypatch.setattr(demo_mod, "demo_fingerprint", lambda source=None: "f" * 64)
    again = demo_mod.open_demo_store()
    assert again.version() != version
    assert list(default_store_path().parent.glob("demo-*.gpkg.bak"))
