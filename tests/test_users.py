"""Users, roles and tokens kept in the store; every write attributed to its user.

Over the real app (TestClient) on a real GeoPackage: a reporter may POST but not PATCH, an
editor may PATCH and the change log names them, a disabled user's token is refused, the legacy
BIENMOC_API_TOKEN is the admin "api", the users table is never served and never shows hashes.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import sqlite3

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bienmoc import users as users_mod
from bienmoc.api import create_app
from bienmoc.cli.main import main
from bienmoc.records import record_incident, update_incident
from bienmoc.users import add_user, authenticate, disable_user, hash_token, list_users
from test_features import TOKEN, _incident, _settings

INC = "/collections/incidents/items"


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _app(store, **kw) -> TestClient:
    return TestClient(create_app(store=store, settings=_settings(**kw), tiles=None))


def _table(store, layer: str) -> list[dict]:
    con = sqlite3.connect(store.path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f'SELECT * FROM "{layer}" ORDER BY fid')]
    finally:
        con.close()


def test_tokens_are_stored_as_hashes_and_authenticate(store):
    user, token = add_user(store, "lan", "reporter")
    assert len(token) >= 43  # token_urlsafe(32): 256 random bits
    rows = _table(store, "users")
    assert [r["name"] for r in rows] == ["lan"]
    assert rows[0]["token_hash"] == hash_token(token) and token not in json.dumps(rows)
    assert authenticate(store, token) == user and user.role == "reporter"
    assert authenticate(store, token + "x") is None and authenticate(store, "") is None
    with pytest.raises(Exception, match="exists already"):
        add_user(store, "lan", "editor")
    with pytest.raises(Exception, match="unknown role"):
        add_user(store, "minh", "boss")
    disable_user(store, "lan")
    assert authenticate(store, token) is None
    assert list(list_users(store)["disabled"]) == [True]


def test_authenticate_reads_the_table_once_per_store_version(store, monkeypatch):
    _, token = add_user(store, "lan", "editor")
    reads = []
    real = users_mod._table
    monkeypatch.setattr(users_mod, "_table", lambda s: reads.append(1) or real(s))
    for _ in range(20):
        assert authenticate(store, token).name == "lan"
    # one read; a second at most if the store's idle WAL checkpoint changed its version
    assert 1 <= len(reads) <= 2
    add_user(store, "minh", "reader")  # the store changed: read again
    del reads[:]
    for _ in range(20):
        assert authenticate(store, token).name == "lan"
    assert 1 <= len(reads) <= 2


def test_reporter_may_post_but_not_patch(store):
    _, token = add_user(store, "lan", "reporter")
    client = _app(store, api_token=None)
    r = client.post(INC, json=_incident(description="vượt biên"), headers=_bearer(token))
    assert r.status_code == 201, r.text
    new_id = r.json()["id"]
    log = [row for row in _table(store, "write_log") if row["record_id"] == new_id]
    assert [(x["layer"], x["action"], x["user"]) for x in log] == [
        ("incidents", "create", "lan")]
    insp = {"type": "Feature", "geometry": None, "properties": {
        "date": "2025-03-02", "border": "LA", "marker": "101", "team": "joint",
        "condition": "good"}}
    assert client.post("/collections/inspections/items", json=insp,
                       headers=_bearer(token)).status_code == 201
    r = client.patch(f"{INC}/{new_id}", json={"status": "verifying"}, headers=_bearer(token))
    assert r.status_code == 403
    body = r.json()
    assert body["required_role"] == "editor" and body["role"] == "reporter"
    assert "'editor'" in body["detail"] and "lan" in body["detail"]
    # nothing written (the store's version is no witness: an idle WAL checkpoint changes it)
    inc = store.read("incidents")
    assert inc.loc[inc["id"] == new_id, "status"].tolist() == ["reported"]
    assert "incident_changes" not in store.layers()


def test_reader_may_not_post(store):
    _, token = add_user(store, "xem", "reader")
    r = _app(store, api_token=None).post(INC, json=_incident(), headers=_bearer(token))
    assert r.status_code == 403 and r.json()["required_role"] == "reporter"


def test_editor_patch_names_the_editor_in_the_change_log(store):
    _, token = add_user(store, "hoa", "editor")
    client = _app(store, api_token=None)
    r = client.patch(f"{INC}/V-000001", json={"status": "verifying"}, headers=_bearer(token))
    assert r.status_code == 200, r.text
    changes = _table(store, "incident_changes")
    assert [(c["record_id"], c["field"], c["new_value"], c["changed_by"]) for c in changes] == [
        ("V-000001", "status", "verifying", "hoa")]
    log = _table(store, "write_log")
    assert [(x["layer"], x["record_id"], x["action"], x["user"]) for x in log] == [
        ("incidents", "V-000001", "update", "hoa")]
    # the record's history says who
    from bienmoc.analysis.history import record_history

    hist = record_history(store, "incidents", "V-000001")
    assert hist["description_en"].iloc[-1].endswith("— by hoa")
    assert hist["description_vi"].iloc[-1].endswith("— bởi hoa")
    # an editor may also POST
    assert client.post(INC, json=_incident(), headers=_bearer(token)).status_code == 201


def test_disabled_or_unknown_token_is_401(store):
    _, token = add_user(store, "lan", "editor")
    client = _app(store, api_token=None)
    assert client.post(INC, json=_incident(), headers=_bearer(token)).status_code == 201
    disable_user(store, "lan")  # while the server runs: the cache follows the store version
    r = client.post(INC, json=_incident(), headers=_bearer(token))
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert client.post(INC, json=_incident(), headers=_bearer("guess")).status_code == 401


def test_legacy_token_is_the_admin_api(store):
    add_user(store, "lan", "reporter")  # users and the legacy token work side by side
    client = _app(store)  # api_token=TOKEN
    r = client.patch(f"{INC}/V-000001", json={"status": "verifying"}, headers=_bearer(TOKEN))
    assert r.status_code == 200
    assert [c["changed_by"] for c in _table(store, "incident_changes")] == ["api"]


def test_no_users_and_no_token_means_writes_disabled(store):
    r = _app(store, api_token=None).post(INC, json=_incident(), headers=_bearer("x"))
    assert r.status_code == 403 and "bienmoc users add" in r.json()["detail"]


def test_users_are_never_a_collection(store):
    add_user(store, "lan", "admin")
    client = _app(store)
    client.post(INC, json=_incident(), headers=_bearer(TOKEN))  # write_log exists too
    ids = [c["id"] for c in client.get("/collections?f=json").json()["collections"]]
    assert "users" not in ids and "write_log" not in ids and "incidents" in ids
    for name in ("users", "write_log"):
        assert client.get(f"/collections/{name}/items?f=json").status_code == 404
    assert "token_hash" not in client.get("/openapi.json").text


def test_cli_users_add_list_disable(store, monkeypatch):
    monkeypatch.setenv("BIENMOC_LANG", "vi")
    run = CliRunner()
    base = ["--store", str(store.path)]
    r = run.invoke(main, base + ["users", "add", "lan", "--role", "reporter"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    assert "chỉ hiện MỘT lần" in r.stderr and token not in r.stderr
    assert authenticate(store, token).role == "reporter"
    listed = run.invoke(main, base + ["users", "list"])
    assert listed.exit_code == 0 and "lan" in listed.output and "báo cáo hiện trường" in \
        listed.output and "Vai trò" in listed.output
    as_json = run.invoke(main, base + ["users", "list", "--format", "json"])
    rows = json.loads(as_json.stdout)
    assert [(u["name"], u["role"], u["disabled"]) for u in rows] == [("lan", "reporter", False)]
    for out in (listed.output, as_json.output,
                run.invoke(main, base + ["users", "list", "--format", "csv"]).output):
        assert hash_token(token) not in out and token not in out and "hash" not in out
    en = run.invoke(main, base + ["--lang", "en", "users", "disable", "lan"])
    assert en.exit_code == 0 and "Disabled user 'lan'" in en.output
    assert authenticate(store, token) is None
    bad = run.invoke(main, base + ["users", "disable", "nobody"])
    assert bad.exit_code == 1 and "nobody" in bad.output


def test_cli_writes_are_attributed(store, monkeypatch):
    monkeypatch.delenv("BIENMOC_USER", raising=False)
    run = CliRunner()
    base = ["--store", str(store.path)]
    r = run.invoke(main, base + ["--user", "tram.bg", "record", "incident", "--kind",
                                 "illegal_crossing", "--lon", "104.51", "--lat", "20.97",
                                 "--reported", "2025-03-01"])
    assert r.exit_code == 0, r.output
    new_id = r.stdout.strip().splitlines()[-1]
    import getpass
    r2 = run.invoke(main, base + ["record", "incident", "--kind", "illegal_crossing", "--lon",
                                  "104.51", "--lat", "20.97", "--reported", "2025-03-01"])
    assert r2.exit_code == 0, r2.output
    log = {x["record_id"]: x["user"] for x in _table(store, "write_log")}
    assert log[new_id] == "tram.bg"
    assert log[r2.stdout.strip().splitlines()[-1]] == getpass.getuser()


def test_old_change_log_gains_changed_by(store):
    # a log written before attribution existed (no changed_by column)
    update_incident(store, "V-000001", {"status": "verifying"})
    con = sqlite3.connect(store.path)
    con.execute('ALTER TABLE incident_changes DROP COLUMN changed_by')
    con.commit()
    con.close()
    assert "changed_by" not in _table(store, "incident_changes")[0]
    update_incident(store, "V-000001", {"status": "resolved"}, user="hoa")
    rows = _table(store, "incident_changes")
    assert [(r["new_value"], r["changed_by"]) for r in rows] == [("verifying", None),
                                                                ("resolved", "hoa")]
    assert "changed_by" in store.read("incident_changes").columns


def test_library_writes_name_their_user(store):
    rec = record_incident(store, "illegal_crossing", (104.51, 20.97),
                          reported_date="2025-03-01", user="script")
    log = _table(store, "write_log")
    assert [(x["record_id"], x["user"]) for x in log] == [(rec["id"].iloc[0], "script")]
    record_incident(store, "illegal_crossing", (104.51, 20.97), reported_date="2025-03-01")
    assert len(_table(store, "write_log")) == 1  # no user named: not logged


def test_concurrent_posts_of_several_users_are_each_attributed_to_their_own(store):
    """Concurrent POSTs share group-commit transactions; each record is still logged under the
    user whose token wrote it (batches never mix users)."""
    tokens = {name: add_user(store, name, "reporter")[1] for name in ("lan", "minh", "tuan")}
    client = _app(store, api_token=None)

    def post(name: str, k: int):
        r = client.post(INC, json=_incident(lon=104.51 + k * 1e-5, description=f"{name} {k}"),
                        headers=_bearer(tokens[name]))
        return name, r.status_code, r.json().get("id")

    jobs = [(n, k) for k in range(8) for n in tokens]
    with cf.ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda a: post(*a), jobs))
    assert [s for _, s, _ in done] == [201] * len(jobs)
    log = {x["record_id"]: x["user"] for x in _table(store, "write_log")}
    assert {i: log[i] for _, _, i in done} == {i: n for n, _, i in done}
    assert len({i for _, _, i in done}) == len(jobs)


def test_filled_elevations_name_their_user(store):
    from bienmoc.records import recording

    markers = store.read("markers")
    empty = markers.loc[markers["elevation_m"].isna(), "id"].tolist()
    assert empty, "the fixture has markers without elevation"
    filled = recording.fill_marker_elevations(store, {empty[0]: 812.5}, note="DEM t.tif",
                                              user="dem-bot")
    assert list(filled["id"]) == [empty[0]]
    rows = _table(store, "marker_changes")
    assert [(r["record_id"], r["new_value"], r["changed_by"]) for r in rows] == [
        (empty[0], "812.5", "dem-bot")]
    assert [(x["layer"], x["record_id"], x["action"], x["user"])
            for x in _table(store, "write_log")] == [("markers", empty[0], "update", "dem-bot")]


def test_cli_user_errors_are_vietnamese_by_default(store, monkeypatch):
    monkeypatch.delenv("BIENMOC_LANG", raising=False)
    run = CliRunner()
    base = ["--store", str(store.path)]
    assert run.invoke(main, base + ["users", "add", "lan", "--role", "editor"]).exit_code == 0
    again = run.invoke(main, base + ["users", "add", "lan", "--role", "editor"])
    assert again.exit_code == 1 and "người dùng: trường 'name': người dùng 'lan' đã có" in \
        again.output
    en = run.invoke(main, base + ["--lang", "en", "users", "add", "lan", "--role", "editor"])
    assert en.exit_code == 1 and "user 'lan' exists already" in en.output
    missing = run.invoke(main, base + ["users", "disable", "bob"])
    assert missing.exit_code == 1 and "không có người dùng 'bob'" in missing.output
