"""Every command, given ordinary mistakes, answers with one clear line and a non-zero exit code:
no traceback, no silent empty table. Runs the real click group on a real GeoPackage."""
import json
import subprocess
import sys
import unicodedata

import pytest
from click.testing import CliRunner

from bienmoc.cli.main import main

# (arguments after --store STORE; {tmp} is a scratch folder) -> a text the message must contain
BAD = [
    # status: unknown filter values and groupings
    (["status", "--province", "Son La"], "không có tỉnh 'Son La'; có phải: Sơn La?"),
    (["status", "--province", "Lai Châu"], "các giá trị hợp lệ: Sơn La, Thanh Hóa"),
    (["status", "--border", "XX"], "'XX'"),
    (["status", "--by", "geometry"], "'geometry'"),
    (["status", "--by", "colour"], "'colour'"),
    (["status", "--format", "xml"], "'xml'"),
    (["status", "--bordr", "LA"], "--border"),
    # import / export / layers
    (["import", "markers", "{tmp}/quote.csv"], "ngoặc kép"),
    (["import", "markers", "{tmp}/missing.csv"], "missing.csv"),
    (["import", "markers", "{tmp}/xy.csv", "--crs", "EPSG:99999"], "EPSG:99999"),
    (["import", "colours", "{tmp}/xy.csv"], "'colours'"),
    (["export", "markers", "-o", "{tmp}/no/such/dir/m.csv"], "không có thư mục"),
    (["export", "markers", "--format", "docx"], "'docx'"),
    # locate
    (["locate", "{tmp}/xy.csv"], "--crs"),
    (["locate", "{tmp}/xy.csv", "--crs", "EPSG:99999"], "EPSG:99999"),
    (["locate", "{tmp}/quote.csv"], "ngoặc kép"),
    (["locate", "{tmp}/missing.geojson"], "missing.geojson"),
    (["locate", "{tmp}/pts.geojson", "--metric-crs", "EPSG:4326"], "EPSG:4326"),
    (["locate"], "FILE"),
    # check / spacing / lengths / hotspots
    (["check", "--border", "XX"], "'XX'"),
    (["check", "--tolerance", "tiny=3"], "'tiny'"),
    (["check", "--tolerance", "small=oops"], "small=oops"),
    (["spacing", "--border", "CN"], "'CN'"),
    (["spacing", "--max-spacing", "-5"], "-5"),
    (["lengths", "--metric-crs", "foo"], "foo"),
    (["lengths", "--by", "colour"], "'colour'"),
    (["hotspots", "--from", "2025-13-01"], "2025-13-01"),
    (["hotspots", "--to", "31/02/2025"], "31/02/2025"),
    (["hotspots", "--from", "02/13/2025"], "02/13/2025"),
    (["hotspots", "--from", "2025-03-01", "--to", "01/02/2025"], "01/02/2025"),
    (["hotspots", "--kind", "xuat nhap canh"], "illegal_crossing"),
    (["hotspots", "--bin", "0"], "--bin"),
    # progress / inspections / history
    (["progress", "--as-of", "2025/06/22"], "2025/06/22"),
    (["progress", "--province", "Thanh Hoa"], "Thanh Hóa"),
    (["progress", "--border", "KH"], "'KH'"),
    (["progress", "--by", "colour"], "colour"),
    (["progress", "--stall-days", "0"], "--stall-days"),
    (["inspections", "due", "--as-of", "13/13/2025"], "13/13/2025"),
    (["inspections", "due", "--cycle", "foo=3"], "'foo'"),
    (["inspections", "due", "--province", "Ha Giang"], "'Ha Giang'"),
    (["history", "999"], "999"),
    (["history", "100", "--border", "XX"], "'XX'"),
    # record
    (["record", "progress", "W-1", "--date", "2025-13-01", "--percent", "10"], "2025-13-01"),
    (["record", "progress", "W-1", "--date", "2025-01-01", "--percent", "abc"], "'abc'"),
    (["record", "progress", "W-1", "--date", "2025-01-01", "--percent", "10"], "W-1"),
    (["record", "inspection", "100", "--border", "LA", "--date", "01/01/2025", "--team", "x",
      "--condition", "good"], "'x'"),
    (["record", "inspection", "100", "--border", "LA", "--date", "01/01/2025", "--team",
      "joint", "--condition", "good", "--lon", "104.5"], "--lat"),
    (["record", "resurvey", "999", "--border", "LA", "--date", "01/01/2025", "--lon", "104.5",
      "--lat", "21", "--reason", "x"], "999"),
    # serve and the group itself
    (["serve", "--port", "0"], "--port"),
    (["nosuch"], "'nosuch'"),
]

# commands that only read: a mistyped --store is an error, not an empty answer
READ_ONLY = [["status"], ["layers"], ["export", "markers"], ["locate", "{tmp}/pts.geojson"],
             ["check"], ["spacing"], ["lengths"], ["hotspots"], ["progress"],
             ["inspections", "due"], ["history", "100"], ["serve"]]


@pytest.fixture
def files(tmp_path):
    import geopandas as gpd
    import shapely

    (tmp_path / "xy.csv").write_text("x,y,ref\n500000,2320000,a\n", encoding="utf-8")
    (tmp_path / "quote.csv").write_text('lon,lat,ref\n104.5,"20.95,a\n', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a GeoPackage\n", encoding="utf-8")
    gpd.GeoDataFrame({"ref": ["a"]}, geometry=[shapely.Point(104.502, 20.975)],
                     crs=4326).to_file(tmp_path / "pts.geojson")
    return tmp_path


def _run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _one_line(r) -> str:
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code != 0, r.output
    assert "Traceback" not in r.output
    assert len(lines) == 1, r.output
    return lines[0]


@pytest.mark.parametrize("args,expected", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_give_one_line_and_a_nonzero_exit(store, files, args, expected):
    args = [a.format(tmp=files) for a in args]
    line = _one_line(_run(["--store", store.uri] + args))
    assert line.startswith("Lỗi: ") and expected in line, line


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a) for a in READ_ONLY])
def test_a_missing_store_is_an_error_for_commands_that_only_read(files, args):
    missing = files / "typo.gpkg"
    line = _one_line(_run(["--store", str(missing)] + [a.format(tmp=files) for a in args]))
    assert line.startswith("Lỗi: không có kho dữ liệu") and "typo.gpkg" in line
    assert not missing.exists()
    line = _one_line(_run(["--store", str(files / "notes.txt")]
                          + [a.format(tmp=files) for a in args]))
    assert "notes.txt" in line and "GeoPackage" in line


def test_import_and_record_may_create_the_store(tmp_path, layers):
    new = tmp_path / "new.gpkg"
    layers["boundary"].to_file(tmp_path / "boundary.geojson")
    r = _run(["--store", str(new), "import", "boundary", str(tmp_path / "boundary.geojson")])
    assert r.exit_code == 0, r.output and new.exists()


def test_english_messages(store, files):
    line = _one_line(_run(["--store", store.uri, "--lang", "en", "status", "--province",
                           "Son La"]))
    assert line == "Error: unknown province: 'Son La'; did you mean: Sơn La?"
    line = _one_line(_run(["--store", store.uri, "--lang", "en", "hotspots", "--from",
                           "2025-13-01"]))
    assert line.startswith("Error: invalid value for '--from': not a date: '2025-13-01'")
    line = _one_line(_run(["--store", str(files / "typo.gpkg"), "--lang", "en", "layers"]))
    assert line.startswith("Error: no store at ")


def test_decomposed_unicode_is_the_same_province(store):
    nfd = unicodedata.normalize("NFD", "Sơn La")
    assert nfd != "Sơn La"
    r = _run(["--store", store.uri, "status", "--province", nfd, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [d["province"] for d in json.loads(r.stdout)] == ["Sơn La"]


def test_enum_filters_accept_codes_and_labels(store):
    counts = []
    for kind in ("illegal_crossing", "xuất nhập cảnh trái phép", "Illegal crossing",
                 unicodedata.normalize("NFD", "xuất nhập cảnh trái phép")):
        r = _run(["--store", store.uri, "hotspots", "--kind", kind, "--format", "json"])
        assert r.exit_code == 0, r.output
        counts.append(sum(h["incidents"] for h in json.loads(r.stdout)))
    assert counts == [1, 1, 1, 1]  # the fixture has one illegal crossing (V-000001)


@pytest.mark.parametrize("option,value,expected", [
    ("--from", "03/02/2025", 1),   # 3 February (day first): only 2025-02-03; month first -> 0
    ("--from", "2025-02-03", 1),
    ("--from", "04/02/2025", 0),
    ("--to", "05/01/2024", 2),     # 5 January 2024: 2023-06-01 and 2024-01-05
    ("--to", "04/01/2024", 1),
])
def test_hotspot_dates_are_day_first_like_every_other_date(store, option, value, expected):
    r = _run(["--store", store.uri, "hotspots", option, value, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert sum(h["incidents"] for h in json.loads(r.stdout)) == expected


def test_the_installed_command_never_prints_a_traceback(tmp_path):
    """The real entry point in a subprocess (what a user runs), not only CliRunner."""
    p = subprocess.run([sys.executable, "-m", "bienmoc.cli", "--store",
                        str(tmp_path / "typo.gpkg"), "status", "--province", "Son La"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        f"Lỗi: không có kho dữ liệu {tmp_path / 'typo.gpkg'} (kiểm tra lại đường dẫn --store / "
        "$BIENMOC_STORE; lệnh import và record sẽ tạo kho mới)"]
