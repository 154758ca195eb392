import json

from click.testing import CliRunner

from bienmoc.cli import main


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_status_json_shape(store):
    r = run("--store", store.uri, "status", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert [d["province"] for d in data] == ["Sơn La", "Thanh Hóa"]
    sl = data[0]
    assert {k: sl[k] for k in ("border", "markers_total", "markers_built", "stakes_total",
                               "stakes_built")} == {"border": "LA", "markers_total": 3,
                                                    "markers_built": 2, "stakes_total": 2,
                                                    "stakes_built": 1}


def test_status_table_and_csv_show_the_same_numbers(store):
    r = run("--store", store.uri, "status", "--province", "Sơn La")
    assert r.exit_code == 0
    assert "2/3" in r.stdout and "1/2" in r.stdout
    assert "cột mốc: 2/3 đã xây dựng; cọc dấu: 1/2" in r.stdout
    r = run("--store", store.uri, "--lang", "en", "status", "--by", "border")
    assert "markers: 3/5 built; reference stakes: 1/2" in r.stdout
    r = run("--store", store.uri, "status", "--format", "csv", "--border", "la")
    assert r.stdout.splitlines()[0].startswith("border,province,markers_total,markers_built")


def test_status_bad_grouping_is_an_error_not_a_traceback(store):
    r = CliRunner().invoke(main, ["--store", store.uri, "status", "--by", "colour"])
    assert r.exit_code != 0 and "colour" in r.output


def test_store_from_environment(store, monkeypatch):
    monkeypatch.setenv("BIENMOC_STORE", store.uri)
    r = run("layers")
    assert r.exit_code == 0 and store.uri in r.stdout and "markers" in r.stdout


def test_without_store_uses_the_demo_store_and_says_so(tmp_path):
    r = run("status", "--border", "LA", "--format", "json")
    assert r.exit_code == 0
    assert "dùng kho dữ liệu mẫu" in r.stderr and "demo.gpkg" in r.stderr
    assert any(d["province"] == "Sơn La" for d in json.loads(r.stdout))
