"""Optimistic concurrency over HTTP: ETag on each item, If-Match on PATCH (412 on a stale copy,
428 when the server requires it), the check inside the write transaction."""
import concurrent.futures as cf

import httpx
import pytest
from fastapi.testclient import TestClient

from bienmoc.api import create_app
from bienmoc.api.settings import Settings
from bienmoc.records import INCIDENT_LOG, update_incident
from bienmoc.records.versions import StaleRecord, frame_etags, record_etag
from bienmoc.testing import serve_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ITEM = "/collections/incidents/items/V-000001"


def _client(store, **kw):
    return TestClient(create_app(store=store, settings=Settings(api_token=TOKEN, **kw),
                                 tiles=None))


def _log(store):
    return len(store.read(INCIDENT_LOG)) if INCIDENT_LOG in store.layers() else 0


def test_item_etag_is_the_records_content_version(store):
    c = _client(store)
    r = c.get(ITEM)
    tag = r.headers["etag"]
    assert r.status_code == 200 and tag.startswith('"') and len(tag) == 34
    # the same tag the library computes from the stored record (backend-agnostic)
    inc = store.read("incidents")
    assert tag == f'"{frame_etags("incidents", inc[inc["id"] == "V-000001"])[0]}"'
    assert c.get(ITEM).headers["etag"] == tag                 # stable
    others = {c.get(f"/collections/incidents/items/{i}").headers["etag"] for i in inc["id"]}
    assert len(others) == len(inc)                            # one per record
    assert c.get(f"/collections/markers/items/LA-100").headers["etag"] != tag
    r = c.get(ITEM, headers={"If-None-Match": tag})
    assert r.status_code == 304 and r.headers["etag"] == tag and r.content == b""


def test_patch_with_current_etag_then_stale_etag_is_412(store):
    c = _client(store)
    tag = c.get(ITEM).headers["etag"]
    r = c.patch(ITEM, json={"status": "verifying"}, headers={**AUTH, "If-Match": tag})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "verifying"
    new = r.headers["etag"]
    assert new != tag and c.get(ITEM).headers["etag"] == new
    # a second client still holding the first copy: refused, nothing written
    version, logged = store.version(), _log(store)
    r = c.patch(ITEM, json={"status": "resolved"}, headers={**AUTH, "If-Match": tag})
    assert r.status_code == 412
    assert r.headers["etag"] == new                           # what to re-read
    assert r.json()["problems"][0]["field"] == "If-Match"
    assert store.version() == version and _log(store) == logged
    assert c.get(ITEM).json()["properties"]["status"] == "verifying"
    # a weak tag never matches (strong comparison); "*" and a list holding the tag do
    assert c.patch(ITEM, json={"status": "resolved"},
                   headers={**AUTH, "If-Match": f"W/{new}"}).status_code == 412
    r = c.patch(ITEM, json={"description": "x"},
                headers={**AUTH, "If-Match": f'"0000", {new}'})
    assert r.status_code == 200
    assert c.patch(ITEM, json={"status": "resolved"},
                   headers={**AUTH, "If-Match": "*"}).status_code == 200
    # without If-Match the default server applies the change (documented: last writer wins)
    assert c.patch(ITEM, json={"status": "negotiating"}, headers=AUTH).status_code == 200


def test_server_requiring_if_match_answers_428(store):
    c = _client(store, require_if_match=True)
    version = store.version()
    r = c.patch(ITEM, json={"status": "resolved"}, headers=AUTH)
    assert r.status_code == 428 and r.json()["problems"][0]["field"] == "If-Match"
    assert store.version() == version
    tag = c.get(ITEM).headers["etag"]
    assert c.patch(ITEM, json={"status": "resolved"},
                   headers={**AUTH, "If-Match": tag}).status_code == 200


def test_the_check_sees_earlier_changes_of_the_same_transaction(store):
    """Group commit runs several PATCHes in one transaction: the second with the same copy
    must see the first one's change (not a cached pre-image) and fail."""
    inc = store.read("incidents")
    tag = frame_etags("incidents", inc[inc["id"] == "V-000001"])[0]
    with pytest.raises(StaleRecord):
        with store.transaction() as tx:
            update_incident(tx, "V-000001", {"status": "verifying"}, if_match=f'"{tag}"')
            update_incident(tx, "V-000001", {"status": "resolved"}, if_match=f'"{tag}"')
    assert store.read("incidents").set_index("id").loc["V-000001", "status"] == "reported"
    update_incident(store, "V-000001", {"status": "verifying"}, if_match=tag)
    with pytest.raises(StaleRecord) as e:
        update_incident(store, "V-000001", {"status": "resolved"}, if_match=tag)
    now = store.read("incidents")
    assert e.value.current == record_etag(
        "incidents", now[now["id"] == "V-000001"].iloc[0].to_dict(),
        now[now["id"] == "V-000001"].geometry.iloc[0])


def test_concurrent_patches_with_one_copy_exactly_one_wins(store):
    """8 clients PATCH the same copy at once over real HTTP (the group-commit writer): one
    200, seven 412, and the change log holds one change."""
    app = create_app(store=store, settings=Settings(api_token=TOKEN), tiles=None)
    statuses = ["verifying", "negotiating", "resolved"] * 3
    with serve_app(app) as base:
        tag = httpx.get(base + ITEM).headers["etag"]
        logged = _log(store)

        def patch(i):
            return httpx.patch(base + ITEM, json={"status": statuses[i],
                                                  "description": f"client {i}"},
                               headers={**AUTH, "If-Match": tag}, timeout=30)

        with cf.ThreadPoolExecutor(8) as pool:
            codes = sorted(r.status_code for r in pool.map(patch, range(8)))
        assert codes == [200] + [412] * 7
        assert _log(store) == logged + 2                     # status and description
