"""Items pages of a box holding many matches on a PostGIS store where fid follows position
(issue 16 item 6: an area's incidents are entered together, so the planner's walk of the
primary key reads most of the table before it reaches the box).

30,000 incidents in a strip, fid i at longitude 100 + 4 (i + 0.5) / N: a box of 0.4 degrees holds
a known run of 3,000 fids. EXACT_MATCHED is lowered so the box counts as "many matches"; both
ways of answering (the bounded primary-key walk, the GiST path) must give the lowest fids in
the box, page after page (offset and keyset), with numberMatched exact on the GiST path and a
fair estimate on the walk.
"""
from __future__ import annotations

import pytest

import bienmoc.storage.pgquery as pq
from bienmoc.testing import make_incidents

pytestmark = pytest.mark.postgis

N = 30_000
BOX = (102.0, 19.5, 102.4, 20.5)  # fids with 102 < 100 + 4 (i + 0.5) / N < 102.4
IN_BOX = [i for i in range(1, N + 1) if 102 < 100 + 4 * (i + 0.5) / N < 102.4]


@pytest.fixture(scope="module")
def line_store(pg_cluster):
    from bienmoc.storage.postgis import PostGISStore

    s = PostGISStore(pg_cluster.url())
    with s.transaction() as tx:  # creates the schema and its tables through the store
        tx.append("incidents", make_incidents().iloc[:1].assign(id=None))
    t = s._t("incidents")
    with pg_cluster.connect() as con:
        con.execute(f"DELETE FROM {t}")
        con.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
        con.execute(
            f"INSERT INTO {t} (fid, id, kind, status, border, province, reported_date, geom) "
            "OVERRIDING SYSTEM VALUE SELECT i, 'T' || i, 'landslide', 'reported', 'LA', "
            "'Sơn La', date '2024-01-05', ST_SetSRID(ST_MakePoint(100 + 4 * (i + 0.5) / %s, "
            "19.6 + 0.8 * ((i * 7919) %% 1000) / 1000.0), 4326) "
            "FROM generate_series(1, %s) AS i", (N, N))
        con.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")
        con.execute(f"VACUUM ANALYZE {t}")
    yield s
    s.close()
    with pg_cluster.connect() as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{s.schema}" CASCADE')


def _pages(store, limit=100):
    """Page 1, page 4 by offset, and the page after page 1 by keyset."""
    one = pq.query_items(store, "incidents", boxes=[BOX], limit=limit)
    deep = pq.query_items(store, "incidents", boxes=[BOX], limit=limit, offset=3 * limit)
    nxt = pq.query_items(store, "incidents", boxes=[BOX], limit=limit, after=one.fids[-1])
    return one, deep, nxt


@pytest.mark.parametrize("way", ["gist", "walk"])
def test_many_matches_page_is_the_lowest_fids_in_the_box(line_store, monkeypatch, way):
    assert len(IN_BOX) == 3000 and IN_BOX[0] == 15000
    monkeypatch.setattr(pq, "EXACT_MATCHED", 500)
    calls = []
    reach = pq._reach
    monkeypatch.setattr(pq, "_reach", lambda *a: calls.append(reach(*a)) or calls[-1])
    # walk: any sampled distance is worth walking; gist: none is
    monkeypatch.setattr(pq, "WALK_RATIO", 10_000 if way == "walk" else 0)
    monkeypatch.setattr(pq, "SAMPLE", 10**6)  # every page: the sample surely holds the run
    one, deep, nxt = _pages(line_store)
    assert one.fids == IN_BOX[:100]
    assert deep.fids == IN_BOX[300:400]
    assert nxt.fids == IN_BOX[100:200]
    assert [f.split(b'"id":')[1][:8] for f in one.features[:2]] == [b'"T15000"', b'"T15001"']
    for p in (one, deep, nxt):
        if way == "gist":
            assert p.exact and p.matched == 3000
        else:
            assert not p.exact and abs(p.matched - 3000) <= 600, p.matched
    if way == "walk":  # the sample found the run of fids: 14,999 rows before it (keyset: 1)
        assert calls == [14_999, 14_999, 1], calls
    # past the last match: an empty page, the count still right on the GiST path
    past = pq.query_items(line_store, "incidents", boxes=[BOX], limit=100, after=IN_BOX[-1])
    assert past.fids == [] and (not past.exact or past.matched == 3000)


def test_many_matches_walk_that_falls_short_falls_back_to_gist(line_store, monkeypatch):
    """A walk bounded too short (the sample misjudged) still answers right: the GiST path."""
    monkeypatch.setattr(pq, "EXACT_MATCHED", 500)
    monkeypatch.setattr(pq, "WALK_RATIO", 10_000)
    monkeypatch.setattr(pq, "_reach", lambda *a: 0)  # as if the matches began at fid 1
    page = pq.query_items(line_store, "incidents", boxes=[BOX], limit=50)
    assert page.fids == IN_BOX[:50] and page.exact and page.matched == 3000


def test_few_matches_stay_exact_and_the_api_says_which(line_store, monkeypatch):
    from fastapi.testclient import TestClient

    from bienmoc.api import create_app
    from bienmoc.api.settings import Settings

    small = (102.0, 19.5, 102.01, 20.5)  # 75 fids
    page = pq.query_items(line_store, "incidents", boxes=[small], limit=10)
    want = [i for i in IN_BOX if 100 + 4 * (i + 0.5) / N < 102.01]
    assert page.exact and page.matched == len(want) == 75 and page.fids == want[:10]
    monkeypatch.setattr(pq, "EXACT_MATCHED", 500)
    api = TestClient(create_app(store=line_store, settings=Settings(api_token="t"), tiles=None))
    r = api.get("/collections/incidents/items?bbox=102,19.5,102.4,20.5&limit=3")
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["features"]] == ["T15000", "T15001", "T15002"]
    got = r.json()["numberMatched"]
    assert r.headers.get("number-matched") == "estimated" or got == 3000
    assert abs(got - 3000) <= 600
