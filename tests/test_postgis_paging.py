"""OGC API paging on a PostGIS store when numberMatched is the planner's estimate.

Found by benchmarks/postgis_api.py: at 1M incidents (above ``EXACT_COUNT_ROWS``) the estimate
for a 20 km box right after a bulk COPY was 43 while ~4,600 incidents were in it, and the page of
1,000 carried no ``next`` link, so a client following links stopped after one page.
"""
from __future__ import annotations

import pytest

from bienmoc.storage import GeoPackageStore
from bienmoc.storage.copy import copy_store

pytestmark = pytest.mark.postgis

BBOX = "103,20.5,104,21.5"


@pytest.fixture
def pg(request, pg_cluster):
    from conftest import _pg_store

    return _pg_store(request)


def test_next_links_reach_every_feature_when_the_estimate_is_too_low(demo_store_path, pg,
                                                                     monkeypatch):
    from fastapi.testclient import TestClient

    import bienmoc.storage.pgquery as pq
    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings

    copy_store(GeoPackageStore(demo_store_path), pg)
    settings = Settings(api_token="t", lang="vi")
    gp = TestClient(create_app(store=GeoPackageStore(demo_store_path), settings=settings,
                               tiles=None))
    want = [f["id"] for f in gp.get(f"/collections/incidents/items?bbox={BBOX}&limit=10000")
            .json()["features"]]
    assert len(want) > 12  # several pages of 5

    real = pq.query_items

    def low_estimate(*a, **kw):  # the real SQL page, with an estimate far below the truth
        import dataclasses

        return dataclasses.replace(real(*a, **kw), matched=1, exact=False)

    monkeypatch.setattr(pq, "query_items", low_estimate)
    api = TestClient(create_app(store=pg, settings=settings, tiles=None))
    url, seen, pages = f"/collections/incidents/items?bbox={BBOX}&limit=5", [], 0
    while url:
        r = api.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["number-matched"] == "estimated"
        body = r.json()
        seen += [f["id"] for f in body["features"]]
        # never fewer than the features already seen up to this page
        assert body["numberMatched"] >= len(seen)
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].split("testserver", 1)[1] if nxt else None
        pages += 1
        assert pages < 200
    assert sorted(seen) == sorted(want)
    assert len(seen) == len(set(seen))


def _follow(api, url):
    """Every feature id reached by following next links from ``url``, and the pages' headers
    and numberMatched."""
    seen, heads = [], []
    while url:
        r = api.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [f["id"] for f in body["features"]]
        heads.append((r.headers.get("number-matched"), body["numberMatched"]))
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].split("testserver", 1)[1] if nxt else None
        assert len(heads) < 200
    return seen, heads


def test_more_matches_than_counted_page_in_sql_to_the_same_features(demo_store_path, pg,
                                                                    monkeypatch):
    """Above EXACT_MATCHED matches the page is read on its own: by the primary-key walk, with
    the planner's estimate (never below the bound + 1, said in the header), or through GiST,
    counted exactly; below it, one statement counts exactly. Both give the GeoPackage path's features, bytes for bytes."""
    from fastapi.testclient import TestClient

    import bienmoc.storage.pgquery as pq
    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings

    copy_store(GeoPackageStore(demo_store_path), pg)
    settings = Settings(api_token="t", lang="vi")
    gp = TestClient(create_app(store=GeoPackageStore(demo_store_path), settings=settings,
                               tiles=None))
    api = TestClient(create_app(store=pg, settings=settings, tiles=None))
    url = f"/collections/incidents/items?bbox={BBOX}&limit=7"
    want = gp.get(url.replace("limit=7", "limit=10000")).json()["features"]
    n = len(want)
    assert n > 14

    # exact: counted with the page
    exact = api.get(url)
    assert "number-matched" not in exact.headers
    assert exact.json()["numberMatched"] == n
    assert exact.content.split(b'"features":', 1)[1] == \
        gp.get(url).content.split(b'"features":', 1)[1]  # the same bytes

    past = api.get(url + "&offset=5000").json()  # past the last match: still counted
    assert past["features"] == [] and past["numberMatched"] == n == \
        gp.get(url + "&offset=5000").json()["numberMatched"]
    assert api.get(url + "&after=999999999").json()["numberMatched"] == n

    monkeypatch.setattr(pq, "EXACT_MATCHED", 5)  # fewer than match: many matches
    # the primary-key walk (an estimate, said in the header; a last page it cannot fill goes
    # the GiST way) or every match through GiST (counted exactly): the same features
    monkeypatch.setattr(pq, "SAMPLE", 10**6)
    for ratio in (10**4, 0):
        monkeypatch.setattr(pq, "WALK_RATIO", ratio)
        seen, heads = _follow(api, url)
        assert seen == [f["id"] for f in want]
        assert all((h == "estimated" and m >= 6) or (h is None and m == n) for h, m in heads)
        assert any(h == "estimated" for h, _ in heads) == bool(ratio), heads
    second = api.get(url.replace("limit=7", "limit=7&offset=7")).json()["features"]
    assert second == want[7:14]

    # the whole layer: its size from the planner's statistics, pages by primary key
    with psycopg_connect(pg) as con:
        con.execute(f'ANALYZE "{pg.schema}".incidents')
    everything = gp.get("/collections/incidents/items?limit=10000").json()["features"]
    seen, heads = _follow(api, "/collections/incidents/items?limit=9")
    assert seen == [f["id"] for f in everything]
    assert all(h == "estimated" and m == len(everything) for h, m in heads)


def test_items_query_runs_off_the_event_loop(pg, monkeypatch):
    """The SQL of an items page runs in the threadpool, so a slow query does not stop the
    worker's event loop from serving other requests."""
    import asyncio

    from fastapi.testclient import TestClient

    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings
    from bienmoc.testing import make_layers

    pg.write_many(make_layers())
    loops = []
    real = type(pg).query_items

    def spy(self, *a, **kw):
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        return real(self, *a, **kw)

    monkeypatch.setattr(type(pg), "query_items", spy)
    api = TestClient(create_app(store=pg, settings=Settings(api_token="t"), tiles=None))
    r = api.get("/collections/markers/items?limit=2")
    assert r.status_code == 200 and len(r.json()["features"]) == 2
    assert loops == [False]  # no event loop runs in the thread that waited on PostgreSQL


def psycopg_connect(store):
    import psycopg

    return psycopg.connect(store.conninfo, autocommit=True)


def test_a_nan_written_by_another_client_is_served_as_null(pg):
    """NaN is not JSON: the properties PostgreSQL builds carry null, as the in-memory path."""
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings
    from bienmoc.testing import make_layers

    pg.write_many(make_layers())
    with psycopg_connect(pg) as con:  # e.g. QGIS or psql
        (fid, rid), (fid2, rid2) = con.execute(
            f'SELECT fid, id FROM "{pg.schema}".incidents ORDER BY fid LIMIT 2').fetchall()
        con.execute(f"UPDATE \"{pg.schema}\".incidents SET chainage_m = 'NaN' WHERE fid = %s",
                    (fid,))
        con.execute(f'UPDATE "{pg.schema}".incidents SET chainage_m = 12.5 WHERE fid = %s',
                    (fid2,))
    api = TestClient(create_app(store=pg, settings=Settings(api_token="t"), tiles=None))
    r = api.get("/collections/incidents/items?limit=1000")
    assert r.status_code == 200
    props = {f["id"]: f["properties"] for f in r.json()["features"]}  # strict JSON parses
    assert props[rid]["chainage_m"] is None
    assert props[rid2]["chainage_m"] == 12.5
