"""The per-process cache of the users table behind the API's token check (bienmoc.users).

Over the real app (TestClient) on real stores: a token is checked without a store access while
the process's copy is younger than ``AUTH_RECHECK_S``; a user disabled through this process is
refused at once; disabled by another process (the table changed behind the cache's back) within
``AUTH_RECHECK_S``; on PostGIS the copy follows the ``users`` table's own change token, so
incident writes do not make every request re-read the table. The async POST path (group writer
awaited on the loop) answers exactly what the threaded one did.
"""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from bienmoc import users as users_mod
from bienmoc.api import create_app
from bienmoc.users import USERS_LAYER, _frame, _table, add_user, disable_user
from test_features import _incident, _settings

INC = "/collections/incidents/items"


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _app(store) -> TestClient:
    return TestClient(create_app(store=store, settings=_settings(api_token=None), tiles=None))


def _disable_behind_the_cache(store, name: str) -> None:
    """What another process (the CLI) does: the table changes, this process is not told."""
    with store.transaction() as tx:
        rows = _table(tx).to_dict("records")
        for r in rows:
            if r["name"] == name:
                r["disabled"] = 1
        tx.replace(USERS_LAYER, _frame(rows))


@pytest.fixture
def counted(monkeypatch):
    """How many times the store was asked whether the users table changed."""
    calls = []
    real = users_mod._change_token

    def counting(store):
        calls.append(1)
        return real(store)

    monkeypatch.setattr(users_mod, "_change_token", counting)
    return calls


@pytest.mark.both_stores
def test_token_checks_use_the_copy_until_it_is_stale(store, monkeypatch, counted):
    monkeypatch.setattr(users_mod, "AUTH_RECHECK_S", 60.0)
    _, token = add_user(store, "lan", "reporter")
    client = _app(store)
    for _ in range(3):
        assert client.post(INC, json={"type": "Feature"}, headers=_bearer(token)
                           ).status_code == 422  # authenticated, then the body refused
    assert len(counted) == 1  # one look at the store for three requests
    assert users_mod.auth_cached(store)
    monkeypatch.setattr(users_mod, "AUTH_RECHECK_S", 0.0)  # the copy is now too old
    assert not users_mod.auth_cached(store)
    assert client.post(INC, json={"type": "Feature"}, headers=_bearer(token)).status_code == 422
    assert len(counted) > 1  # asked the store again


@pytest.mark.both_stores
def test_disabled_here_is_refused_at_once(store, monkeypatch):
    monkeypatch.setattr(users_mod, "AUTH_RECHECK_S", 60.0)  # no help from expiry
    _, token = add_user(store, "lan", "editor")
    client = _app(store)
    assert client.post(INC, json=_incident(), headers=_bearer(token)).status_code == 201
    disable_user(store, "lan")
    r = client.post(INC, json=_incident(), headers=_bearer(token))
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    # a user added here may write at once too
    _, other = add_user(store, "hoa", "reporter")
    assert client.post(INC, json=_incident(), headers=_bearer(other)).status_code == 201


@pytest.mark.both_stores
def test_disabled_elsewhere_is_refused_within_the_recheck_delay(store, monkeypatch):
    monkeypatch.setattr(users_mod, "AUTH_RECHECK_S", 0.3)
    _, token = add_user(store, "lan", "reporter")
    client = _app(store)
    assert client.post(INC, json=_incident(), headers=_bearer(token)).status_code == 201
    _disable_behind_the_cache(store, "lan")
    time.sleep(0.35)  # the documented delay
    r = client.post(INC, json=_incident(), headers=_bearer(token))
    assert r.status_code == 401 and "disabled" in r.json()["detail"]


@pytest.mark.postgis_only
def test_postgis_writes_do_not_invalidate_the_copy(store, monkeypatch):
    """The cache is keyed by the users table's change token: incident writes (which move the
    store's version) leave it valid, so a stale copy costs one token query, not a table read."""
    monkeypatch.setattr(users_mod, "AUTH_RECHECK_S", 0.0)  # ask the store every time
    reads = []
    real = users_mod._table

    def counting(store_or_tx):
        reads.append(1)
        return real(store_or_tx)

    _, token = add_user(store, "lan", "reporter")
    monkeypatch.setattr(users_mod, "_table", counting)
    client = _app(store)
    for _ in range(3):
        assert client.post(INC, json=_incident(), headers=_bearer(token)).status_code == 201
    assert len(reads) == 1  # read once; the writes did not change the users table's token
    _disable_behind_the_cache(store, "lan")
    assert client.post(INC, json=_incident(), headers=_bearer(token)).status_code == 401


@pytest.mark.both_stores
def test_async_post_answers_as_before(store):
    """201 with Location and the stored feature, an Idempotency-Key retry answers the first
    201 and stores nothing new, a rule refusal is a 422 naming the field - all awaited from
    the group writer on the event loop."""
    _, token = add_user(store, "lan", "reporter")
    client = _app(store)
    first = client.post(INC, json=_incident(), headers=_bearer(token))
    assert first.status_code == 201
    fid = first.json()["id"]
    assert first.headers["location"].endswith(f"{INC}/{fid}")
    assert first.headers["x-frame-options"] == "DENY"
    n = len(store.read("incidents"))
    keyed = {**_bearer(token), "Idempotency-Key": "k-1"}
    a = client.post(INC, json=_incident(), headers=keyed)
    b = client.post(INC, json=_incident(), headers=keyed)
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    assert len(store.read("incidents")) == n + 1
    far = _incident(lon=110.0, lat=10.0)  # far from the border
    r = client.post(INC, json=far, headers=_bearer(token))
    assert r.status_code == 422 and r.json()["problems"]


def _answers(store, monkeypatch, lean: bool) -> list[tuple]:
    from bienmoc.api import writes

    monkeypatch.setattr(writes, "LEAN_POST", lean)
    app = create_app(store=store, settings=_settings(), tiles=None)
    client = TestClient(app)
    from test_features import TOKEN

    from bienmoc.api.lean import SUPPORTED

    routes = [r for inc in app.router.routes
              for r in getattr(getattr(inc, "original_router", None), "routes", [])]
    assert any(getattr(r.endpoint, "lean", False) for r in routes
               if hasattr(r, "endpoint")) == (lean and SUPPORTED)

    a = {"Authorization": f"Bearer {TOKEN}"}
    g = {**a, "Content-Type": "application/geo+json"}
    bad = _incident(kind="bogus")
    out = []
    for url, headers, body in [
            (INC, a, _incident()), (INC, a, bad), (INC, {}, _incident()),
            (INC, {"Authorization": "Bearer nope"}, _incident()),
            (INC, {**a, "Content-Type": "text/plain"}, b"{}"), (INC, g, b'{"type":'),
            (INC, g, b""), (INC, g, b"[]"), (INC, g, b"null"), (INC, g, b"\xff\xfe{"),
            (INC, g, b'{"type":"Feature","geometry":{"type":"Point","coordinates":[1e400,2]},'
                     b'"properties":{"kind":"x"},"extra":1}'),
            (INC, {**a, "Idempotency-Key": "k" * 201}, bad),
            (INC + "?allow=far&allow=&foo=1", {**g, "Idempotency-Key": ""}, b"{}"),
            (INC + "?allow=far", {**a, "IDEMPOTENCY-KEY": "zz"}, _incident(lon=110, lat=10)),
            (INC + "?allow=far", {**a, "Idempotency-Key": "zz"}, _incident(lon=110, lat=10)),
            (INC, {**a, "Idempotency-Key": "k2"}, _incident()),
            (INC, {**a, "Idempotency-Key": "k2"}, _incident()),
            (INC, {**a, "Content-Type": "application/json; charset=utf-8"}, bad),
            (INC, {**g, "Content-Length": "abc"}, b"{}"), (INC, g, b"x" * 200_000)]:
        kw = {"content": body} if isinstance(body, bytes) else {"json": body}
        r = client.post(url, headers=headers, **kw)
        out.append((r.status_code, sorted((k, v) for k, v in r.headers.items()
                                          if k != "date"), r.content))
    return out


def test_lean_post_answers_exactly_as_fastapi_does(tmp_path, layers, monkeypatch):
    """The lean POST route (bienmoc.api.lean) and FastAPI's handler of the documented route,
    each over its own copy of the same store: the same status, headers and bytes for good
    writes, rule refusals, idempotent retries and every kind of bad request."""
    from bienmoc.storage.geopackage import GeoPackageStore

    got = {}
    for lean in (False, True):
        store = GeoPackageStore(tmp_path / f"{lean}.gpkg")
        store.write_many(layers)
        got[lean] = _answers(store, monkeypatch, lean)
    assert [s for s, _, _ in got[True]] == [201, 422, 401, 401, 415, 400, 422, 422, 422,
                                            400, 422, 422, 422, 201, 201, 201, 201, 422, 400,
                                            413]
    assert got[True] == got[False]
