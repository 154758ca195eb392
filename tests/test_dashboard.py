"""The province dashboard: library figures equal the status/progress/inspections/hotspots
functions and the CLI's JSON; the page over HTTP (links, vi/en, 404s, escaping, CSP); the page
in headless Chromium with every non-local request blocked."""
import json

import pandas as pd
import pytest

from bienmoc.testing import serve_app
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bienmoc.analysis.dashboard import dashboard_figures
from bienmoc.analysis.inspections import inspections_due
from bienmoc.analysis.lengths import hotspots, incident_counts
from bienmoc.analysis.progress import progress_summary, stalled_works
from bienmoc.analysis.status import marker_status
from bienmoc.cli.main import main
from bienmoc.storage import GeoPackageStore
from test_browser import artifacts, browser  # noqa: F401,F811  (shared Chromium fixtures)

SON_LA = "Sơn La"
AS_OF = "2026-11-24"
PERIOD = ("2025-01-01", "2026-11-24")


@pytest.fixture(scope="module")
def store(demo_store_path):
    return GeoPackageStore(demo_store_path)


@pytest.fixture(scope="module")
def son_la(store):
    return dashboard_figures(store, province=SON_LA, start=PERIOD[0], end=PERIOD[1],
                             as_of=AS_OF)


def _cli(demo_store_path, *args):
    r = CliRunner().invoke(main, ["--store", str(demo_store_path), *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


# -- the figures ----------------------------------------------------------------------------
def test_son_la_known_answers(son_la):
    m = son_la["markers"]
    assert (m["markers_built"], m["markers_total"]) == (125, 125)
    assert (m["stakes_built"], m["stakes_total"]) == (12, 12)
    assert m["summary_vi"] == "cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12"
    stalled = {w["section"]: w for w in son_la["stalled"]}
    assert set(stalled) == {"255", "222"}
    assert stalled["255"]["days_overdue"] > 0 and stalled["222"]["days_idle"] > 180
    assert stalled["255"]["budget_disbursed_vnd"] is not None
    assert son_la["works"]["stalled"] == 2 and type(son_la["works"]["works_total"]) is int
    assert son_la["period"] == {"start": "2025-01-01", "end": "2026-11-24", "days": 693}
    # the previous period has the same length and ends the day before the period
    prev = son_la["previous_period"]
    assert prev["end"] == "2024-12-31"
    assert (pd.Timestamp(prev["end"]) - pd.Timestamp(prev["start"])).days + 1 == 693


def test_figures_equal_the_library_functions(store, son_la):
    st = marker_status(store, by=(), province=SON_LA).iloc[0].to_dict()
    assert son_la["markers"] == {k: (v.item() if hasattr(v, "item") else v)
                                 for k, v in st.items()}
    assert son_la["conditions"]["needs_action"] == st["needs_action"]
    assert son_la["gates"]["total"] == st["gates_total"]
    assert son_la["incidents"]["open"] == st["incidents_open"]
    ws = progress_summary(store, as_of=AS_OF, by=(), province=SON_LA).iloc[0]
    for k, v in son_la["works"].items():
        assert v == pytest.approx(ws[k]), k
    assert [w["id"] for w in son_la["stalled"]] == list(
        stalled_works(store, as_of=AS_OF, province=SON_LA)["id"])
    due = inspections_due(store, as_of=AS_OF, province=SON_LA)
    assert son_la["inspections"] == {"due": len(due),
                                     "never": int(due["never_inspected"].sum()),
                                     "overdue": int((~due["never_inspected"]).sum())}
    inc = store.read("incidents")
    inc = inc[inc["province"] == SON_LA]
    counts = incident_counts(inc, by=("kind",), start=PERIOD[0], end=PERIOD[1])
    assert son_la["incidents"]["by_kind"] == dict(zip(counts["kind"], counts["incidents"]))
    assert son_la["incidents"]["total"] == counts["incidents"].sum()
    assert sum(son_la["incidents"]["by_status"].values()) == son_la["incidents"]["total"]
    assert sum(son_la["incidents"]["monthly"].values()) == son_la["incidents"]["total"]
    assert len(son_la["incidents"]["monthly"]) == 23  # Jan 2025 .. Nov 2026
    # hotspots over the same incidents and period count the same total
    hs = hotspots(store, inc, start=PERIOD[0], end=PERIOD[1], top=None)
    assert int(hs["incidents"].sum()) == son_la["incidents"]["total"]


def test_previous_period_counted_independently(store):
    f = dashboard_figures(store, start="01/01/2025", end="30/06/2025", as_of=AS_OF)
    inc = store.read("incidents")
    d = pd.to_datetime(inc["reported_date"])
    now = ((d >= "2025-01-01") & (d <= "2025-06-30")).sum()
    # 181 days before 01/01/2025: 04/07/2024 .. 31/12/2024
    assert f["previous_period"] == {"start": "2024-07-04", "end": "2024-12-31"}
    before = ((d >= "2024-07-04") & (d <= "2024-12-31")).sum()
    i = f["incidents"]
    assert (i["total"], i["previous_total"], i["change"]) == (now, before, now - before)
    assert now + before > 0  # the check can fail: the demo has incidents in these periods


def test_figures_equal_the_cli_json(demo_store_path, son_la):
    st = _cli(demo_store_path, "status", "--province", SON_LA, "--by", "", "--format", "json")
    assert st == [son_la["markers"]]
    pr = _cli(demo_store_path, "progress", "--province", SON_LA, "--by", "", "--as-of", AS_OF,
              "--format", "json")
    assert pr["summary"] == [son_la["works"]]
    assert [w["id"] for w in pr["stalled"]] == [w["id"] for w in son_la["stalled"]]
    due = _cli(demo_store_path, "inspections", "due", "--province", SON_LA, "--as-of", AS_OF,
               "--format", "json")["due"]
    assert len(due) == son_la["inspections"]["due"]
    assert sum(d["never_inspected"] for d in due) == son_la["inspections"]["never"]


def test_national_and_border_incidents_equal_cli_hotspots(demo_store_path, store):
    hs = _cli(demo_store_path, "hotspots", "--from", PERIOD[0], "--to", "24/11/2026",
              "--top", "100000", "--format", "json")
    nat = dashboard_figures(store, start=PERIOD[0], end=PERIOD[1], as_of=AS_OF)
    assert sum(h["incidents"] for h in hs) == nat["incidents"]["total"] > 0
    la = dashboard_figures(store, border="LA", start=PERIOD[0], end=PERIOD[1], as_of=AS_OF)
    assert sum(h["incidents"] for h in hs if h["border"] == "LA") == la["incidents"]["total"]
    assert la["markers"] == _cli(demo_store_path, "status", "--border", "LA", "--by", "",
                                 "--format", "json")[0]


def test_reversed_period_is_an_error(store):
    from bienmoc.errors import InvalidData

    with pytest.raises(InvalidData, match="31/12/2025"):
        dashboard_figures(store, start="2026-01-01", end="2025-12-31")


# -- the page ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(store):
    from bienmoc.api import create_app

    return TestClient(create_app(store=store, tiles=None))


def test_page_son_la(client, son_la):
    r = client.get("/dashboard", params={"province": SON_LA, "from": "01/01/2025",
                                         "to": "24/11/2026", "as_of": "24/11/2026"})
    assert r.status_code == 200
    html = r.text
    assert ">125/125</a>" in html and ">12/12</a>" in html
    assert "cột mốc: 125/125 đã xây dựng; cọc dấu: 12/12" in html
    stalled = html.split('id="stalled"')[1].split("</table>")[0]
    assert ">255</a>" in stalled and ">222</a>" in stalled
    assert "Kè bảo vệ mốc 222" in stalled
    # a kind seen only in the previous period is listed too (0 in this period)
    kinds = html.split('id="by-kind"')[1].split("</table>")[0]
    i = son_la["incidents"]
    assert kinds.count("<tr>") == 1 + len(set(i["by_kind"]) | set(i["previous_by_kind"])) > 1
    assert ">5.0</a>" not in html  # counts are integers
    assert "01/01/2025–24/11/2026" in html and "24/11/2026" in html
    q = "province=S%C6%A1n+La"
    assert f'href="maps/progress?{q}&amp;lang=vi&amp;as_of=2026-11-24"' in html
    assert f'href="maps/incidents?{q}&amp;lang=vi&amp;from=2025-01-01&amp;to=2026-11-24"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and html.count("<rect") == 23
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "<script" not in html


def test_json_variant_is_the_figures(client, son_la):
    r = client.get("/dashboard", params={"province": "SƠN LA", "from": PERIOD[0],
                                         "to": "24/11/2026", "as_of": AS_OF, "f": "json"})
    assert r.status_code == 200 and r.json() == son_la


def test_page_english_and_national(client):
    r = client.get("/dashboard", params={"province": "sơn la", "lang": "en", "as_of": AS_OF})
    assert r.status_code == 200
    assert "markers: 125/125 built; reference stakes: 12/12" in r.text
    assert "Stalled works" in r.text and "Border dashboard – Sơn La" in r.text
    r = client.get("/dashboard")
    assert r.status_code == 200 and "Toàn tuyến" in r.text
    assert client.get("/dashboard", params={"border": "la"}).status_code == 200


def test_unknown_names_404_with_nearest(client):
    r = client.get("/dashboard", params={"province": "Son La"})
    assert r.status_code == 404
    near = r.text.split('id="nearest"')[1]
    assert near.index(">Sơn La</a>") < near.index("</ul>")
    r = client.get("/dashboard", params={"border": "XX", "lang": "en"})
    assert r.status_code == 404 and "Unknown border: XX" in r.text and ">LA</a>" in r.text


def test_bad_input_is_escaped_and_rejected(client):
    r = client.get("/dashboard", params={"province": "<script>alert(1)</script>"})
    assert r.status_code == 404
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text
    r = client.get("/dashboard", params={"from": "31/02/2026"})
    assert r.status_code == 400 and "31/02/2026" in r.text and "không có ngày này" in r.text
    r = client.get("/dashboard", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert r.status_code == 400


def test_index_links_the_dashboard(client):
    assert 'href="./dashboard?lang=vi"' in client.get("/").text


# -- in Chromium, offline -------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(store):
    from bienmoc.api import create_app

    with serve_app(create_app(store=store, tiles=None)) as base:
        yield base


def test_dashboard_in_chromium(server, artifacts, browser):
    from test_browser import Visit

    v = Visit(browser, f"{server}/dashboard?province=S%C6%A1n%20La&from=01/01/2025"
                       f"&to=24/11/2026&as_of=2026-11-24")
    assert v.response.status == 200
    assert v.page.inner_text("#markers-built") == "125/125"
    assert v.page.inner_text("#stakes-built") == "12/12"
    box = v.page.locator("#monthly-chart").bounding_box()
    assert box and box["width"] > 500 and box["height"] > 100
    v.page.screenshot(path=str(artifacts / "dashboard-son-la.png"), full_page=True)
    v.assert_clean()
    v.page.close()

